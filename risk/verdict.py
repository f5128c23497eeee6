"""The risk manager's answer: Approved with a size, or Rejected with a machine code and a user sentence.

Both carry `code` and `message`, so the engine stores the same two columns for every decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from domain.decision import Action
from domain.fast_init import fast_init
from domain.trading import OrderSide


class RejectCode(StrEnum):
    HOLD = "hold"
    NO_POSITION = "no_position"
    BREAKER_OPEN = "breaker_open"
    DAILY_LOSS_BREAKER_OPEN = "daily_loss_breaker_open"
    MARKET_INACTIVE = "market_inactive"
    SHORT_NOT_SUPPORTED = "short_not_supported"
    SPREAD_TOO_WIDE = "spread_too_wide"
    VOLATILITY_TOO_LOW = "volatility_too_low"
    VOLATILITY_TOO_HIGH = "volatility_too_high"
    VOLUME_TOO_LOW = "volume_too_low"
    MAX_DRAWDOWN = "max_drawdown"
    INVALID_PRICE = "invalid_price"
    INVALID_CONFIDENCE = "invalid_confidence"
    LOW_CONFIDENCE = "low_confidence"
    MISSING_STOP_LOSS = "missing_stop_loss"
    MISSING_TAKE_PROFIT = "missing_take_profit"
    STOP_LOSS_WRONG_SIDE = "stop_loss_wrong_side"
    TAKE_PROFIT_WRONG_SIDE = "take_profit_wrong_side"
    STOP_TOO_CLOSE = "stop_too_close"
    STOP_TOO_FAR = "stop_too_far"
    REWARD_RISK_TOO_LOW = "reward_risk_too_low"
    DAILY_TRADE_CAP = "daily_trade_cap"
    MAX_OPEN_POSITIONS = "max_open_positions"
    NO_EQUITY = "no_equity"
    NO_BUDGET = "no_budget"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BELOW_MIN_AMOUNT = "below_min_amount"
    BELOW_MIN_NOTIONAL = "below_min_notional"


@dataclass(frozen=True, slots=True)
class Rejected:
    """No order. pauses_pair asks the engine to pause the pair until the user resumes it (drawdown)."""

    code: RejectCode
    message: str
    pauses_pair: bool = False

    approved: ClassVar[bool] = False


@fast_init
@dataclass(frozen=True, slots=True)
class Approved:
    """An order the engine may place. Entries carry the size and the (price-step rounded) protective levels.

    risk_amount is the worst loss if the stop fills at its price, fees of both legs included; zero for exits.
    """

    action: Action
    side: OrderSide
    amount: Decimal
    price: Decimal
    notional: Decimal
    leverage: int
    is_exit: bool
    reduce_only: bool
    message: str
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    risk_amount: Decimal = Decimal(0)
    limited_by: str = ""

    approved: ClassVar[bool] = True
    code: ClassVar[str] = "approved"


Verdict = Approved | Rejected
