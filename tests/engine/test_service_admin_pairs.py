"""The admin calls on pairs, trades and breakers through the service, with real engines behind ManagerControl on
SQLite and PostgreSQL: only admins (and the operator, only in a service built for the admin CLI) may call them;
a breaker reset where the engines run is applied at once, audited as applied, and not applied again by a
running process's refresh."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import func, select

from db.database import Database
from db.models import AlertOutbox, AuditLog, UserPair, UserState
from engine.operator_resets import RESET_BREAKER, BreakerResets
from engine.service import QuorumService
from engine.service_admin_access import OPERATOR
from engine.service_admin_pairs import BreakersReset
from engine.service_errors import InvalidInput, NotAnAdmin
from engine.service_trading import BreakerPreview
from risk import BreakerStatus
from tests.engine.service_world import BTC, ETH, SETTINGS, World
from tests.engine.test_service_engines import _tripped


@pytest.fixture
async def cast(database: Database, telegram_id: Callable[[], int]) -> AsyncIterator[tuple[World, int]]:
    admin = telegram_id()
    world = World.build(database, settings=SETTINGS.model_copy(update={"admin_telegram_ids": [admin]}))
    yield world, admin
    await world.close()


async def test_reset_breaker_when_engines_run_here_then_applied_at_once_and_not_again_by_a_refresh(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    ann = telegram_id()
    uid = await _tripped(world, ann)
    engine = world.manager.engines[(uid, BTC)]
    async with world.database.transaction() as session:
        last_audit = int(await session.scalar(select(func.max(AuditLog.id))) or 0)

    preview = await world.service.admin.reset_breaker(admin, ann)
    assert isinstance(preview, BreakerPreview) and len(preview.breakers) == 2
    assert preview.message.startswith(f"User {ann}: BTC/USDT: circuit breaker tripped on 15 Jul 2017 18:00 UTC")
    assert engine.state.breaker.status is BreakerStatus.OPEN  # a preview changes nothing

    done = await world.service.admin.reset_breaker(admin, str(ann), confirm=True)

    assert isinstance(done, BreakersReset) and done.applied and not done.told
    assert [view.symbol for view in done.breakers] == [BTC, None]
    assert any("Circuit breaker reset" in message for message in done.messages)
    assert engine.state.breaker.status is BreakerStatus.RUNNING
    assert engine.book.daily_breaker.status is BreakerStatus.RUNNING
    async with world.database.transaction() as session:
        pair = await session.scalar(select(UserPair).where(UserPair.user_id == uid, UserPair.symbol == BTC))
        state = await session.scalar(select(UserState).where(UserState.user_id == uid))
        audit = await session.scalar(select(AuditLog).where(AuditLog.user_id == uid, AuditLog.action == RESET_BREAKER))
        notices = await session.scalar(select(func.count()).select_from(AlertOutbox).where(AlertOutbox.user_id == uid))
    assert pair is not None and pair.breaker_status == "running"
    assert state is not None and state.breaker_status == "running"
    assert audit is not None and audit.actor == f"telegram:{admin}" and audit.detail["applied"] is True
    assert notices == 0  # the engines told the user themselves
    resets = BreakerResets(world.database)
    resets.seen = last_audit
    assert await resets.apply(lambda user_id: pytest.fail(f"reset {user_id} twice")) == []
    with pytest.raises(InvalidInput, match=f"User {ann} has no open circuit breaker"):
        await world.service.admin.reset_breaker(admin, ann, confirm=True)


async def test_admin_pairs_and_trades_when_admin_asks_then_the_named_users_rows_only(
    cast: tuple[World, int], telegram_id: Callable[[], int]
) -> None:
    world, admin = cast
    ann, bob = telegram_id(), telegram_id()
    for who, symbol in ((ann, BTC), (bob, ETH)):
        await world.trader(who)
        await world.service.pairs.add(who, symbol, "2000", 3)
    await world.run_hours(20)  # the offline analysts open and take profit on BTC and ETH alike

    page = await world.service.admin.pairs(admin, ann)
    trades = await world.service.admin.trades(admin, ann)
    eth = await world.service.admin.trades(admin, bob, pair="eth-usdt")

    assert [(row.telegram_id, row.pair.symbol) for row in page.pairs] == [(ann, BTC)]
    assert page.pairs[0].last_cycle is not None and page.pairs[0].engine is None  # no heartbeat in a replay
    assert trades.total >= 1 and {trade.symbol for trade in trades.trades} == {BTC}
    assert eth.total == trades.total and {trade.symbol for trade in eth.trades} == {ETH}
    with pytest.raises(InvalidInput, match=f"User {ann} has no ETH/USDT pair. Their pairs: BTC/USDT."):
        await world.service.admin.trades(admin, ann, pair=ETH)
    for call in (world.service.admin.pairs(ann, bob), world.service.admin.trades(ann, bob),
                 world.service.admin.reset_breaker(ann, bob, confirm=True)):  # fmt: skip
        with pytest.raises(NotAnAdmin):
            await call


async def test_operator_id_when_used_outside_the_admin_cli_then_refused_and_inside_audited_by_name(
    cast: tuple[World, int], database: Database
) -> None:
    world, _ = cast
    for call in (world.service.admin.users(OPERATOR), world.service.admin.stats(OPERATOR),
                 world.service.admin.pairs(OPERATOR), world.service.admin.broadcast(OPERATOR, "hi")):  # fmt: skip
        with pytest.raises(NotAnAdmin):
            await call
    cli = QuorumService(database, SETTINGS, gateway=world.service.context.gateway, channel="admin-cli",
                        operator="alice")  # fmt: skip

    await cli.admin.stats(OPERATOR)

    async with database.transaction() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "admin_stats").order_by(
            AuditLog.id.desc()).limit(1))  # fmt: skip
    assert audit is not None and audit.actor == "admin-cli:alice"
