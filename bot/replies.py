"""What a command answers, independent of the transport: HTML text (every outside string escaped by the
command), optional buttons and an optional image. Telegram sends it as is; the console prints it as text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str  # callback data: at most 64 bytes (Telegram's limit)

    def __post_init__(self) -> None:
        if len(self.data.encode()) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data[:20]}...")


@dataclass(frozen=True, slots=True)
class Reply:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    photo: bytes | None = None  # a PNG, sent with html as its caption
    edit: bool = False  # a button's answer: replace the message the button was on

    @property
    def text(self) -> str:
        return html_to_text(self.html)


@dataclass(slots=True)
class Replies:
    """Several replies of one command, in order (a long report and its chart, say)."""

    items: list[Reply] = field(default_factory=list)


_TAG = re.compile(r"</?(b|i|u|s|code|pre|a)(\s[^>]*)?>")


def html_to_text(html: str) -> str:
    """The message without its formatting tags, entities decoded: what a terminal shows."""
    return unescape(_TAG.sub("", html))
