"""The alert outbox: what the engine told a user, kept until Telegram has accepted it. Every message written to
it is counted for /metrics (quorum_alerts_queued_total): engine alerts, operator notices and broadcasts alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AlertOutbox
from telemetry import METRICS


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, user_id: int, kind: str, text: str, at: datetime) -> AlertOutbox:
        row = AlertOutbox(user_id=user_id, kind=kind, text=text, attempts=0, next_attempt_at=at, dropped=False)
        self.session.add(row)
        await self.session.flush()
        METRICS.alert_queued()
        return row

    async def due(self, now: datetime, limit: int = 100) -> list[AlertOutbox]:
        """Unsent alerts of every user whose next attempt is due, oldest first (the sender's query)."""
        return list(
            await self.session.scalars(
                select(AlertOutbox)
                .where(AlertOutbox.sent_at.is_(None), AlertOutbox.dropped.is_(False))
                .where(AlertOutbox.next_attempt_at <= now)
                .order_by(AlertOutbox.id)
                .limit(limit)
            )
        )

    async def next_due_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(AlertOutbox.next_attempt_at)).where(
                AlertOutbox.sent_at.is_(None), AlertOutbox.dropped.is_(False)
            )
        )

    async def mark_sent(self, alert_id: int, at: datetime) -> None:
        await self.session.execute(
            update(AlertOutbox)
            .where(AlertOutbox.id == alert_id)
            .values(sent_at=at, attempts=AlertOutbox.attempts + 1, last_error=None)
        )

    async def mark_retry(self, alert_id: int, error: str, next_attempt_at: datetime) -> None:
        await self.session.execute(
            update(AlertOutbox)
            .where(AlertOutbox.id == alert_id)
            .values(attempts=AlertOutbox.attempts + 1, last_error=error[:500], next_attempt_at=next_attempt_at)
        )

    async def mark_dropped(self, alert_id: int, error: str) -> None:
        await self.session.execute(
            update(AlertOutbox)
            .where(AlertOutbox.id == alert_id)
            .values(attempts=AlertOutbox.attempts + 1, last_error=error[:500], dropped=True)
        )

    async def pending_for_user(self, user_id: int) -> list[AlertOutbox]:
        return list(
            await self.session.scalars(
                select(AlertOutbox)
                .where(AlertOutbox.user_id == user_id, AlertOutbox.sent_at.is_(None), AlertOutbox.dropped.is_(False))
                .order_by(AlertOutbox.id)
            )
        )

    async def for_user(self, user_id: int, limit: int = 100) -> list[AlertOutbox]:
        return list(
            await self.session.scalars(
                select(AlertOutbox).where(AlertOutbox.user_id == user_id).order_by(AlertOutbox.id).limit(limit)
            )
        )
