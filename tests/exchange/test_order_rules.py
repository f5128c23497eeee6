"""Precision and minimums applied before sending: pure rules, checked with examples and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchange.errors import InvalidOrder
from adapters.exchange.order_rules import fit_to_market
from domain.market import MarketInfo, MarketType
from domain.trading import OrderRequest, OrderSide, OrderType

BTC = MarketInfo(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    type=MarketType.SPOT,
    amount_step=Decimal("0.001"),
    price_step=Decimal("0.5"),
    min_amount=Decimal("0.002"),
    min_notional=Decimal(10),
)


def request(amount: str, **fields: object) -> OrderRequest:
    values: dict[str, object] = {
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.MARKET,
        "amount": Decimal(amount),
        "client_order_id": "rule-1",
    }
    values.update(fields)
    return OrderRequest(**values)  # type: ignore[arg-type]


@given(
    amount=st.decimals(min_value=Decimal("0.002"), max_value=Decimal(1000), places=8, allow_nan=False),
)
def test_fit_to_market_when_any_valid_amount_then_rounded_down_to_a_step_multiple(amount: Decimal) -> None:
    fitted = fit_to_market(request(str(amount)), BTC, Decimal(30000))

    assert fitted.amount <= amount
    assert amount - fitted.amount < BTC.amount_step
    assert fitted.amount % BTC.amount_step == 0


@given(price=st.decimals(min_value=Decimal(1), max_value=Decimal(100000), places=4, allow_nan=False))
def test_fit_to_market_when_limit_price_off_tick_then_buy_never_pays_more_and_sell_never_gets_less(
    price: Decimal,
) -> None:
    buy = fit_to_market(request("10", type=OrderType.LIMIT, price=price), BTC, price)
    sell = fit_to_market(request("10", type=OrderType.LIMIT, price=price, side=OrderSide.SELL), BTC, price)

    assert buy.price is not None and sell.price is not None
    assert buy.price <= price <= sell.price
    assert buy.price % BTC.price_step == 0 and sell.price % BTC.price_step == 0


def test_fit_to_market_when_stop_price_off_tick_then_rounded_to_nearest_tick() -> None:
    fitted = fit_to_market(
        request("0.01", type=OrderType.STOP_MARKET, side=OrderSide.SELL, stop_price=Decimal("29000.3")),
        BTC,
        Decimal(30000),
    )

    assert fitted.stop_price == Decimal("29000.5")


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (request("0.0005"), "smaller than the smallest step 0.001 BTC"),
        (request("0.0019"), "below the minimum order of 0.002 BTC"),
        (
            request("0.002", type=OrderType.LIMIT, price=Decimal(4000)),
            "worth about 8 USDT, below the minimum of 10 USDT",
        ),
        (request("0"), "must be positive"),
        (request("0.01", type=OrderType.LIMIT), "limit order needs a positive price"),
        (request("0.01", type=OrderType.TAKE_PROFIT_MARKET), "needs a positive trigger price"),
        (request("0.01", client_order_id="x" * 37), "1 to 36 letters"),
    ],
)
def test_fit_to_market_when_order_cannot_be_placed_then_invalid_order_says_why(
    order: OrderRequest, message: str
) -> None:
    with pytest.raises(InvalidOrder, match=message):
        fit_to_market(order, BTC, Decimal(30000))


def test_fit_to_market_when_reduce_only_below_min_notional_then_allowed() -> None:
    fitted = fit_to_market(request("0.002", reduce_only=True), BTC, Decimal(1000))

    assert fitted.amount == Decimal("0.002")


def test_fit_to_market_when_market_inactive_then_invalid_order() -> None:
    halted = MarketInfo(**{**{f: getattr(BTC, f) for f in BTC.__dataclass_fields__}, "active": False})

    with pytest.raises(InvalidOrder, match="not trading"):
        fit_to_market(request("0.01"), halted, Decimal(30000))
