from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PositionRow
from db.repositories.ownership import require_pair
from db.repositories.results import rowcount
from domain.money import utc_now

_FIELDS = frozenset(
    {
        "pair_id",
        "side",
        "amount",
        "entry_price",
        "leverage",
        "margin",
        "stop_loss",
        "take_profit",
        "liquidation_price",
        "mark_price",
        "unrealized_pnl",
    }
)


class PositionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, user_id: int, symbol: str, opened_at: datetime | None = None, **values: Any) -> PositionRow:
        unknown = set(values) - _FIELDS
        if unknown:
            raise ValueError(f"unknown position fields: {', '.join(sorted(unknown))}")
        if "pair_id" in values:
            await require_pair(self.session, user_id, values["pair_id"])
        row = await self.get(user_id, symbol)
        if row is None:
            if "side" not in values or "amount" not in values or "entry_price" not in values:
                raise ValueError("a new position needs side, amount and entry_price")
            row = PositionRow(
                user_id=user_id,
                symbol=symbol,
                opened_at=opened_at or utc_now(),
                margin=Decimal(0),
                unrealized_pnl=Decimal(0),
            )
            self.session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utc_now()
        await self.session.flush()
        return row

    async def get(self, user_id: int, symbol: str) -> PositionRow | None:
        return await self.session.scalar(
            select(PositionRow).where(PositionRow.user_id == user_id, PositionRow.symbol == symbol)
        )

    async def list_for_user(self, user_id: int) -> list[PositionRow]:
        return list(
            await self.session.scalars(
                select(PositionRow).where(PositionRow.user_id == user_id).order_by(PositionRow.symbol)
            )
        )

    async def remove(self, user_id: int, symbol: str) -> bool:
        result = await self.session.execute(
            delete(PositionRow).where(PositionRow.user_id == user_id, PositionRow.symbol == symbol)
        )
        return rowcount(result) > 0
