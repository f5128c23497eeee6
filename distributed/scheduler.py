"""The gateway's scheduler: at every tick, one job per runnable pair (run_cycle at a cycle boundary, else
monitor_pair), deferred in one batch; and the sweeper for the jobs of workers that died.

Live, the ticks follow the wall clock and the scheduler never waits for the workers: a pair whose previous job of
the same kind is still queued keeps that one (its queueing lock) and the tick is logged as behind for it. On
replayed candles (`wait_for_jobs`), each tick's jobs are awaited before the clock moves on, so every worker sees
the candles the single-process run sees, in the same order.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from sqlalchemy import text

from db.database import Database
from db.repositories.pairs import PairRepository
from distributed.tasks import CYCLE_TASK, MONITOR_TASK, QUEUE, queueing_lock, user_lock
from engine.clock import Clock
from engine.live import RUNNABLE

BATCH = 500


@dataclass(slots=True)
class TickReport:
    tick_ms: int
    deferred: int = 0
    behind: int = 0  # pairs whose previous job of this kind was still queued
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class Sweeper:
    """Jobs left `doing` by a worker whose heartbeat stopped: a cycle is handed back to the queue (retried as it
    is, before any later job of its user: it keeps its id), a monitor that a later tick superseded is marked
    failed. The engine's guard and the reconciliation by client order id make the rerun safe."""

    def __init__(self, app: Any, stalled_after_s: float = 10.0) -> None:
        self.app, self.stalled_after_s = app, stalled_after_s
        self.retried = self.failed = 0

    async def sweep(self, latest_tick_ms: int | None = None) -> int:
        from procrastinate.jobs import Status

        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after_s)
        swept = 0
        for job in stalled:
            superseded = (
                job.task_name == MONITOR_TASK
                and latest_tick_ms is not None
                and int(job.task_kwargs.get("tick_ts", 0)) < latest_tick_ms
            )
            try:
                if superseded:
                    await manager.finish_job(job, Status.FAILED, delete_job=False)
                    self.failed += 1
                else:
                    await manager.retry_job(job)
                    self.retried += 1
                swept += 1
            except Exception:  # noqa: BLE001 - it finished or was swept by another gateway meanwhile
                logger.bind(job=job.id).exception("could not sweep a stalled job")
        if swept:
            logger.warning("swept {} jobs of stopped workers ({} re-run)", swept, self.retried)
        return swept


