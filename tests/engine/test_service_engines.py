"""What only a running engine can do, asked through the service: real PairEngines on the replay feed, the paper
exchange and the database store, in a MultiPairManager behind ManagerControl, on SQLite and PostgreSQL.

On the shipped candles from 2017-07-14 00:00 UTC, with a decision every hour, the offline analysts open a BTC
short at 13:00, take profit at 17:00, open again on the 15th at 13:00 and hit the stop at 18:00.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from db.database import Database
from db.models import AuditLog, PositionRow, TradeRow, User, UserPair, UserState
from engine.events import EventKind
from engine.service_accounts import ConfirmationNeeded
from engine.service_errors import EnginesNotRunning, NothingToResume, PositionStillOpen
from engine.service_trading import BreakerPreview, BreakerResumed, StoppedAll
from risk import BreakerScope, BreakerStatus, TripReason
from tests.engine.service_world import BTC, ETH, World

TRIPS_AFTER_HOURS = 43  # 2017-07-15 18:00 is the 43rd hourly step from 2017-07-14 00:00
TRIPPED_AT = datetime(2017, 7, 15, 18, tzinfo=UTC)


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


async def _ids(database: Database, telegram_id: int) -> int:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return user.id


async def _with_position(world: World, telegram_id: int, *symbols: str) -> int:
    await world.trader(telegram_id)
    for symbol in symbols:
        await world.service.pairs.add(telegram_id, symbol, "2000", 3)
    await world.run_hours(14)
    positions = await world.service.reports.positions(telegram_id)
    assert [p.symbol for p in positions] == sorted(symbols), "the replay must have opened the positions"
    return await _ids(world.database, telegram_id)


async def _tripped(world: World, telegram_id: int) -> int:
    """One losing trade trips the pair's breaker and a 0.5% daily loss the user's, both at 18:00 on the 15th."""
    await world.trader(telegram_id)
    await world.service.settings.set_risk(telegram_id, "breaker_max_consecutive_losses", "1")
    await world.service.settings.set_risk(telegram_id, "breaker_daily_loss_pct", "0.5%")
    await world.service.pairs.add(telegram_id, BTC, "2000", 3)
    await world.run_hours(TRIPS_AFTER_HOURS)
    return await _ids(world.database, telegram_id)


async def test_close_when_position_open_then_the_engine_closes_it_and_the_audit_has_the_pnl(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _with_position(world, tid, BTC)

    closed = (await world.service.trading.close(tid, "btcusdt")).trade

    assert (closed.symbol, closed.side, closed.reason) == (BTC, "short", "user_close")
    assert await world.service.reports.positions(tid) == ()
    assert world.manager.engines[(uid, BTC)].state.open_trade is None
    assert EventKind.POSITION_CLOSED in world.notifier.kinds(uid)
    async with world.database.transaction() as session:
        trade = await session.scalar(select(TradeRow).where(TradeRow.user_id == uid))
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.user_id == uid, AuditLog.action == "close_position")
        )
        assert trade is not None and trade.status == "closed" and trade.realized_pnl == closed.pnl
        assert audit is not None and audit.detail["pnl"] == str(closed.pnl)


async def test_close_when_engines_run_in_another_process_then_refused_and_position_kept(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await _with_position(world, tid, BTC)
    admin = World.build(database, engines=False)  # the admin CLI: same database, no engines
    try:
        with pytest.raises(EnginesNotRunning, match="cannot close BTC/USDT from here"):
            await admin.service.trading.close(tid, BTC)
        with pytest.raises(EnginesNotRunning):
            await admin.service.trading.stop_all(tid, confirm=True)
    finally:
        await admin.close()
    assert len(await world.service.reports.positions(tid)) == 1


async def test_remove_pair_when_position_open_then_refused_and_with_close_removed(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _with_position(world, tid, BTC)

    with pytest.raises(PositionStillOpen) as refused:
        await world.service.pairs.remove(tid, BTC)
    assert "Close it first with /close BTC/USDT" in refused.value.message
    assert (uid, BTC) in world.manager.engines and len(await world.service.reports.positions(tid)) == 1

    removed = await world.service.pairs.remove(tid, BTC, close=True)

    assert removed.closed is not None and removed.closed.reason == "user_close"
    assert (uid, BTC) not in world.manager.engines
    assert await world.service.pairs.show(tid) == () and await world.service.reports.positions(tid) == ()
    async with world.database.transaction() as session:
        pair = await session.scalar(select(UserPair).where(UserPair.user_id == uid))
        position = await session.scalar(select(PositionRow).where(PositionRow.user_id == uid))
        assert pair is not None and pair.status == "stopped" and position is None


async def test_resume_breaker_when_tripped_without_confirm_then_says_why_when_and_reopening(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _tripped(world, tid)

    preview = await world.service.trading.resume_breaker(tid)

    assert isinstance(preview, BreakerPreview)
    pair, daily = preview.breakers
    assert (pair.scope, pair.symbol, pair.reason, pair.consecutive_losses) == (
        BreakerScope.PAIR, BTC, TripReason.LOSS_STREAK, 1
    )  # fmt: skip
    assert (daily.scope, daily.reason) == (BreakerScope.USER, TripReason.DAILY_LOSS_LIMIT)
    assert pair.tripped_at == TRIPPED_AT and pair.reopens_at == datetime(2017, 7, 15, 22, tzinfo=UTC)
    assert preview.message == (
        "BTC/USDT: circuit breaker tripped on 15 Jul 2017 18:00 UTC after 1 losing trade in a row; it reopens on "
        "its own at 15 Jul 2017 22:00 UTC. Daily loss limit hit on 15 Jul 2017 18:00 UTC: no new entries on any "
        "of your pairs; it reopens on its own at 15 Jul 2017 22:00 UTC. Resume trading now?"
    )
    engine = world.manager.engines[(uid, BTC)]
    assert engine.state.breaker.status is BreakerStatus.OPEN  # nothing changed without the confirmation
    assert engine.book.daily_breaker.status is BreakerStatus.OPEN


async def test_resume_breaker_when_confirmed_then_engine_and_books_run_again(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _tripped(world, tid)

    resumed = await world.service.trading.resume_breaker(tid, confirm=True)

    assert isinstance(resumed, BreakerResumed) and len(resumed.breakers) == 2
    assert any("Circuit breaker reset" in line for line in resumed.messages)
    assert any("Daily loss limit reset" in line for line in resumed.messages)
    engine = world.manager.engines[(uid, BTC)]
    assert engine.state.breaker.status is BreakerStatus.RUNNING
    assert engine.book.daily_breaker.status is BreakerStatus.RUNNING
    assert await world.service.trading.breakers(tid) == ()
    assert world.notifier.kinds(uid).count(EventKind.BREAKER_RESUMED) == 2
    async with world.database.transaction() as session:
        pair = await session.scalar(select(UserPair).where(UserPair.user_id == uid))
        state = await session.get(UserState, uid)
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.user_id == uid, AuditLog.action == "resume_breaker")
        )
        assert pair is not None and pair.breaker_status == "running"
        assert state is not None and state.breaker_status == "running"
        assert audit is not None and audit.detail == {"reset": [BTC, "daily loss limit"]}
    with pytest.raises(NothingToResume):
        await world.service.trading.resume_breaker(tid, confirm=True)


async def test_resume_breaker_when_engine_not_loaded_then_stored_breakers_reset(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await _tripped(world, tid)
    restarted = World.build(database)  # a new process: its manager has loaded no engine yet
    try:
        restarted.feed.clock.advance_to(world.feed.clock.now_ms())
        resumed = await restarted.service.trading.resume_breaker(tid, confirm=True)
        assert isinstance(resumed, BreakerResumed) and resumed.messages == ()
        assert await restarted.service.trading.breakers(tid) == ()
    finally:
        await restarted.close()


async def test_resume_breaker_when_nothing_tripped_then_refused(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(NothingToResume, match="No circuit breaker is open"):
        await world.service.trading.resume_breaker(tid)


async def test_stop_all_when_not_confirmed_then_nothing_changes_and_when_confirmed_all_closed_and_paused(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _with_position(world, tid, BTC, ETH)

    asked = await world.service.trading.stop_all(tid)
    assert isinstance(asked, ConfirmationNeeded)
    assert asked.message == (
        "/stop closes 2 open positions at market (BTC/USDT, ETH/USDT) and pauses all 2 of your pairs. Stop everything?"
    )
    assert len(await world.service.reports.positions(tid)) == 2

    stopped = await world.service.trading.stop_all(tid, confirm=True)

    assert isinstance(stopped, StoppedAll) and stopped.failed == ()
    assert sorted(t.symbol for t in stopped.closed) == [BTC, ETH] and stopped.paused == (BTC, ETH)
    assert await world.service.reports.positions(tid) == ()
    assert all(world.manager.engines[(uid, s)].config.paused for s in (BTC, ETH))
    await world.run_hours(30)  # paused pairs open nothing new
    assert await world.service.reports.positions(tid) == ()
