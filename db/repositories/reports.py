from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EquitySnapshot, UserPair


class ReportRepository:
    """Reads of the reporting views, always narrowed to one user."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def overview(self, user_id: int) -> dict[str, Any] | None:
        result = await self.session.execute(text("SELECT * FROM user_overview WHERE user_id = :uid"), {"uid": user_id})
        row = result.mappings().first()
        return dict(row) if row is not None else None

    async def recent_trades(self, user_id: int, limit: int = 50) -> list[dict[str, Any]]:
        result = await self.session.execute(
            text("SELECT * FROM recent_trades_by_user WHERE user_id = :uid AND recency <= :limit ORDER BY recency"),
            {"uid": user_id, "limit": limit},
        )
        return [dict(row) for row in result.mappings()]

    async def equity_curve(self, user_id: int, account_id: int | None = None) -> list[tuple[datetime, Decimal]]:
        """The user's equity snapshots, oldest first; with account_id, only those of pairs on that account."""
        query = select(EquitySnapshot.at, EquitySnapshot.equity).where(EquitySnapshot.user_id == user_id)
        if account_id is not None:
            query = query.join(
                UserPair, (UserPair.id == EquitySnapshot.pair_id) & (UserPair.user_id == EquitySnapshot.user_id)
            ).where(UserPair.account_id == account_id)
        result = await self.session.execute(query.order_by(EquitySnapshot.at, EquitySnapshot.id))
        return [(at, equity) for at, equity in result]
