"""Order placement, lookup and cancellation, precision and minimums, through ccxt binance and the emulator."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import InvalidOrder, OrderNotFound
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType
from tests.exchange.binance_emulator import BinanceEmulator


def market_buy(amount: str, client_id: str, symbol: str = "BTC/USDT") -> OrderRequest:
    return OrderRequest(symbol, OrderSide.BUY, OrderType.MARKET, Decimal(amount), client_id)


async def test_create_order_when_market_buy_then_filled_with_fills_and_fee(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    order = await spot.create_order(market_buy("0.01", "buy-1"))

    assert order.status is OrderStatus.FILLED
    assert order.client_order_id == "buy-1"
    assert order.filled == order.amount == Decimal("0.01")
    assert order.average == Decimal("30000.01")
    assert order.fee == Decimal("0.00001") and order.fee_currency == "BTC"
    assert len(order.fills) == 1 and order.fills[0].price == Decimal("30000.01")
    [stored] = emulator.stored_orders()
    assert stored.client_order_id == "buy-1"


async def test_create_order_when_amount_off_step_then_rounded_down_never_up(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    order = await spot.create_order(market_buy("0.0123456789", "round-1"))

    assert order.amount == Decimal("0.01234")
    assert emulator.stored_orders()[0].orig_qty == Decimal("0.01234")


async def test_create_order_when_limit_prices_off_tick_then_buy_rounds_down_and_sell_rounds_up(
    spot: CcxtExchange,
) -> None:
    buy = await spot.create_order(
        OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), "lb-1", price=Decimal("25000.019"))
    )
    sell = await spot.create_order(
        OrderRequest("BTC/USDT", OrderSide.SELL, OrderType.LIMIT, Decimal("0.01"), "ls-1", price=Decimal("35000.011"))
    )

    assert buy.price == Decimal("25000.01") and buy.status is OrderStatus.OPEN
    assert sell.price == Decimal("35000.02") and sell.status is OrderStatus.OPEN


async def test_create_order_when_below_min_notional_then_invalid_order_and_nothing_sent(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    with pytest.raises(InvalidOrder, match=r"minimum of 5 USDT for BTC/USDT"):
        await spot.create_order(market_buy("0.0001", "small-1"))
    assert emulator.calls("POST", "/api/v3/order") == 0


async def test_create_order_when_below_min_amount_then_invalid_order_and_nothing_sent(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    with pytest.raises(InvalidOrder, match="smaller than the smallest step 0.001 BTC"):
        await perp.create_order(market_buy("0.0004", "tiny-1"))
    assert emulator.calls("POST", "/fapi/v1/order") == 0


async def test_create_order_when_perpetual_notional_below_100_then_invalid_order_unless_reduce_only(
    perp: CcxtExchange,
) -> None:
    with pytest.raises(InvalidOrder, match="minimum of 100 USDT"):
        await perp.create_order(market_buy("0.003", "small-perp"))
    await perp.create_order(market_buy("0.004", "open-perp"))

    closing = await perp.create_order(
        OrderRequest("BTC/USDT", OrderSide.SELL, OrderType.MARKET, Decimal("0.003"), "close-part", reduce_only=True)
    )

    assert closing.status is OrderStatus.FILLED and closing.reduce_only


async def test_create_order_when_client_id_has_bad_characters_then_invalid_order(spot: CcxtExchange) -> None:
    with pytest.raises(InvalidOrder, match="client id"):
        await spot.create_order(market_buy("0.01", "has space"))


async def test_fetch_order_when_placed_then_same_order_by_id_and_by_client_id(spot: CcxtExchange) -> None:
    placed = await spot.create_order(
        OrderRequest("BTC/USDT", OrderSide.SELL, OrderType.LIMIT, Decimal("0.1"), "find-me", price=Decimal(40000))
    )

    by_id = await spot.fetch_order(placed.id, "BTC/USDT")
    by_client = await spot.fetch_order_by_client_id("find-me", "BTC/USDT")

    assert by_id == placed
    assert by_client == placed


async def test_fetch_order_by_client_id_when_exchange_has_none_then_none(
    spot: CcxtExchange, perp: CcxtExchange
) -> None:
    assert await spot.fetch_order_by_client_id("never-sent", "BTC/USDT") is None
    assert await perp.fetch_order_by_client_id("never-sent", "BTC/USDT") is None


async def test_fetch_order_when_id_unknown_then_order_not_found(spot: CcxtExchange) -> None:
    with pytest.raises(OrderNotFound):
        await spot.fetch_order("999999", "BTC/USDT")


async def test_cancel_order_when_open_then_canceled_and_funds_released(spot: CcxtExchange) -> None:
    placed = await spot.create_order(
        OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.1"), "cancel-1", price=Decimal(20000))
    )

    canceled = await spot.cancel_order(placed.id, "BTC/USDT")

    assert canceled.status is OrderStatus.CANCELED
    assert canceled.client_order_id == "cancel-1"
    assert await spot.fetch_open_orders("BTC/USDT") == []
    assert (await spot.fetch_balance()).free("USDT") == Decimal(10000)


async def test_fetch_open_orders_when_limits_rest_then_listed_for_symbol(perp: CcxtExchange) -> None:
    await perp.create_order(
        OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), "open-a", price=Decimal(29000))
    )
    await perp.create_order(
        OrderRequest("ETH/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.1"), "open-b", price=Decimal(1900))
    )

    btc = await perp.fetch_open_orders("BTC/USDT")
    everything = await perp.fetch_open_orders()

    assert [o.client_order_id for o in btc] == ["open-a"]
    assert {o.client_order_id for o in everything} == {"open-a", "open-b"}
    assert {o.symbol for o in everything} == {"BTC/USDT", "ETH/USDT"}


@pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET])
async def test_create_order_when_spot_stop_or_take_profit_then_resting_trigger_order(
    spot: CcxtExchange, emulator: BinanceEmulator, order_type: OrderType
) -> None:
    trigger = Decimal(25000) if order_type is OrderType.STOP_MARKET else Decimal(36000)

    order = await spot.create_order(
        OrderRequest("BTC/USDT", OrderSide.SELL, order_type, Decimal("0.01"), "trig-1", stop_price=trigger)
    )

    assert order.type is order_type and order.status is OrderStatus.OPEN
    assert order.stop_price == trigger
    assert emulator.stored_orders("spot")[0].type == (
        "STOP_LOSS" if order_type is OrderType.STOP_MARKET else "TAKE_PROFIT"
    )


async def test_create_order_when_perpetual_stop_then_algo_order_found_listed_and_cancelled(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await perp.create_order(market_buy("0.01", "entry-1"))

    stop = await perp.create_order(
        OrderRequest(
            "BTC/USDT",
            OrderSide.SELL,
            OrderType.STOP_MARKET,
            Decimal("0.01"),
            "stop-1",
            stop_price=Decimal("28000.04"),
            reduce_only=True,
        )
    )

    assert stop.id.startswith("algo:") and stop.stop_price == Decimal(28000)
    assert await perp.fetch_order_by_client_id("stop-1", "BTC/USDT") == stop
    assert [o.client_order_id for o in await perp.fetch_open_orders("BTC/USDT")] == ["stop-1"]
    canceled = await perp.cancel_order(stop.id, "BTC/USDT")
    assert canceled.status is OrderStatus.CANCELED
    assert emulator.stored_orders("futures_algo")[0].status == "CANCELED"


async def test_ccxt_calls_when_done_then_the_process_decimal_context_is_untouched(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    """ccxt sets ROUND_HALF_UP and traps Underflow on the decimal context; that must stay inside the adapter."""
    context = decimal.getcontext()
    before = (context.rounding, context.prec, context.traps[decimal.Underflow])

    await spot.create_order(market_buy("0.01234567", "ctx-1"))
    await spot.fetch_order_by_client_id("ctx-1", "BTC/USDT")
    await spot.fetch_ticker("BTC/USDT")

    context = decimal.getcontext()
    assert (context.rounding, context.prec, context.traps[decimal.Underflow]) == before
    assert Decimal("50.005").quantize(Decimal("0.01")) == Decimal("50.00")  # banker's rounding, as before
