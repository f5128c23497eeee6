"""Client order ids derived from what the order is for, so a retry, a restart or a second process that runs the
same (user, symbol, candle, intent) produces the same id and the exchange refuses to place it twice.

Binance and Bybit accept at most 36 characters from [A-Za-z0-9_-]; these ids stay within that.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum


class Intent(StrEnum):
    ENTRY = "en"
    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"
    EXIT = "ex"  # the analysts' exit signal
    UNPROTECTED = "xu"  # closing at once because a protective order was refused
    CLOSE = "xc"  # the user asked to close (keyed by the moment of the request, not a candle)
    END = "xe"  # the end of a replay


# Why a position was closed, by the intent of the order that closed it (the reasons Trader.exit is given).
EXIT_REASONS = {Intent.EXIT: "signal", Intent.UNPROTECTED: "unprotected", Intent.CLOSE: "user_close",
                Intent.END: "end_of_replay"}  # fmt: skip


def intent_of(client_order_id: str) -> Intent | None:
    """The intent a client order id of client_order_id() was made for; None for an id of another origin."""
    parts = client_order_id.split("-")
    try:
        return Intent(parts[2]) if len(parts) == 4 and parts[0].startswith("q") else None
    except ValueError:
        return None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(digits[rest])
    return "".join(reversed(out))


def client_order_id(user_id: int, symbol: str, candle_ts: int, intent: Intent) -> str:
    """q<user>-<candle minute>-<intent>-<symbol digest>: deterministic, unique across users, <= 36 chars."""
    if user_id < 0 or candle_ts < 0:
        raise ValueError("user id and candle time must be non-negative")
    digest = hashlib.sha256(f"{user_id}:{symbol}".encode()).hexdigest()[:6]
    return f"q{_base36(user_id)}-{_base36(candle_ts // 60_000)}-{intent.value}-{digest}"


EXIT_REASONS = {Intent.EXIT: "signal", Intent.CLOSE: "user_close", Intent.END: "end_of_replay",
                Intent.UNPROTECTED: "unprotected"}  # fmt: skip


def exit_reason(cid: str) -> str | None:
    """Why an order of ours with this client order id closed a position; None when it is no exit of ours."""
    parts = cid.split("-")
    if len(parts) != 4 or not parts[0].startswith("q"):
        return None
    try:
        return EXIT_REASONS.get(Intent(parts[2]))
    except ValueError:
        return None
