"""The Telegram transport over real HTTP: python-telegram-bot's Application against the fake Bot API server,
feeding a Router. Secrets are deleted from the chat, a button edits its message in place, a long reply arrives
in parts, an image arrives intact, a command in a group that needs a private chat is refused; users are served at
once, each user's commands in order."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from telegram.ext import Application

from bot.replies import Button, Reply
from bot.router import Actor, Command, Router
from bot.telegram_app import build_application, register_commands
from tests.fakes.telegram_api import FakeTelegram


def _png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = _png()


def _router() -> Router:
    router = Router()

    async def start(actor: Actor, args: list[str]) -> Reply:
        return Reply(f"Hello <b>{actor.name}</b>", buttons=((Button("Refresh", "refresh:1"),),))

    async def connect(actor: Actor, args: list[str]) -> Reply:
        return Reply(f"Connected {args[0]}; your keys are stored encrypted.")

    async def long(actor: Actor, args: list[str]) -> Reply:
        return Reply("\n".join(f"row {i} " + "x" * 60 for i in range(150)))

    async def chart(actor: Actor, args: list[str]) -> Reply:
        return Reply("your chart", photo=PNG)

    async def refresh(actor: Actor, args: list[str]) -> Reply:
        return Reply(f"Refreshed {args[0]} for {actor.telegram_id}", buttons=((Button("Refresh", "refresh:2"),),),
                     edit=True)  # fmt: skip

    router.command(Command("start", "/start", "register", start))
    router.command(Command("connect", "/connect <exchange> <key> <secret>", "connect", connect, 1, 4, True))
    router.command(Command("long", "/long", "a long answer", long))
    router.command(Command("chart", "/chart", "an image", chart))
    router.button("refresh", refresh)
    return router


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@asynccontextmanager
async def _running(telegram: FakeTelegram, router: Router) -> AsyncIterator[Application]:
    application = build_application(telegram.token, router, base_url=telegram.base_url, rate_limit=False)
    await application.initialize()
    await register_commands(application, router)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


@pytest.fixture
async def app(telegram: FakeTelegram) -> AsyncIterator[Application]:
    async with _running(telegram, _router()) as application:
        yield application


async def test_command_when_sent_then_the_router_answers_and_the_menu_is_registered(
    telegram: FakeTelegram, app: Application
) -> None:
    ann = telegram.user(1001, "Ann")
    await telegram.send_text(ann, "/start")
    [reply] = await telegram.wait_for_reply(ann)
    assert reply.text == "Hello Ann" and reply.buttons()
    assert {c["command"] for c in telegram.commands()} == {"start", "connect", "long", "chart"}
    await telegram.send_text(ann, "/nosuch")
    [unknown] = await telegram.wait_for_reply(ann)
    assert "Unknown command /nosuch" in unknown.text
    await telegram.send_text(ann, "hello there")
    [plain] = await telegram.wait_for_reply(ann)
    assert "commands only" in plain.text


async def test_connect_when_keys_are_in_the_message_then_it_is_deleted_and_never_echoed(
    telegram: FakeTelegram, app: Application
) -> None:
    ann = telegram.user(1002, "Ann")
    sent = await telegram.send_text(ann, "/connect binance KEY-abc123 SECRET-xyz789")
    [reply] = await telegram.wait_for_reply(ann)
    assert telegram.message(ann, sent.message_id).deleted
    assert "KEY-abc123" not in reply.text and "SECRET-xyz789" not in reply.text


async def test_connect_paper_when_sent_then_the_message_stays_as_it_holds_no_secret(
    telegram: FakeTelegram, app: Application
) -> None:
    ann = telegram.user(1006, "Ann")
    sent = await telegram.send_text(ann, "/connect paper 10000")
    await telegram.wait_for_reply(ann)
    assert not telegram.message(ann, sent.message_id).deleted and telegram.calls["deleteMessage"] == 0


async def test_commands_when_one_user_waits_on_a_slow_one_then_others_are_served_and_theirs_keep_their_order(
    telegram: FakeTelegram,
) -> None:
    release, order = asyncio.Event(), []
    router = Router()

    async def slow(actor: Actor, args: list[str]) -> Reply:
        order.append(f"slow {actor.name}")
        await release.wait()  # a chart being drawn, a database write, a reply held by the flood limit
        return Reply("slow done")

    async def fast(actor: Actor, args: list[str]) -> Reply:
        order.append(f"fast {actor.name}")
        return Reply("fast done")

    router.command(Command("slow", "/slow", "slow", slow))
    router.command(Command("fast", "/fast", "fast", fast))
    ann, ben = telegram.user(1101, "Ann"), telegram.user(1102, "Ben")
    async with _running(telegram, router):
        try:
            await telegram.send_text(ann, "/slow")
            await telegram.send_text(ann, "/fast")
            await telegram.send_text(ben, "/fast")
            [ben_reply] = await telegram.wait_for_reply(ben)  # Ann's slow command holds only Ann's
            assert ben_reply.text == "fast done" and order == ["slow Ann", "fast Ben"] and not telegram.sent(ann)
        finally:
            release.set()  # the application stops only once its handlers are done
        first, second = await telegram.wait_for_reply(ann, count=2)
    assert (first.text, second.text) == ("slow done", "fast done")
    assert order == ["slow Ann", "fast Ben", "fast Ann"]


async def test_connect_when_sent_in_a_group_then_refused_and_the_keys_taken_down_where_possible(
    telegram: FakeTelegram, app: Application
) -> None:
    group = telegram.group("Traders", bot_is_admin=True)
    bob = telegram.user(1003, "Bob")
    await telegram.send_text(bob, "/connect binance KEY SECRET", chat=group)
    [reply] = await telegram.wait_for_reply(group)
    assert "private chat" in reply.text
    assert all(m.deleted for m in telegram.messages(group) if "SECRET" in (m.text or ""))


async def test_button_when_pressed_then_its_message_is_edited_in_place_for_the_presser(
    telegram: FakeTelegram, app: Application
) -> None:
    ann = telegram.user(1004, "Ann")
    await telegram.send_text(ann, "/start")
    [message] = await telegram.wait_for_reply(ann)
    query = await telegram.press_button(ann, message, "refresh:1")
    await telegram.wait_until(lambda: telegram.message(ann, message.message_id).text.startswith("Refreshed"))
    assert telegram.message(ann, message.message_id).text == "Refreshed 1 for 1004"
    assert telegram.answer_for(query) is not None  # every press is answered


async def test_reply_when_longer_than_a_message_then_parts_and_an_image_arrives_intact(
    telegram: FakeTelegram, app: Application
) -> None:
    ann = telegram.user(1005, "Ann")
    await telegram.send_text(ann, "/long")
    parts = await telegram.wait_for_reply(ann, count=3)
    assert "\n".join(p.text for p in parts).splitlines() == [f"row {i} " + "x" * 60 for i in range(150)]
    await telegram.send_text(ann, "/chart")
    [photo] = await telegram.wait_for_reply(ann)
    assert photo.photo == PNG and photo.caption == "your chart"
