"""The scheduled jobs of `quorum run`, on APScheduler (AsyncIOScheduler, in the bot's event loop).

| job               | every (wall)        | what it calls                                                          |
|-------------------|---------------------|------------------------------------------------------------------------|
| daily_summaries   | summaries_s         | engine/daily_summary.py: each user's summary at their hour (UTC)        |
| breaker_cooldowns | breakers_s          | engine/housekeeping.py: monitors of engines whose cooldown is over      |
| watchdog          | watchdog_s          | MultiPairManager.restart_silent: engines without a heartbeat restarted |
| news_refresh      | news_ttl_s x 0.8    | the shared news service, refreshed before cycles need it                |
| equity_snapshots  | snapshots_s         | engine/housekeeping.py: a point for accounts quiet for snapshot_every   |
| outbox_retry      | outbox_s            | OutboxSender.deliver_due: alerts whose retry is due                     |

Every job reads the runtime's clock, so on replayed history (a ScaledClock) the summaries follow simulated days.
A job never overlaps itself (max_instances=1), a late run is coalesced into one, and a job that fails is logged
and tried again at its next run: no job can stop the engines or the bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sized
from dataclasses import dataclass
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from loguru import logger

from bot.outbox import OutboxSender
from domain.money import utc_now
from engine.daily_summary import DailySummaries
from engine.housekeeping import reopen_cooled_breakers, snapshot_quiet_accounts
from engine.live import LiveRuntime

HOUR_MS = 3_600_000


class NewsRefresher(Protocol):
    async def refresh(self) -> Sized: ...


@dataclass(frozen=True, slots=True)
class Periods:
    """Wall seconds between runs (silent_s: how long an engine may go without finishing a step)."""

    summaries_s: float = 60.0
    breakers_s: float = 30.0
    watchdog_s: float = 30.0
    silent_s: float = 600.0
    snapshots_s: float = 300.0
    snapshot_every_ms: int = HOUR_MS  # runtime-clock time an account may go without an equity point
    outbox_s: float = 30.0
    news_s: float | None = None  # None: no news service (a replay)


class Jobs:
    """The job bodies, callable directly (tests, a replay stepping its own clock) or through the scheduler."""

    def __init__(
        self,
        runtime: LiveRuntime,
        summaries: DailySummaries,
        *,
        periods: Periods = Periods(),
        sender: OutboxSender | None = None,
        news: NewsRefresher | None = None,
    ) -> None:
        self.runtime, self.summaries, self.periods = runtime, summaries, periods
        self.sender, self.news = sender, news
        self.runs: dict[str, int] = {}

    async def daily_summaries(self) -> int:
        return len(await self.summaries.run_due(self.runtime.clock.now_ms()))

    async def breaker_cooldowns(self) -> int:
        return len(await reopen_cooled_breakers(self.runtime.manager, self.runtime.clock.now_ms()))

    async def watchdog(self) -> int:
        return len(await self.runtime.manager.restart_silent(self.periods.silent_s))

    async def equity_snapshots(self) -> int:
        now = self.runtime.clock.now_ms()
        return len(await snapshot_quiet_accounts(self.runtime.manager, now, self.periods.snapshot_every_ms))

    async def news_refresh(self) -> int:
        if self.news is None:
            return 0
        return len(await self.news.refresh())

    async def outbox_retry(self) -> int:
        return 0 if self.sender is None else await self.sender.deliver_due()

    def table(self) -> list[tuple[str, float, Callable[[], Awaitable[int]]]]:
        """The jobs the wall-clock scheduler runs. A stepped replay steps every engine each tick itself, as fast
        as it goes: its clock-bound jobs run from its ticks instead (on_tick), so the same history always gives
        the same summaries, and nothing reaches into its engines between ticks."""
        p = self.periods
        jobs: list[tuple[str, float, Callable[[], Awaitable[int]]]] = [("outbox_retry", p.outbox_s, self.outbox_retry)]
        if not self.runtime.stepped:
            jobs += [
                ("daily_summaries", p.summaries_s, self.daily_summaries),
                ("breaker_cooldowns", p.breakers_s, self.breaker_cooldowns),
                ("equity_snapshots", p.snapshots_s, self.equity_snapshots),
                ("watchdog", p.watchdog_s, self.watchdog),
            ]
        if self.news is not None and p.news_s:
            jobs.append(("news_refresh", p.news_s, self.news_refresh))
        return jobs

    async def on_tick(self, now_ms: int) -> None:
        """A stepped replay's tick: the jobs that follow the clock (the daily summaries; the breakers' cooldowns
        and the equity points are the engines' own monitor and cycle when every tick is stepped)."""
        if now_ms % HOUR_MS == 0:  # the summaries fall on whole hours
            await _guarded("daily_summaries", self.daily_summaries, self.runs)()


def start_scheduler(jobs: Jobs) -> AsyncIOScheduler:
    """Every job on an interval trigger, the first run one interval after start (news: at once)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, every_s, body in jobs.table():
        scheduler.add_job(
            _guarded(name, body, jobs.runs), "interval", seconds=every_s, id=name, name=name,
            max_instances=1, coalesce=True, misfire_grace_time=max(1, int(every_s)),
            **({"next_run_time": utc_now()} if name == "news_refresh" else {}),
        )  # fmt: skip
    scheduler.start()
    return scheduler


def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=False)


def _guarded(name: str, body: Callable[[], Awaitable[int]], runs: dict[str, int]) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            done = await body()
        except asyncio.CancelledError:  # the scheduler is shutting down: the run ends here, quietly
            return
        except Exception:  # noqa: BLE001 - a failed run is logged; the next one tries again
            logger.bind(job=name).exception("scheduled job {} failed", name)
            return
        runs[name] = runs.get(name, 0) + 1
        if done:
            logger.bind(job=name).info("{}: {}", name, done)

    return job
