"""What the AI ensemble answers: votes from each analyst and the consensus decision."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.fast_init import fast_init


class Action(StrEnum):
    BUY = "BUY"  # open or add long
    SELL = "SELL"  # open or add short (on spot: sell the holding)
    HOLD = "HOLD"
    CLOSE = "CLOSE"  # close the current position


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """A direction and levels. Never a size: sizing is the risk manager's job, per user."""

    action: Action
    confidence: Decimal
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    reasoning: str = ""
