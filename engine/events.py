"""What an engine tells the world: typed events sent to the notifier port, never transport messages.

bot/ turns them into Telegram messages; the console notifier prints them; tests collect them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.fast_init import fast_init


class EventKind(StrEnum):
    POSITION_OPENED = "position_opened"
    POSITION_CLOSED = "position_closed"
    STOP_LOSS_HIT = "stop_loss_hit"
    TAKE_PROFIT_HIT = "take_profit_hit"
    LIQUIDATED = "liquidated"
    BREAKER_TRIPPED = "breaker_tripped"
    BREAKER_RESUMED = "breaker_resumed"
    PAIR_PAUSED = "pair_paused"
    ORDER_UNKNOWN = "order_unknown"
    ENGINE_ERROR = "engine_error"
    DAILY_SUMMARY = "daily_summary"


@fast_init
@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One thing that happened to one user's pair. `message` is a plain sentence; the fields carry the figures."""

    kind: EventKind
    user_id: int
    symbol: str
    at: datetime
    message: str
    side: str | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    pnl: Decimal | None = None
    fees: Decimal | None = None
    reason: str | None = None
    reopens_at: datetime | None = None


CLOSE_KINDS = {
    "stop_loss": EventKind.STOP_LOSS_HIT,
    "take_profit": EventKind.TAKE_PROFIT_HIT,
    "liquidation": EventKind.LIQUIDATED,
}
