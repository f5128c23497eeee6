from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EngineHeartbeat
from domain.money import utc_now


class HeartbeatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def beat(
        self,
        user_id: int,
        symbol: str,
        status: str,
        cycle_completed: bool = False,
        error: str | None = None,
        at: datetime | None = None,
        total_cycles: int | None = None,
    ) -> EngineHeartbeat:
        """total_cycles: the engine's own lifetime count of cycles (it survives restarts); a change marks a
        completed cycle. Without it, cycle_completed adds one."""
        now = at or utc_now()
        row = await self.get(user_id, symbol)
        if row is None:
            row = EngineHeartbeat(user_id=user_id, symbol=symbol, status=status, cycles=0)
            self.session.add(row)
        row.status = status
        row.updated_at = now
        if total_cycles is not None:
            if total_cycles != row.cycles:
                row.cycles = total_cycles
                row.last_cycle_at = now
        elif cycle_completed:
            row.cycles = (row.cycles or 0) + 1
            row.last_cycle_at = now
        if error is not None or status != "error":
            row.last_error = error
        await self.session.flush()
        return row

    async def get(self, user_id: int, symbol: str) -> EngineHeartbeat | None:
        return await self.session.scalar(
            select(EngineHeartbeat).where(EngineHeartbeat.user_id == user_id, EngineHeartbeat.symbol == symbol)
        )

    async def list_for_user(self, user_id: int) -> list[EngineHeartbeat]:
        return list(
            await self.session.scalars(
                select(EngineHeartbeat).where(EngineHeartbeat.user_id == user_id).order_by(EngineHeartbeat.symbol)
            )
        )

    async def stale(self, older_than: datetime) -> list[EngineHeartbeat]:
        """Operator health check: engines that claim to run but have not beaten since `older_than`."""
        return list(
            await self.session.scalars(
                select(EngineHeartbeat).where(
                    EngineHeartbeat.status == "running", EngineHeartbeat.updated_at < older_than
                )
            )
        )
