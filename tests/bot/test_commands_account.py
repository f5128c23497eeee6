"""/start, /connect, /disconnect, /mode and /help through the Router, on the real service over SQLite and
PostgreSQL; live accounts are checked against the Binance emulator through the real CCXT client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from loguru import logger

from bot.commands import build_router
from bot.router import Actor
from db.database import Database
from db.encryption import SecretBox, generate_master_key
from engine.service_gateway import CcxtGateway
from tests.bot.commands_support import Chat, TinyCharts, buttons, holdings, router_for, unlimited
from tests.engine.service_world import SETTINGS, World
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import TEST_KEY, TEST_SECRET, emulator

__all__ = ["emulator"]


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    built = World.build(database)
    yield built
    await built.close()


@pytest.fixture
async def live_world(database: Database, emulator: BinanceEmulator) -> AsyncIterator[World]:
    box = SecretBox.from_encoded(generate_master_key())
    built = World.build(database, box=box, engines=False, live=CcxtGateway(SETTINGS, url_override=emulator.base_url))
    yield built
    await built.close()


def chat(world: World, telegram_id: int, name: str = "Alice", private: bool = True) -> Chat:
    return Chat(router_for(world), Actor(telegram_id, name=name, private_chat=private))


async def test_start_when_new_user_then_registered_and_told_the_next_steps(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = chat(world, telegram_id(), name="Alice <b>&")

    first = await alice.one("/start")
    again = await alice.one("/START")

    assert "Welcome to Quorum, Alice <b>&!" in first.text and "&lt;b&gt;&amp;" in first.html
    assert "/connect paper 10000" in first.text and "/addpair BTC/USDT 1000" in first.text
    assert again.text.startswith("Welcome back, Alice")


async def test_connect_paper_when_balance_given_then_paper_account_with_that_balance(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = chat(world, telegram_id())
    await alice.send("/start")

    connected = await alice.one("/connect paper 2500.50")

    assert "Connected: paper (perpetual, replay prices)" in connected.text and "2,500.50 USDT" in connected.text
    assert (await alice.one("/balance")).text.splitlines()[1] == "USDT: 2,500.50 (free 2,500.50, in use 0.00)"
    again = await alice.one("/connect paper")
    assert "already connected to paper" in again.text and "/disconnect first" in again.text


async def test_connect_paper_when_no_balance_then_the_operators_default_and_spot_on_request(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice, bob = chat(world, telegram_id()), chat(world, telegram_id(), "Bob")
    for user in (alice, bob):
        await user.send("/start")

    assert "10,000.00 USDT" in (await alice.one("/connect paper")).text
    assert "paper (spot, replay prices)" in (await bob.one("/connect paper spot 500")).text


async def test_connect_when_sent_in_a_group_then_refused_and_nothing_stored(
    world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    await chat(world, tid).send("/start")
    before = await holdings(database, tid)

    [refused] = await chat(world, tid, private=False).send(f"/connect binance {TEST_KEY} {TEST_SECRET}")

    assert "private chat with the bot only" in refused.text
    assert TEST_KEY not in refused.html and TEST_SECRET not in refused.html
    assert await holdings(database, tid) == before


async def test_connect_live_when_keys_valid_then_connected_in_plain_words_and_keys_never_echoed(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    alice = chat(live_world, telegram_id())
    await alice.send("/start")
    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(str(message)), level="DEBUG")
    try:
        connected = await alice.one(f"/connect binance {TEST_KEY} {TEST_SECRET}")
        status = await alice.one("/status")
    finally:
        logger.remove(sink)

    assert "Connected: binance (perpetual)" in connected.text and "10,000.00 USDT" in connected.text
    assert "stored encrypted" in connected.text and "still in paper mode" in connected.text
    assert "binance (perpetual)" in status.text
    seen = [connected.html, status.html, *logged]
    assert not [text for text in seen if TEST_KEY in text or TEST_SECRET in text]


async def test_connect_live_when_secret_wrong_or_words_misplaced_then_refused_without_echoing_them(
    live_world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid = telegram_id()
    alice = chat(live_world, tid)
    await alice.send("/start")
    before = await holdings(database, tid)
    wrong = "wrong-secret-00000000000000000000"

    replies = [
        await alice.one(f"/connect binance {TEST_KEY} {wrong}"),
        await alice.one(f"/connect {TEST_KEY} {TEST_SECRET} binance"),
        await alice.one(f"/connect {TEST_KEY} {TEST_SECRET}"),
        await alice.one(f"/connect binance {TEST_KEY} {TEST_SECRET} mainnet"),
        await alice.one(f"/connect binanse {TEST_KEY} {TEST_SECRET}"),
        await alice.one(f"/connect okx {TEST_KEY} {TEST_SECRET}"),
        await alice.one(f"/connect binance {TEST_KEY} {TEST_SECRET} testnet spot extra"),
    ]

    assert "binance refused the API key" in replies[0].text
    assert "must be an exchange id" in replies[1].text
    assert replies[2].text.startswith("Usage: /connect")
    assert (
        "no passphrase" in replies[3].text and "testnet" in replies[3].text and "Nothing was stored" in replies[3].text
    )
    assert "binance" in replies[4].text  # the misspelt id is short: its suggestion is shown
    assert "okx API keys come with a passphrase" in replies[5].text
    assert "Usage" in replies[6].text  # a word after the options is not a passphrase
    for reply in replies:
        for secret in (TEST_KEY, TEST_SECRET, wrong, TEST_KEY[:12], TEST_SECRET[-12:]):
            assert secret not in reply.html, reply.html
    assert await holdings(database, tid) == before


async def test_mode_live_when_confirmed_by_button_then_live_and_cancel_or_foreign_press_changes_nothing(
    live_world: World, database: Database, telegram_id: Callable[[], int]
) -> None:
    tid, other = telegram_id(), telegram_id()
    alice, mallory = chat(live_world, tid), chat(live_world, other, "Mallory")
    for user in (alice, mallory):
        await user.send("/start")
    await alice.send(f"/connect binance {TEST_KEY} {TEST_SECRET}")
    await mallory.send("/connect paper")

    asked = await alice.one("/mode live")
    confirm = buttons(asked)

    assert "real money on binance" in asked.text and set(confirm) == {"Switch to live", "Cancel"}
    assert (await alice.press(confirm["Cancel"])).edit
    before = await holdings(database, other)
    foreign = await mallory.press(confirm["Switch to live"])
    assert "someone else's message" in foreign.text and await holdings(database, other) == before
    assert (await holdings(database, tid)).user[0] == "paper"
    switched = await alice.press(confirm["Switch to live"])
    assert switched.edit and "Live mode" in switched.text
    assert (await holdings(database, tid)).user[0] == "live"
    assert "already in live mode" in (await alice.one("/mode LIVE")).text
    assert "Paper mode" in (await alice.one("/mode paper")).text


async def test_mode_live_when_paper_account_only_then_refused_in_plain_words(
    live_world: World, telegram_id: Callable[[], int]
) -> None:
    alice = chat(live_world, telegram_id())
    await alice.send("/start")
    await alice.send("/connect paper")

    refused = await alice.one("/mode live")

    assert "Live mode needs a live exchange account" in refused.text and not refused.buttons
    assert "must be paper or live" in (await alice.one("/mode yolo")).text
    assert (await alice.one("/mode")).text == "Usage: /mode paper|live"


async def test_disconnect_when_pairs_added_then_stopped_and_reconnect_allowed(
    world: World, telegram_id: Callable[[], int]
) -> None:
    alice = chat(world, telegram_id())
    for text in ("/start", "/connect paper", "/addpair BTC/USDT 1000"):
        await alice.send(text)

    gone = await alice.one("/disconnect")

    assert "Disconnected paper (perpetual, replay prices)" in gone.text and "BTC/USDT" in gone.text
    assert "no connected account" in (await alice.one("/disconnect")).text
    assert "Connected" in (await alice.one("/connect paper 100")).text
    assert "no pairs yet" in (await alice.one("/pairs")).text


async def test_help_when_asked_then_every_command_with_its_usage_and_one_command_on_request(
    world: World, telegram_id: Callable[[], int]
) -> None:
    router = build_router(world.service, charts=TinyCharts(), rate=unlimited())
    alice = Chat(router, Actor(telegram_id()))

    listing = await alice.one("/help")
    one = await alice.one("/help /addpair")

    users = [c for c in router.commands.values() if not c.admin]
    for command in users:
        assert command.usage in listing.text, command.name
    spec = ["start", "help", "connect", "disconnect", "addpair", "removepair", "pairs", "status", "positions",
            "trades", "profit", "balance", "chart", "decisions", "pause", "resume", "close", "stop", "mode",
            "settings", "top"]  # fmt: skip
    assert sorted(spec) == sorted(c.name for c in users)
    admin = {c.name for c in router.commands.values() if c.admin}
    assert admin == {"users", "stats", "pauseuser", "resumeuser", "broadcast"}
    assert not any(f"/{name}" in listing.text for name in admin)  # a user's /help shows no admin command
    assert all(0 < len(c.summary) <= 256 and c.name.islower() for c in router.commands.values())
    assert one.text.splitlines()[0] == "/addpair <SYMBOL> <budget> [leverage]"
    assert "no /nope command" in (await alice.one("/help nope")).text


async def test_router_when_text_carries_control_or_invisible_characters_then_refused_before_any_handler() -> None:
    from bot.replies import Reply
    from bot.router import Command, Router

    seen: list[list[str]] = []

    async def echo(actor: Actor, args: list[str]) -> Reply:
        seen.append(args)
        return Reply("ok")

    router = Router()
    router.command(Command("echo", "/echo <a> <b>", "echo", echo, 0, None))
    for text in ("/echo pa\x00per", "/echo \u200bBTC/USDT", "/echo x\u202e", "/echo \x1b[31mred"):
        [reply] = await router.text(Actor(1), text)
        assert "control or invisible characters" in reply.text
    await router.text(Actor(1), "/echo paper BTC/USDT")
    assert seen == [["paper", "BTC/USDT"]]


async def test_router_when_commands_are_sent_then_each_is_audited_with_its_secrets_masked() -> None:
    from bot.replies import Reply
    from bot.router import Command, Router

    logged: list[tuple[int, str, tuple[str, ...]]] = []

    async def audit(tid: int, name: str, args: tuple[str, ...]) -> None:
        logged.append((tid, name, args))

    async def answer(actor: Actor, args: list[str]) -> Reply:
        return Reply("ok")

    router = Router(audit=audit)
    router.command(Command("connect", "/connect", "c", answer, 1, 4, private_only=True))
    router.command(Command("status", "/status", "s", answer))
    await router.text(Actor(7), "/connect binance KEY-123 SECRET-456 testnet")
    await router.text(Actor(7), "/connect paper 5000")
    await router.text(Actor(7), "/status")
    assert logged == [
        (7, "connect", ("binance", "***", "***", "***")),
        (7, "connect", ("paper", "5000")),
        (7, "status", ()),
    ]


async def test_balance_when_keys_connected_in_paper_mode_then_the_paper_ledger_and_in_live_mode_the_exchange(
    live_world: World, emulator: BinanceEmulator, telegram_id: Callable[[], int]
) -> None:
    """In paper mode the engines trade a live account on paper (PAPER_START_BALANCE): /balance shows what they
    trade with, not the real wallet; /mode live switches both to the exchange."""
    alice = chat(live_world, telegram_id())
    await alice.send("/start")
    await alice.send(f"/connect binance {TEST_KEY} {TEST_SECRET}")
    emulator.account.futures_wallet = Decimal("25000")

    paper = await alice.one("/balance")
    switched = await alice.press(buttons(await alice.one("/mode live"))["Switch to live"])
    live = await alice.one("/balance")

    assert paper.text.splitlines()[1] == "USDT: 10,000.00 (free 10,000.00, in use 0.00)"
    assert "Live mode" in switched.text
    assert live.text.splitlines()[1].startswith("USDT: 25,000.00")
