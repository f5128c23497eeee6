"""Checks an order request must pass before the paper exchange accepts it, with the sentence a user sees."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from adapters.exchange.errors import InvalidOrder
from domain.market import MarketInfo
from domain.money import quantize_down
from domain.trading import OrderRequest, OrderSide, OrderType

from .formatting import amount_text
from .triggers import order_direction, touch


def validate_request(
    request: OrderRequest, market: MarketInfo, last: Decimal, reduce_target: Decimal
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """(amount rounded down to the step, limit price, trigger price), both prices on the price step.

    `last` is the current price; `reduce_target` is how much a reduce-only order of this side could reduce.
    """
    symbol = market.symbol
    if not request.client_order_id:
        raise InvalidOrder("Every order needs a client order id so a retry can never place it twice.")
    if request.amount <= 0:
        raise InvalidOrder(f"The order amount must be positive, not {amount_text(request.amount)}.")
    amount = quantize_down(request.amount, market.amount_step)
    minimum = max(market.min_amount, market.amount_step)
    if amount < minimum:
        raise InvalidOrder(
            f"{amount_text(request.amount)} {market.base} is below the {symbol} minimum order of "
            f"{amount_text(minimum)} {market.base}."
        )
    price = stop = None
    if request.type is OrderType.LIMIT:
        price = on_price_step(request.price, market, "limit price")
    elif request.type in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
        stop = on_price_step(request.stop_price, market, "trigger price")
        if touch(last, last, stop, order_direction(request.type, request.side)) is not None:
            kind = "stop" if request.type is OrderType.STOP_MARKET else "take-profit"
            raise InvalidOrder(
                f"This {request.side.value} {kind} at {amount_text(stop)} would trigger immediately: "
                f"{symbol} is at {amount_text(last)}."
            )
    notional = amount * market.contract_size * (price or stop or last)
    if not request.reduce_only and notional < market.min_notional:
        raise InvalidOrder(
            f"This order is worth {amount_text(notional, 2)} {market.quote}; {symbol} needs at least "
            f"{amount_text(market.min_notional)} {market.quote} per order."
        )
    if request.reduce_only and reduce_target <= 0:
        holding = "long position or holding" if request.side is OrderSide.SELL else "short position"
        raise InvalidOrder(
            f"This reduce-only {request.side.value} has nothing to reduce: there is no {symbol} {holding}."
        )
    return amount, price, stop


def on_price_step(value: Decimal | None, market: MarketInfo, what: str) -> Decimal:
    """A price rounded to the nearest multiple of the market's price step."""
    if value is None or value <= 0:
        raise InvalidOrder(f"This order needs a positive {what}.")
    if market.price_step <= 0:
        return value
    rounded = (value / market.price_step).to_integral_value(rounding=ROUND_HALF_EVEN) * market.price_step
    if rounded <= 0:
        raise InvalidOrder(f"The {what} {amount_text(value)} is below the {market.symbol} price step.")
    return rounded
