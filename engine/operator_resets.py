"""Circuit-breaker resets made in another process (the admin CLI) reach the engines of a running `quorum run`.

The CLI resets the user's breakers in the database, which is all it takes while no engine runs. A running engine
holds its breakers in memory and saves them with every cycle, so it would write the open breaker back. The
CLI's audit row (action `admin_reset_breaker`, detail `applied: false`) is therefore also the request: at every
configuration refresh (LiveRuntime.refresh, every RunOptions.refresh_every_s) the runtime resets, through the
same ManagerControl.resume_breaker a user's /resumebreaker uses, the open breakers of each user named by such a
row written since it started. A reset made inside the running process (an admin's chat) is applied at once and
recorded with `applied: true`, so it is not applied twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from db.database import Database
from db.models import AuditLog

RESET_BREAKER = "admin_reset_breaker"  # the audit action of an operator's breaker reset


class BreakerResets:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.seen: int | None = None  # the last audit row looked at; earlier resets are in the stored state

    async def start(self) -> None:
        """From now on: what the engines load at start already holds every earlier reset."""
        async with self.database.transaction() as session:
            self.seen = int(await session.scalar(select(func.max(AuditLog.id))) or 0)

    async def apply(self, reset: Callable[[int], Awaitable[object]]) -> list[int]:
        """Call reset(user_id) for each reset request written since the last call, oldest first; returns the
        users reset. A failed reset raises and is asked again at the next call (the rows before it are done)."""
        if self.seen is None:
            await self.start()
            return []
        async with self.database.transaction() as session:
            rows = list(
                await session.execute(
                    select(AuditLog.id, AuditLog.user_id, AuditLog.detail)
                    .where(AuditLog.id > self.seen, AuditLog.action == RESET_BREAKER)
                    .order_by(AuditLog.id)
                )
            )
        done: list[int] = []
        for row_id, user_id, detail in rows:
            if user_id is not None and not (detail or {}).get("applied"):
                await reset(int(user_id))
                done.append(int(user_id))
            self.seen = int(row_id)
        return done
