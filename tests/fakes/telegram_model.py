"""What the fake Telegram keeps: simulated users and chats, every message in every chat, the JSON shapes the Bot
API answers with, and the checks Telegram applies to reply markup and photos."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

JSON = dict[str, Any]

_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class ApiError(Exception):
    """A Bot API error answer: {"ok": false, "error_code": status, "description": ...}."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(eq=False)
class FakeChat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    bot_is_admin: bool = False  # in groups, deleting other people's messages needs admin rights

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        for name in ("title", "username", "first_name", "last_name"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


@dataclass(eq=False)
class FakeUser:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False
    started: bool = False  # has opened the private chat with the bot (sent it anything)
    blocked: bool = False  # has blocked the bot
    chat: FakeChat = field(init=False)

    def __post_init__(self) -> None:
        self.chat = FakeChat(
            self.id, "private", username=self.username, first_name=self.first_name, last_name=self.last_name
        )

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


@dataclass(frozen=True)
class Edit:
    """One successful edit: the method and the content the message had right after it."""

    method: str
    date: int
    text: str | None
    caption: str | None
    reply_markup: JSON | None


@dataclass(eq=False)
class FakeMessage:
    """A message in a chat, from a user or from the bot; its fields are its current state."""

    chat: FakeChat
    message_id: int
    date: int
    sender: FakeUser
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    source: str | None = None  # text or caption exactly as the bot sent it, markup included
    parse_mode: str | None = None
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    photo: bytes | None = None
    photo_sizes: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None  # as sent; only an inline keyboard stays attached to the message
    reply_to: FakeMessage | None = None
    edit_date: int | None = None
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False
    delivered: bool = True  # user messages in groups reach a bot in privacy mode only when meant for it

    @property
    def from_bot(self) -> bool:
        return self.sender.is_bot

    @property
    def kind(self) -> str:
        return "photo" if self.photo is not None else "text"

    @property
    def inline_keyboard(self) -> JSON | None:
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None

    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row after row."""
        keyboard = self.inline_keyboard
        return [button for row in keyboard["inline_keyboard"] for button in row] if keyboard else []

    def button_data(self, text: str) -> str:
        """The callback_data of the inline button labelled `text`."""
        for button in self.buttons():
            if button["text"] == text and "callback_data" in button:
                return str(button["callback_data"])
        raise AssertionError(f"no callback button {text!r} on message {self.message_id}: {self.buttons()}")

    def to_api(self, with_reply: bool = True) -> JSON:
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = self.photo_sizes
            if self.caption:
                data["caption"] = self.caption
                if self.caption_entities:
                    data["caption_entities"] = self.caption_entities
        if self.inline_keyboard is not None:
            data["reply_markup"] = self.inline_keyboard
        return data


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    user_id: int
    data: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class CallbackQuery:
    id: str
    user: FakeUser
    message: FakeMessage
    data: str
    answer: CallbackAnswer | None = None


@dataclass(frozen=True)
class ChatAction:
    chat_id: int
    action: str
    date: int


@dataclass(frozen=True)
class ApiCall:
    """One request: its method, parameters (uploads shown by size) and the status answered.

    abandoned: the client had hung up before the answer, as PTB does with its long poll when the updater stops.
    """

    method: str
    params: JSON
    status: int
    abandoned: bool = False


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes

    def to_api(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


def parse_markup(raw: Any) -> JSON | None:
    """reply_markup as Telegram accepts it, validated the way Telegram validates it."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = raw["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        for button in (button for row in rows for button in row):
            _check_inline_button(button)
        return raw
    if "keyboard" in raw or raw.get("remove_keyboard") or raw.get("force_reply"):
        return raw
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise bad_request(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")


def inspect_photo(content: bytes) -> tuple[int, int]:
    """Width and height of an uploaded photo; Telegram refuses what is not an image or has absurd dimensions."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height
