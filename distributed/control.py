"""The gateway's EngineControl: what needs a running engine (/close, /stop's closes, a breaker's /resume) becomes
a job that a worker runs under the user's lock, and the gateway waits for it.

Pair changes need nothing: a worker builds each pair's engine from the database at every job, so the next job
trades the stored configuration. A close or a breaker reset is done by the worker's own engine through the
manager's control (ManagerControl, the single-process code), never twice at once with the user's cycles (the
same `user:<id>` lock), and never retried blindly (an exit order's retry would be decided again by a new job).
The closed trade is read back from the database: procrastinate keeps no return values.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from db.database import Database
from db.models import TradeRow
from distributed.tasks import CLOSE_TASK, RESUME_TASK, user_lock
from domain.money import datetime_to_ms
from engine.clock import Clock
from engine.control import PairChange
from engine.records import ClosedTrade
from engine.service_errors import EngineFailed
from risk import BreakerEvent

DONE = ("succeeded",)
FAILED = ("failed", "cancelled", "aborted")


class JobFailed(EngineFailed):
    """The worker's job failed, or no worker finished it in time: the message is the user's reply."""


class JobControl:
    def __init__(self, app: Any, database: Database, clock: Clock, *, timeout_s: float = 60.0, poll_s: float = 0.1):
        self.app, self.database, self.clock = app, database, clock
        self.timeout_s, self.poll_s = timeout_s, poll_s

    async def pair_added(self, user_id: int, symbol: str) -> None:
        return None  # the next job builds the engine from the database

    async def pair_changed(self, user_id: int, symbol: str, change: PairChange) -> None:
        return None

    async def pair_removed(self, user_id: int, symbol: str) -> None:
        return None  # the next job finds the pair removed and skips it

    async def close_position(self, user_id: int, symbol: str) -> ClosedTrade | None:
        async with self.database.transaction() as session:
            open_id = await session.scalar(
                select(TradeRow.id).where(
                    TradeRow.user_id == user_id, TradeRow.symbol == symbol, TradeRow.status == "open"
                )
            )
        if open_id is None:
            return None
        await self._run(CLOSE_TASK, user_id, symbol=symbol, ts=self.clock.now_ms())
        async with self.database.transaction() as session:  # that trade, as the worker closed it (by id: no clocks)
            row = await session.scalar(select(TradeRow).where(TradeRow.id == open_id, TradeRow.user_id == user_id))
        if row is None or row.status != "closed" or row.closed_at is None or row.exit_price is None:
            return None  # it closed on its own first, or the exchange did not fill the exit
        pnl = row.realized_pnl if row.realized_pnl is not None else Decimal(0)
        opened, closed = datetime_to_ms(row.opened_at), datetime_to_ms(row.closed_at)
        reason = row.close_reason or "user_close"
        return ClosedTrade(
            row.symbol,
            row.side,
            row.amount,
            row.entry_price,
            row.exit_price,
            pnl,
            row.fees,
            reason,
            opened,
            closed,
            row.exit_order_id,
        )

    async def resume_breaker(self, user_id: int) -> tuple[BreakerEvent, ...]:
        await self._run(RESUME_TASK, user_id, ts=self.clock.now_ms())
        return ()  # the worker's engines told the user; the service resets what the database still holds

    async def _run(self, task: str, user_id: int, **arguments: Any) -> None:
        job_id = await self.app.configure_task(task, lock=user_lock(user_id)).defer_async(user_id=user_id, **arguments)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            jobs = list(await self.app.job_manager.list_jobs_async(id=job_id))
            status = str(getattr(jobs[0].status, "value", jobs[0].status)) if jobs else "succeeded"  # run, deleted
            if status in DONE:
                return
            if status in FAILED:
                raise JobFailed(f"The engine could not {_what(task)} (its job {status}); try again in a minute.")
            await asyncio.sleep(self.poll_s)
        if await self.app.job_manager.cancel_job_by_id_async(job_id, delete_job=True):  # still waiting: withdrawn
            raise JobFailed(
                f"No engine worker took the request to {_what(task)} within {self.timeout_s:.0f} s, so it was "
                "withdrawn and nothing changed. Try again in a minute (the operator may need to start a worker)."
            )
        raise JobFailed(
            f"The request to {_what(task)} is still being carried out after {self.timeout_s:.0f} s; /positions and "
            "/status show when it is done."
        )


def _what(task: str) -> str:
    return "close the position" if task == CLOSE_TASK else "reset the circuit breaker"
