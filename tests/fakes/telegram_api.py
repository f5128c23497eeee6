"""A local stand-in for the Telegram Bot API over real HTTP, for driving python-telegram-bot's real Application.

The bot under test talks to /bot<TOKEN>/<method> (and downloads from /file/bot<TOKEN>/<path>) on 127.0.0.1 as it
would to api.telegram.org; the test plays the users (send_text, press_button) and reads back what the bot did
(sent, wait_for_reply, callback_answers, calls). Telegram's rules that bite real bots are enforced: 4096-character
texts, HTML / MarkdownV2 parse errors, 64-byte callback data, "message is not modified", one answer per callback
query, private chats only after the user wrote first, blocked users, deletion rights in groups, privacy mode.

    async with FakeTelegram() as telegram:
        app = telegram.application_builder().build()
        ann = telegram.user(1001, "Ann", username="ann")
        await telegram.send_text(ann, "/start")
        [reply] = await telegram.wait_for_reply(ann)
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from aiohttp import web
from telegram.ext import ApplicationBuilder

from tests.fakes.telegram_methods import DEFAULT_UPDATE_TYPES, BotApiMethods
from tests.fakes.telegram_model import (
    JSON,
    ApiCall,
    ApiError,
    CallbackAnswer,
    CallbackQuery,
    ChatAction,
    FakeChat,
    FakeMessage,
    FakeUser,
    StoredFile,
)
from tests.fakes.telegram_params import read_params, scope_key
from tests.fakes.telegram_text import command_entities, leading_command
from tests.local_http import serve

ChatRef = int | FakeChat | FakeUser
_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n</body>\r\n</html>"
)


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: int | None
    description: str | None

    def response(self) -> web.Response:
        if self.status == 429:
            retry_after = self.retry_after or 1
            return _error_response(
                ApiError(429, self.description or f"Too Many Requests: retry after {retry_after}", retry_after)
            )
        if self.status in (502, 503, 504) and self.description is None:
            title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}
            return web.Response(
                status=self.status, text=_GATEWAY_PAGE.format(title[self.status]), content_type="text/html"
            )
        return _error_response(ApiError(self.status, self.description or "Internal Server Error"))


def _error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


class FakeTelegram(BotApiMethods):
    """One bot (one token) and the users, chats and messages around it. Use as an async context manager."""

    def __init__(
        self,
        token: str = "123456789:TEST-fake-telegram-token",
        bot_username: str = "quorum_test_bot",
        bot_name: str = "Quorum",
        privacy_mode: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot = FakeUser(int(bot_id) if bot_id.isdigit() else 1, bot_name, username=bot_username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.clock = clock
        self.on_message: Callable[[FakeMessage], None] | None = None  # told of every message, users' and the bot's
        self.url = ""
        self.calls: Counter[str] = Counter()
        self.requests: list[ApiCall] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[ChatAction] = []
        self.files: dict[str, StoredFile] = {}
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_deliveries = 0  # updates the bot's webhook accepted
        self._pusher: asyncio.Task[None] | None = None
        self.updates: list[JSON] = []  # queued and not yet confirmed by a getUpdates offset
        self.allowed_updates = DEFAULT_UPDATE_TYPES
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.my_commands: dict[tuple[str, str], list[JSON]] = {}
        self._messages: dict[int, dict[int, FakeMessage]] = defaultdict(dict)
        self._queries: dict[str, CallbackQuery] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._reply_cursor: Counter[int] = Counter()
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_382_000_000_000_000_001)
        self._group_ids = itertools.count(1)
        self._default_groups: dict[str, FakeChat] = {}
        self.polling = 0  # getUpdates requests waiting right now
        self._poll_generation = 0
        self._closing = False
        self._tick = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---
    async def start(self) -> Self:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner, self.url = await serve(app, shutdown_timeout=0.5)
        self._pusher = asyncio.create_task(self._push_updates())
        return self

    async def _push_updates(self) -> None:
        """Webhook mode: POST each queued update to the bot's URL, oldest first, as Telegram does; an update the
        bot does not take with a 2xx stays queued and is tried again."""
        import aiohttp

        async with aiohttp.ClientSession() as session:
            while not self._closing:
                if not self.webhook_url or not self.updates:
                    await self._wait(lambda: bool(self.webhook_url and self.updates) or self._closing, 3600)
                    continue
                update = self.updates[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
                try:
                    async with session.post(self.webhook_url, json=update, headers=headers) as response:
                        taken = 200 <= response.status < 300
                except aiohttp.ClientError:
                    taken = False
                if taken:
                    if self.updates and self.updates[0] is update:
                        self.updates.pop(0)
                    self.webhook_deliveries += 1
                    self._changed()
                else:
                    await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._closing = True
        if self._pusher is not None:
            self._pusher.cancel()
            await asyncio.gather(self._pusher, return_exceptions=True)
        self._changed()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def application_builder(self) -> ApplicationBuilder:
        """An ApplicationBuilder with this server's token and URLs; add handlers after build()."""
        return ApplicationBuilder().token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)

    # --- the test plays the users ---
    def user(
        self,
        telegram_id: int,
        first_name: str = "Test",
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """A simulated user; the bot may write to their private chat (user.chat) once they have written to it."""
        user = FakeUser(telegram_id, first_name, username, last_name, language_code)
        self.users[telegram_id] = user
        self.chats[telegram_id] = user.chat
        return user

    def group(self, title: str = "Test group", *, chat_type: str = "group", bot_is_admin: bool = False) -> FakeChat:
        """A group (or supergroup) the bot is a member of."""
        n = next(self._group_ids)
        chat_id = -(1_001_000_000_000 + n) if chat_type == "supergroup" else -(4_000_000_000 + n)
        chat = FakeChat(chat_id, chat_type, title=title, bot_is_admin=bot_is_admin)
        self.chats[chat_id] = chat
        return chat

    async def send_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        chat_type: str = "private",
        reply_to: FakeMessage | None = None,
    ) -> FakeMessage:
        """The user writes `text`; the bot receives it as a message update (commands carry bot_command entities).

        chat: a group from group(); or chat_type="group" / "supergroup" for a default one. In groups, privacy
        mode delivers only commands for this bot and replies to its messages (message.delivered says which).
        """
        if chat is None:
            if chat_type == "private":
                chat = user.chat
            else:
                chat = self._default_groups.get(chat_type) or self.group(chat_type=chat_type)
                self._default_groups[chat_type] = chat
        if chat.type == "private":
            assert chat is user.chat, "a user can only write in their own private chat with the bot"
            user.started, user.blocked = True, False
        if reply_to is not None:
            assert reply_to.chat is chat and not reply_to.deleted, "can only reply to a live message in the same chat"
        message = self._add_message(chat, user, text=text, entities=command_entities(text), reply_to=reply_to)
        message.delivered = chat.type == "private" or self._meant_for_bot(text, reply_to)
        if message.delivered:
            self._queue("message", message.to_api())
        return message

    async def press_button(self, user: FakeUser, message: FakeMessage, callback_data: str) -> str:
        """The user taps the inline button carrying `callback_data` on `message`; returns the callback query id."""
        current = self._messages[message.chat.id].get(message.message_id)
        assert current is not None and not current.deleted, f"message {message.message_id} is gone"
        assert current.from_bot, "only the bot's messages carry inline keyboards"
        assert current.chat.type != "private" or current.chat is user.chat, "that message is in someone else's chat"
        datas = [button.get("callback_data") for button in current.buttons()]
        assert callback_data in datas, f"no button with callback_data {callback_data!r}; buttons: {current.buttons()}"
        query = CallbackQuery(str(next(self._query_ids)), user, current, callback_data)
        self._queries[query.id] = query
        payload = {
            "id": query.id,
            "from": user.to_api(),
            "message": current.to_api(),
            "chat_instance": str(abs(current.chat.id) * 7919 + self.bot.id),
            "data": callback_data,
        }
        self._queue("callback_query", payload)
        return query.id

    def block(self, user: FakeUser) -> None:
        """The user blocks the bot: sending to them fails with 403 until they write again."""
        user.blocked = True

    # --- the test reads what the bot did ---
    def sent(self, chat: ChatRef) -> list[FakeMessage]:
        """Every message the bot sent in the chat, oldest first, deleted ones included (message.deleted)."""
        return [message for message in self.messages(chat) if message.from_bot]

    def messages(self, chat: ChatRef) -> list[FakeMessage]:
        """Every message in the chat, from users and from the bot, oldest first."""
        return list(self._messages[_chat_id(chat)].values())

    def message(self, chat: ChatRef, message_id: int) -> FakeMessage:
        return self._messages[_chat_id(chat)][message_id]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set by setMyCommands for that scope and language."""
        return self.my_commands.get((scope_key(scope), language_code), [])

    def answer_for(self, query_id: str) -> CallbackAnswer | None:
        return self._queries[query_id].answer

    async def wait_for_reply(self, chat: ChatRef, count: int = 1, timeout: float = 5.0) -> list[FakeMessage]:
        """The next `count` messages the bot sends in the chat (after those earlier calls returned)."""
        chat_id = _chat_id(chat)
        cursor = self._reply_cursor[chat_id]
        await self.wait_until(
            lambda: len(self.sent(chat_id)) >= cursor + count,
            timeout,
            f"{count} new message(s) from the bot in chat {chat_id}",
        )
        self._reply_cursor[chat_id] = cursor + count
        return self.sent(chat_id)[cursor : cursor + count]

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 5.0) -> None:
        """Until the bot has called `method` (canonical spelling, e.g. "deleteMessage") `count` times in all."""
        await self.wait_until(lambda: self.calls[method] >= count, timeout, f"{count} call(s) to {method}")

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        """Re-checks predicate after every change on the server (request, update, message); no polling."""
        if not await self._wait(predicate, timeout):
            recent = [(call.method, call.status) for call in self.requests[-10:]]
            raise TimeoutError(f"waited {timeout}s for {what}; last requests: {recent}")

    # --- faults ---
    def fail(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail without effect: 429 with retry_after, or 5xx (502-504 as HTML)."""
        for _ in range(times):
            self._faults[method.lower()].append(Fault(status, retry_after if status == 429 else None, description))

    # --- HTTP plumbing ---
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await read_params(request)
        except ApiError as error:
            return self._answer(request, method, {}, _error_response(error))
        if request.match_info["token"] != self.token:
            return self._answer(request, method, params.logged(), _error_response(ApiError(401, "Unauthorized")))
        handler = self.method_table.get(method.lower())
        if handler is None:
            return self._answer(request, method, params.logged(), _error_response(ApiError(404, "Not Found")))
        canonical, function = handler
        faults = self._faults.get(method.lower())
        if faults:
            return self._answer(request, canonical, params.logged(), faults.popleft().response())
        try:
            result = await function(params)
        except ApiError as error:
            return self._answer(request, canonical, params.logged(), _error_response(error))
        return self._answer(request, canonical, params.logged(), web.json_response({"ok": True, "result": result}))

    def _answer(self, request: web.Request, method: str, logged: JSON, response: web.Response) -> web.Response:
        gone = request.transport is None or request.transport.is_closing()
        self.calls[method] += 1
        self.requests.append(ApiCall(method, logged, response.status, abandoned=gone))
        self._changed()
        return response

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return _error_response(ApiError(404, "Not Found"))

    # --- shared state helpers ---
    def _queue(self, kind: str, payload: JSON) -> None:
        if kind in self.allowed_updates:
            self.updates.append({"update_id": next(self._update_ids), kind: payload})
            self._changed()

    def _meant_for_bot(self, text: str, reply_to: FakeMessage | None) -> bool:
        if not self.privacy_mode or (reply_to is not None and reply_to.from_bot):
            return True
        command = leading_command(text)
        if command is None:
            return False
        _, _, addressee = command.partition("@")
        return not addressee or addressee.lower() == (self.bot.username or "").lower()


def _chat_id(chat: ChatRef) -> int:
    return chat if isinstance(chat, int) else chat.id
