"""Fit an order request to a market's precision and check its minimums before anything is sent.

Amounts round down (precision may shrink an order, never grow it past the risk taken). Limit prices round in
the trader's favour (a buy never pays more, a sell never receives less than asked); trigger prices round to the
nearest tick.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from adapters.exchange.errors import InvalidOrder
from domain.market import MarketInfo
from domain.money import quantize_down, round_to_step
from domain.trading import OrderRequest, OrderSide, OrderType

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def round_price(price: Decimal, step: Decimal, rounding: str) -> Decimal:
    return round_to_step(price, step, rounding)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def fit_to_market(request: OrderRequest, market: MarketInfo, reference_price: Decimal) -> OrderRequest:
    """The request rounded to the market's steps; InvalidOrder with a readable reason when it cannot be placed.

    reference_price values the order for the minimum-notional check: the limit or trigger price when there is
    one, otherwise the current market price.
    """
    if not CLIENT_ORDER_ID.match(request.client_order_id):
        raise InvalidOrder(
            f"The order's client id must be 1 to 36 letters, digits, '-' or '_'; got {request.client_order_id!r}."
        )
    if not market.active:
        raise InvalidOrder(f"{market.symbol} is not trading on the exchange right now.")
    if request.amount <= 0:
        raise InvalidOrder(f"The order amount must be positive; got {_plain(request.amount)} {market.base}.")
    if request.type is OrderType.LIMIT and (request.price is None or request.price <= 0):
        raise InvalidOrder("A limit order needs a positive price.")
    if request.type in {OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET} and (
        request.stop_price is None or request.stop_price <= 0
    ):
        raise InvalidOrder("A stop loss or take profit order needs a positive trigger price.")

    amount = quantize_down(request.amount, market.amount_step)
    if amount <= 0:
        raise InvalidOrder(
            f"{_plain(request.amount)} {market.base} is smaller than the smallest step "
            f"{_plain(market.amount_step)} {market.base} that {market.symbol} allows."
        )
    if amount < market.min_amount:
        raise InvalidOrder(
            f"{_plain(amount)} {market.base} is below the minimum order of {_plain(market.min_amount)} "
            f"{market.base} for {market.symbol}."
        )
    price = request.price
    if price is not None:
        direction = ROUND_FLOOR if request.side is OrderSide.BUY else ROUND_CEILING
        price = round_price(price, market.price_step, direction)
    stop_price = request.stop_price
    if stop_price is not None:
        stop_price = round_price(stop_price, market.price_step, ROUND_HALF_UP)

    valuation = price or stop_price or reference_price
    notional = amount * valuation * market.contract_size
    if not request.reduce_only and market.min_notional > 0 and notional < market.min_notional:
        raise InvalidOrder(
            f"The order is worth about {_plain(notional.quantize(Decimal('0.01')))} {market.quote}, below the "
            f"minimum of {_plain(market.min_notional)} {market.quote} for {market.symbol}. Raise the budget."
        )
    return replace(request, amount=amount, price=price, stop_price=stop_price)
