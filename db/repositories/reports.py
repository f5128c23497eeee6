from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


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
