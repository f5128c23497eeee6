"""Alerts through the outbox (SQLite and PostgreSQL) to the fake Telegram Bot API over HTTP with the real
python-telegram-bot Bot: each alert reaches only its owner, in order; Telegram down or flood control delays
alerts and loses none; a user who blocked the bot is given up on without holding up anyone else; /metrics counts
alerts queued, sent, deferred and dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot

from bot.alerts import render, split_message, utf16_length, wants
from bot.outbox import OutboxNotifier, OutboxSender
from bot.telegram_send import telegram_send
from db.database import Database
from db.repositories import UserRepository
from db.repositories.outbox import OutboxRepository
from engine.events import EngineEvent, EventKind
from engine.notifier import CountingNotifier
from telemetry import METRICS
from tests.fakes.telegram_api import FakeTelegram

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
    await bot.initialize()
    yield bot
    await bot.shutdown()


async def _users(database: Database, telegram: FakeTelegram, telegram_id: Callable[[], int], n: int) -> list:
    out = []
    async with database.transaction() as session:
        for i in range(n):
            tid = telegram_id()
            user, _ = await UserRepository(session).register(tid, f"u{i}", f"User {i}")
            fake = telegram.user(tid, f"User {i}")
            await telegram.send_text(fake, "/start")  # a private chat opens once the user wrote to the bot
            out.append((user.id, fake))
    return out


def _event(user_id: int, kind: EventKind, message: str, symbol: str = "BTC/USDT", **fields: object) -> EngineEvent:
    return EngineEvent(kind, user_id, symbol, T0, message, **fields)  # type: ignore[arg-type]


async def test_alerts_when_two_users_trade_then_each_alert_reaches_only_its_owner_in_order(
    database: Database, telegram: FakeTelegram, bot: Bot, telegram_id: Callable[[], int]
) -> None:
    (ann, ann_chat), (ben, ben_chat) = await _users(database, telegram, telegram_id, 2)
    clock = Clock()
    notifier = OutboxNotifier(database, clock)
    for i in range(3):
        await notifier.notify(_event(ann, EventKind.POSITION_OPENED, f"ann trade {i}"))
    await notifier.notify(_event(ben, EventKind.POSITION_CLOSED, "ben closed <b>+12.40</b> & done", "ETH/USDT"))
    sender = OutboxSender(database, telegram_send(bot), clock=clock)

    assert await sender.deliver_due() == 4

    assert [m.text.splitlines()[1] for m in telegram.sent(ann_chat)] == [f"ann trade {i}" for i in range(3)]
    [ben_message] = telegram.sent(ben_chat)
    assert ben_message.text.splitlines()[1] == "ben closed <b>+12.40</b> & done"  # escaped, shown as typed
    assert "ETH/USDT" in ben_message.text and "ann" not in ben_message.text
    assert await sender.deliver_due() == 0  # sent once


async def test_alerts_when_telegram_is_down_for_a_while_then_none_is_lost_and_order_is_kept(
    database: Database, telegram: FakeTelegram, bot: Bot, telegram_id: Callable[[], int]
) -> None:
    [(ann, ann_chat)] = await _users(database, telegram, telegram_id, 1)
    clock = Clock()
    notifier = OutboxNotifier(database, clock)
    for i in range(4):
        await notifier.notify(_event(ann, EventKind.POSITION_OPENED, f"alert {i}"))
    sender = OutboxSender(database, telegram_send(bot), clock=clock, backoff_s=1.0)
    telegram.fail("sendMessage", times=3, status=502)

    passes = 0
    while len(telegram.sent(ann_chat)) < 4:
        await sender.deliver_due()
        clock.now += timedelta(seconds=10)  # past any backoff so far
        passes += 1
        assert passes < 10
    assert [m.text.splitlines()[1] for m in telegram.sent(ann_chat)] == [f"alert {i}" for i in range(4)]
    async with database.transaction() as session:
        rows = await OutboxRepository(session).for_user(ann)
    assert [r.sent_at is not None for r in rows] == [True] * 4
    assert rows[0].attempts == 4 and "unreachable" in (rows[0].last_error or "unreachable")


async def test_alerts_when_flood_control_answers_then_every_delivery_waits_retry_after(
    database: Database, telegram: FakeTelegram, bot: Bot, telegram_id: Callable[[], int]
) -> None:
    (ann, ann_chat), (ben, ben_chat) = await _users(database, telegram, telegram_id, 2)
    clock = Clock()
    notifier = OutboxNotifier(database, clock)
    await notifier.notify(_event(ann, EventKind.POSITION_OPENED, "first"))
    await notifier.notify(_event(ben, EventKind.POSITION_OPENED, "second"))
    sender = OutboxSender(database, telegram_send(bot), clock=clock)
    telegram.fail("sendMessage", times=1, status=429, retry_after=7)

    assert await sender.deliver_due() == 0
    assert sender.paused_until == T0 + timedelta(seconds=7)
    clock.now = T0 + timedelta(seconds=6)
    assert await sender.deliver_due() == 0  # still paused: nobody is sent anything
    assert [call.status for call in telegram.requests if call.method.lower() == "sendmessage"] == [429]
    clock.now = T0 + timedelta(seconds=7)
    assert await sender.deliver_due() == 2
    assert len(telegram.sent(ann_chat)) == 1 and len(telegram.sent(ben_chat)) == 1


async def test_alerts_when_a_user_blocked_the_bot_then_his_are_dropped_and_others_still_arrive(
    database: Database, telegram: FakeTelegram, bot: Bot, telegram_id: Callable[[], int]
) -> None:
    (ann, ann_chat), (ben, ben_chat) = await _users(database, telegram, telegram_id, 2)
    telegram.block(ann_chat)
    clock = Clock()
    notifier = OutboxNotifier(database, clock)
    await notifier.notify(_event(ann, EventKind.POSITION_OPENED, "to ann"))
    await notifier.notify(_event(ben, EventKind.POSITION_OPENED, "to ben"))
    sender = OutboxSender(database, telegram_send(bot), clock=clock)

    assert await sender.deliver_due() == 1
    assert [m.text.splitlines()[1] for m in telegram.sent(ben_chat)] == ["to ben"]
    async with database.transaction() as session:
        [row] = await OutboxRepository(session).for_user(ann)
        assert await OutboxRepository(session).pending_for_user(ann) == []
    assert row.dropped and row.sent_at is None and "blocked" in (row.last_error or "").lower()


async def test_alerts_when_the_user_turned_a_kind_off_then_it_is_not_queued_but_breaker_trips_always_are(
    database: Database, telegram: FakeTelegram, telegram_id: Callable[[], int]
) -> None:
    [(ann, _)] = await _users(database, telegram, telegram_id, 1)
    async with database.transaction() as session:
        user = await UserRepository(session).get(ann)
        assert user is not None
        user.settings = {"alerts": {"position_opened": False, "breaker_tripped": False}}
    notifier = OutboxNotifier(database, Clock())
    await notifier.notify(_event(ann, EventKind.POSITION_OPENED, "quiet"))
    reopen = T0 + timedelta(hours=4)
    await notifier.notify(_event(ann, EventKind.BREAKER_TRIPPED, "3 losses in a row", reopens_at=reopen))
    async with database.transaction() as session:
        rows = await OutboxRepository(session).for_user(ann)
    assert [r.kind for r in rows] == ["breaker_tripped"]
    assert "05 Jan 2026 16:00 UTC" in rows[0].text and "/resume" in rows[0].text


async def test_alerts_when_a_message_is_longer_than_telegram_takes_then_parts_queue_apart_and_none_is_sent_twice(
    database: Database, telegram: FakeTelegram, bot: Bot, telegram_id: Callable[[], int]
) -> None:
    [(ann, ann_chat)] = await _users(database, telegram, telegram_id, 1)
    clock = Clock()
    long = "\n".join(f"line {i}: " + "€" * 50 for i in range(200))  # ~11,000 characters
    await OutboxNotifier(database, clock).notify(_event(ann, EventKind.DAILY_SUMMARY, long))
    async with database.transaction() as session:
        queued = await OutboxRepository(session).for_user(ann)
    assert len(queued) == 3 and all(utf16_length(row.text) <= 4096 for row in queued)  # a row per part
    real, calls = telegram_send(bot), []

    async def send(chat_id: int, text: str) -> None:
        calls.extend([text] if chat_id == ann_chat.id else [])  # the database may hold other tests' rows
        if chat_id == ann_chat.id and len(calls) == 2:  # Telegram goes down between the first part and the second
            telegram.fail("sendMessage", times=1, status=502)
        await real(chat_id, text)

    sender = OutboxSender(database, send, clock=clock, backoff_s=1.0)
    assert await sender.deliver_due() == 1  # the first part went, the second is deferred, the third waits
    clock.now += timedelta(seconds=10)
    assert await sender.deliver_due() == 2
    parts = telegram.sent(ann_chat)
    assert len(parts) == 3  # the part delivered before the failure is not repeated
    assert "\n".join(p.text for p in parts).splitlines()[1:] == long.splitlines()


def test_split_when_lines_or_words_are_too_long_then_parts_fit_and_keep_the_text() -> None:
    text = "a" * 5000 + "\n" + "word " * 2000 + "\n" + "😀" * 3000
    parts = split_message(text)
    assert all(utf16_length(p) <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert all(not p.startswith("\udc00") for p in parts)  # never half a surrogate pair
    assert split_message("short") == ["short"]


def test_render_when_strings_carry_markup_then_they_are_escaped() -> None:
    text = render(_event(1, EventKind.ENGINE_ERROR, "<script>&", symbol="<b>X</b>"))
    assert "<script>" not in text and "&lt;script&gt;&amp;" in text and "&lt;b&gt;X&lt;/b&gt;" in text
    assert wants({"alerts": {"engine_error": False}}, EventKind.ENGINE_ERROR) is False
    assert wants({"alerts": "garbage"}, EventKind.ENGINE_ERROR) is True
    assert wants(None, EventKind.LIQUIDATED) and wants({"alerts": {"liquidated": False}}, EventKind.LIQUIDATED)


async def test_alert_metrics_when_alerts_are_queued_deferred_sent_and_dropped_then_each_is_counted(
    database: Database, telegram: FakeTelegram, bot: Bot, telegram_id: Callable[[], int]
) -> None:
    def figures() -> dict[str, float]:
        return {
            "queued": METRICS.value("quorum_alerts_queued_total"), "sent": METRICS.value("quorum_alerts_sent_total"),
            "deferred": METRICS.value("quorum_alerts_undelivered_total", outcome="deferred"),
            "dropped": METRICS.value("quorum_alerts_undelivered_total", outcome="dropped"),
            "tripped": METRICS.value("quorum_breaker_events_total", event="tripped"),
            "opened": METRICS.value("quorum_engine_events_total", kind="position_opened"),
        }  # fmt: skip

    (ann, _), (ben, ben_chat) = await _users(database, telegram, telegram_id, 2)
    clock = Clock()
    outbox = OutboxNotifier(database, clock)
    notifier = CountingNotifier(outbox)  # as quorum run wires it: counted, then queued
    sender = OutboxSender(database, telegram_send(bot), clock=clock)
    telegram.block(ben_chat)
    before = figures()

    await notifier.notify(_event(ann, EventKind.POSITION_OPENED, "ann opened"))
    await notifier.notify(_event(ann, EventKind.BREAKER_TRIPPED, "ann's breaker tripped", reason="losses"))
    await notifier.notify(_event(ben, EventKind.POSITION_OPENED, "ben opened"))
    telegram.fail("sendMessage", times=1, status=502)
    await sender.deliver_due()  # Ann's first deferred (her second waits behind it), Ben's dropped
    clock.now += timedelta(seconds=10)
    await sender.deliver_due()

    after = figures()
    assert {name: after[name] - before[name] for name in after} == {
        "queued": 3, "sent": 2, "deferred": 1, "dropped": 1, "tripped": 1, "opened": 2,
    }  # fmt: skip
