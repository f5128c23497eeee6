"""The fake Telegram Bot API, driven by python-telegram-bot's real Application over real HTTP."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from tests.fakes.telegram_api import FakeTelegram

Context = ContextTypes.DEFAULT_TYPE


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """The Application as the product runs it: initialize / start / polling in this loop, then the reverse."""
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


async def start(update: Update, context: Context) -> None:
    """Greets the user by name."""
    assert update.effective_message is not None and update.effective_user is not None
    await update.effective_message.reply_text(f"Hello <b>{update.effective_user.first_name}</b>", parse_mode="HTML")


async def test_start_when_user_sends_it_then_command_handler_replies(telegram: FakeTelegram) -> None:
    app = telegram.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    ann = telegram.user(1001, "Ann", username="ann")
    async with running(app):
        sent_at = int(time.time())
        command = await telegram.send_text(ann, "/start")
        [reply] = await telegram.wait_for_reply(ann)
    assert command.entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert (reply.text, reply.entities) == ("Hello Ann", [{"type": "bold", "offset": 6, "length": 3}])
    assert reply.source == "Hello <b>Ann</b>" and reply.parse_mode == "HTML"
    assert reply.from_bot and reply.chat.id == ann.id
    assert (command.message_id, reply.message_id) == (1, 2)
    assert sent_at - 1 <= reply.date <= int(time.time()) + 1
    assert telegram.calls["getMe"] == 1 and telegram.calls["deleteWebhook"] == 1
    assert telegram.updates == []  # the updater's last getUpdates confirmed everything it fetched


async def test_delete_when_handler_deletes_user_message_then_it_is_marked_deleted(telegram: FakeTelegram) -> None:
    async def forget(update: Update, context: Context) -> None:
        """Deletes what the user wrote (as /connect must do with API keys)."""
        assert update.effective_message is not None
        await update.effective_message.delete()
        await context.bot.send_message(update.effective_message.chat_id, "Deleted your message.")

    app = telegram.application_builder().build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, forget))
    bob = telegram.user(1002, "Bob")
    async with running(app):
        secret = await telegram.send_text(bob, "my api secret")
        [notice] = await telegram.wait_for_reply(bob)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await app.bot.delete_message(bob.id, secret.message_id)
    assert secret.deleted and not notice.deleted
    assert notice.text == "Deleted your message."
    assert [(call.method, call.status) for call in telegram.requests if call.method == "deleteMessage"] == [
        ("deleteMessage", 200),
        ("deleteMessage", 400),
    ]


async def test_photo_when_bot_sends_chart_then_bytes_arrive_intact(telegram: FakeTelegram) -> None:
    chart = png(640, 360)

    async def send_chart(update: Update, context: Context) -> None:
        """Answers with an image and an HTML caption."""
        assert update.effective_message is not None
        await update.effective_message.reply_photo(chart, caption="<i>Equity</i> curve", parse_mode=ParseMode.HTML)

    app = telegram.application_builder().build()
    app.add_handler(CommandHandler("profit", send_chart))
    cleo = telegram.user(1003, "Cleo")
    async with running(app):
        await telegram.send_text(cleo, "/profit")
        [photo] = await telegram.wait_for_reply(cleo)
        assert (photo.caption, photo.caption_entities) == (
            "Equity curve",
            [{"type": "italic", "offset": 0, "length": 6}],
        )
        file_id = photo.photo_sizes[-1]["file_id"]
        downloaded = await (await app.bot.get_file(file_id)).download_as_bytearray()
        resent = await app.bot.send_photo(cleo.id, file_id)
        await app.bot.edit_message_caption(
            cleo.id, photo.message_id, caption="Equity, <b>30 days</b>", parse_mode="HTML"
        )
    assert photo.kind == "photo" and photo.photo == chart and bytes(downloaded) == chart
    assert (photo.photo_sizes[-1]["width"], photo.photo_sizes[-1]["height"]) == (640, 360)
    assert (photo.caption, photo.caption_entities) == ("Equity, 30 days", [{"type": "bold", "offset": 8, "length": 7}])
    assert [edit.method for edit in photo.edits] == ["editMessageCaption"]
    assert resent.photo[-1].file_id == file_id and telegram.sent(cleo)[-1].photo == chart


async def test_button_when_pressed_then_callback_handler_runs_and_answer_is_recorded(telegram: FakeTelegram) -> None:
    async def ask(update: Update, context: Context) -> None:
        """Asks for a confirmation with two inline buttons."""
        assert update.effective_message is not None
        keyboard = [
            [InlineKeyboardButton("Yes", callback_data="close:BTC"), InlineKeyboardButton("No", callback_data="keep")]
        ]
        await update.effective_message.reply_text("Close BTC/USDT?", reply_markup=InlineKeyboardMarkup(keyboard))

    async def confirm(update: Update, context: Context) -> None:
        """Answers the query, then replaces the question (and its keyboard) with the outcome."""
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("Closing")
        await query.edit_message_text(f"Confirmed: {query.data}")

    app = telegram.application_builder().build()
    app.add_handler(CommandHandler("close", ask))
    app.add_handler(CallbackQueryHandler(confirm))
    dan = telegram.user(1004, "Dan", username="dan")
    async with running(app):
        await telegram.send_text(dan, "/close BTC/USDT")
        [question] = await telegram.wait_for_reply(dan)
        assert [button["text"] for button in question.buttons()] == ["Yes", "No"]
        query_id = await telegram.press_button(dan, question, question.button_data("Yes"))
        await telegram.wait_until(lambda: bool(question.edits), what="the question to be edited")
    [answer] = telegram.callback_answers
    assert (answer.query_id, answer.user_id, answer.data, answer.text) == (query_id, dan.id, "close:BTC", "Closing")
    assert telegram.answer_for(query_id) == answer
    assert question.text == "Confirmed: close:BTC" and question.inline_keyboard is None
    assert question.edit_date is not None and [edit.method for edit in question.edits] == ["editMessageText"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's own __init__ warns
async def test_send_when_rate_limited_then_retry_after_reaches_error_handler(telegram: FakeTelegram) -> None:
    errors: asyncio.Queue[object] = asyncio.Queue()

    async def on_error(update: object, context: Context) -> None:
        """Hands the error to the test."""
        errors.put_nowait(context.error)

    app = telegram.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_error_handler(on_error)
    eve = telegram.user(1005, "Eve")
    telegram.fail("sendMessage", status=429, retry_after=7)
    async with running(app):
        await telegram.send_text(eve, "/start")
        error = await asyncio.wait_for(errors.get(), 5)
        await telegram.send_text(eve, "/start")
        [reply] = await telegram.wait_for_reply(eve)
    assert isinstance(error, RetryAfter) and error.retry_after in (7, timedelta(seconds=7))
    assert reply.text == "Hello Eve" and telegram.calls["sendMessage"] == 2
    assert [m.message_id for m in telegram.messages(eve)] == [1, 2, 3]  # the refused send took no id


async def test_initialize_when_token_unknown_then_invalid_token(telegram: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token("999:not-this-bot")
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .build()
    )
    with pytest.raises(InvalidToken):
        await app.initialize()
    assert [(call.method, call.status) for call in telegram.requests] == [("getMe", 401)]


async def test_group_when_privacy_mode_then_only_commands_for_this_bot_arrive(telegram: FakeTelegram) -> None:
    seen: list[str] = []

    async def record(update: Update, context: Context) -> None:
        """Notes every text the bot is given."""
        assert update.effective_message is not None and update.effective_message.text is not None
        seen.append(update.effective_message.text)
        await update.effective_message.reply_text("ok")

    app = telegram.application_builder().build()
    app.add_handler(MessageHandler(filters.TEXT, record))
    fay = telegram.user(1006, "Fay")
    async with running(app):
        chatter = await telegram.send_text(fay, "hello all", chat_type="group")
        other = await telegram.send_text(fay, "/status@other_bot", chat_type="group")
        mine = await telegram.send_text(fay, "/status@quorum_test_bot", chat_type="group")
        [reply] = await telegram.wait_for_reply(mine.chat)
    assert (chatter.delivered, other.delivered, mine.delivered) == (False, False, True)
    assert seen == ["/status@quorum_test_bot"] and mine.chat.type == "group" and mine.chat.id < 0
    assert [m.message_id for m in telegram.messages(mine.chat)] == [1, 2, 3, 4] and reply.message_id == 4


async def test_bot_api_when_rules_are_broken_then_telegram_errors_come_back(telegram: FakeTelegram) -> None:
    gus = telegram.user(1007, "Gus")
    stranger = telegram.user(1008, "Stranger")
    async with telegram.application_builder().build() as app:
        bot = app.bot
        with pytest.raises(Forbidden, match="can't initiate conversation"):
            await bot.send_message(gus.id, "hi")
        await telegram.send_text(gus, "/start")
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
            await bot.send_message(gus.id, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match="character '.' is reserved"):
            await bot.send_message(gus.id, "Done.", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(gus.id, "x" * 4097)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(gus.id, "x", reply_markup=_one_button("y" * 65))
        sent = await bot.send_message(gus.id, "  Price: 1.5  ", reply_markup=_one_button("refresh"))
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("Price: 1.5", gus.id, sent.message_id, reply_markup=_one_button("refresh"))
        edited = await bot.edit_message_text("Price: 1.6", gus.id, sent.message_id)
        assert await bot.send_chat_action(gus.id, "upload_photo")
        with pytest.raises(BadRequest, match="Wrong parameter action"):
            await bot.send_chat_action(gus.id, "dancing")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(-42, "hi")
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(gus.id, b"not an image")
        info = await bot.get_chat(gus.id)
        telegram.block(gus)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(gus.id, "still there?")
        telegram.fail("getChat", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.get_chat(stranger.id)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.get_chat(stranger.id)
    assert (info.id, info.type, info.first_name) == (gus.id, "private", "Gus")
    assert sent.text == "Price: 1.5" and edited.reply_markup is None and edited.edit_date is not None
    assert telegram.sent(gus)[-1].text == "Price: 1.6"
    assert [(action.chat_id, action.action) for action in telegram.chat_actions] == [(gus.id, "upload_photo")]


def _one_button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Refresh", callback_data=data)]])


async def test_callback_when_answered_twice_then_second_answer_is_refused(telegram: FakeTelegram) -> None:
    hal = telegram.user(1009, "Hal")
    async with telegram.application_builder().build() as app:
        await telegram.send_text(hal, "/start")
        question = await app.bot.send_message(hal.id, "Sure?", reply_markup=_one_button("yes"))
        query_id = await telegram.press_button(hal, telegram.message(hal, question.message_id), "yes")
        assert await app.bot.answer_callback_query(query_id) is True
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_callback_query(query_id)
        with pytest.raises(AssertionError, match="no button"):
            await telegram.press_button(hal, telegram.message(hal, question.message_id), "no")
        await app.bot.edit_message_reply_markup(hal.id, question.message_id, reply_markup=_one_button("again"))
        with pytest.raises(BadRequest, match="Message is not modified"):
            await app.bot.edit_message_reply_markup(hal.id, question.message_id, reply_markup=_one_button("again"))
        assert await app.bot.log_out() and await app.bot.close()
    stored = telegram.message(hal, question.message_id)
    assert stored.button_data("Refresh") == "again" and [e.method for e in stored.edits] == ["editMessageReplyMarkup"]


async def test_commands_when_set_then_get_returns_them_per_scope(telegram: FakeTelegram) -> None:
    async with telegram.application_builder().build() as app:
        assert await app.bot.set_my_commands([("start", "Register"), ("status", "Engines and P&L")])
        [first, second] = await app.bot.get_my_commands()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await app.bot.set_my_commands([("Bad-Name", "nope")])
        assert await app.bot.get_my_commands(language_code="de") == ()
        me = await app.bot.get_me()
    assert (first.command, second.description) == ("start", "Engines and P&L")
    assert telegram.commands() == [
        {"command": "start", "description": "Register"},
        {"command": "status", "description": "Engines and P&L"},
    ]
    assert me.username == "quorum_test_bot" and me.is_bot and me.id == 123456789


async def test_http_when_methods_are_called_raw_then_they_behave_like_telegram(telegram: FakeTelegram) -> None:
    ivy = telegram.user(1010, "Ivy")
    base = f"{telegram.base_url}{telegram.token}"
    async with aiohttp.ClientSession() as http:

        async def call(method: str, **params: Any) -> tuple[int, Any]:
            async with http.post(f"{base}/{method}", json=params) as response:
                return response.status, await response.json()

        assert await call("fooBar") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
        async with http.post(f"{telegram.base_url}1:wrong/getMe") as response:
            assert (response.status, await response.json()) == (
                401,
                {"ok": False, "error_code": 401, "description": "Unauthorized"},
            )
        poll = asyncio.create_task(call("getUpdates", timeout=5))
        await telegram.wait_until(lambda: telegram.polling == 1, what="the long poll to start")
        first = await telegram.send_text(ivy, "/start")
        status, body = await poll
        [update] = body["result"]
        assert status == 200 and update["message"]["message_id"] == first.message_id
        status, body = await call("getUpdates", offset=update["update_id"], timeout=0)
        assert [u["update_id"] for u in body["result"]] == [update["update_id"]]  # not confirmed yet
        status, body = await call("getUpdates", offset=update["update_id"] + 1, timeout=0)
        assert body["result"] == [] and telegram.updates == []
        rival = asyncio.create_task(call("getUpdates", timeout=5))
        await telegram.wait_until(lambda: telegram.polling == 1, what="the rival poll to start")
        assert (await call("getUpdates", timeout=0))[0] == 200
        status, body = await rival
        assert status == 409 and body["description"].startswith("Conflict: terminated by other getUpdates")
        sent = await call("sendMessage", chat_id=ivy.id, text="hi", reply_parameters={"message_id": 1})
        assert sent[1]["result"]["reply_to_message"]["message_id"] == 1
        gone = await call("deleteMessage", chat_id=ivy.id, message_id=99)
        assert gone == (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: message to delete not found"},
        )
        [hi] = await telegram.wait_for_reply(ivy)
        assert hi.text == "hi" and hi.reply_to is first
        with pytest.raises(TimeoutError, match="1 new message"):
            await telegram.wait_for_reply(ivy, timeout=0.05)
        assert (await call("getUpdates", allowed_updates=["callback_query"], timeout=0))[0] == 200
        await telegram.send_text(ivy, "a message is no longer an allowed update type")
        assert telegram.updates == []
