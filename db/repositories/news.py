from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import NewsItemRow


class NewsRepository:
    """Headlines are public and shared by every user, so this repository takes no user id."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, items: Iterable[NewsItemRow]) -> int:
        """Insert the items not stored yet (by fingerprint); returns how many were new."""
        pending = {item.fingerprint: item for item in items}
        if not pending:
            return 0
        existing = set(
            await self.session.scalars(
                select(NewsItemRow.fingerprint).where(NewsItemRow.fingerprint.in_(list(pending)))
            )
        )
        fresh = [item for key, item in pending.items() if key not in existing]
        self.session.add_all(fresh)
        await self.session.flush()
        return len(fresh)

    async def recent(self, since: datetime, symbol: str | None = None, limit: int = 50) -> list[NewsItemRow]:
        rows = await self.session.scalars(
            select(NewsItemRow)
            .where(NewsItemRow.published_at >= since)
            .order_by(NewsItemRow.published_at.desc())
            .limit(limit * 4 if symbol else limit)
        )
        items = [row for row in rows if symbol is None or symbol in (row.symbols or [])]
        return items[:limit]
