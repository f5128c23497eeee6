"""What one (user, pair) engine remembers between cycles, and what a user's engines share (the account figures).

Both are plain values with exact JSON round trips (Decimals as text), stored with the pair and the user, so a
restart resumes an engine exactly where it stood.
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.fast_init import fast_init
from domain.trading import PositionSide
from risk import AccountState, DailyLossState, LossStreakState


@fast_init
@dataclass(frozen=True, slots=True)
class OpenTrade:
    """The round trip in progress: its entry, its protection and the rows that record it."""

    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    entry_cost: Decimal  # sum of price * amount over the entry fills (exact, no averaging)
    entry_fee: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    opened_ms: int
    candle_ts: int  # the candle whose cycle opened it: client order ids of its protection derive from it
    trade_row: int
    entry_row: int
    protective: dict[str, str] = field(default_factory=dict)  # purpose -> client order id

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("amount", "entry_price", "entry_cost", "entry_fee", "stop_loss", "take_profit"):
            data[key] = str(data[key])
        data["side"] = self.side.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenTrade:
        money = {k: Decimal(data[k]) for k in ("amount", "entry_price", "entry_cost", "entry_fee")}
        levels = {k: Decimal(data[k]) for k in ("stop_loss", "take_profit")}
        return cls(
            side=PositionSide(data["side"]),
            opened_ms=int(data["opened_ms"]),
            candle_ts=int(data["candle_ts"]),
            trade_row=int(data["trade_row"]),
            entry_row=int(data["entry_row"]),
            protective=dict(data.get("protective", {})),
            **money,
            **levels,
        )


@fast_init
@dataclass(frozen=True, slots=True)
class PairState:
    breaker: LossStreakState = LossStreakState()
    last_candle_ts: int | None = None  # the latest candle this pair processed (the exactly-once guard)
    open_trade: OpenTrade | None = None
    cycles: int = 0
    pending_entry: dict[str, Any] | None = None  # an approved entry saved before its order is sent

    def engine_dict(self) -> dict[str, Any]:
        """The part stored in user_pairs.engine_state (the breaker and the guard have columns of their own)."""
        return {
            "open_trade": self.open_trade.to_dict() if self.open_trade else None,
            "cycles": self.cycles,
            "pending_entry": self.pending_entry,
        }

    @classmethod
    def from_stored(
        cls, breaker: dict[str, Any] | None, last_candle_ts: int | None, engine: dict[str, Any] | None
    ) -> PairState:
        engine = engine or {}
        trade = engine.get("open_trade")
        return cls(
            breaker=LossStreakState.from_dict(breaker) if breaker else LossStreakState(),
            last_candle_ts=last_candle_ts,
            open_trade=OpenTrade.from_dict(trade) if trade else None,
            cycles=int(engine.get("cycles", 0)),
            pending_entry=engine.get("pending_entry"),
        )

    def with_(self, **changes: Any) -> PairState:
        return replace(self, **changes)

    def claimed(self, candle_ts: int, cycles: int | None = None) -> PairState:
        """replace(self, last_candle_ts=candle_ts, cycles=cycles) (cycles kept when None), built directly: the
        claim of every candle makes one, and replace() reads the fields' list and builds a dict each time."""
        return PairState(
            self.breaker, candle_ts, self.open_trade, self.cycles if cycles is None else cycles, self.pending_entry
        )


@dataclass(slots=True)
class UserBook:
    """A user's account figures, shared by all of the user's engines in one process (the daily loss breaker is
    user-wide). Mutable on purpose: engines of the same user update the one object between awaits."""

    user_id: int
    daily_breaker: DailyLossState = DailyLossState()
    equity: Decimal = Decimal(0)
    balance: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    peak_equity: Decimal = Decimal(0)
    day_start_equity: Decimal = Decimal(0)
    day: date | None = None
    trades_today: int = 0
    open_positions: int = 0
    # the last account() and the very objects it was built from (the monitor's and the cycle's are usually one)
    _account: tuple[tuple[object, ...], AccountState] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def observe(self, balance: Decimal, unrealized: Decimal, day: date) -> None:
        """Mark to market; a new UTC day restarts the day's figures from the current equity. Marked with the very
        objects of the last mark (a flat account's balance between trades), the equity stays the same object too,
        so account() hands back the same AccountState."""
        if balance is self.balance and unrealized is self.unrealized_pnl:
            equity = self.equity
        else:
            equity = balance + unrealized
            self.balance, self.unrealized_pnl, self.equity = balance, unrealized, equity
        if self.day != day:
            self.day, self.day_start_equity, self.trades_today = day, equity, 0
        if equity > self.peak_equity:
            self.peak_equity = equity

    def account(self) -> AccountState:
        """The figures as the risk manager reads them; the same object again while none of them was replaced."""
        parts = (self.equity, self.peak_equity, self.day_start_equity, self.unrealized_pnl, self.trades_today,
                 self.open_positions)  # fmt: skip
        cached = self._account
        if cached is not None and all(map(operator.is_, cached[0], parts)):
            return cached[1]
        account = AccountState(
            equity=self.equity,
            peak_equity=self.peak_equity,
            day_start_equity=self.day_start_equity,
            realized_pnl_today=self.equity - self.day_start_equity - self.unrealized_pnl,
            unrealized_pnl=self.unrealized_pnl,
            trades_today=self.trades_today,
            open_positions=self.open_positions,
        )
        self._account = (parts, account)
        return account

    def figures(self) -> dict[str, Any]:
        """The user_states columns."""
        return {
            "balance": self.balance,
            "equity": self.equity,
            "realized_pnl": self.realized_pnl,
            "unrealized_pnl": self.unrealized_pnl,
            "peak_equity": self.peak_equity,
            "day_start_equity": self.day_start_equity,
            "day": self.day,
            "trades_today": self.trades_today,
            "breaker": self.daily_breaker.to_dict(),
            "breaker_status": self.daily_breaker.status.value,
        }
