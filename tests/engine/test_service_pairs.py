"""Adding, pausing, resuming and removing pairs through the service, on SQLite and PostgreSQL, with the engines
following in a real MultiPairManager; and one user never reaching another's pairs, by symbol or by id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.database import Database
from db.models import AuditLog, User, UserPair
from engine.service_errors import (
    BudgetExceeded,
    InvalidInput,
    NoAccount,
    NoOpenPosition,
    PairAlreadyAdded,
    PairNotFound,
    UnknownSymbol,
)
from tests.engine.service_world import BTC, ETH, World


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


async def _user_id(database: Database, telegram_id: int) -> int:
    async with database.transaction() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return user.id


async def _pairs(database: Database, telegram_id: int) -> list[UserPair]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(UserPair).join(User, User.id == UserPair.user_id).where(User.telegram_id == telegram_id)
        )
        return list(rows)


@pytest.mark.parametrize("typed", ["btcusdt", "BTC-USDT", "btc/usdt", " BTC_USDT ", "BTC/USDT:USDT"])
async def test_add_pair_when_symbol_typed_loosely_then_normalised(
    world: World, telegram_id: Callable[[], int], typed: str
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    added = await world.service.pairs.add(tid, typed, "1000")

    assert added.pair.symbol == BTC and added.quote == "USDT"


async def test_add_pair_when_symbol_unknown_then_suggests_the_closest(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(UnknownSymbol) as refused:
        await world.service.pairs.add(tid, "BTC/USDX", "1000")
    assert refused.value.message == "Unknown symbol BTC/USDX on replay. Did you mean BTC/USDT?"
    with pytest.raises(InvalidInput, match="is not a symbol"):
        await world.service.pairs.add(tid, "<b>BTC</b>" * 1000, "1000")
    assert await _pairs(world.database, tid) == []


@pytest.mark.parametrize(
    ("budget", "words"),
    [
        ("-100", "must be more than 0"),
        ("0", "must be more than 0"),
        ("NaN", "plain number"),
        ("inf", "plain number"),
        (Decimal("NaN"), "plain number"),
        ("1,000", "plain number"),
        ("12abc", "plain number"),
        (True, "plain number"),
        ("1e999", "too large"),
        (10**13, "too large"),
        ("0.000000001", "at most 8 decimal places"),
    ],
)
async def test_add_pair_when_budget_invalid_then_refused_and_nothing_stored(
    world: World, telegram_id: Callable[[], int], budget: object, words: str
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(InvalidInput, match=words):
        await world.service.pairs.add(tid, BTC, budget)
    assert await _pairs(world.database, tid) == []
    assert not world.manager.engines


async def test_add_pair_when_budget_above_balance_then_refused_with_the_most_allowed(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid, balance="10000")

    with pytest.raises(BudgetExceeded) as refused:
        await world.service.pairs.add(tid, BTC, "10000.01")
    assert "your account holds (10,000 USDT). Choose at most 10,000 USDT." in refused.value.message


async def test_add_pair_when_other_pairs_hold_the_balance_then_only_the_rest_is_allowed(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid, balance="10000")
    await world.service.pairs.add(tid, BTC, "8000")

    with pytest.raises(BudgetExceeded) as refused:
        await world.service.pairs.add(tid, ETH, "2000.5")
    added = await world.service.pairs.add(tid, ETH, "2000")

    assert "8,000 USDT is allotted to BTC/USDT. Choose at most 2,000 USDT." in refused.value.message
    assert added.unallotted == Decimal(0)


async def test_add_pair_when_nothing_is_left_to_allot_then_refused_with_remove_hint(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid, balance="10000")
    await world.service.pairs.add(tid, BTC, "10000")

    with pytest.raises(BudgetExceeded, match=r"Remove a pair first \(/removepair SYMBOL\)"):
        await world.service.pairs.add(tid, ETH, "5")


async def test_add_pair_when_budget_has_many_decimals_then_stored_exactly(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    added = await world.service.pairs.add(tid, BTC, "1234.56789012", "3x")

    [row] = await _pairs(world.database, tid)
    assert row.budget == Decimal("1234.56789012") == added.pair.budget and row.leverage == 3
    assert added.unallotted == Decimal("8765.43210988")


@pytest.mark.parametrize("leverage", [0, 6, -1, "2.5", "abc", 1000, True, None])
async def test_add_pair_when_leverage_out_of_range_then_refused(
    world: World, telegram_id: Callable[[], int], leverage: object
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    with pytest.raises(InvalidInput, match=r"Leverage must be a whole number from 1 to 5"):
        await world.service.pairs.add(tid, BTC, "1000", leverage)
    assert await _pairs(world.database, tid) == []


async def test_add_pair_when_pair_exists_then_refused(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)
    await world.service.pairs.add(tid, BTC, "1000", 2)

    with pytest.raises(PairAlreadyAdded, match=r"already in your pairs \(budget 1,000 USDT, 2x\)"):
        await world.service.pairs.add(tid, "btcusdt", "500")
    assert [row.budget for row in await _pairs(world.database, tid)] == [Decimal(1000)]


async def test_add_pair_when_no_account_then_refused_with_connect_hint(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.service.accounts.register(tid, "t")

    with pytest.raises(NoAccount, match=r"/connect paper 10000"):
        await world.service.pairs.add(tid, BTC, "1000")


async def test_add_pair_when_accepted_then_engine_runs_it_and_audit_has_the_figures(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)

    await world.service.pairs.add(tid, BTC, "1500.5", 4)

    uid = await _user_id(world.database, tid)
    engine = world.manager.engines[(uid, BTC)]
    assert (engine.config.budget, engine.config.leverage, engine.config.paused) == (Decimal("1500.5"), 4, False)
    async with world.database.transaction() as session:
        row = await session.scalar(select(AuditLog).where(AuditLog.user_id == uid, AuditLog.action == "add_pair"))
        assert row is not None and row.actor == f"telegram:{tid}" and row.symbol == BTC
        assert row.detail == {"budget": "1500.5", "leverage": 4}


async def test_pause_when_one_pair_named_then_only_its_engine_pauses_and_resume_restarts_it(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)
    await world.service.pairs.add(tid, BTC, "1000")
    await world.service.pairs.add(tid, ETH, "1000")
    uid = await _user_id(world.database, tid)

    paused = await world.service.pairs.pause(tid, "eth/usdt")
    assert paused.changed == (ETH,)
    assert world.manager.engines[(uid, ETH)].config.paused and not world.manager.engines[(uid, BTC)].config.paused
    assert {row.symbol: row.status for row in await _pairs(world.database, tid)} == {BTC: "active", ETH: "paused"}

    resumed = await world.service.pairs.resume(tid)
    assert resumed.changed == (ETH,) and resumed.unchanged == (BTC,)
    assert not world.manager.engines[(uid, ETH)].config.paused


async def test_pause_when_no_pair_named_then_every_pair_pauses(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)
    await world.service.pairs.add(tid, BTC, "1000")
    await world.service.pairs.add(tid, ETH, "1000")

    paused = await world.service.pairs.pause(tid)
    again = await world.service.pairs.pause(tid)

    assert paused.changed == (BTC, ETH) and again.changed == () and again.unchanged == (BTC, ETH)
    assert all(engine.config.paused for engine in world.manager.engines.values())


async def test_remove_pair_when_no_position_then_engine_stops_and_history_row_stays(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)
    added = await world.service.pairs.add(tid, BTC, "1000")

    removed = await world.service.pairs.remove(tid, "BTCUSDT")
    readded = await world.service.pairs.add(tid, BTC, "700", 2)

    assert removed.symbol == BTC and removed.closed is None
    assert readded.pair.id == added.pair.id and readded.pair.budget == Decimal(700)
    assert [row.status for row in await _pairs(world.database, tid)] == ["active"]
    with pytest.raises(PairNotFound, match=r"You have no ETH/USDT pair. Your pairs: BTC/USDT."):
        await world.service.pairs.remove(tid, ETH)


async def test_pairs_when_other_user_names_them_by_symbol_or_id_then_not_found_and_unchanged(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice, bob = telegram_id(), telegram_id()
    await world.trader(alice, "Alice")
    await world.trader(bob, "Bob")
    added = await world.service.pairs.add(alice, BTC, "1000")
    service, pair_id = world.service, added.pair.id

    assert await service.pairs.show(bob) == ()
    assert (await service.reports.status(bob)).pairs == ()
    for attempt in (
        service.pairs.pause(bob, BTC),
        service.pairs.pause(bob, pair_id),
        service.pairs.resume(bob, pair_id),
        service.pairs.remove(bob, pair_id, close=True),
        service.pairs.remove(bob, BTC),
        service.trading.close(bob, pair_id),
        service.trading.close(bob, BTC),
        service.reports.decisions(bob, pair_id),
        service.reports.trades(bob, pair=pair_id),
        service.settings.set_risk(bob, "risk_per_trade", "0.02", pair=pair_id),
    ):
        with pytest.raises(PairNotFound) as refused:
            await attempt
        assert str(pair_id) not in refused.value.message and "Alice" not in refused.value.message
    with pytest.raises(PairNotFound):
        await service.pairs.pause(bob)  # Bob has no pairs of his own: "all of them" is none
    [row] = await _pairs(world.database, alice)
    assert row.status == "active" and row.risk_overrides == {}
    alice_id = await _user_id(world.database, alice)
    assert not world.manager.engines[(alice_id, BTC)].config.paused


async def test_close_when_pair_has_no_position_then_refused(world: World, telegram_id: Callable[[], int]) -> None:
    tid = telegram_id()
    await world.trader(tid)
    await world.service.pairs.add(tid, BTC, "1000")

    with pytest.raises(NoOpenPosition, match="You have no open position on BTC/USDT."):
        await world.service.trading.close(tid, BTC)


async def test_add_pair_when_no_engines_in_this_process_then_database_still_written(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    admin = World.build(database, engines=False)  # e.g. the admin CLI beside a running `quorum run`
    try:
        tid = telegram_id()
        await admin.trader(tid)
        await admin.service.pairs.add(tid, BTC, "1000")
        await admin.service.pairs.pause(tid)
        [row] = await _pairs(database, tid)
        assert (row.symbol, row.status, row.status_reason) == (BTC, "paused", "paused by you")
    finally:
        await admin.close()


async def test_resume_when_supervisor_gave_up_on_the_engine_then_a_fresh_engine_starts(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await world.trader(tid)
    await world.service.pairs.add(tid, BTC, "1000")
    uid = await _user_id(world.database, tid)
    first = world.manager.engines[(uid, BTC)]
    world.manager.supervision[(uid, BTC)].status = "error"  # what five crashes within an hour leave behind
    await world.engine_store_status(uid, BTC, "error", "5 crashes within an hour")

    resumed = await world.service.pairs.resume(tid, BTC)

    assert resumed.changed == (BTC,)
    assert world.manager.engines[(uid, BTC)] is not first
    assert world.manager.supervision[(uid, BTC)].status != "error"