class CycleScheduler:
    def __init__(
        self,
        app: Any,
        database: Database,
        clock: Clock,
        *,
        tick_ms: int,
        cycle_ms: int,
        sweeper: Sweeper | None = None,
        wait_for_jobs: bool = False,
        poll_s: float = 0.05,
        sweep_every_s: float = 2.0,
    ) -> None:
        self.app, self.database, self.clock = app, database, clock
        self.tick_ms, self.cycle_ms = tick_ms, cycle_ms
        self.sweeper, self.wait_for_jobs = sweeper, wait_for_jobs
        self.poll_s, self.sweep_every_s = poll_s, sweep_every_s
        self.latest_tick: int | None = None
        self.reports: list[TickReport] = []
        self._last_sweep = 0.0

    async def pairs(self) -> list[tuple[int, str]]:
        async with self.database.transaction() as session:
            rows = await PairRepository(session).all_with_status(RUNNABLE)
        return [(row.user_id, row.symbol) for row in rows]

    async def defer_tick(self, tick_ms: int, pairs: Sequence[tuple[int, str]] | None = None) -> tuple[list[int], int]:
        """One job per pair for this tick; returns the job ids and how many pairs were behind."""
        from procrastinate.jobs import Job

        task, arg = (CYCLE_TASK, "candle_ts") if tick_ms % self.cycle_ms == 0 else (MONITOR_TASK, "tick_ts")
        jobs = [
            Job(
                queue=QUEUE,
                lock=user_lock(user_id),
                queueing_lock=queueing_lock(task, user_id, symbol),
                task_name=task,
                task_kwargs={"user_id": user_id, "symbol": symbol, arg: tick_ms},
            )  # fmt: skip
            for user_id, symbol in (pairs if pairs is not None else await self.pairs())
        ]
        self.latest_tick = tick_ms
        ids: list[int] = []
        behind = 0
        for start in range(0, len(jobs), BATCH):
            chunk = jobs[start : start + BATCH]
            deferred, late = await self._defer(chunk)
            ids.extend(deferred)
            behind += late
        if behind:
            logger.warning("tick {}: {} pairs still had a job of this kind queued; it stands for this tick", tick_ms,
                           behind)  # fmt: skip
        return ids, behind

    async def _defer(self, jobs: list[Any]) -> tuple[list[int], int]:
        from procrastinate.exceptions import AlreadyEnqueued

        manager = self.app.job_manager
        try:
            return [job.id for job in await manager.batch_defer_jobs_async(jobs)], 0
        except AlreadyEnqueued:  # one pair is behind: the others one by one
            ids, behind = [], 0
            for job in jobs:
                try:
                    ids.append((await manager.defer_job_async(job)).id)
                except AlreadyEnqueued:
                    behind += 1
            return ids, behind

    async def statuses(self, ids: Sequence[int]) -> Counter[str]:
        async with self.database.transaction() as session:
            rows = await session.execute(
                text("SELECT status::text, count(*) FROM procrastinate_jobs WHERE id = ANY(:ids) GROUP BY status"),
                {"ids": list(ids)},
            )
            return Counter({status: int(count) for status, count in rows})

    async def wait(self, ids: Sequence[int]) -> Counter[str]:
        """Until every job of `ids` has finished (sweeping the jobs of stopped workers meanwhile)."""
        while True:
            counts = await self.statuses(ids)
            if counts["todo"] + counts["doing"] == 0:
                counts["succeeded"] += len(ids) - sum(counts.values())  # workers delete the jobs that succeed
                return counts
            await self.maybe_sweep()
            await asyncio.sleep(self.poll_s)

    async def maybe_sweep(self) -> None:
        if self.sweeper is None or time.monotonic() - self._last_sweep < self.sweep_every_s:
            return
        self._last_sweep = time.monotonic()
        try:
            await self.sweeper.sweep(self.latest_tick)
        except Exception:  # noqa: BLE001 - the next pass tries again
            logger.exception("sweep failed")

    async def run_tick(self, tick_ms: int) -> TickReport:
        started = time.perf_counter()
        ids, behind = await self.defer_tick(tick_ms)
        report = TickReport(tick_ms, len(ids), behind)
        if self.wait_for_jobs:
            report.statuses = await self.wait(ids)
        report.seconds = time.perf_counter() - started
        self.reports.append(report)
        return report

    async def run(
        self,
        start_ms: int | None = None,
        end_ms: int | None = None,
        on_tick: Callable[[int], Awaitable[None] | None] | None = None,
    ) -> None:
        """Tick after tick from start_ms (default: the clock's current tick) until end_ms (default: forever)."""
        now = self.clock.now_ms()
        tick = start_ms if start_ms is not None else now - now % self.tick_ms
        while end_ms is None or tick <= end_ms:
            await self.clock.sleep_until(tick)
            await self.run_tick(tick)
            if on_tick is not None:
                result = on_tick(tick)
                if result is not None:
                    await result
            if not self.wait_for_jobs:
                await self._sleep_sweeping(tick + self.tick_ms)
            tick += self.tick_ms

    async def _sleep_sweeping(self, until_ms: int) -> None:
        """The clock's sleep to the next tick, sweeping every sweep_every_s (wall time) meanwhile."""
        sleeper = asyncio.ensure_future(self.clock.sleep_until(until_ms))
        try:
            while not sleeper.done():
                await asyncio.wait({sleeper}, timeout=self.sweep_every_s)
                await self.maybe_sweep()
        finally:
            sleeper.cancel()
