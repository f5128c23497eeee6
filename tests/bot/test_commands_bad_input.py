"""Bad input through the Router on the real service, SQLite and PostgreSQL: unknown commands, missing and
malformed arguments, unknown symbols, budgets that are negative, zero, huge or not numbers, another user's pair
by symbol and by id in button data, markup and control characters, a 10 KB argument, stale and foreign buttons,
a flood. Each input gets a clear reply (Telegram-valid HTML, no internals, never the "something went wrong"
fallback that marks a crash) and nobody's pairs, accounts, settings or audit log change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from loguru import logger
from sqlalchemy import func, select

from bot.router import Actor, RateLimit
from db.database import Database
from db.models import User
from tests.bot.commands_support import Chat, check, holdings, router_for
from tests.engine.service_world import World

CRASHED = "Something went wrong on our side"
BUDGETS = [
    "0", "-0", "0.0", "-1", "-1000", "-0.01", "1e100", "1e12", "999999999999", "10000000", "100000", "20000",
    "12345678901234567890", "abc", "NaN", "nan", "-nan", "sNaN", "inf", "-inf", "Infinity", "1,000", "1.000.000",
    "0x10", "1/2", "½", "١٠٠", "1e-9", "0.000000001", "1_000", "$100", "100USDT", "1e", "e5", "--5", "+-5", "5-",
    ".", "..", "1..2", "<b>5</b>", "&amp;", "5\x00", "1e+", "١", "٣e2", "0e0", "-1e3", "1" * 41,
]  # fmt: skip
LEVERAGES = ["0", "-1", "6", "100", "1.5", "x", "3xx", "x3", "-3x", "999999999", "99999999999", "NaN", "<i>2</i>"]
SYMBOLS = [
    "BTC", "/////", "BTC/USDT/XX/YY", "<b>BTC</b>", "BTC\u202eUSDT", "💰/USDT", "../../etc/passwd", "BTC%2FUSDT",
    "FOO/USDT", "BTC/EUR", "DOGEUSDT", "USDT/BTC", "btc//usdt", "-", "_", "BTC/USDT:BTC:ETH:XRP", "A" * 60,
    "'OR'1'='1", "BTC\u200bUSDT", "ＢＴＣ/USDT",
]  # fmt: skip


@dataclass
class Cast:
    alice: Chat  # paper account, BTC/USDT 1000 at 3x
    bob: Chat  # paper account, ETH/USDT 1000
    carol: Chat  # registered, no account
    dave: Chat  # never registered
    alice_pair: int
    bob_pair: int


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


async def cast(world: World, telegram_id: Callable[[], int], rate: RateLimit | None = None) -> Cast:
    router = router_for(world, rate=rate)
    alice, bob, carol, dave = (Chat(router, Actor(telegram_id(), name=n)) for n in ("Alice", "Bob", "Carol", "Dave"))
    for user in (alice, bob, carol):
        await user.send("/start")
    for user, symbol in ((alice, "BTC/USDT 1000 3"), (bob, "ETH/USDT 1000")):
        await user.send("/connect paper 10000")
        await user.send(f"/addpair {symbol}")
    [a] = await world.service.pairs.show(alice.actor.telegram_id)
    [b] = await world.service.pairs.show(bob.actor.telegram_id)
    return Cast(alice, bob, carol, dave, a.id, b.id)


def texts(c: Cast) -> list[tuple[Chat, str]]:
    a = c.alice
    inputs: list[tuple[Chat, str]] = [
        (a, text)
        for text in [
            "/bogus", "/ADDPAIRS btc 1", "/", "//", "/😀", "/" + "a" * 60, "/<b>x</b>", "/start\x00", "hello",
            "", "   ", "\x00\x01\x02", "<script>alert(1)</script>", "/addpair\u200b BTC/USDT 100", "/&amp;",
            "/addpair", "/addpair BTC/USDT", "/close", "/decisions", "/chart", "/mode", "/connect",
            "/addpair a b c d", "/pairs x", "/status now", "/close a b", "/removepair a close now",
            "/trades 1 2", "/trades a b", "/help a b", "/positions <b>", "/stop now", "/settings a b c d",
            "/removepair BTC/USDT later", "/settings alert", "/settings alert daily_summary maybe",
            "/settings alert nonsense off", "/settings alert breaker_tripped off", "/settings leaderboard perhaps",
            "/settings risk_per_trade lots", "/settings risk_per_trade 50%", "/settings risk_per_trade -1",
            "/settings max_leverage 1000", "/settings <i>x</i> 1", "/settings risk_per_trade <b>1</b>",
            "/settings breaker_daily_loss_pct 1% BTC/USDT", "/settings " + "k" * 100, "/settings NaN NaN",
            "/mode yolo", "/mode <b>live</b>", "/mode paper\x00", "/mode live", "/connect paper <b>100</b>",
            "/connect paper -5", "/connect paper 0", "/connect paper 1e13", "/connect paper abc",
            "/connect paper 100 200", "/connect paper spot spot", "/connect binance key", "/connect binance k s",
            "/connect nosuchexchange k s", "/connect " + "x" * 30 + " k s", "/connect paper",
            "/help <a href='x'>", "/trades &lt;", "/trades 0", "/trades 99999999999999", "/trades -1",
            "/decisions \x1b[31mBTC", "/close BTC\x00USDT", "/pause BTC\u200bUSDT", "/top \x07",
            "/addpair BTC/USDT 100", "/addpair btcusdt 5", "/close BTC/USDT", "/disconnect extra",
            "/addpair " + "A" * 10240 + " 100", "/addpair " + "B" * 600 + " 100", "/pause " + "x " * 1000,
            "z" * 10240, "/decisions " + "C" * 4000, "/addpair BTC/USDT " + "9" * 500,
        ]
    ]  # fmt: skip
    inputs += [(a, f"/addpair ETH/USDT {budget}") for budget in BUDGETS]
    inputs += [(a, f"/addpair eth-usdt 100 {leverage}") for leverage in LEVERAGES]
    inputs += [(a, f"/addpair {symbol} 100") for symbol in SYMBOLS]
    inputs += [(a, f"/decisions {symbol}") for symbol in SYMBOLS[:10]]
    theirs = ["ETH/USDT", "ethusdt", "ETH-USDT"]
    for symbol in theirs:  # Bob's pair, named by Alice
        inputs += [(a, f"{command} {symbol}") for command in ("/close", "/removepair", "/pause", "/resume",
                                                               "/decisions", "/chart", "/trades")]  # fmt: skip
        inputs.append((a, f"/removepair {symbol} close"))
        inputs.append((a, f"/settings max_leverage 2 {symbol}"))
    for user in (c.carol, c.dave):  # no account; not registered at all
        inputs += [(user, text) for text in ("/addpair BTC/USDT 100", "/balance", "/profit", "/disconnect",
                                             "/chart BTC/USDT", "/status", "/stop", "/close BTC/USDT", "/pause",
                                             "/removepair", "/decisions BTC/USDT", "/trades", "/top",
                                             "/settings", "/mode live", "/positions")]  # fmt: skip
    inputs.append((Chat(a.router, Actor(a.actor.telegram_id, private_chat=False)), "/connect paper 100"))
    return inputs


def presses(c: Cast) -> list[tuple[Chat, str]]:
    a, b = c.alice.actor.telegram_id, c.bob.actor.telegram_id
    own = [
        f"rm:{a}:{c.bob_pair}", f"rm:{a}:{c.bob_pair}:close", f"trades:{a}:1:{c.bob_pair}", "", ":", "::::", "rm",
        "rm:", "rm:abc", f"rm:{a}", f"rm:{a}:x", f"rm:{a}:999999999", f"rm:{a}:-1", f"rm:{a}:1:close:extra",
        f"rm:{a}:{c.alice_pair}:delete", f"rm:{a}:{'9' * 40}", f"stop:{a}:x", f"alert:{a}:bogus:0",
        f"alert:{a}:daily_summary:2", f"alert:{a}:breaker_tripped:0", f"alert:{a}", f"mode:{a}:yolo",
        f"mode:{a}:live", f"mode:{a}", f"trades:{a}:0", f"trades:{a}:99999999999999", f"trades:{a}:1:99999999",
        f"trades:{a}:x", f"top:{a}:5", f"board:{a}:x", "unknownprefix:1", f"status:{a}:extra", "<b>:</b>",
        "status:" + "9" * 50, f"resume:{a}", f"resume:{a}:now", f"cancel:{a}", f"cancel:{a}:x", "cancel",
        f"positions:{a}:1", f"rm:{a}:0", f"rm:{a}:{c.alice_pair}\x00", "stop:-1", "status:abc", "\x00:\x00",
        f"rm:0{a}:{c.bob_pair}:close",
    ]  # fmt: skip
    foreign = [
        f"stop:{b}", f"resume:{b}", f"mode:{b}:live", f"status:{b}", f"positions:{b}", f"alert:{b}:daily_summary:0",
        f"board:{b}:1", f"top:{b}:1", f"cancel:{b}", f"rm:{b}:{c.bob_pair}:close", f"rm:{b}:{c.bob_pair}",
        f"trades:{b}:1", f"trades:{b}:1:{c.bob_pair}",
    ]  # fmt: skip
    return [(c.alice, data) for data in own + foreign] + [(c.carol, f"stop:{c.carol.actor.telegram_id}"),
                                                          (c.dave, f"status:{c.dave.actor.telegram_id}")]  # fmt: skip


async def test_bad_inputs_when_sent_by_the_hundred_then_each_gets_a_clear_reply_and_nothing_changes(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    c = await cast(world, telegram_id)
    owners = [c.alice, c.bob, c.carol]
    before = [await holdings(database, user.actor.telegram_id) for user in owners]
    engines = dict(world.manager.engines)
    errors: list[str] = []
    sink = logger.add(lambda message: errors.append(str(message)), level="ERROR")
    answered = 0
    try:
        for user, text in texts(c):
            replies = await user.router.text(user.actor, text)
            assert replies, f"no reply to {text[:60]!r}"
            for reply in replies:
                check(reply)
                assert CRASHED not in reply.text, f"{text[:60]!r} crashed"
            answered += 1
        for user, data in presses(c):
            replies = await user.router.press(user.actor, data)
            assert replies, f"no reply to button {data!r}"
            for reply in replies:
                check(reply)
                assert CRASHED not in reply.text, f"button {data!r} crashed"
            answered += 1
    finally:
        logger.remove(sink)

    assert answered >= 200, answered
    assert errors == []
    assert [await holdings(database, user.actor.telegram_id) for user in owners] == before
    assert world.manager.engines == engines
    async with database.transaction() as session:
        dave = await session.scalar(
            select(func.count()).select_from(User).where(User.telegram_id == c.dave.actor.telegram_id)
        )
    assert dave == 0


async def test_bad_input_when_typical_then_the_reply_says_what_is_wrong_in_plain_words(
    world: World, telegram_id: Callable[[], int]
) -> None:
    c = await cast(world, telegram_id)
    a = c.alice

    expected = {
        "/bogus": "Unknown command /bogus. /help lists the commands.",
        "/addpair": "Usage: /addpair <SYMBOL> <budget> [leverage]",
        "/addpair ETH/USDT -5": "The budget must be more than 0 USDT (got -5).",
        "/addpair ETH/USDT abc": "The budget must be a plain number of USDT, like 1000 or 250.50 (got abc).",
        "/addpair ETH/USDT 1e100": "The budget of 1e100 USDT is too large: it must be below 1,000,000,000,000 USDT.",
        "/addpair ETH/USDT 100 9": "Leverage must be a whole number from 1 to 5 (got 9).",
        "/addpair <b>x</b> 100": "<b>x</b> is not a symbol: write it like BTC/USDT.",
        "/close ETH/USDT": "You have no ETH/USDT pair. Your pairs: BTC/USDT.",
        "/addpair " + "B" * 600 + " 100": "An argument is too long. Usage: /addpair <SYMBOL> <budget> [leverage]",
        "/addpair " + "A" * 10240 + " 100": "That message is too long for a command.",
        "/trades -1": "The page must be a whole number, 1 or more (got -1).",
        "/settings leaderboard": "Usage: /settings leaderboard on|off",
    }
    for text, reply in expected.items():
        assert (await a.one(text)).text == reply, text
    assert (await c.dave.one("/status")).text == "You are not registered yet. Send /start first."
    assert "no connected account" in (await c.carol.one("/addpair BTC/USDT 100")).text
    foreign = await a.press(f"stop:{c.bob.actor.telegram_id}")
    assert "someone else's message" in foreign.text
    assert "not one of yours" in (await a.press(f"rm:{a.actor.telegram_id}:{c.bob_pair}:close")).text
    assert "no longer valid" in (await a.press("rm:abc")).text
    assert (await a.one("/settings alert")).text.startswith("Usage: /settings alert <kind|all> on|off. Kinds: ")


async def test_flood_when_one_user_sends_fast_then_told_once_to_slow_down_and_others_unaffected(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    now = [0.0]
    c = await cast(world, telegram_id)
    rate = RateLimit(burst=8, per_minute=30, clock=lambda: now[0])
    flood = cast_router = router_for(world, rate=rate)
    alice = Chat(cast_router, c.alice.actor)
    bob = Chat(flood, c.bob.actor)
    before = await holdings(database, alice.actor.telegram_id)

    answers = [await flood.text(alice.actor, "/addpair BTC/USDT 100000") for _ in range(50)]
    bobs = await bob.one("/pairs")
    now[0] += 60.0
    later = await alice.one("/pairs")

    assert all(len(replies) == 1 and "already in your pairs" in replies[0].text for replies in answers[:8])
    assert [replies[0].text for replies in answers[8:9]] == [
        "You are sending commands too fast. Wait a few seconds, then try again."
    ]
    assert all(replies == [] for replies in answers[9:])
    assert "ETH/USDT" in bobs.text and "BTC/USDT" in later.text
    assert await holdings(database, alice.actor.telegram_id) == before


async def test_flood_when_the_same_change_arrives_at_once_then_it_happens_exactly_once(
    world: World, telegram_id: Callable[[], int]
) -> None:
    c = await cast(world, telegram_id)
    a = c.alice

    added = await asyncio.gather(*(a.send("/addpair ETH/USDT 500") for _ in range(20)))
    stops = await asyncio.gather(*(a.press(f"stop:{a.actor.telegram_id}") for _ in range(10)))

    texts_ = [replies[0].text for replies in added]
    assert sum(text.startswith("✅ Added ETH/USDT") for text in texts_) == 1
    assert sum("already in your pairs" in text for text in texts_) == 19
    assert all(reply.text.startswith("⏹ Stopped: BTC/USDT, ETH/USDT paused.") for reply in stops)
    pairs = await c.alice.router.text(a.actor, "/pairs")
    assert pairs[0].text.count("paused") == 2 and len(await a.send("/resume")) == 1
