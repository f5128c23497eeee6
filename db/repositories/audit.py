from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditLog


class AuditRepository:
    """Every command and every order, with who did it. Details must never hold secrets: callers pass
    redacted arguments (see quorum.log.redact)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        actor: str,
        action: str,
        user_id: int | None = None,
        symbol: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditLog:
        entry = AuditLog(user_id=user_id, actor=actor, action=action, symbol=symbol, detail=detail or {})
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def list_for_user(self, user_id: int, limit: int = 100) -> list[AuditLog]:
        return list(
            await self.session.scalars(
                select(AuditLog).where(AuditLog.user_id == user_id).order_by(AuditLog.id.desc()).limit(limit)
            )
        )
