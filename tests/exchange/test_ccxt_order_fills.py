"""Never lose a fill: an order found by lookup (Binance's order query has no fills, no fee) gets its trades read.

Real ccxt binance over HTTP against the emulator. Reading the trades is best effort: when it fails the order is
still returned as found and never re-sent; create_order and the lookup by client id, whose callers book the fills,
report it unknown instead while the trade history cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from loguru import logger

from adapters.exchange import ccxt_mapping as mapping
from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import OrderStateUnknown
from domain.market import MarketType
from domain.trading import Order, OrderRequest, OrderSide, OrderStatus, OrderType
from tests.exchange.binance_emulator import BinanceEmulator, Fault
from tests.exchange.conftest import FAST_RETRIES, TEST_KEY, TEST_SECRET, ExchangeFactory

ORDER_PATH = {MarketType.SPOT: "/api/v3/order", MarketType.PERPETUAL: "/fapi/v1/order"}
TRADES_PATH = {MarketType.SPOT: "/api/v3/myTrades", MarketType.PERPETUAL: "/fapi/v1/userTrades"}
API = {MarketType.SPOT: "spot", MarketType.PERPETUAL: "futures"}
BOTH = pytest.mark.parametrize("market_type", [MarketType.SPOT, MarketType.PERPETUAL])


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


def market_buy(client_id: str, amount: str = "0.01") -> OrderRequest:
    return OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal(amount), client_id)


def recorded_fills(emulator: BinanceEmulator) -> list[tuple]:
    """(price, amount, fee, fee currency, trade id, time) of each execution of the one order the emulator holds."""
    [stored] = emulator.stored_orders()
    return [(e.price, e.qty, e.commission, e.commission_asset, str(e.trade_id), e.time) for e in stored.fills]


def returned_fills(order: Order) -> list[tuple]:
    return [(f.price, f.amount, f.fee, f.fee_currency, f.trade_id, f.ts) for f in order.fills]


def trade_queries(emulator: BinanceEmulator, market_type: MarketType) -> list[dict[str, str]]:
    return [r.params for r in emulator.requests if r.method == "GET" and r.path == TRADES_PATH[market_type]]


# --- the order is looked up after an ambiguous failure ---
@BOTH
@pytest.mark.parametrize(
    "fault", [Fault("status", status=500, after_processing=True), Fault("drop", after_processing=True)]
)
async def test_create_order_when_accepted_but_response_lost_then_lookup_returns_the_recorded_fills_and_fee(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType, fault: Fault
) -> None:
    exchange = make_exchange(market_type)
    await exchange.load_markets()
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject("POST", ORDER_PATH[market_type], fault)

    order = await exchange.create_order(market_buy("lost-1"))

    assert order.status is OrderStatus.FILLED and order.filled == Decimal("0.01")
    assert len(emulator.stored_orders()) == 1 and emulator.calls("POST", ORDER_PATH[market_type]) == 1
    assert returned_fills(order) == recorded_fills(emulator) and len(order.fills) == 1
    assert all((f.order_id, f.symbol, f.side) == (order.id, "BTC/USDT", OrderSide.BUY) for f in order.fills)
    [execution] = emulator.stored_orders()[0].fills
    assert (order.fee, order.fee_currency) == (execution.commission, execution.commission_asset)
    assert order.fee > 0 and order.fee_currency == ("BTC" if market_type is MarketType.SPOT else "USDT")
    [query] = trade_queries(emulator, market_type)  # one query, by order id, as Binance accepts it
    assert query["orderId"] == order.id and query["symbol"] == "BTCUSDT" and "startTime" not in query


@BOTH
async def test_create_order_when_response_lost_and_order_filled_in_three_trades_then_all_three_and_fee_total(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType
) -> None:
    exchange = make_exchange(market_type)
    await exchange.load_markets()
    emulator.account.executions_per_fill = 3
    emulator.inject("POST", ORDER_PATH[market_type], Fault("status", status=502, after_processing=True))

    order = await exchange.create_order(market_buy("lost-3"))

    assert returned_fills(order) == recorded_fills(emulator) and len(order.fills) == 3
    assert len({fill.price for fill in order.fills}) == 3
    assert sum(fill.amount for fill in order.fills) == order.filled == Decimal("0.01")
    assert order.fee == sum(fill.fee for fill in order.fills) > 0
    assert len(emulator.stored_orders()) == 1


async def test_create_order_when_client_id_repeated_after_fill_then_existing_order_comes_with_its_fills(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    emulator.account.reject_duplicate_client_ids = False
    first = await spot.create_order(market_buy("again-1"))

    second = await spot.create_order(market_buy("again-1"))

    assert second.id == first.id and len(emulator.stored_orders()) == 1
    assert returned_fills(second) == returned_fills(first) == recorded_fills(emulator)
    assert (second.fee, second.fee_currency) == (first.fee, first.fee_currency) == (Decimal("0.00001"), "BTC")


# --- direct lookups ---
@BOTH
async def test_fetch_order_by_client_id_when_market_order_filled_then_fills_and_fee(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType
) -> None:
    exchange = make_exchange(market_type)
    placed = await exchange.create_order(market_buy("find-fills-1"))

    found = await exchange.fetch_order_by_client_id("find-fills-1", "BTC/USDT")
    by_id = await exchange.fetch_order(placed.id, "BTC/USDT")

    assert found is not None and found == placed == by_id
    assert returned_fills(found) == returned_fills(by_id) == recorded_fills(emulator)
    [execution] = emulator.stored_orders()[0].fills
    assert (found.fee, found.fee_currency) == (by_id.fee, by_id.fee_currency)
    assert (found.fee, found.fee_currency) == (execution.commission, execution.commission_asset)


async def test_fetch_order_when_fees_in_two_currencies_then_fee_is_first_fill_currency_total_and_fills_keep_theirs(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    emulator.account.executions_per_fill = 3
    placed = await spot.create_order(market_buy("two-fees-1"))
    executions = emulator.stored_orders()[0].fills
    executions[1].commission, executions[1].commission_asset = Decimal("0.0007"), "BNB"  # BNB discount ran out

    order = await spot.fetch_order(placed.id, "BTC/USDT")

    assert [fill.fee_currency for fill in order.fills] == ["BTC", "BNB", "BTC"]
    assert order.fee_currency == "BTC"
    assert order.fee == executions[0].commission + executions[2].commission
    assert order.fills[1].fee == Decimal("0.0007")


async def test_fetch_order_when_order_rests_unfilled_then_no_trade_query(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    placed = await perp.create_order(
        OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), "rest-1", price=Decimal(29000))
    )

    order = await perp.fetch_order(placed.id, "BTC/USDT")

    assert order.status is OrderStatus.OPEN and order.fills == ()
    assert emulator.calls("GET", TRADES_PATH[MarketType.PERPETUAL]) == 0


async def test_fetch_order_when_trade_query_dropped_once_then_retried_and_fills_returned(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    placed = await spot.create_order(market_buy("drop-trades-1"))
    emulator.inject("GET", "/api/v3/myTrades", Fault("drop"))

    order = await spot.fetch_order(placed.id, "BTC/USDT")

    assert returned_fills(order) == recorded_fills(emulator)
    assert emulator.calls("GET", "/api/v3/myTrades") == 2


# --- the trades cannot be read: the order is never re-sent, nor booked without its fills ---
@BOTH
async def test_create_order_when_response_lost_and_trades_always_fail_then_unknown_with_its_id_and_no_resend(
    make_exchange: ExchangeFactory,
    emulator: BinanceEmulator,
    market_type: MarketType,
    log_lines: list[str],
) -> None:
    exchange = make_exchange(market_type)
    await exchange.load_markets()
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject("POST", ORDER_PATH[market_type], Fault("status", status=500, after_processing=True))
    emulator.inject("GET", TRADES_PATH[market_type], Fault("status", status=500), times=20)

    order = await exchange.create_order(market_buy("no-trades-1"))

    # Filled, but without its price and fee the books cannot take it: unknown, for the caller to read again later.
    [placed] = emulator.stored_orders()
    assert (order.status, order.client_order_id, order.id) == (OrderStatus.UNKNOWN, "no-trades-1", str(placed.order_id))
    assert emulator.calls("POST", ORDER_PATH[market_type]) == 1
    assert emulator.calls("GET", TRADES_PATH[market_type]) == FAST_RETRIES.max_retries + 1
    warnings = [line for line in log_lines if "could not read the trades of order" in line]
    assert len(warnings) == 1 and order.id in warnings[0]
    assert not any(TEST_SECRET in line or TEST_KEY in line or "signature" in line for line in log_lines)


@BOTH
async def test_fetch_order_by_client_id_when_trades_unreachable_then_unknown_until_they_can_be_read(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType
) -> None:
    exchange = make_exchange(market_type)
    placed = await exchange.create_order(market_buy("no-trades-3"))
    emulator.inject("GET", TRADES_PATH[market_type], Fault("status", status=503), times=FAST_RETRIES.max_retries + 1)

    with pytest.raises(OrderStateUnknown, match="no-trades-3 filled, but the trades of its fill cannot be read"):
        await exchange.fetch_order_by_client_id("no-trades-3", "BTC/USDT")
    found = await exchange.fetch_order_by_client_id("no-trades-3", "BTC/USDT")

    assert found is not None and found.id == placed.id
    assert returned_fills(found) == recorded_fills(emulator)
    assert len(emulator.stored_orders()) == 1


@BOTH
async def test_fetch_order_by_client_id_when_trades_rejected_then_order_still_found(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType
) -> None:
    exchange = make_exchange(market_type)
    placed = await exchange.create_order(market_buy("no-trades-2"))
    emulator.inject("GET", TRADES_PATH[market_type], Fault("status", status=400, code=-1100, msg="Illegal characters"))
    trade_queries_before = emulator.calls("GET", TRADES_PATH[market_type])

    found = await exchange.fetch_order_by_client_id("no-trades-2", "BTC/USDT")

    assert found is not None and (found.id, found.status, found.filled) == (placed.id, placed.status, placed.filled)
    assert (found.fills, found.fee) == ((), Decimal(0))
    assert emulator.calls("GET", TRADES_PATH[market_type]) == trade_queries_before + 1  # not transient: no retry
    assert len(emulator.stored_orders()) == 1


# --- exchanges without fetchOrderTrades (ccxt's binance serves as the stand-in) ---
async def test_fetch_order_when_no_fetch_order_trades_then_my_trades_since_the_order_filtered_by_its_id(
    spot: CcxtExchange, emulator: BinanceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await spot.create_order(market_buy("other-1"))
    placed = await spot.create_order(market_buy("mine-1", amount="0.02"))
    monkeypatch.setattr(spot, "exchange_id", "generic")
    monkeypatch.setitem(spot._client.has, "fetchOrderTrades", False)

    order = await spot.fetch_order(placed.id, "BTC/USDT")

    mine = emulator.stored_orders()[1]
    assert [(f.trade_id, f.amount) for f in order.fills] == [(str(mine.fills[0].trade_id), Decimal("0.02"))]
    [query] = trade_queries(emulator, MarketType.SPOT)
    assert query["startTime"] == str(mine.time) and "orderId" not in query


async def test_fetch_order_when_exchange_cannot_list_trades_then_order_as_found(
    spot: CcxtExchange, emulator: BinanceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = await spot.create_order(market_buy("blind-1"))
    monkeypatch.setitem(spot._client.has, "fetchOrderTrades", False)
    monkeypatch.setitem(spot._client.has, "fetchMyTrades", False)

    order = await spot.fetch_order(placed.id, "BTC/USDT")

    assert (order.id, order.status, order.filled) == (placed.id, OrderStatus.FILLED, placed.filled)
    assert (order.fills, order.fee, order.fee_currency) == ((), Decimal(0), "")
    assert emulator.calls("GET", "/api/v3/myTrades") == 0


# --- mapping ---
def test_with_trades_when_order_reported_its_own_fee_then_fee_kept_and_fills_added() -> None:
    order = Order("7", "c", "BTC/USDT", OrderSide.SELL, OrderType.MARKET, OrderStatus.FILLED, Decimal(1), Decimal(1), 5)
    order_with_fee = replace(order, fee=Decimal(3), fee_currency="X")
    trades = [
        {"id": 1, "price": 10.5, "amount": 0.5, "timestamp": 6, "fee": {"cost": 0.01, "currency": "USDT"}},
        {"id": 2, "price": None, "amount": 0.5},  # unusable: skipped
        {"id": 3, "price": 10.4, "amount": 0.5, "fee": {"cost": 0.02, "currency": "USDT"}},
    ]

    completed = mapping.with_trades(order, trades)
    kept = mapping.with_trades(order_with_fee, trades)

    assert [(f.trade_id, f.price, f.ts) for f in completed.fills] == [
        ("1", Decimal("10.5"), 6),
        ("3", Decimal("10.4"), 5),
    ]
    assert (completed.fee, completed.fee_currency) == (Decimal("0.03"), "USDT")
    assert (kept.fee, kept.fee_currency, len(kept.fills)) == (Decimal(3), "X", 2)
    assert mapping.with_trades(order, []) is order
