"""The engine's store on the database: every step its own transaction, through the repositories.

claim_candle is one conditional UPDATE (last_candle_ts < candle), so two processes racing for the same
(user, symbol, candle) cannot both win, and a restart never processes a candle twice; cycle_recorded tells a
restarted engine whether a candle it had claimed got as far as an order or its decision (if not, it runs it again).
For /metrics it counts each claimed candle (quorum_cycles_total) and each order status it records for the first
time (quorum_orders_total{status}), once committed.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, or_, select, update

from db.database import Database
from db.models import EquitySnapshot, OrderRow, TradeDecision, TradeRow, UserPair
from db.repositories import (
    DecisionRepository,
    OrderRepository,
    PairRepository,
    PositionRepository,
    TradeRepository,
    UserStateRepository,
)
from db.repositories.results import rowcount
from domain.money import ms_to_datetime, to_decimal
from domain.trading import Order, OrderRequest, OrderStatus, Position
from engine.records import DecisionRecord, EquityPoint, TradeClose, TradeOpen, UnresolvedOrder
from engine.state import PairState, UserBook
from engine.store import UNRESOLVED
from risk import DailyLossState
from telemetry import METRICS


class PairMissing(LookupError):
    pass


class DbEngineStore:
    keep_decisions = True  # every cycle's decision is a trade_decisions row

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pairs: dict[tuple[int, str], tuple[int, int | None]] = {}  # (user, symbol) -> (pair id, account id)
        self._equity_locks: dict[int, asyncio.Lock] = {}  # per user: two engines' points at one moment, in turn

    async def _pair(self, session, user_id: int, symbol: str) -> UserPair:
        pair = await PairRepository(session).get(user_id, symbol)
        if pair is None:
            raise PairMissing(f"user {user_id} has no {symbol} pair")
        self._pairs[(user_id, symbol)] = (pair.id, pair.account_id)
        return pair

    async def _ids(self, user_id: int, symbol: str) -> tuple[int, int | None]:
        ids = self._pairs.get((user_id, symbol))
        if ids is None:
            async with self.database.transaction() as session:
                await self._pair(session, user_id, symbol)
            ids = self._pairs[(user_id, symbol)]
        return ids

    async def load_pair(self, user_id: int, symbol: str) -> PairState:
        async with self.database.transaction() as session:
            pair = await self._pair(session, user_id, symbol)
            return PairState.from_stored(pair.breaker, pair.last_candle_ts, pair.engine_state)

    async def load_user(self, user_id: int) -> UserBook | None:
        async with self.database.transaction() as session:
            state = await UserStateRepository(session).get(user_id)
            if state is None:
                return None
            # the closed trades are the truth: a stop between booking a close and saving the book loses nothing
            realized = await session.scalar(
                select(func.coalesce(func.sum(TradeRow.realized_pnl), 0)).where(
                    TradeRow.user_id == user_id, TradeRow.status == "closed"
                )
            )
            return UserBook(
                user_id=user_id,
                daily_breaker=DailyLossState.from_dict(state.breaker) if state.breaker else DailyLossState(),
                equity=state.equity,
                balance=state.balance,
                realized_pnl=to_decimal(realized),
                unrealized_pnl=state.unrealized_pnl,
                peak_equity=state.peak_equity,
                day_start_equity=state.day_start_equity,
                day=state.day,
                trades_today=state.trades_today,
            )

    async def claim_candle(self, user_id: int, symbol: str, candle_ts: int) -> bool:
        async with self.database.transaction() as session:
            result = await session.execute(
                update(UserPair)
                .where(
                    UserPair.user_id == user_id,
                    UserPair.symbol == symbol,
                    or_(UserPair.last_candle_ts.is_(None), UserPair.last_candle_ts < candle_ts),
                )
                .values(last_candle_ts=candle_ts)
            )
            claimed = rowcount(result) > 0
        if claimed:
            METRICS.cycles.inc()  # a claimed candle is a cycle run, exactly once across restarts and processes
        return claimed

    async def order_pending(self, user_id: int, request: OrderRequest, purpose: str) -> int:
        _, account_id = await self._ids(user_id, request.symbol)
        async with self.database.transaction() as session:
            orders = OrderRepository(session)
            existing = await orders.by_client_id(user_id, request.client_order_id)
            if existing is not None:
                return existing.id
            row = await orders.add_pending(user_id, request, account_id, purpose)
        METRICS.order_status(row.status)
        return row.id

    async def order_update(self, user_id: int, order: Order, purpose: str) -> int:
        """The exchange's view of an order; an order the exchange made itself (a liquidation) gets its row here."""
        _, account_id = await self._ids(user_id, order.symbol)
        async with self.database.transaction() as session:
            orders = OrderRepository(session)
            before = await _status(orders, user_id, order.client_order_id)
            row = await orders.apply_update(user_id, order)
            if row is None:
                request = OrderRequest(
                    order.symbol, order.side, order.type, order.amount, order.client_order_id, order.price,
                    order.stop_price, order.reduce_only,
                )  # fmt: skip
                await orders.add_pending(user_id, request, account_id, purpose)
                row = await orders.apply_update(user_id, order)
            assert row is not None
            after = row.status
        _count_change(before, after)
        return row.id

    async def order_failed(self, user_id: int, client_order_id: str, error: str, status: OrderStatus) -> None:
        async with self.database.transaction() as session:
            orders = OrderRepository(session)
            before = await _status(orders, user_id, client_order_id)
            row = await orders.mark_failed(user_id, client_order_id, error, status)
            after = row.status if row is not None else None
        _count_change(before, after)

    async def unresolved_orders(self, user_id: int, symbol: str) -> list[UnresolvedOrder]:
        async with self.database.transaction() as session:
            rows = await OrderRepository(session).list_for_user(user_id, symbol=symbol, open_only=True, limit=1000)
            return [
                UnresolvedOrder(row.id, OrderRepository.request_of(row), row.purpose, row.status)
                for row in sorted(rows, key=lambda r: r.id)
                if row.status in UNRESOLVED
            ]

    async def open_trade(self, user_id: int, trade: TradeOpen) -> int:
        """Idempotent: an entry order already booked (by a run that stopped before saving it) keeps its trade."""
        pair_id, _ = await self._ids(user_id, trade.symbol)
        async with self.database.transaction() as session:
            booked = await session.scalar(
                select(TradeRow.id).where(TradeRow.user_id == user_id, TradeRow.entry_order_id == trade.entry_row)
            )
            if booked is not None:
                return int(booked)
            row = await TradeRepository(session).open(
                user_id, trade.symbol, trade.side, trade.amount, trade.entry_price, trade.opened_at, pair_id,
                trade.entry_row, trade.fees, trade.leverage,
            )  # fmt: skip
            return row.id

    async def close_trade(self, user_id: int, symbol: str, close: TradeClose) -> None:
        async with self.database.transaction() as session:
            await TradeRepository(session).close(
                user_id, close.trade_row, close.exit_price, close.pnl, close.closed_at, close.reason, close.exit_row,
                close.exit_fees,
            )  # fmt: skip
            await PositionRepository(session).remove(user_id, symbol)

    async def record_decision(self, user_id: int, symbol: str, record: DecisionRecord) -> None:
        pair_id, _ = await self._ids(user_id, symbol)
        async with self.database.transaction() as session:
            await DecisionRepository(session).add_decision(
                user_id, symbol, record.consultation_key, record.action, record.outcome, pair_id=pair_id,
                confidence=record.confidence, stop_loss=record.stop_loss, take_profit=record.take_profit,
                consensus_reason=record.consensus_reason, reason_code=record.reason_code,
                reason_message=record.reason_message, order_id=record.order_row,
            )  # fmt: skip

    async def cycle_recorded(self, user_id: int, symbol: str, candle_ts: int, client_order_ids: set[str]) -> bool:
        pair_id, _ = await self._ids(user_id, symbol)
        async with self.database.transaction() as session:
            decided = await session.scalar(
                select(TradeDecision.id).where(
                    TradeDecision.user_id == user_id, TradeDecision.pair_id == pair_id,
                    TradeDecision.consultation_key.contains(f":{candle_ts}:"),  # exchange:symbol:candle:side:...
                ).limit(1)
            )  # fmt: skip
            if decided is not None:
                return True
            sent = await session.scalar(
                select(OrderRow.id).where(
                    OrderRow.user_id == user_id, OrderRow.client_order_id.in_(client_order_ids),
                    OrderRow.status != OrderStatus.PENDING.value,
                ).limit(1)
            )  # fmt: skip
            return sent is not None

    async def save_pair(self, user_id: int, symbol: str, state: PairState, position: Position | None) -> None:
        pair_id, _ = await self._ids(user_id, symbol)
        async with self.database.transaction() as session:
            await session.execute(
                update(UserPair)
                .where(UserPair.id == pair_id, UserPair.user_id == user_id)
                .values(
                    breaker=state.breaker.to_dict(),
                    breaker_status=state.breaker.status.value,
                    engine_state=state.engine_dict(),
                )
            )
            positions = PositionRepository(session)
            trade = state.open_trade
            if trade is None:
                await positions.remove(user_id, symbol)
            elif position is not None or trade is not None:
                await positions.upsert(
                    user_id, symbol, ms_to_datetime(trade.opened_ms), pair_id=pair_id, side=trade.side.value,
                    amount=trade.amount, entry_price=trade.entry_price, stop_loss=trade.stop_loss,
                    take_profit=trade.take_profit,
                    **(
                        {
                            "leverage": position.leverage, "margin": position.margin,
                            "liquidation_price": position.liquidation_price, "mark_price": position.mark_price,
                            "unrealized_pnl": position.unrealized_pnl,
                        }
                        if position is not None
                        else {}
                    ),
                )  # fmt: skip

    async def save_user(self, book: UserBook) -> None:
        async with self.database.transaction() as session:
            await UserStateRepository(session).update(book.user_id, **book.figures())

    async def equity_point(self, user_id: int, symbol: str | None, point: EquityPoint) -> None:
        """The account's equity at point.ts: one row per user and moment. Each of the user's engines marks the
        account after its own step, so a later mark at the same moment replaces the earlier one."""
        pair_id = (await self._ids(user_id, symbol))[0] if symbol is not None else None
        at = ms_to_datetime(point.ts)
        lock = self._equity_locks.setdefault(user_id, asyncio.Lock())
        async with lock, self.database.transaction() as session:
            row = await session.scalar(
                select(EquitySnapshot).where(EquitySnapshot.user_id == user_id, EquitySnapshot.at == at).limit(1)
            )
            if row is None:
                session.add(
                    EquitySnapshot(
                        user_id=user_id, pair_id=pair_id, at=at, equity=point.equity, balance=point.balance,
                        unrealized_pnl=point.unrealized,
                    )
                )  # fmt: skip
            else:
                row.pair_id, row.equity, row.balance, row.unrealized_pnl = (
                    pair_id, point.equity, point.balance, point.unrealized
                )  # fmt: skip

    async def set_pair_status(self, user_id: int, symbol: str, status: str, reason: str | None) -> None:
        async with self.database.transaction() as session:
            await PairRepository(session).set_status(user_id, symbol, status, reason)


async def _status(orders: OrderRepository, user_id: int, client_order_id: str) -> str | None:
    row = await orders.by_client_id(user_id, client_order_id)
    return row.status if row is not None else None


def _count_change(before: str | None, after: str | None) -> None:
    """An order that moved to a new status (or was first recorded) is counted under that status, once."""
    if after is not None and after != before:
        METRICS.order_status(after)
