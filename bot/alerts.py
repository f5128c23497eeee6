"""Alerts as Telegram messages: an engine event rendered to HTML (every string from outside escaped), which
kinds a user receives, and splitting a long message at line breaks into parts Telegram accepts."""

from __future__ import annotations

from html import escape

from engine.events import EngineEvent, EventKind
from engine.formatting import when
from engine.service_prefs import wants_alert

TELEGRAM_LIMIT = 4096  # characters of a message, counted in UTF-16 code units

TITLES: dict[EventKind, str] = {
    EventKind.POSITION_OPENED: "📈 Position opened",
    EventKind.POSITION_CLOSED: "✅ Position closed",
    EventKind.STOP_LOSS_HIT: "🛑 Stop loss hit",
    EventKind.TAKE_PROFIT_HIT: "🎯 Take profit hit",
    EventKind.LIQUIDATED: "💥 Liquidated",
    EventKind.BREAKER_TRIPPED: "⛔ Circuit breaker tripped",
    EventKind.BREAKER_RESUMED: "▶️ Trading resumed",
    EventKind.PAIR_PAUSED: "⏸ Pair paused",
    EventKind.ORDER_UNKNOWN: "❓ Order state unknown",
    EventKind.ENGINE_ERROR: "⚠️ Problem",
    EventKind.DAILY_SUMMARY: "📊 Daily summary",
}
wants = wants_alert  # users.settings["alerts"]: engine/service_prefs.py owns the format


def render(event: EngineEvent) -> str:
    """Title, symbol, the engine's sentence; a breaker trip also says when trading reopens on its own."""
    lines = [
        f"<b>{escape(TITLES.get(event.kind, event.kind.value))}</b> · {escape(event.symbol)}",
        escape(event.message),
    ]
    if event.kind is EventKind.BREAKER_TRIPPED:
        if event.reopens_at is not None:
            lines.append(f"It reopens on its own at {when(event.reopens_at)} UTC, or /resume to decide now.")
        else:
            lines.append("Use /resume when you have looked into it.")
    return "\n".join(lines)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at line breaks (our HTML never spans a line), a longer line at
    a space (which is dropped) or, without one, anywhere. Nothing else is lost or reordered."""
    if utf16_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _cut(line, limit):
            extra = utf16_length(piece) + (1 if current else 0)
            if current and size + extra > limit:
                parts.append("\n".join(current))
                current, size = [], 0
                extra = utf16_length(piece)
            current.append(piece)
            size += extra
    if current:
        parts.append("\n".join(current))
    return parts


def _cut(line: str, limit: int) -> list[str]:
    if utf16_length(line) <= limit:
        return [line]
    pieces, rest = [], line
    while utf16_length(rest) > limit:
        head = _prefix(rest, limit)
        space = head.rfind(" ")
        if space > 0:
            head = head[:space]
        pieces.append(head)
        rest = rest[len(head) :].lstrip(" ") if space > 0 else rest[len(head) :]
    pieces.append(rest)
    return pieces


def _prefix(text: str, limit: int) -> str:
    """The longest prefix within `limit` UTF-16 units (never half of a surrogate pair)."""
    size, end = 0, 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit:
            break
        size += width
        end += 1
    return text[:end]
