"""Finding an order by client id where ccxt can only list orders: "not found" is never taken for "not there".

ccxt's real binance class runs against the Binance emulator with its `has` table cut down through the adapter's
`capabilities` option, so that it offers what bitstamp or gemini offer: open orders only, or open orders and the
account's trades. Without fetchOrder ccxt has no query by client id on Binance, and the adapter must scan.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.ccxt_lookup import LookupLimits
from adapters.exchange.errors import OrderStateUnknown
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType
from tests.exchange.binance_emulator import BinanceEmulator, Fault
from tests.exchange.conftest import ExchangeFactory

ORDER = ("POST", "/api/v3/order")
ALL_ORDERS = ("GET", "/api/v3/allOrders")
NO_QUERY_BY_ID = {"fetchOrder": False}
OPEN_ONLY = NO_QUERY_BY_ID | {
    "fetchOrders": False,
    "fetchClosedOrders": False,
    "fetchCanceledOrders": False,
    "fetchCanceledAndClosedOrders": False,
    "fetchMyTrades": False,
}
# The order lists that then hold the sought order, each on its own.
ONE_LIST = {
    "fetchOrders": NO_QUERY_BY_ID,
    "fetchClosedOrders": NO_QUERY_BY_ID
    | {"fetchOrders": False, "fetchCanceledOrders": False, "fetchCanceledAndClosedOrders": False},
}


def market_buy(client_id: str) -> OrderRequest:
    return OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), client_id)


def limit_buy(client_id: str) -> OrderRequest:
    return OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), client_id, price=Decimal(25000))


async def test_create_order_when_filled_answer_lost_and_only_open_orders_listed_then_unknown_and_sent_once(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=OPEN_ONLY)
    await exchange.load_markets()
    emulator.account.reject_duplicate_client_ids = False  # the adapter alone must prevent a second order
    emulator.inject(*ORDER, Fault("drop", after_processing=True))

    order = await exchange.create_order(market_buy("lost-fill-1"))

    assert (order.status, order.client_order_id, order.id) == (OrderStatus.UNKNOWN, "lost-fill-1", "")
    assert (order.symbol, order.side, order.amount, order.filled) == ("BTC/USDT", OrderSide.BUY, Decimal("0.01"), 0)
    assert emulator.calls(*ORDER) == 1
    assert [o.status for o in emulator.stored_orders()] == ["FILLED"]


async def test_fetch_order_by_client_id_when_filled_and_only_open_orders_listed_then_order_state_unknown(
    make_exchange: ExchangeFactory,
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=OPEN_ONLY)
    await exchange.create_order(market_buy("filled-1"))

    with pytest.raises(OrderStateUnknown, match="cannot tell whether order filled-1 exists") as raised:
        await exchange.fetch_order_by_client_id("filled-1", "BTC/USDT")

    assert raised.value.client_order_id == "filled-1"
    assert "does not list its cancelled or closed orders" in str(raised.value)


async def test_fetch_order_by_client_id_when_open_and_only_open_orders_listed_then_found(
    make_exchange: ExchangeFactory,
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=OPEN_ONLY)
    placed = await exchange.create_order(limit_buy("resting-1"))

    found = await exchange.fetch_order_by_client_id("resting-1", "BTC/USDT")

    assert found is not None and (found.id, found.status) == (placed.id, OrderStatus.OPEN)


async def test_fetch_order_by_client_id_when_every_state_listed_and_none_has_it_then_none(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=NO_QUERY_BY_ID)
    await exchange.create_order(market_buy("other-1"))

    assert await exchange.fetch_order_by_client_id("never-sent", "BTC/USDT") is None
    assert emulator.calls(*ALL_ORDERS) >= 1


async def test_create_order_when_refused_before_taking_effect_and_every_state_listed_then_sent_again_once(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=NO_QUERY_BY_ID)
    await exchange.load_markets()
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject(*ORDER, Fault("status", status=503))

    order = await exchange.create_order(market_buy("retry-1"))

    assert order.status is OrderStatus.FILLED
    assert emulator.calls(*ORDER) == 2
    assert len(emulator.stored_orders()) == 1


@pytest.mark.parametrize("listing", list(ONE_LIST))
async def test_create_order_when_answer_lost_and_order_on_second_page_then_found_and_sent_once(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, listing: str
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=ONE_LIST[listing], lookup_limits=LookupLimits(page_size=2))
    for client_id in ("older-1", "older-2"):
        await exchange.create_order(market_buy(client_id))
    for age, order in zip((3000, 2000), emulator.stored_orders(), strict=True):
        order.time -= age  # one millisecond each, so that date paging can step from one page to the next
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject(*ORDER, Fault("hang", after_processing=True))
    sent_before = emulator.calls(*ORDER)

    order = await exchange.create_order(market_buy("paged-1"))

    assert (order.client_order_id, order.status) == ("paged-1", OrderStatus.FILLED)
    assert order.filled == Decimal("0.01") and order.fills
    assert emulator.calls(*ORDER) - sent_before == 1
    assert len(emulator.stored_orders()) == 3
    # Only the search after the lost answer has a start time (the send's); it read two pages.
    starts = [r.params.get("startTime") for r in emulator.requests if (r.method, r.path) == ALL_ORDERS]
    assert len([start for start in starts if start]) == len({start for start in starts if start}) == 2


async def test_create_order_when_answer_lost_and_more_orders_than_the_page_bound_then_unknown_and_sent_once(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    limits = LookupLimits(page_size=2, max_pages=1)
    exchange = make_exchange(MarketType.SPOT, capabilities=NO_QUERY_BY_ID, lookup_limits=limits)
    for client_id in ("older-1", "older-2"):
        await exchange.create_order(market_buy(client_id))
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject(*ORDER, Fault("drop", after_processing=True))

    order = await exchange.create_order(market_buy("beyond-1"))

    assert (order.status, order.client_order_id) == (OrderStatus.UNKNOWN, "beyond-1")
    assert emulator.calls(*ORDER) == 3  # two before, this one once
    assert len(emulator.stored_orders()) == 3


async def test_create_order_when_answer_lost_and_order_lists_show_no_client_ids_then_unknown_and_sent_once(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    exchange = make_exchange(MarketType.SPOT, capabilities=NO_QUERY_BY_ID)
    await exchange.create_order(market_buy("older-1"))
    emulator.account.lists_show_client_ids = False  # the lists hold the order, but nothing says which is ours
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject(*ORDER, Fault("drop", after_processing=True))

    order = await exchange.create_order(market_buy("anonymous-1"))

    assert (order.status, order.client_order_id) == (OrderStatus.UNKNOWN, "anonymous-1")
    assert emulator.calls(*ORDER) == 2  # one before, this one once
    assert len(emulator.stored_orders()) == 2
