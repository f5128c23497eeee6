"""The scheduled jobs' engine side, in the live runtime (SQLite and PostgreSQL, Binance emulator over HTTP): the
heartbeat watchdog cuts a hung step and restarts only that engine, a cooled-down breaker reopens when its job
runs, and an account quiet for the period gets an equity point; driven through APScheduler as `quorum run` does."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.port import ExchangePort, MarketData
from bot.scheduler import Jobs, Periods, start_scheduler, stop_scheduler
from db.database import Database
from db.models import EquitySnapshot, ExchangeAccount
from db.repositories import PairRepository
from domain.credentials import ExchangeCredentials
from domain.money import ms_to_datetime
from engine.daily_summary import DailySummaries
from engine.events import EventKind
from engine.housekeeping import reopen_cooled_breakers, snapshot_quiet_accounts
from engine.live import LiveRuntime
from engine.notifier import InMemoryNotifier
from risk import BreakerStatus, LossStreakState
from tests.engine.live_support import MINUTE, SETTINGS, START, Clients, SteppedClock, all_beaten, two_paper_traders
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import eventually

HOUR = 60 * MINUTE


class Hanging:
    """An exchange port whose next `hangs` balance calls never return (a socket that never answers); later ones
    answer, so a restarted engine steps again however long the test takes to look (a loaded machine)."""

    def __init__(self, inner: ExchangePort) -> None:
        self.inner = inner
        self.hangs = 0
        self.hung = 0

    async def fetch_balance(self) -> Any:
        if self.hung < self.hangs:
            self.hung += 1
            await asyncio.Event().wait()
        return await self.inner.fetch_balance()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _seed(database: Database) -> tuple[int, int]:
    return await two_paper_traders(database, ("Gail", "Hugo"), 3001)


async def _world(database: Database, emulator: BinanceEmulator) -> tuple[LiveRuntime, dict[int, Hanging], Any]:
    clock = SteppedClock(START, emulator)
    clients = Clients(emulator)
    clients.database, clients.clock = database, clock
    ports: dict[int, Hanging] = {}

    async def account(row: ExchangeAccount, credentials: ExchangeCredentials | None, public: MarketData) -> Any:
        ports[row.user_id] = Hanging(await clients.account(row, credentials, public))
        return ports[row.user_id]

    runtime = LiveRuntime(
        database, SETTINGS, InMemoryNotifier(), build_shared_ensemble(SETTINGS), clock=clock,
        public_factory=clients.public, account_factory=account, tick_ms=MINUTE, cycle_ms=5 * MINUTE, backoff_s=0.01,
    )  # fmt: skip
    return runtime, ports, clock


async def test_watchdog_when_a_step_hangs_then_only_that_engine_is_cut_told_and_restarted(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    gail, hugo = await _seed(fresh_database)
    runtime, ports, clock = await _world(fresh_database, emulator)
    notifier = runtime.notifier
    assert isinstance(notifier, InMemoryNotifier)
    jobs = Jobs(runtime, DailySummaries(fresh_database, notifier), periods=Periods(watchdog_s=0.1, silent_s=0.6))
    scheduler = None
    try:
        await runtime.start()
        await eventually(lambda: all_beaten(runtime, START), timeout=20)
        scheduler = start_scheduler(jobs)
        ports[gail].hangs = 1
        await clock.advance_to(START + MINUTE)
        await eventually(lambda: all_beaten(runtime, START + MINUTE, [(hugo, "BTC/USDT")]), timeout=20)
        gail_watch = runtime.manager.supervision[(gail, "BTC/USDT")]
        await eventually(lambda: len(gail_watch.crashes) == 1, timeout=10)  # the watchdog cut the hung step
        assert "no heartbeat" in (gail_watch.last_error or "")
        await eventually(lambda: all_beaten(runtime, START + MINUTE), timeout=20)  # restarted, the tick re-run
        assert gail_watch.status == "running" and ports[gail].hung == 1 and len(gail_watch.crashes) == 1
        assert runtime.manager.supervision[(hugo, "BTC/USDT")].crashes == []
        told = [e.message for e in notifier.events if e.kind is EventKind.ENGINE_ERROR]
        assert (
            len(told) == 1
            and "went silent" in told[0]
            and [e.user_id for e in notifier.events if e.kind is EventKind.ENGINE_ERROR] == [gail]
        )
        assert jobs.runs.get("watchdog", 0) >= 1
    finally:
        if scheduler is not None:
            stop_scheduler(scheduler)
        await runtime.stop(timeout_s=10)
        await runtime.ensemble.close()


async def test_breaker_job_when_a_cooldown_is_over_then_it_reopens_and_says_so_at_once(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    gail, hugo = await _seed(fresh_database)
    runtime, _, clock = await _world(fresh_database, emulator)
    notifier = runtime.notifier
    assert isinstance(notifier, InMemoryNotifier)
    try:
        await runtime.start()
        await eventually(lambda: all_beaten(runtime, START), timeout=20)
        engine = runtime.manager.engines[(gail, "BTC/USDT")]
        tripped = ms_to_datetime(START)
        cooling = LossStreakState(BreakerStatus.OPEN, 3, tripped_at=tripped, reopens_at=tripped + timedelta(seconds=30))
        engine.state = replace(engine.state, breaker=cooling)
        assert await reopen_cooled_breakers(runtime.manager, START + 10_000) == []  # still cooling down
        assert await reopen_cooled_breakers(runtime.manager, START + 30_000) == [(gail, "BTC/USDT")]
        assert engine.state.breaker.status is BreakerStatus.RUNNING
        resumed = [e for e in notifier.events if e.kind is EventKind.BREAKER_RESUMED]
        assert [(e.user_id, "cooldown over" in e.message) for e in resumed] == [(gail, True)]
        async with fresh_database.transaction() as session:
            stored = await PairRepository(session).get(gail, "BTC/USDT")
        assert stored is not None and stored.breaker.get("status") == "running"
        assert await reopen_cooled_breakers(runtime.manager, START + 40_000) == []  # once
    finally:
        await runtime.stop(timeout_s=10)
        await runtime.ensemble.close()


async def test_snapshot_job_when_an_account_was_quiet_for_the_period_then_one_point_per_user(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    gail, hugo = await _seed(fresh_database)
    runtime, _, clock = await _world(fresh_database, emulator)
    try:
        await runtime.start()
        await eventually(lambda: all_beaten(runtime, START), timeout=20)
        assert await snapshot_quiet_accounts(runtime.manager, START + 10 * MINUTE, HOUR) == []  # a cycle just wrote
        done = await snapshot_quiet_accounts(runtime.manager, START + 2 * HOUR, HOUR)
        assert sorted(key[0] for key in done) == sorted([gail, hugo])
        assert await snapshot_quiet_accounts(runtime.manager, START + 2 * HOUR + MINUTE, HOUR) == []
        async with fresh_database.transaction() as session:
            query = select(EquitySnapshot.user_id, EquitySnapshot.at, EquitySnapshot.equity)
            points = list(await session.execute(query.where(EquitySnapshot.at == ms_to_datetime(START + 2 * HOUR))))
        assert sorted(p[0] for p in points) == sorted([gail, hugo])
        assert all(p[2] == Decimal(10000) for p in points)  # flat paper accounts: the starting balance, exactly
    finally:
        await runtime.stop(timeout_s=10)
        await runtime.ensemble.close()
