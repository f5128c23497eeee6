"""What needs an engine, asked at the gateway (no engines there): /close becomes a job a worker runs with its own
engine under the user's lock, and the gateway's service answers with the closed trade; a breaker's /resume
likewise. One `quorum run --role worker` process, paper accounts on replayed candles, PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.models import OrderRow, TradeRow
from distributed.control import JobControl, JobFailed
from distributed.roles import start_scheduling
from distributed.tasks import CLOSE_TASK
from engine.service import QuorumService
from engine.service_errors import EngineFailed
from tests.distributed.support import (
    FIRST_TELEGRAM_ID,
    HOUR,
    START,
    add_users,
    replay_world,
    settings_of,
    settings_values,
    start_llm,
    start_worker,
    workers_registered,
)
from tests.engine.live_support import migrated_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(postgres_factory: Any) -> str:
    return postgres_factory.new_url()


async def test_close_when_asked_at_the_gateway_then_a_worker_closes_it_and_the_service_reports_the_trade(
    pg_url: str, tmp_path: Path
) -> None:
    url = pg_url
    llm = await start_llm()
    values = settings_values(url, llm.url)
    settings = settings_of(values)
    worker = None
    try:
        async with migrated_database(url) as database:
            world = replay_world(database, settings, recorder=False)
            await add_users(database, settings, world, 2)
            scheduling = await start_scheduling(database, world.runtime, wait_for_jobs=True, start=False)
            control = JobControl(scheduling.app, database, world.clock, timeout_s=60)
            service = QuorumService(database, settings, gateway=world.gateway, control=control, clock=world.clock)
            worker = start_worker(values, 0, tmp_path)
            try:
                await workers_registered(database, 1)
                opened: list[Any] = []
                end = START
                while not opened and end < START + 48 * HOUR:  # until the first user holds a position
                    await scheduling.scheduler.run(end, end + 2 * HOUR)
                    end += 3 * HOUR
                    async with database.transaction() as session:
                        opened = list(await session.scalars(select(TradeRow).where(TradeRow.status == "open")))
                assert opened, "no position opened in 48 simulated hours"
                trade = opened[0]
                owner = await _telegram_id(database, trade.user_id)

                closed = await service.trading.close(owner, trade.symbol)

                assert closed.trade.symbol == trade.symbol and closed.trade.exit_price > 0
                async with database.transaction() as session:
                    stored = await session.get(TradeRow, trade.id)
                    exits = list(await session.scalars(select(OrderRow).where(
                        OrderRow.user_id == trade.user_id, OrderRow.purpose == "exit")))  # fmt: skip
                assert stored is not None and stored.status == "closed" and stored.close_reason == "user_close"
                assert stored.realized_pnl == closed.trade.pnl and len(exits) == 1 and exits[0].status == "filled"
                others = [t for t in opened[1:] if t.user_id != trade.user_id]
                async with database.transaction() as session:  # another user's position is untouched
                    for other in others:
                        assert (await session.get(TradeRow, other.id)).status == "open"  # type: ignore[union-attr]
                assert await control.close_position(trade.user_id, trade.symbol) is None  # flat now: no job at all
                worker.send_signal(signal.SIGTERM)
                await asyncio.to_thread(worker.wait, 30)
                with pytest.raises(
                    JobFailed, match="No engine worker took the request"
                ):  # no worker left: the wait is bounded
                    await JobControl(scheduling.app, database, world.clock, timeout_s=1).resume_breaker(trade.user_id)
            finally:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                await asyncio.to_thread(worker.wait, 30)
                await scheduling.close()
                await world.runtime.ensemble.close()
    finally:
        await llm.stop()


async def test_close_when_no_worker_runs_the_job_then_the_user_is_told_and_nothing_changes(pg_url: str) -> None:
    url = pg_url
    settings = settings_of(settings_values(url, "http://127.0.0.1:9"))
    async with migrated_database(url) as database:
        world = replay_world(database, settings, recorder=False)
        await add_users(database, settings, world, 1)
        scheduling = await start_scheduling(database, world.runtime, start=False)
        try:
            control = JobControl(scheduling.app, database, world.clock, timeout_s=0.5)
            service = QuorumService(database, settings, gateway=world.gateway, control=control, clock=world.clock)
            async with database.transaction() as session:  # an open trade, as if a worker had opened it
                pair_user = await _user_id(database, FIRST_TELEGRAM_ID)
                from datetime import UTC, datetime
                from decimal import Decimal

                from db.repositories import TradeRepository

                await TradeRepository(session).open(
                    pair_user, "BTC/USDT", "long", Decimal("0.01"), Decimal(13000), datetime(2018, 1, 1, tzinfo=UTC)
                )
            with pytest.raises(EngineFailed, match="No engine worker took the request"):
                await service.trading.close(FIRST_TELEGRAM_ID, "BTC/USDT")
            async with database.transaction() as session:
                still = await session.scalar(select(TradeRow.status).where(TradeRow.user_id == pair_user))
            assert still == "open"
            assert list(await scheduling.app.job_manager.list_jobs_async(task=CLOSE_TASK)) == []  # withdrawn
        finally:
            await scheduling.close()
            await world.runtime.ensemble.close()


async def _telegram_id(database: Any, user_id: int) -> int:
    from db.models import User

    async with database.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.telegram_id


async def _user_id(database: Any, telegram_id: int) -> int:
    from db.repositories import UserRepository

    async with database.transaction() as session:
        user = await UserRepository(session).by_telegram_id(telegram_id)
        assert user is not None
        return user.id
