"""Saving and restoring a paper account: a JSON-safe dict (Decimals as strings) and where it is kept.

The dict holds everything a restart needs to continue exactly where it stopped: balances and reservations,
the open orders and the latest final ones with their fills, a summary of every older order (so lookups by id
and client order id, and idempotent resends, keep working), positions, leverage, the last price seen per
symbol, the latest funding events and the id counters. Its size is bounded by the open orders, the kept
history (PaperConfig) and one summary per retired order: it does not grow with the number of steps.

A store may follow the account instead of receiving a dict on every change (FollowingStateStore): the
in-memory store does, so a backtest builds no state at all until something loads it. The database-backed
store implements PaperStateStore the same way the JSON file store does.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Protocol, runtime_checkable

from .account import FundingEvent, Mark, PaperAccount
from .config import PaperConfig
from .ledger import Ledger
from .orders import PaperOrder, RetiredOrder
from .perpetual import PerpPosition

STATE_VERSION = 3  # 2: positions keep their exact cost basis, fills their realized PnL; 3: retired orders
READABLE_VERSIONS = (1, 2, 3)  # older states are read as-is: see PerpPosition.from_state, PaperFill, "retired"


class PaperStateError(ValueError):
    """A saved state that cannot be restored; the message says why. The saved data is left untouched."""


@runtime_checkable
class PaperStateStore(Protocol):
    async def load(self) -> dict | None:
        """The last saved state, or None when nothing was saved yet."""
        ...

    async def save(self, state: dict) -> None: ...


@runtime_checkable
class FollowingStateStore(PaperStateStore, Protocol):
    def follow(self, source: Callable[[], dict]) -> None:
        """Instead of save(source()) after a change: the store calls source() when it needs the state."""
        ...


class InMemoryPaperStateStore:
    """What comes back is a fresh copy that has been through JSON.

    A saved dict is kept as JSON text. A followed account is read when load() is called: as every change is
    saved before the call that made it returns, that is the state the last save would have written, and a
    backtest pays nothing per change. The last to save or follow is what load() returns."""

    def __init__(self) -> None:
        self._text: str | None = None
        self._source: Callable[[], dict] | None = None
        self.saves = 0

    async def load(self) -> dict | None:
        if self._source is not None:
            return json.loads(json.dumps(self._source()))
        return None if self._text is None else json.loads(self._text)

    async def save(self, state: dict) -> None:
        self._text, self._source = json.dumps(state), None
        self.saves += 1

    def follow(self, source: Callable[[], dict]) -> None:
        self._text, self._source = None, source
        self.saves += 1


class JsonFilePaperStateStore:
    """One JSON file per account, replaced atomically so a crash mid-save keeps the previous state."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def load(self) -> dict | None:
        return await asyncio.to_thread(self._load)

    def _load(self) -> dict | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            state = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PaperStateError(f"{self.path} is not valid JSON ({exc}); it was left as it is.") from exc
        if not isinstance(state, dict):
            raise PaperStateError(f"{self.path} does not hold a paper account state; it was left as it is.")
        return state

    async def save(self, state: dict) -> None:
        await asyncio.to_thread(self._save, json.dumps(state, indent=1, sort_keys=True))

    def _save(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


def account_to_state(account: PaperAccount) -> dict:
    return {
        "version": STATE_VERSION,
        "ledger": account.ledger.to_state(),
        "orders": [order.to_state() for order in account.orders.values()],
        "retired": [order.to_state() for order in account.retired.values()],
        "positions": {symbol: position.to_state() for symbol, position in sorted(account.positions.items())},
        "leverage": dict(sorted(account.leverage.items())),
        "marks": {
            symbol: {"price": str(mark.price), "ts": mark.ts, "candle_ts": mark.candle_ts}
            for symbol, mark in sorted(account.marks.items())
        },
        "funding": [
            {"symbol": event.symbol, "ts": event.ts, "rate": str(event.rate), "amount": str(event.amount)}
            for event in account.funding
        ],
        "counters": {"order": account.order_counter, "trade": account.trade_counter},
    }


def account_from_state(state: dict, config: PaperConfig | None = None) -> PaperAccount:
    version = state.get("version")
    if version not in READABLE_VERSIONS:
        raise PaperStateError(
            f"paper account state version {version!r} is not supported (expected one of {READABLE_VERSIONS})"
        )
    try:
        account = PaperAccount(Ledger.from_state(state["ledger"]), config)
        for entry in state.get("retired", ()):  # absent from states saved before orders were retired
            account.restore_retired(RetiredOrder.from_state(entry))
        for entry in state["orders"]:
            account.restore_order(PaperOrder.from_state(entry))
        for symbol, entry in state["positions"].items():
            account.positions[symbol] = PerpPosition.from_state(entry)
        account.leverage.update({symbol: int(value) for symbol, value in state["leverage"].items()})
        for symbol, entry in state["marks"].items():
            account.marks[symbol] = Mark(Decimal(entry["price"]), entry["ts"], entry["candle_ts"])
        account.funding.extend(
            FundingEvent(e["symbol"], e["ts"], Decimal(e["rate"]), Decimal(e["amount"])) for e in state["funding"]
        )
        account.order_counter = state["counters"]["order"]
        account.trade_counter = state["counters"]["trade"]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise PaperStateError(f"the saved paper account state is damaged ({type(exc).__name__}: {exc})") from exc
    return account
