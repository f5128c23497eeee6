"""Shared pieces of the command replies: outside strings made safe for Telegram's HTML, figures with their
currency, the lines of a pair, a position and a trade, and button data that names who may press it.

Every string that did not come from this file (symbols, names, the service's words, the analysts' reasoning)
goes through `safe()`: escaped, without control characters and on one line, so a reply can be cut at any line
break (bot.alerts.split_message) without splitting a tag.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape

from bot.replies import Button
from bot.router import Actor
from engine.formatting import REASON_WORDS, amount, price, signed, when
from engine.service_errors import ServiceError
from engine.service_views import PairView, TradeView

STALE = "That button is no longer valid. Send the command again."
FOREIGN = "That button belongs to someone else's message. Send the command yourself to act on your own account."


class ButtonRefused(ServiceError):
    """A press the bot will not act on: malformed or stale data, or a button on another user's message."""


def safe(text: object, limit: int = 300) -> str:
    """Escaped, one line, no control characters, at most `limit` characters before escaping."""
    raw = "".join(ch for ch in str(text) if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    line = " ".join(raw.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return escape(line)


def bold(text: object, limit: int = 300) -> str:
    return f"<b>{safe(text, limit)}</b>"


def code(text: object, limit: int = 300) -> str:
    return f"<code>{safe(text, limit)}</code>"


def money(value: Decimal, currency: str = "") -> str:
    """1,234.50 USDT"""
    return f"{price(value)} {safe(currency)}".rstrip()


def pnl(value: Decimal, currency: str = "") -> str:
    """+12.40 USDT, with a mark that reads at a glance."""
    mark = "🟢" if value > 0 else "🔴" if value < 0 else "⚪"
    return f"{mark} {signed(value)} {safe(currency)}".rstrip()


def stamp(moment: datetime | None) -> str:
    return "never" if moment is None else f"{when(moment)} UTC"


def quote_of(symbol: str) -> str:
    return symbol.split(":", 1)[0].partition("/")[2]


def base_of(symbol: str) -> str:
    return symbol.partition("/")[0]


def number(value: Decimal) -> str:
    """10,000 / 0.25: exact, without exponent or trailing zeros."""
    return f"{value.normalize():,f}"


CASH = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI", "EUR", "GBP"})


def holding(value: Decimal, currency: str) -> str:
    """An amount held: cents for cash-like currencies, up to 8 decimals for coins (0.03125 BTC)."""
    if currency.upper() in CASH:
        return price(value)
    exponent = value.as_tuple().exponent
    return number(value.quantize(Decimal("1e-8"))) if isinstance(exponent, int) and exponent < -8 else number(value)


def pair_line(pair: PairView) -> str:
    marks = {"active": "▶️", "paused": "⏸", "error": "⚠️"}
    line = (
        f"{marks.get(pair.status, '•')} {bold(pair.symbol)} · budget {number(pair.budget)} "
        f"{safe(quote_of(pair.symbol))} · {pair.leverage}x · {safe(pair.status)}"
    )
    if pair.status != "active" and pair.status_reason:
        line += f" ({safe(pair.status_reason, 120)})"
    return line


def reason_words(reason: str | None) -> str:
    return safe(REASON_WORDS.get(reason or "", reason or "closed"))


def trade_line(trade: TradeView) -> str:
    quote = quote_of(trade.symbol)
    head = f"{bold(trade.symbol)} {safe(trade.side)} {amount(trade.amount)} @ {price(trade.entry_price)}"
    if trade.status == "open" or trade.exit_price is None:
        return f"{head} · open since {stamp(trade.opened_at)}"
    result = pnl(trade.pnl if trade.pnl is not None else Decimal(0), quote)
    closed = stamp(trade.closed_at)
    return f"{head} → {price(trade.exit_price)} · {result} · {reason_words(trade.close_reason)} · {closed}"


def button_data(prefix: str, actor: Actor, *parts: object) -> str:
    """ "prefix:<owner telegram id>:part:...": the press is refused for anyone but the owner."""
    return ":".join([prefix, str(actor.telegram_id), *(str(part) for part in parts)])


def button(label: str, prefix: str, actor: Actor, *parts: object) -> Button:
    return Button(label, button_data(prefix, actor, *parts))


def cancel_button(actor: Actor) -> Button:
    return button("Cancel", "cancel", actor)


def pressed(actor: Actor, args: Sequence[str], count: int) -> list[str]:
    """The parts after the owner id, when the press is the owner's and carries exactly `count` parts."""
    if not args or not args[0].isdigit() or len(args) != count + 1:
        raise ButtonRefused(STALE)
    if int(args[0]) != actor.telegram_id:
        raise ButtonRefused(FOREIGN)
    return list(args[1:])


def whole(text: str) -> int:
    """A positive id or page number from button data."""
    if not text.isdigit() or len(text) > 12:
        raise ButtonRefused(STALE)
    return int(text)
