from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import FillRow, OrderRow
from db.repositories.ownership import NotOwned, require_account
from domain.money import ms_to_datetime, utc_now
from domain.trading import Fill, Order, OrderRequest, OrderSide, OrderStatus, OrderType

#: Not final yet: reconciled against the exchange after a restart (unknown: sent, existence unconfirmed).
OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.UNKNOWN, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
_RANK = {OrderStatus.PENDING: 0, OrderStatus.UNKNOWN: 0, OrderStatus.OPEN: 1, OrderStatus.PARTIALLY_FILLED: 2}
_FINAL_RANK = 3


def advance(current: str, reported: OrderStatus) -> str:
    """The status once `reported` arrives: pending/unknown -> open -> partially filled -> final, never back.

    Updates arrive late and out of order (a websocket event after the REST answer, a replay after a restart),
    so a report that ranks below the recorded status is stale; a final status never changes at all.
    """
    recorded = OrderStatus(current)
    if recorded.is_final or _RANK.get(reported, _FINAL_RANK) < _RANK[recorded]:
        return recorded.value
    return reported.value


def fill_key(fill: Fill, position: int | None) -> str:
    """The fill's exchange trade id, or for a fill without one its position among the order's id-less fills.

    Nothing else tells two id-less fills apart (the same millisecond, amount and price happen), and their
    timestamp may be the time an adapter read them, so it would change on every update.
    """
    if fill.trade_id:
        return fill.trade_id
    if position is None:
        raise ValueError("a fill without a trade id needs its position among the order's fills without one")
    return f"position:{position}"


class OrderRepository:
    """Orders are recorded as pending BEFORE any network call; updates from the exchange are applied after."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_pending(
        self, user_id: int, request: OrderRequest, account_id: int | None = None, purpose: str = "entry"
    ) -> OrderRow:
        await require_account(self.session, user_id, account_id)
        row = OrderRow(
            user_id=user_id,
            account_id=account_id,
            symbol=request.symbol,
            client_order_id=request.client_order_id,
            side=request.side.value,
            type=request.type.value,
            purpose=purpose,
            status=OrderStatus.PENDING.value,
            amount=request.amount,
            filled=Decimal(0),
            price=request.price,
            stop_price=request.stop_price,
            reduce_only=request.reduce_only,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    @staticmethod
    def request_of(row: OrderRow) -> OrderRequest:
        """The request an order row was recorded from (to look it up, or to send it, again)."""
        return OrderRequest(
            symbol=row.symbol,
            side=OrderSide(row.side),
            type=OrderType(row.type),
            amount=row.amount,
            client_order_id=row.client_order_id,
            price=row.price,
            stop_price=row.stop_price,
            reduce_only=row.reduce_only,
        )

    async def by_client_id(self, user_id: int, client_order_id: str) -> OrderRow | None:
        return await self.session.scalar(
            select(OrderRow).where(OrderRow.user_id == user_id, OrderRow.client_order_id == client_order_id)
        )

    async def apply_update(self, user_id: int, order: Order) -> OrderRow | None:
        """Apply the exchange's view of an order (status, filled, average, fee) and its fills, idempotently.

        The record only moves forward (see `advance`); filled and fee never shrink, so a late or replayed
        update changes nothing it should not.
        """
        row = await self.by_client_id(user_id, order.client_order_id)
        if row is None:
            return None
        row.exchange_order_id = order.id or row.exchange_order_id
        row.status = advance(row.status, order.status)
        if order.filled >= row.filled:  # not stale: its average describes at least what is recorded
            row.filled = order.filled
            row.average = order.average if order.average is not None else row.average
        if order.fee > row.fee:
            row.fee, row.fee_currency = order.fee, order.fee_currency or row.fee_currency
        elif not row.fee_currency:
            row.fee_currency = order.fee_currency or None
        row.updated_at = utc_now()
        without_id = 0
        for fill in order.fills:
            if fill.trade_id:
                await self.record_fill(user_id, row, fill)
            else:
                await self.record_fill(user_id, row, fill, without_id)
                without_id += 1
        await self.session.flush()
        return row

    async def mark_failed(
        self, user_id: int, client_order_id: str, error: str, status: OrderStatus = OrderStatus.REJECTED
    ) -> OrderRow | None:
        """Record why sending failed: rejected, or unknown when the exchange could not say whether the order
        exists. An order already final keeps its record: the failure report is stale."""
        row = await self.by_client_id(user_id, client_order_id)
        if row is not None and not OrderStatus(row.status).is_final:
            row.status = advance(row.status, status)
            row.error = error
            row.updated_at = utc_now()
            await self.session.flush()
        return row

    async def record_fill(self, user_id: int, row: OrderRow, fill: Fill, position: int | None = None) -> bool:
        """Store one execution; a fill already stored (same order and key, see `fill_key`) is ignored.
        True if new. `position` is required for a fill without a trade id."""
        if row.user_id != user_id:
            raise NotOwned("order", row.id, user_id)
        trade_id = fill_key(fill, position)
        try:
            async with self.session.begin_nested():
                self.session.add(
                    FillRow(
                        user_id=user_id,
                        order_id=row.id,
                        exchange_trade_id=trade_id,
                        symbol=fill.symbol,
                        side=fill.side.value,
                        price=fill.price,
                        amount=fill.amount,
                        fee=fill.fee,
                        fee_currency=fill.fee_currency,
                        executed_at=ms_to_datetime(fill.ts),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def fills(self, user_id: int, order_row_id: int) -> list[FillRow]:
        return list(
            await self.session.scalars(
                select(FillRow).where(FillRow.user_id == user_id, FillRow.order_id == order_row_id).order_by(FillRow.id)
            )
        )

    async def list_for_user(
        self, user_id: int, symbol: str | None = None, open_only: bool = False, limit: int = 100
    ) -> list[OrderRow]:
        query = select(OrderRow).where(OrderRow.user_id == user_id)
        if symbol is not None:
            query = query.where(OrderRow.symbol == symbol)
        if open_only:
            query = query.where(OrderRow.status.in_([s.value for s in OPEN_STATUSES]))
        return list(await self.session.scalars(query.order_by(OrderRow.id.desc()).limit(limit)))

    async def unresolved(self) -> list[OrderRow]:
        """Orders of every user still pending or open: reconciled against the exchange after a restart."""
        return list(
            await self.session.scalars(
                select(OrderRow).where(OrderRow.status.in_([s.value for s in OPEN_STATUSES])).order_by(OrderRow.id)
            )
        )
