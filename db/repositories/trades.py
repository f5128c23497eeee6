from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TradeRow
from db.repositories.ownership import require_order, require_pair


class TradeRepository:
    """Round trips: opened by an entry, closed by an exit, a stop loss, a take profit or a liquidation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(
        self,
        user_id: int,
        symbol: str,
        side: str,
        amount: Decimal,
        entry_price: Decimal,
        opened_at: datetime,
        pair_id: int | None = None,
        entry_order_id: int | None = None,
        fees: Decimal = Decimal(0),
        leverage: int = 1,
    ) -> TradeRow:
        if side not in ("long", "short"):
            raise ValueError("trade side must be long or short")
        await require_pair(self.session, user_id, pair_id)
        await require_order(self.session, user_id, entry_order_id)
        trade = TradeRow(
            user_id=user_id,
            pair_id=pair_id,
            symbol=symbol,
            side=side,
            status="open",
            amount=amount,
            entry_price=entry_price,
            opened_at=opened_at,
            entry_order_id=entry_order_id,
            fees=fees,
            leverage=leverage,
        )
        self.session.add(trade)
        await self.session.flush()
        return trade

    async def close(
        self,
        user_id: int,
        trade_id: int,
        exit_price: Decimal,
        realized_pnl: Decimal,
        closed_at: datetime,
        reason: str,
        exit_order_id: int | None = None,
        exit_fees: Decimal = Decimal(0),
    ) -> TradeRow | None:
        await require_order(self.session, user_id, exit_order_id)
        trade = await self.get(user_id, trade_id)
        if trade is None or trade.status == "closed":
            return None
        trade.status = "closed"
        trade.exit_price = exit_price
        trade.realized_pnl = realized_pnl
        trade.closed_at = closed_at
        trade.close_reason = reason
        trade.exit_order_id = exit_order_id
        trade.fees = trade.fees + exit_fees
        await self.session.flush()
        return trade

    async def get(self, user_id: int, trade_id: int) -> TradeRow | None:
        return await self.session.scalar(select(TradeRow).where(TradeRow.id == trade_id, TradeRow.user_id == user_id))

    async def open_trade(self, user_id: int, symbol: str) -> TradeRow | None:
        return await self.session.scalar(
            select(TradeRow)
            .where(TradeRow.user_id == user_id, TradeRow.symbol == symbol, TradeRow.status == "open")
            .order_by(TradeRow.id.desc())
            .limit(1)
        )

    async def list_for_user(
        self, user_id: int, symbol: str | None = None, closed_only: bool = False, limit: int = 50
    ) -> list[TradeRow]:
        query = select(TradeRow).where(TradeRow.user_id == user_id)
        if symbol is not None:
            query = query.where(TradeRow.symbol == symbol)
        if closed_only:
            query = query.where(TradeRow.status == "closed")
        return list(await self.session.scalars(query.order_by(TradeRow.id.desc()).limit(limit)))

    async def page_for_user(self, user_id: int, offset: int, limit: int, symbol: str | None = None) -> list[TradeRow]:
        """One page of the user's trades, newest first (by opening, then id)."""
        query = select(TradeRow).where(TradeRow.user_id == user_id)
        if symbol is not None:
            query = query.where(TradeRow.symbol == symbol)
        query = query.order_by(TradeRow.opened_at.desc(), TradeRow.id.desc()).offset(offset).limit(limit)
        return list(await self.session.scalars(query))

    async def count_for_user(self, user_id: int, symbol: str | None = None) -> int:
        query = select(func.count()).select_from(TradeRow).where(TradeRow.user_id == user_id)
        if symbol is not None:
            query = query.where(TradeRow.symbol == symbol)
        return int(await self.session.scalar(query) or 0)

    async def closed_for_user(self, user_id: int) -> list[TradeRow]:
        """Every closed round trip of the user, oldest close first: what the metrics read."""
        return list(
            await self.session.scalars(
                select(TradeRow)
                .where(TradeRow.user_id == user_id, TradeRow.status == "closed")
                .order_by(TradeRow.closed_at, TradeRow.id)
            )
        )
