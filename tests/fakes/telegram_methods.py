"""The Bot API methods the fake Telegram answers, with Telegram's own error descriptions.

The state they read and change belongs to FakeTelegram (telegram_api.py), which inherits these handlers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from tests.fakes.telegram_model import (
    JSON,
    ApiError,
    CallbackAnswer,
    CallbackQuery,
    ChatAction,
    Edit,
    FakeChat,
    FakeMessage,
    FakeUser,
    StoredFile,
    bad_request,
    inspect_photo,
    parse_markup,
)
from tests.fakes.telegram_params import Params, scope_key
from tests.fakes.telegram_text import PARSERS, FormattingError, format_text, utf16_len

Handler = Callable[[Params], Awaitable[Any]]
UPDATE_TYPES = frozenset(
    "message edited_message channel_post edited_channel_post business_connection business_message "
    "edited_business_message deleted_business_messages message_reaction message_reaction_count inline_query "
    "chosen_inline_result callback_query shipping_query pre_checkout_query purchased_paid_media poll poll_answer "
    "my_chat_member chat_member chat_join_request chat_boost removed_chat_boost".split()
)
DEFAULT_UPDATE_TYPES = UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document choose_sticker "
    "find_location record_video_note upload_video_note".split()
)
METHODS = (
    "getMe getUpdates setWebhook deleteWebhook getWebhookInfo setMyCommands getMyCommands deleteMyCommands sendMessage "
    "editMessageText editMessageCaption editMessageReplyMarkup deleteMessage answerCallbackQuery sendPhoto "
    "sendChatAction getChat getFile close logOut"
).split()
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a current "
    "content and reply markup of the message"
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class BotApiMethods:
    """Handlers named after the Bot API methods (sendMessage -> _send_message); each returns the "result"."""

    bot: FakeUser
    privacy_mode: bool
    users: dict[int, FakeUser]
    chats: dict[int, FakeChat]
    updates: list[JSON]
    allowed_updates: frozenset[str]
    webhook_url: str
    webhook_secret: str
    my_commands: dict[tuple[str, str], list[JSON]]
    files: dict[str, StoredFile]
    callback_answers: list[CallbackAnswer]
    chat_actions: list[ChatAction]
    _messages: dict[int, dict[int, FakeMessage]]
    _queries: dict[str, CallbackQuery]
    clock: Callable[[], float]
    on_message: Callable[[FakeMessage], None] | None
    polling: int
    _tick: asyncio.Event
    _poll_generation: int
    _closing: bool

    # --- state every handler shares ---
    def _changed(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._tick.wait()
        except TimeoutError:
            return predicate()
        return True

    def _now(self) -> int:
        return int(self.clock())

    def _add_message(self, chat: FakeChat, sender: FakeUser, **fields: Any) -> FakeMessage:
        messages = self._messages[chat.id]
        message = FakeMessage(chat, max(messages, default=0) + 1, self._now(), sender, **fields)
        messages[message.message_id] = message
        if self.on_message is not None:
            self.on_message(message)
        self._changed()
        return message

    @cached_property
    def method_table(self) -> dict[str, tuple[str, Handler]]:
        """Lower-cased method name (the Bot API is case-insensitive) -> (canonical name, handler)."""
        return {name.lower(): (name, getattr(self, "_" + _snake(name))) for name in METHODS}

    # --- bot and updates ---
    async def _get_me(self, p: Params) -> JSON:
        me = {key: value for key, value in self.bot.to_api().items() if key != "language_code"}
        return {
            **me,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: Params) -> list[JSON]:
        """Long polling: confirm what is below offset, then wait up to timeout for anything to return."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
                "webhook first",
            )
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.integer("timeout") or 0, 0)
        allowed = p.json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON array")
            self.allowed_updates = (frozenset(allowed) & UPDATE_TYPES) or DEFAULT_UPDATE_TYPES
        if offset > 0:
            self.updates = [update for update in self.updates if update["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self.polling += 1
        self._changed()
        try:
            await self._wait(
                lambda: bool(self.updates) or self._closing or self._poll_generation != generation, timeout
            )
        finally:
            self.polling -= 1
        if self._poll_generation != generation:
            raise ApiError(
                409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
            )
        return self.updates[:limit]

    async def _set_webhook(self, p: Params) -> bool:
        """Updates are then POSTed to `url` (with the secret token header), one at a time, in order."""
        url = p.text("url") or ""
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url, self.webhook_secret = url, p.text("secret_token") or ""
        if p.flag("drop_pending_updates"):
            self.updates.clear()
        self._changed()
        return True

    async def _delete_webhook(self, p: Params) -> bool:
        self.webhook_url = ""
        if p.flag("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _get_webhook_info(self, p: Params) -> JSON:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": len(self.updates)}

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON array")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (scope_key(p.json("scope")), p.text("language_code") or "")
        self.my_commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, p: Params) -> list[JSON]:
        return self.my_commands.get((scope_key(p.json("scope")), p.text("language_code") or ""), [])

    async def _delete_my_commands(self, p: Params) -> bool:
        self.my_commands.pop((scope_key(p.json("scope")), p.text("language_code") or ""), None)
        return True

    async def _close(self, p: Params) -> bool:
        return True

    async def _log_out(self, p: Params) -> bool:
        return True

    # --- chats ---
    async def _get_chat(self, p: Params) -> JSON:
        chat = self._chat(p, writing=False)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    async def _send_chat_action(self, p: Params) -> bool:
        chat = self._chat(p)
        action = p.text("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append(ChatAction(chat.id, action, self._now()))
        return True

    # --- messages ---
    async def _send_message(self, p: Params) -> JSON:
        chat = self._chat(p)
        source = p.text("text") or ""
        text, entities = self._formatted(p, source, "entities", 4096, "message is too long")
        if not text:
            raise bad_request("message text is empty")
        message = self._add_message(
            chat,
            self.bot,
            text=text,
            entities=entities,
            source=source,
            parse_mode=p.text("parse_mode"),
            reply_markup=parse_markup(p.values.get("reply_markup")),
            reply_to=self._reply_target(chat, p),
        )
        return message.to_api()

    async def _send_photo(self, p: Params) -> JSON:
        chat = self._chat(p)
        stored = self._photo_file(p)
        width, height = inspect_photo(stored.content)
        source = p.text("caption") or ""
        caption, entities = self._formatted(p, source, "caption_entities", 1024, "message caption is too long")
        size = {**stored.to_api(), "width": width, "height": height}
        size.pop("file_path")
        message = self._add_message(
            chat,
            self.bot,
            photo=stored.content,
            photo_sizes=[size],
            caption=caption or None,
            caption_entities=entities,
            source=source or None,
            parse_mode=p.text("parse_mode"),
            reply_markup=parse_markup(p.values.get("reply_markup")),
            reply_to=self._reply_target(chat, p),
        )
        return message.to_api()

    async def _edit_message_text(self, p: Params) -> JSON:
        message = self._editable(p)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        source = p.text("text") or ""
        text, entities = self._formatted(p, source, "entities", 4096, "message is too long")
        if not text:
            raise bad_request("message text is empty")
        return self._apply_edit(message, "editMessageText", p, text=text, entities=entities, source=source)

    async def _edit_message_caption(self, p: Params) -> JSON:
        message = self._editable(p)
        if message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        source = p.text("caption") or ""
        caption, entities = self._formatted(p, source, "caption_entities", 1024, "message caption is too long")
        return self._apply_edit(
            message, "editMessageCaption", p, caption=caption or None, caption_entities=entities, source=source
        )

    async def _edit_message_reply_markup(self, p: Params) -> JSON:
        return self._apply_edit(self._editable(p), "editMessageReplyMarkup", p)

    async def _delete_message(self, p: Params) -> bool:
        chat = self._chat(p)
        message = self._find(chat, p, "message to delete not found")
        if not message.from_bot and chat.type != "private" and not chat.bot_is_admin:
            raise bad_request("message can't be deleted")
        message.deleted = True
        self._changed()
        return True

    async def _answer_callback_query(self, p: Params) -> bool:
        query = self._queries.get(p.text("callback_query_id") or "")
        if query is None or query.answer is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = p.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = CallbackAnswer(
            query.id, query.user.id, query.data, text, p.flag("show_alert"), p.text("url"), p.integer("cache_time") or 0
        )
        self.callback_answers.append(query.answer)
        return True

    async def _get_file(self, p: Params) -> JSON:
        stored = self.files.get(p.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.to_api()

    # --- helpers ---
    def _chat(self, p: Params, writing: bool = True) -> FakeChat:
        raw = p.values.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            found = [c for c in self.chats.values() if c.type != "private" and f"@{c.username}" == raw]
            chat = found[0] if found else None
        else:
            chat = self.chats.get(p.integer("chat_id") or 0)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private":
            user = self.users[chat.id]
            if not user.started:
                if writing:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
                raise bad_request("chat not found")
            if user.blocked and writing:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _find(self, chat: FakeChat, p: Params, missing: str) -> FakeMessage:
        message_id = p.integer("message_id", "message identifier is not specified")
        message = self._messages[chat.id].get(message_id or 0)
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    def _editable(self, p: Params) -> FakeMessage:
        if p.values.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        message = self._find(self._chat(p), p, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _formatted(
        self, p: Params, source: str, entities_name: str, limit: int, too_long: str
    ) -> tuple[str, list[JSON]]:
        mode = p.text("parse_mode")
        if mode and mode.lower() not in PARSERS:
            raise bad_request("unsupported parse_mode")
        try:
            text, entities = format_text(source, mode, p.json(entities_name))
        except FormattingError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        if utf16_len(text) > limit:
            raise bad_request(too_long)
        return text, entities

    def _reply_target(self, chat: FakeChat, p: Params) -> FakeMessage | None:
        parameters = p.json("reply_parameters")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            tolerant = bool(parameters.get("allow_sending_without_reply"))
        else:
            message_id, tolerant = p.integer("reply_to_message_id"), p.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        target = self._messages[chat.id].get(int(message_id))
        if target is None or target.deleted:
            if tolerant:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _apply_edit(self, message: FakeMessage, method: str, p: Params, **content: Any) -> JSON:
        """Telegram replaces the keyboard on every edit (none passed: none kept) and refuses a no-op edit."""
        markup = parse_markup(p.values.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        compared = {name: value for name, value in content.items() if name != "source"}
        if all(getattr(message, name) == value for name, value in compared.items()) and markup == (
            message.inline_keyboard
        ):
            raise bad_request(NOT_MODIFIED)
        for name, value in content.items():
            setattr(message, name, value)
        if "source" in content:
            message.parse_mode = p.text("parse_mode")
        message.reply_markup = markup
        message.edit_date = self._now()
        message.edits.append(Edit(method, message.edit_date, message.text, message.caption, markup))
        self._changed()
        return message.to_api()

    def _photo_file(self, p: Params) -> StoredFile:
        """The photo as an upload (multipart part or attach://name) or the file_id of one sent before."""
        reference = p.text("photo")
        if reference is None and "photo" in p.files:
            return self._store(p.files["photo"])
        if reference is None:
            raise bad_request("there is no photo in the request")
        if reference.startswith("attach://") and reference.removeprefix("attach://") in p.files:
            return self._store(p.files[reference.removeprefix("attach://")])
        if reference in self.files:
            return self.files[reference]
        raise bad_request("wrong file identifier/HTTP URL specified")  # URLs too: nothing is fetched offline

    def _store(self, content: bytes) -> StoredFile:
        n = len(self.files) + 1
        stored = StoredFile(f"AgACAgIAAxkDAAI{n:08d}", f"AQAD{n:06d}", f"photos/file_{n}.jpg", content)
        self.files[stored.file_id] = stored
        return stored


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
