"""How much to buy or sell: the configured risk over the stop distance, then every cap, then the exchange grid.

amount = equity x risk_per_trade / loss per unit at the stop (price distance plus taker fees of both legs),
capped so notional <= budget x leverage (spot: leverage 1) and margin <= equity x max_position_fraction,
rounded DOWN to the amount step. A size under the exchange minimum is skipped, never rounded up.
Amounts are in the market's unit (contracts for derivatives: one contract is contract_size of the base).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from domain.fast_init import fast_init
from domain.market import MarketInfo, MarketType
from domain.money import quantize_down
from domain.trading import PositionSide
from risk.inputs import PairContext
from risk.limits import RiskLimits
from risk.verdict import RejectCode, Rejected
from risk.wording import number

ZERO = Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class PositionSize:
    """A size the exchange accepts. risk_amount is the loss if the stop fills at its price, fees included."""

    amount: Decimal
    notional: Decimal
    leverage: int
    risk_amount: Decimal
    limited_by: str  # "risk", "budget" or "max_position_fraction": the cap that decided the size


def _divide_down(numerator: Decimal, denominator: Decimal) -> Decimal:
    """A quotient rounded toward zero, so the last digit of an inexact division never adds to a cap."""
    with localcontext(rounding=ROUND_DOWN):
        return numerator / denominator


def effective_leverage(pair: PairContext, market: MarketInfo, limits: RiskLimits) -> int:
    """Spot trades at 1x; perpetuals at the user's choice capped by the limits and the market."""
    if market.type is not MarketType.PERPETUAL:
        return 1
    return max(1, min(pair.leverage, limits.max_leverage, market.max_leverage))


class PositionSizer:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def size(
        self, *, entry: Decimal, stop: Decimal, equity: Decimal, pair: PairContext, market: MarketInfo
    ) -> PositionSize | Rejected:
        """Size an entry (new position or an add on the same side) at `entry` with its stop at `stop`."""
        if equity <= 0:
            return Rejected(RejectCode.NO_EQUITY, "Your account has no equity to risk; no trade was placed.")
        if pair.budget <= 0:
            return Rejected(RejectCode.NO_BUDGET, f"{market.symbol} has no budget; set one with /addpair.")
        if entry <= 0 or stop <= 0 or stop == entry:
            raise ValueError(f"sizing needs positive, distinct entry and stop prices (got {entry} and {stop})")
        unit = market.contract_size
        leverage = effective_leverage(pair, market, self.limits)
        loss_per_unit = unit * (abs(entry - stop) + market.taker_fee * (entry + stop))
        held_notional = pair.position_amount * unit * entry if pair.position_side is not PositionSide.FLAT else ZERO
        caps = {
            "risk": _divide_down(equity * self.limits.risk_per_trade, loss_per_unit),
            "budget": _divide_down(pair.budget * leverage - held_notional, unit * entry),
            "max_position_fraction": _divide_down(
                equity * self.limits.max_position_fraction * leverage - held_notional, unit * entry
            ),
        }
        limited_by = min(caps, key=lambda name: caps[name])
        wanted = caps[limited_by]
        if wanted <= 0:
            return Rejected(
                RejectCode.BUDGET_EXHAUSTED,
                f"The open {market.symbol} position already uses the pair's whole allowance "
                f"({limited_by.replace('_', ' ')}); nothing was added.",
            )
        amount = quantize_down(wanted, market.amount_step)
        if amount <= 0 or amount < market.min_amount:
            minimum = f"the exchange minimum of {number(market.min_amount)}" if market.min_amount > 0 else "zero"
            return Rejected(
                RejectCode.BELOW_MIN_AMOUNT,
                f"The {market.symbol} size your limits allow ({wanted:.6g}, "
                f"capped by {limited_by.replace('_', ' ')}) rounds to {number(amount)}, under {minimum}; "
                "the trade was skipped rather than sized up past your risk.",
            )
        notional = amount * unit * entry
        if notional < market.min_notional:
            return Rejected(
                RejectCode.BELOW_MIN_NOTIONAL,
                f"The {market.symbol} order your limits allow is worth {notional:.2f} "
                f"{market.quote}, under the exchange minimum of {number(market.min_notional)} {market.quote}; "
                "the trade was skipped rather than sized up past your risk.",
            )
        return PositionSize(amount, notional, leverage, amount * loss_per_unit, limited_by)
