"""/settings through the service on SQLite and PostgreSQL: risk overrides validated by risk.RiskLimits and
handed to the running engines, alert preferences in users.settings, and the leaderboard opt-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.alerts import wants
from db.database import Database
from db.models import User, UserPair
from engine.events import EventKind
from engine.service_errors import InvalidInput, InvalidSetting
from engine.service_prefs import wants_alert
from tests.engine.service_world import BTC, ETH, World


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


async def _user(database: Database, telegram_id: int) -> User:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return user


async def _two_pairs(world: World, telegram_id: int) -> int:
    await world.trader(telegram_id)
    await world.service.pairs.add(telegram_id, BTC, "1000")
    await world.service.pairs.add(telegram_id, ETH, "1000")
    return (await _user(world.database, telegram_id)).id


async def test_set_risk_when_valid_for_all_pairs_then_stored_and_every_engine_trades_under_it(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _two_pairs(world, tid)

    changed = await world.service.settings.set_risk(tid, "Risk_Per_Trade", "2%")

    assert (changed.key, changed.value, changed.symbol) == ("risk_per_trade", "0.02", None)
    assert "fraction of equity lost" in changed.description
    assert (await _user(world.database, tid)).settings["risk"] == {"risk_per_trade": "0.02"}
    for symbol in (BTC, ETH):
        assert world.manager.engines[(uid, symbol)].risk.limits.risk_per_trade == Decimal("0.02")
    view = await world.service.settings.show(tid)
    line = next(s for s in view.risk if s.key == "risk_per_trade")
    assert (line.value, line.default, line.source) == ("0.02", "0.01", "you")


async def test_set_risk_when_for_one_pair_then_only_that_engine_changes(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _two_pairs(world, tid)

    changed = await world.service.settings.set_risk(tid, "min_confidence", "0.8", pair="ethusdt")

    assert changed.symbol == ETH
    assert world.manager.engines[(uid, ETH)].risk.limits.min_confidence == Decimal("0.8")
    assert world.manager.engines[(uid, BTC)].risk.limits.min_confidence == Decimal("0.6")
    view = await world.service.settings.show(tid)
    assert [(p.symbol, [(o.key, o.value) for o in p.overrides]) for p in view.pairs] == [(ETH, [("min_confidence",
                                                                                                  "0.8")])]  # fmt: skip


async def test_clear_risk_when_overridden_then_back_to_the_default(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    uid = await _two_pairs(world, tid)
    await world.service.settings.set_risk(tid, "max_trades_per_day", 3)

    cleared = await world.service.settings.clear_risk(tid, "max_trades_per_day")

    assert cleared.value is None
    assert "risk" not in (await _user(world.database, tid)).settings
    assert world.manager.engines[(uid, BTC)].risk.limits.max_trades_per_day == 10


async def test_set_risk_when_key_unknown_then_refused_with_the_known_keys(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await _two_pairs(world, tid)

    with pytest.raises(InvalidSetting) as refused:
        await world.service.settings.set_risk(tid, "yolo_mode", "1")
    assert refused.value.message.startswith("Not changed: unknown risk setting 'yolo_mode'. Known settings: ")
    assert "risk_per_trade" in refused.value.message


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("risk_per_trade", "5", "risk_per_trade must be greater than 0 and at most 0.1"),
        ("risk_per_trade", "abc", "risk_per_trade must be a number"),
        ("risk_per_trade", "NaN", "risk_per_trade must be a number"),
        ("max_trades_per_day", "2.5", "max_trades_per_day must be a whole number"),
        ("max_leverage", "0", "max_leverage must be at least 1"),
        ("min_atr_fraction", "0.2", r"min_atr_fraction \(0.2\) must be below max_atr_fraction"),
        ("risk_per_trade", "1" * 10_000, "risk_per_trade must be a number"),
    ],
)
async def test_set_risk_when_value_bad_then_refused_and_nothing_changes(
    world: World, telegram_id: Callable[[], int], key: str, value: str, words: str
) -> None:
    tid = telegram_id()
    uid = await _two_pairs(world, tid)

    with pytest.raises(InvalidSetting, match=words) as refused:
        await world.service.settings.set_risk(tid, key, value)
    assert len(refused.value.message) < 400
    assert "risk" not in (await _user(world.database, tid)).settings
    assert world.manager.engines[(uid, BTC)].risk.limits == world.service.context.base_limits


async def test_set_risk_when_user_wide_limit_set_for_one_pair_then_refused(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await _two_pairs(world, tid)

    with pytest.raises(InvalidSetting, match="applies to all of a user's pairs"):
        await world.service.settings.set_risk(tid, "max_open_positions", "3", pair=BTC)
    async with world.database.transaction() as session:
        rows = await session.scalars(select(UserPair).where(UserPair.user_id == (await _user(world.database, tid)).id))
        assert all(row.risk_overrides == {} for row in rows)


async def test_set_alert_when_switched_off_then_that_kind_no_longer_reaches_the_user(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    changed = await world.service.settings.set_alert(tid, "daily_summary", False)
    settings = (await _user(world.database, tid)).settings

    assert EventKind.DAILY_SUMMARY not in changed.enabled and EventKind.POSITION_CLOSED in changed.enabled
    for kind in EventKind:  # the service and the bot's alert filter read users.settings alike
        assert wants_alert(settings, kind) is wants(settings, kind) is (kind is not EventKind.DAILY_SUMMARY)
    view = await world.service.settings.show(tid)
    assert dict(view.alerts)[EventKind.DAILY_SUMMARY] is False
    assert (await world.service.settings.set_alert(tid, "all", True)).enabled == tuple(EventKind)
    with pytest.raises(InvalidInput, match=r"Unknown alert 'pizza'"):
        await world.service.settings.set_alert(tid, "pizza", True)
    with pytest.raises(InvalidInput, match="always sent"):
        await world.service.settings.set_alert(tid, "breaker_tripped", False)
    muted = await world.service.settings.set_alert(tid, "all", False)
    assert set(muted.enabled) == {EventKind.LIQUIDATED, EventKind.ORDER_UNKNOWN, EventKind.BREAKER_TRIPPED}


async def test_leaderboard_when_one_user_opted_in_then_only_their_name_and_pnl_show(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice, bob = telegram_id(), telegram_id()
    await world.trader(alice, "Alice")
    await world.trader(bob, "Bob")
    await world.service.settings.set_leaderboard(alice, True)

    seen_by_bob = await world.service.profit.leaderboard(bob, limit=1000)
    seen_by_alice = await world.service.profit.leaderboard(alice, limit=1000)

    names = [entry.name for entry in seen_by_bob.entries]
    assert "Alice" in names and "Bob" not in names and not seen_by_bob.you_opted_in
    mine = [entry for entry in seen_by_alice.entries if entry.you]
    assert len(mine) == 1 and mine[0].name == "Alice" and seen_by_alice.you_opted_in
    assert str(alice) not in repr(seen_by_bob)
