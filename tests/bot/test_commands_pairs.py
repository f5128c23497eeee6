"""/addpair, /removepair, /pairs, /pause, /resume, /stop without positions, /settings and /top through the
Router, on the real service (replay markets, real engines built behind ManagerControl) over SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.router import Actor
from db.database import Database
from engine.events import EventKind
from tests.bot.commands_support import Chat, buttons, holdings, router_for
from tests.engine.service_world import World


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


async def trader(world: World, telegram_id: int, name: str = "Alice", balance: str = "10000") -> Chat:
    user = Chat(router_for(world), Actor(telegram_id, name=name))
    await user.send("/start")
    await user.send(f"/connect paper {balance}")
    return user


async def test_addpair_when_symbol_typed_in_any_form_then_one_pair_under_its_exchange_name(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = await trader(world, telegram_id())

    added = await alice.one("/addpair btc-usdt 1000 3x")
    again = [await alice.one(f"/addpair {form} 500") for form in ("BTCUSDT", "btc/usdt", "BTC_USDT", "BTC/USDT:USDT")]
    eth = await alice.one("/addpair eth/usdt 2500.5")

    assert added.text.startswith("✅ Added BTC/USDT: budget 1,000 USDT at 3x.")
    assert "9,000 USDT of your account is left" in added.text
    assert all("BTC/USDT is already in your pairs (budget 1,000 USDT, 3x)" in reply.text for reply in again)
    assert "budget 2,500.5 USDT at 1x" in eth.text and "6,499.5 USDT" in eth.text
    listing = (await alice.one("/pairs")).text.splitlines()
    assert listing[0] == "Your pairs (2)"
    assert listing[1:] == [
        "▶️ BTC/USDT · budget 1,000 USDT · 3x · active",
        "▶️ ETH/USDT · budget 2,500.5 USDT · 1x · active",
        "Allotted: 3,500.5 USDT",
    ]


async def test_addpair_when_budget_exceeds_what_is_left_then_refused_with_the_most_allowed(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    alice = await trader(world, tid, balance="3000")
    await alice.send("/addpair BTC/USDT 2000")
    before = await holdings(database, tid)

    refused = await alice.one("/addpair ETH/USDT 1500")
    unknown = await alice.one("/addpair DOGE/USDX 10")

    assert "more than is left" in refused.text and "Choose at most 1,000 USDT" in refused.text
    assert unknown.text.startswith("Unknown symbol DOGE/USDX on replay.")
    assert await holdings(database, tid) == before


async def test_pause_and_resume_when_all_or_one_pair_then_the_engines_follow(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = await trader(world, telegram_id())
    await alice.send("/addpair BTC/USDT 1000")
    await alice.send("/addpair ETH/USDT 1000")

    paused_one = await alice.one("/pause ethusdt")
    paused_all = await alice.one("/pause")
    resumed_one = await alice.one("/resume BTC-USDT")
    resumed_rest = await alice.one("/resume")

    assert paused_one.text.splitlines()[0] == "⏸ Paused: ETH/USDT."
    assert paused_all.text.splitlines()[:2] == ["⏸ Paused: BTC/USDT.", "ETH/USDT: already paused."]
    assert resumed_one.text == "▶️ Resumed: BTC/USDT."
    assert resumed_rest.text == "▶️ Resumed: ETH/USDT.\nBTC/USDT: already trading."
    assert all(not engine.config.paused for engine in world.manager.engines.values())
    assert "You have no ETH/USDC pair" in (await alice.one("/pause ETH/USDC")).text


async def test_removepair_when_chosen_by_button_then_removed_and_a_foreign_press_is_refused(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid, other = telegram_id(), telegram_id()
    alice, bob = await trader(world, tid), await trader(world, other, "Bob")
    await alice.send("/addpair BTC/USDT 1000")
    await bob.send("/addpair BTC/USDT 1000")

    choose = await alice.one("/removepair")
    remove = buttons(choose)["Remove BTC/USDT"]
    bob_before = await holdings(database, other)
    foreign = await bob.press(remove)
    crafted = await bob.press(remove.replace(str(tid), str(other), 1))  # Bob's id, Alice's pair id
    removed = await alice.press(remove)

    assert set(buttons(choose)) == {"Remove BTC/USDT", "Cancel"}
    assert "someone else's message" in foreign.text and "not one of yours" in crafted.text
    assert await holdings(database, other) == bob_before
    assert removed.edit and removed.text.startswith("🗑 Removed BTC/USDT")
    assert "That pair is not one of yours" in (await alice.press(remove)).text  # the stale button
    assert "no pairs yet" in (await alice.one("/pairs")).text
    assert "BTC/USDT" in (await bob.one("/pairs")).text


async def test_removepair_when_typed_then_removed_and_readding_revives_it(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = await trader(world, telegram_id())
    await alice.send("/addpair BTC/USDT 1000")

    assert (await alice.one("/removepair btc/usdt later")).text.startswith("Usage: /removepair <SYMBOL> [close]")
    assert (await alice.one("/removepair BTCUSDT")).text.startswith("🗑 Removed BTC/USDT")
    assert "You have no pairs yet" in (await alice.one("/removepair BTCUSDT")).text
    assert "budget 500 USDT" in (await alice.one("/addpair BTC/USDT 500")).text


async def test_stop_when_no_position_then_confirmed_stop_pauses_every_pair(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = await trader(world, telegram_id())
    await alice.send("/addpair BTC/USDT 1000")
    await alice.send("/addpair ETH/USDT 1000")

    asked = await alice.one("/stop")
    stopped = await alice.press(buttons(asked)["Stop everything"])

    assert asked.text == "⚠️ /stop pauses all 2 of your pairs (no position is open). Stop everything?"
    assert stopped.edit and stopped.text.splitlines()[:2] == ["⏹ Stopped: BTC/USDT, ETH/USDT paused.",
                                                              "No position was open."]  # fmt: skip
    assert all(engine.config.paused for engine in world.manager.engines.values())
    assert "no open position on BTC/USDT" in (await alice.one("/close BTC/USDT")).text
    assert (await alice.one("/resume")).text == "▶️ Resumed: BTC/USDT, ETH/USDT."


async def test_settings_when_alert_switched_by_button_then_stored_and_the_message_redrawn(
    world: World, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    alice = await trader(world, tid)

    shown = await alice.one("/settings")
    off = await alice.press(buttons(shown)["✅ Daily summary"])
    on_again = await alice.one("/settings alert daily_summary on")

    assert "risk_per_trade = 0.01" in shown.text and "Alerts: all on." in shown.text
    assert "❌ Daily summary" in buttons(off) and off.edit and "off for Daily summary" in off.text
    assert "switched on" in on_again.text
    view = await world.service.settings.show(tid)
    assert dict(view.alerts)[EventKind.DAILY_SUMMARY] is True
    assert not [label for label in buttons(shown) if "Circuit breaker" in label]  # always sent: no switch
    refused = await alice.one("/settings alert breaker_tripped off")
    assert "always sent" in refused.text


async def test_settings_when_risk_changed_for_all_or_one_pair_then_checked_by_the_risk_rules(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = await trader(world, telegram_id())
    await alice.send("/addpair BTC/USDT 1000")

    mine = await alice.one("/settings risk_per_trade 2%")
    pair = await alice.one("/settings max_leverage 3 btcusdt")
    wide = await alice.one("/settings breaker_daily_loss_pct 1% BTC/USDT")
    wrong = await alice.one("/settings risk_per_trade 50%")
    reset = await alice.one("/settings risk_per_trade default")
    explained = await alice.one("/settings min_confidence")

    assert mine.text.startswith("✅ risk_per_trade set to 0.02 for all your pairs.")
    assert pair.text.startswith("✅ max_leverage set to 3 for BTC/USDT.")
    assert "applies to all of a user's pairs" in wide.text and wrong.text.startswith("Not changed")
    assert reset.text.startswith("✅ risk_per_trade back to the default for all your pairs.")
    assert explained.text.startswith("min_confidence: lowest ensemble confidence acted upon")
    overview = (await alice.one("/settings")).text
    assert "BTC/USDT only: max_leverage = 3" in overview and "risk_per_trade = 0.01" in overview
    assert "Unknown setting" in (await alice.one("/settings bogus")).text


async def test_top_when_users_join_then_ranked_by_name_only_and_leaving_hides_them(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice, bob = await trader(world, telegram_id()), await trader(world, telegram_id(), "Bob <script>")
    await bob.send("/settings leaderboard on")

    board = await alice.one("/top")
    joined = await alice.press(buttons(board)["Join the leaderboard"])
    bobs = await bob.one("/top")

    assert "You are not on it" in board.text
    assert joined.edit and "Alice" in joined.text and "Leave the leaderboard" in buttons(joined)
    assert "Bob <script>" in bobs.text and "&lt;script&gt;" in bobs.html and "← you" in bobs.text
    left = await alice.press(buttons(joined)["Leave the leaderboard"])
    assert "Alice" not in left.text.replace("You are", "")


async def test_settings_summary_when_hour_given_then_stored_for_that_user_only_and_bad_hours_refused(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    from db.repositories import UserRepository

    alice_id, bob_id = telegram_id(), telegram_id()
    alice, bob = await trader(world, alice_id), await trader(world, bob_id, "Bob")

    set_ = await alice.one("/settings summary 20")
    bad = [await alice.one(f"/settings summary {hour}") for hour in ("24", "-1", "7.5", "noon", "99999999999")]
    overview = await alice.one("/settings")
    bobs = await bob.one("/settings")

    assert "20:00 UTC" in set_.text
    assert all("a whole hour from 0 to 23" in reply.text for reply in bad)
    assert "Daily summary: at 20:00 UTC" in overview.text and "Daily summary: at 00:00 UTC" in bobs.text
    async with database.transaction() as session:
        stored_alice = await UserRepository(session).by_telegram_id(alice_id)
        stored_bob = await UserRepository(session).by_telegram_id(bob_id)
    assert stored_alice is not None and stored_alice.settings.get("summary_hour") == 20
    assert stored_bob is not None and "summary_hour" not in stored_bob.settings
