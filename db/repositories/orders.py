from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import FillRow, OrderRow
from domain.money import ms_to_datetime, utc_now
from domain.trading import Fill, Order, OrderRequest, OrderStatus

OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class OrderRepository:
    """Orders are recorded as pending BEFORE any network call; updates from the exchange are applied after."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_pending(
        self, user_id: int, request: OrderRequest, account_id: int | None = None, purpose: str = "entry"
    ) -> OrderRow:
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

    async def by_client_id(self, user_id: int, client_order_id: str) -> OrderRow | None:
        return await self.session.scalar(
            select(OrderRow).where(OrderRow.user_id == user_id, OrderRow.client_order_id == client_order_id)
        )

    async def apply_update(self, user_id: int, order: Order) -> OrderRow | None:
        """Apply the exchange's view of an order (status, filled, average, fee) and its fills, idempotently."""
        row = await self.by_client_id(user_id, order.client_order_id)
        if row is None:
            return None
        row.exchange_order_id = order.id
        row.status = order.status.value
        row.filled = max(row.filled, order.filled)  # a stale update never un-fills an order
        row.average = order.average if order.average is not None else row.average
        row.fee = order.fee
        row.fee_currency = order.fee_currency or row.fee_currency
        row.updated_at = utc_now()
        for fill in order.fills:
            await self.record_fill(user_id, row, fill)
        await self.session.flush()
        return row

    async def mark_failed(self, user_id: int, client_order_id: str, error: str) -> OrderRow | None:
        row = await self.by_client_id(user_id, client_order_id)
        if row is not None:
            row.status = OrderStatus.REJECTED.value
            row.error = error
            row.updated_at = utc_now()
            await self.session.flush()
        return row

    async def record_fill(self, user_id: int, row: OrderRow, fill: Fill) -> bool:
        """Store one execution; a fill already stored (same order and trade id) is ignored. True if new."""
        if row.user_id != user_id:
            raise PermissionError("order belongs to another user")
        trade_id = fill.trade_id or f"{fill.order_id}:{fill.ts}:{fill.amount}:{fill.price}"
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

    async def list(
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
