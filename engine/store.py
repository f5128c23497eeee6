"""The engine's persistence port, and the in-memory store a backtest runs on.

Every implementation keeps the same promises: an order is recorded before it is sent; a client order id is
recorded once; a candle is claimed by at most one cycle (claim_candle is the exactly-once guard); status only
moves forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from domain.trading import Order, OrderRequest, OrderStatus, Position
from engine.records import (
    ClosedTrade,
    DecisionRecord,
    EquityPoint,
    TradeClose,
    TradeOpen,
    UnresolvedOrder,
)
from engine.state import PairState, UserBook

UNRESOLVED = {OrderStatus.PENDING.value, OrderStatus.UNKNOWN.value, OrderStatus.OPEN.value}
_RANK = {
    OrderStatus.PENDING.value: 0,
    OrderStatus.UNKNOWN.value: 0,
    OrderStatus.OPEN.value: 1,
    OrderStatus.PARTIALLY_FILLED.value: 2,
}


def moves_forward(old: str, new: str) -> bool:
    """pending/unknown -> open -> partially filled -> a final status; a final status never changes."""
    if old not in _RANK:
        return False
    return _RANK.get(new, 3) >= _RANK[old]


@runtime_checkable
class EngineStore(Protocol):
    async def load_pair(self, user_id: int, symbol: str) -> PairState: ...

    async def load_user(self, user_id: int) -> UserBook | None: ...

    async def claim_candle(self, user_id: int, symbol: str, candle_ts: int) -> bool:
        """True once per (user, symbol, candle): the caller may process it. A later or equal claim is refused."""
        ...

    async def order_pending(self, user_id: int, request: OrderRequest, purpose: str) -> int: ...

    async def order_update(self, user_id: int, order: Order, purpose: str) -> int: ...

    async def order_failed(self, user_id: int, client_order_id: str, error: str, status: OrderStatus) -> None: ...

    async def unresolved_orders(self, user_id: int, symbol: str) -> list[UnresolvedOrder]: ...

    async def open_trade(self, user_id: int, trade: TradeOpen) -> int:
        """The trade row of an entry; an entry order booked before keeps its row (idempotent)."""
        ...

    async def close_trade(self, user_id: int, symbol: str, close: TradeClose) -> None: ...

    # False: record_decision keeps nothing (a backtest's store), so an engine need not build the records
    keep_decisions: bool

    async def record_decision(self, user_id: int, symbol: str, record: DecisionRecord) -> None: ...

    async def cycle_recorded(self, user_id: int, symbol: str, candle_ts: int, client_order_ids: set[str]) -> bool:
        """Whether a cycle left its decision on the candle opened at candle_ts (its consultation's candle), or one
        of these orders beyond pending (it reached the exchange): False means a claimed cycle stopped before doing
        anything it must not do twice."""
        ...

    async def save_pair(self, user_id: int, symbol: str, state: PairState, position: Position | None) -> None: ...

    async def save_user(self, book: UserBook) -> None: ...

    async def equity_point(self, user_id: int, symbol: str | None, point: EquityPoint) -> None: ...

    async def set_pair_status(self, user_id: int, symbol: str, status: str, reason: str | None) -> None: ...


@dataclass(slots=True)
class MemoryOrder:
    row: int
    user_id: int
    request: OrderRequest
    purpose: str
    status: str = OrderStatus.PENDING.value
    filled: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    average: Decimal | None = None
    exchange_id: str | None = None
    error: str | None = None
    fills: dict[str, tuple] = field(default_factory=dict)


@dataclass(slots=True)
class MemoryTrade:
    row: int
    user_id: int
    opened: TradeOpen
    close: TradeClose | None = None


class MemoryEngineStore:
    """Everything in memory: a backtest writes no row on its hot path; `trades()` and `decisions` feed reports."""

    def __init__(self, keep_decisions: bool = True) -> None:
        self.pairs: dict[tuple[int, str], PairState] = {}
        self.positions: dict[tuple[int, str], Position | None] = {}
        self.users: dict[int, UserBook] = {}
        self.status: dict[tuple[int, str], tuple[str, str | None]] = {}
        self.orders: dict[str, MemoryOrder] = {}
        self.order_rows: list[MemoryOrder] = []
        self.trade_rows: list[MemoryTrade] = []
        self.trade_of_entry: dict[tuple[int, int], int] = {}  # (user, entry order row) -> trade row
        self.decisions: list[tuple[int, str, DecisionRecord]] = []
        self.equity: list[tuple[int, str | None, EquityPoint]] = []
        self.keep_decisions = keep_decisions

    async def load_pair(self, user_id: int, symbol: str) -> PairState:
        return self.pairs.get((user_id, symbol), PairState())

    async def load_user(self, user_id: int) -> UserBook | None:
        return self.users.get(user_id)

    async def claim_candle(self, user_id: int, symbol: str, candle_ts: int) -> bool:
        state = self.pairs.get((user_id, symbol), PairState())
        if state.last_candle_ts is not None and state.last_candle_ts >= candle_ts:
            return False
        self.pairs[(user_id, symbol)] = state.claimed(candle_ts)
        return True

    async def order_pending(self, user_id: int, request: OrderRequest, purpose: str) -> int:
        existing = self.orders.get(request.client_order_id)
        if existing is not None:
            if existing.user_id != user_id:
                raise PermissionError("that client order id belongs to another user")
            return existing.row
        order = MemoryOrder(len(self.order_rows) + 1, user_id, request, purpose)
        self.orders[request.client_order_id] = order
        self.order_rows.append(order)
        return order.row

    async def order_update(self, user_id: int, order: Order, purpose: str) -> int:
        row = self.orders.get(order.client_order_id)
        if row is None:
            request = OrderRequest(
                order.symbol, order.side, order.type, order.amount, order.client_order_id, order.price,
                order.stop_price, order.reduce_only,
            )  # fmt: skip
            row = self.order_rows[await self.order_pending(user_id, request, purpose) - 1]
        if row.user_id != user_id:
            raise PermissionError("that order belongs to another user")
        if moves_forward(row.status, order.status.value):
            row.status = order.status.value
        row.filled = max(row.filled, order.filled)
        row.fee = max(row.fee, order.fee)
        row.average = order.average if order.average is not None else row.average
        row.exchange_id = order.id or row.exchange_id
        for index, fill in enumerate(order.fills):
            row.fills.setdefault(fill.trade_id or f"#{index}", (fill.price, fill.amount, fill.fee, fill.ts))
        return row.row

    async def order_failed(self, user_id: int, client_order_id: str, error: str, status: OrderStatus) -> None:
        row = self.orders.get(client_order_id)
        if row is not None and row.user_id == user_id and moves_forward(row.status, status.value):
            row.status, row.error = status.value, error

    async def unresolved_orders(self, user_id: int, symbol: str) -> list[UnresolvedOrder]:
        return [
            UnresolvedOrder(o.row, o.request, o.purpose, o.status)
            for o in self.order_rows
            if o.user_id == user_id and o.request.symbol == symbol and o.status in UNRESOLVED
        ]

    async def open_trade(self, user_id: int, trade: TradeOpen) -> int:
        booked = self.trade_of_entry.get((user_id, trade.entry_row))
        if booked is not None:
            return booked
        self.trade_rows.append(MemoryTrade(len(self.trade_rows) + 1, user_id, trade))
        self.trade_of_entry[(user_id, trade.entry_row)] = len(self.trade_rows)
        return len(self.trade_rows)

    async def close_trade(self, user_id: int, symbol: str, close: TradeClose) -> None:
        trade = self.trade_rows[close.trade_row - 1]
        if trade.user_id != user_id or trade.opened.symbol != symbol:
            raise PermissionError("that trade belongs to another user or pair")
        trade.close = close

    async def record_decision(self, user_id: int, symbol: str, record: DecisionRecord) -> None:
        if self.keep_decisions:
            self.decisions.append((user_id, symbol, record))

    async def cycle_recorded(self, user_id: int, symbol: str, candle_ts: int, client_order_ids: set[str]) -> bool:
        key = f":{candle_ts}:"  # exchange:symbol:candle:side:ensemble
        if any(u == user_id and s == symbol and key in r.consultation_key for u, s, r in self.decisions):
            return True
        orders = (self.orders.get(cid) for cid in client_order_ids)
        return any(o is not None and o.user_id == user_id and o.status != OrderStatus.PENDING.value for o in orders)

    async def save_pair(self, user_id: int, symbol: str, state: PairState, position: Position | None) -> None:
        self.pairs[(user_id, symbol)] = state
        self.positions[(user_id, symbol)] = position

    async def save_user(self, book: UserBook) -> None:
        self.users[book.user_id] = book

    async def equity_point(self, user_id: int, symbol: str | None, point: EquityPoint) -> None:
        self.equity.append((user_id, symbol, point))

    async def set_pair_status(self, user_id: int, symbol: str, status: str, reason: str | None) -> None:
        self.status[(user_id, symbol)] = (status, reason)

    def trades(self, user_id: int | None = None) -> list[ClosedTrade]:
        return list(_closed(t for t in self.trade_rows if user_id is None or t.user_id == user_id))


def _closed(rows: Iterable[MemoryTrade]) -> Iterable[ClosedTrade]:
    for trade in rows:
        if trade.close is None:
            continue
        opened, close = trade.opened, trade.close
        yield ClosedTrade(
            opened.symbol, opened.side, opened.amount, opened.entry_price, close.exit_price, close.pnl,
            opened.fees + close.exit_fees, close.reason, int(opened.opened_at.timestamp() * 1000),
            int(close.closed_at.timestamp() * 1000),
        )  # fmt: skip
