"""The live adapter on Bybit: ccxt's real bybit class over HTTP against the Bybit v5 emulator (unified account)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import AuthenticationFailed, InsufficientFunds, PermissionDenied
from domain.credentials import ExchangeCredentials
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType, PositionSide
from tests.exchange.bybit_emulator import BybitEmulator
from tests.exchange.conftest import TEST_KEY, TEST_SECRET, ExchangeFactory, RecordingSleep, emulated_clients
from tests.exchange.emulator_server import ApiKey, Fault

CREATE = ("POST", "/v5/order/create")


@pytest.fixture
async def bybit_emulator() -> AsyncIterator[BybitEmulator]:
    emu = BybitEmulator(keys={TEST_KEY: ApiKey(TEST_KEY, TEST_SECRET)})
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def make_bybit(bybit_emulator: BybitEmulator, sleep: RecordingSleep) -> AsyncIterator[ExchangeFactory]:
    async with emulated_clients("bybit", bybit_emulator.base_url, sleep) as factory:
        yield factory
    assert bybit_emulator.unhandled == []  # ccxt called nothing the emulator does not serve


@pytest.fixture
def spot(make_bybit: ExchangeFactory) -> CcxtExchange:
    return make_bybit(MarketType.SPOT)


@pytest.fixture
def perp(make_bybit: ExchangeFactory) -> CcxtExchange:
    return make_bybit(MarketType.PERPETUAL)


def market_buy(amount: str, client_id: str) -> OrderRequest:
    return OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal(amount), client_id)


def limit_buy(amount: str, client_id: str, price: str = "25000") -> OrderRequest:
    return OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal(amount), client_id, price=Decimal(price))


# --- market data ---
async def test_load_markets_when_spot_then_spot_pairs_with_steps_and_no_wallet_call(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    markets = await spot.load_markets()

    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc = markets["BTC/USDT"]
    assert btc.type is MarketType.SPOT and btc.exchange_id == "bybit"
    assert btc.amount_step == Decimal("0.000001") and btc.price_step == Decimal("0.01")
    assert btc.min_amount == Decimal("0.000048") and btc.min_notional == Decimal(1)
    assert {r.path for r in bybit_emulator.requests} == {"/v5/market/instruments-info"}


async def test_load_markets_when_perpetual_then_linear_swaps_only_with_leverage(
    perp: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    markets = await perp.load_markets()

    assert set(markets) == {"BTC/USDT"}
    btc = markets["BTC/USDT"]
    assert btc.type is MarketType.PERPETUAL and btc.max_leverage == 100
    assert btc.amount_step == Decimal("0.001") and btc.price_step == Decimal("0.1")
    assert btc.min_notional == Decimal(5)
    assert {r.params["category"] for r in bybit_emulator.requests} == {"linear"}


async def test_fetch_ticker_then_last_bid_and_ask(spot: CcxtExchange) -> None:
    ticker = await spot.fetch_ticker("BTC/USDT")

    assert (ticker.last, ticker.bid, ticker.ask) == (Decimal(30000), Decimal(30000), Decimal("30000.01"))
    assert ticker.base_volume == Decimal("1234.5")


async def test_fetch_ohlcv_then_oldest_first_one_interval_apart(perp: CcxtExchange) -> None:
    candles = await perp.fetch_ohlcv("BTC/USDT", "1h", limit=5)

    assert len(candles) == 5
    assert [b.ts - a.ts for a, b in zip(candles, candles[1:], strict=False)] == [3_600_000] * 4
    assert candles[0].open == Decimal(30000) and candles[-1].close == Decimal(30005)


async def test_fetch_order_book_then_best_levels_first(perp: CcxtExchange) -> None:
    book = await perp.fetch_order_book("BTC/USDT", limit=5)

    assert len(book.bids) == len(book.asks) == 5
    assert book.bids[0].price == Decimal(30000) and book.asks[0].price == Decimal("30000.1")
    assert book.bids[1].price < book.bids[0].price < book.asks[0].price < book.asks[1].price


async def test_fetch_ticker_when_503_then_retried(
    spot: CcxtExchange, bybit_emulator: BybitEmulator, sleep: RecordingSleep
) -> None:
    await spot.load_markets()
    bybit_emulator.inject("GET", "/v5/market/tickers", Fault("status", status=503))

    assert (await spot.fetch_ticker("BTC/USDT")).last == Decimal(30000)
    assert bybit_emulator.calls("GET", "/v5/market/tickers") == 2 and len(sleep.delays) == 1


async def test_fetch_ohlcv_when_rate_limited_with_retcode_10006_then_retried(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    await spot.load_markets()
    bybit_emulator.inject("GET", "/v5/market/kline", Fault("status", status=200, code=10006, msg="Too many visits!"))

    assert len(await spot.fetch_ohlcv("BTC/USDT", "1h", limit=3)) == 3
    assert bybit_emulator.calls("GET", "/v5/market/kline") == 2


# --- account ---
async def test_fetch_balance_then_unified_wallet_with_open_orders_used(spot: CcxtExchange) -> None:
    before = await spot.fetch_balance()
    await spot.create_order(limit_buy("0.01", "hold-1"))
    after = await spot.fetch_balance()

    assert before.currencies["USDT"].free == Decimal(10000) and before.currencies["BTC"].free == Decimal("0.5")
    assert after.currencies["USDT"].used == Decimal(250) and after.currencies["USDT"].free == Decimal(9750)


async def test_set_leverage_when_repeated_then_not_modified_is_success(
    perp: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    await perp.set_leverage("BTC/USDT", 5)
    await perp.set_leverage("BTC/USDT", 5)  # Bybit answers retCode 110043 "Set leverage not modified"

    assert bybit_emulator.leverage["BTCUSDT"] == 5
    assert bybit_emulator.calls("POST", "/v5/position/set-leverage") == 2


async def test_fetch_positions_when_market_buy_then_long_position(perp: CcxtExchange) -> None:
    await perp.set_leverage("BTC/USDT", 5)
    assert await perp.fetch_positions() == []

    await perp.create_order(market_buy("0.01", "open-long"))
    [position] = await perp.fetch_positions(["BTC/USDT"])

    assert position.symbol == "BTC/USDT" and position.side is PositionSide.LONG
    assert position.amount == Decimal("0.01") and position.entry_price == Decimal("30000.1")
    assert position.leverage == 5


async def test_fetch_positions_when_spot_then_empty_without_a_call(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    assert await spot.fetch_positions() == []
    assert bybit_emulator.calls("GET", "/v5/position/list") == 0


# --- orders ---
async def test_create_order_when_spot_market_buy_then_filled_with_fills_and_fee(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    order = await spot.create_order(market_buy("0.01", "buy-1"))

    assert order.status is OrderStatus.FILLED and order.client_order_id == "buy-1"
    assert order.filled == order.amount == Decimal("0.01") and order.average == Decimal("30000.01")
    assert order.fee == Decimal("0.00001") and order.fee_currency == "BTC"
    assert len(order.fills) == 1 and order.fills[0].price == Decimal("30000.01")
    [stored] = bybit_emulator.orders
    assert stored.order_link_id == "buy-1" and stored.order_id == order.id


async def test_create_fetch_cancel_when_resting_limit_then_open_then_canceled(perp: CcxtExchange) -> None:
    placed = await perp.create_order(limit_buy("0.01", "rest-1", price="25000.05"))
    fetched = await perp.fetch_order(placed.id, "BTC/USDT")
    canceled = await perp.cancel_order(placed.id, "BTC/USDT")
    after = await perp.fetch_order(placed.id, "BTC/USDT")

    assert placed.status is OrderStatus.OPEN and placed.price == Decimal(25000)  # buy rounds down to the tick
    assert fetched.id == placed.id and fetched.status is OrderStatus.OPEN and fetched.client_order_id == "rest-1"
    assert canceled.status is OrderStatus.CANCELED and after.status is OrderStatus.CANCELED


async def test_cancel_order_when_already_canceled_then_success(perp: CcxtExchange) -> None:
    placed = await perp.create_order(limit_buy("0.01", "twice-1"))
    await perp.cancel_order(placed.id, "BTC/USDT")

    again = await perp.cancel_order(placed.id, "BTC/USDT")  # retCode 110001: the order is already final

    assert again.status is OrderStatus.CANCELED


@pytest.mark.parametrize("market_type", [MarketType.SPOT, MarketType.PERPETUAL])
async def test_fetch_order_by_client_id_when_open_filled_canceled_or_unknown(
    make_bybit: ExchangeFactory, market_type: MarketType
) -> None:
    exchange = make_bybit(market_type)
    filled = await exchange.create_order(market_buy("0.01", "cid-filled"))
    resting = await exchange.create_order(limit_buy("0.01", "cid-open"))
    canceled = await exchange.create_order(limit_buy("0.01", "cid-canceled"))
    await exchange.cancel_order(canceled.id, "BTC/USDT")

    found_open = await exchange.fetch_order_by_client_id("cid-open", "BTC/USDT")
    found_filled = await exchange.fetch_order_by_client_id("cid-filled", "BTC/USDT")
    found_canceled = await exchange.fetch_order_by_client_id("cid-canceled", "BTC/USDT")

    assert found_open is not None and found_open.id == resting.id and found_open.status is OrderStatus.OPEN
    assert found_filled is not None and found_filled.id == filled.id and found_filled.status is OrderStatus.FILLED
    assert found_filled.fills and found_filled.client_order_id == "cid-filled"
    assert found_canceled is not None and found_canceled.status is OrderStatus.CANCELED
    assert await exchange.fetch_order_by_client_id("cid-never", "BTC/USDT") is None


async def test_fetch_order_by_client_id_when_beyond_first_history_page_then_found_by_order_link_id(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    first = await spot.create_order(market_buy("0.001", "old-0"))
    for n in range(1, 25):
        await spot.create_order(market_buy("0.001", f"old-{n}"))

    found = await spot.fetch_order_by_client_id("old-0", "BTC/USDT")

    assert found is not None and found.id == first.id
    lookups = [r for r in bybit_emulator.requests if r.path in {"/v5/order/realtime", "/v5/order/history"}]
    assert lookups[-1].params.get("orderLinkId") == "old-0"


async def test_fetch_order_by_client_id_when_market_order_partly_filled_then_cancelled_then_found(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    """Bybit's PartiallyFilledCanceled is neither in the Filled nor in the Cancelled order history."""
    bybit_emulator.market_liquidity = Decimal("0.004")
    placed = await spot.create_order(market_buy("0.01", "thin-1"))

    found = await spot.fetch_order_by_client_id("thin-1", "BTC/USDT")

    assert bybit_emulator.orders[0].status == "PartiallyFilledCanceled"
    assert found is not None and found.id == placed.id and found.filled == Decimal("0.004")
    assert found.status is OrderStatus.CANCELED and found.remaining == Decimal("0.006") and len(found.fills) == 1


async def test_create_order_when_client_id_already_filled_then_existing_order_and_nothing_sent(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    first = await spot.create_order(market_buy("0.01", "again-1"))

    second = await spot.create_order(market_buy("0.01", "again-1"))

    assert second.id == first.id and len(bybit_emulator.orders) == 1
    assert bybit_emulator.calls(*CREATE) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=500, after_processing=True),
        Fault("drop", after_processing=True),
        Fault("hang", after_processing=True),
        Fault("status", status=429, retry_after=1),
        Fault("status", status=503),
    ],
    ids=["accepted then 500", "accepted then drop", "accepted then hang", "429 before", "503 before"],
)
async def test_create_order_when_response_lost_or_refused_then_exactly_one_order(
    make_bybit: ExchangeFactory, bybit_emulator: BybitEmulator, fault: Fault
) -> None:
    perp = make_bybit(MarketType.PERPETUAL)
    await perp.load_markets()
    bybit_emulator.inject(*CREATE, fault)

    order = await perp.create_order(market_buy("0.01", "lost-1"))

    [stored] = bybit_emulator.orders
    assert order.id == stored.order_id and order.client_order_id == "lost-1"
    assert order.status is OrderStatus.FILLED and order.filled == Decimal("0.01")
    assert bybit_emulator.calls(*CREATE) == (1 if fault.after_processing else 2)


# Bybit made to offer what bitstamp and gemini offer through ccxt: open orders and the account's trades.
OPEN_ORDERS_AND_TRADES = {
    "fetchCanceledAndClosedOrders": False,
    "fetchClosedOrders": False,
    "fetchCanceledOrders": False,
}


async def test_create_order_when_filled_answer_lost_and_only_open_orders_and_trades_listed_then_found_by_its_trade(
    make_bybit: ExchangeFactory, bybit_emulator: BybitEmulator
) -> None:
    spot = make_bybit(MarketType.SPOT, capabilities=OPEN_ORDERS_AND_TRADES)
    await spot.load_markets()
    bybit_emulator.inject(*CREATE, Fault("drop", after_processing=True))

    order = await spot.create_order(market_buy("0.01", "by-trade-1"))

    [stored] = bybit_emulator.orders
    assert (order.id, order.status, order.filled) == (stored.order_id, OrderStatus.FILLED, Decimal("0.01"))
    assert bybit_emulator.calls(*CREATE) == 1
    assert bybit_emulator.calls("GET", "/v5/order/history") == 0  # no order history read: the trade named it


async def test_create_order_when_accepted_but_read_back_fails_then_unknown_with_its_id_and_sent_once(
    spot: CcxtExchange, bybit_emulator: BybitEmulator
) -> None:
    """Bybit acknowledges with ids only. The order exists: no error that would invite the caller to resend it."""
    await spot.load_markets()
    bybit_emulator.inject_after(CREATE, "GET", "/v5/order/realtime", Fault("status", status=503), times=100)

    order = await spot.create_order(market_buy("0.01", "no-read-1"))

    [stored] = bybit_emulator.orders
    assert (order.status, order.id, order.client_order_id) == (OrderStatus.UNKNOWN, stored.order_id, "no-read-1")
    assert bybit_emulator.calls(*CREATE) == 1


# --- errors ---
@pytest.mark.parametrize(
    ("credentials", "ret_code"),
    [
        (ExchangeCredentials("not-a-key", TEST_SECRET), "10003"),
        (ExchangeCredentials(TEST_KEY, "wrong-secret"), "10004"),
    ],
    ids=["unknown key", "bad signature"],
)
async def test_fetch_balance_when_bad_key_or_secret_then_authentication_failed(
    make_bybit: ExchangeFactory, bybit_emulator: BybitEmulator, credentials: ExchangeCredentials, ret_code: str
) -> None:
    exchange = make_bybit(MarketType.SPOT, credentials)

    with pytest.raises(AuthenticationFailed, match="rejected the API key") as raised:
        await exchange.fetch_balance()
    assert "wrong-secret" not in str(raised.value)
    assert bybit_emulator.refusals == [int(ret_code)] * bybit_emulator.calls("GET", "/v5/user/query-api")


async def test_fetch_balance_when_ip_not_bound_to_key_then_permission_denied(
    make_bybit: ExchangeFactory, bybit_emulator: BybitEmulator
) -> None:
    bybit_emulator.keys[TEST_KEY] = ApiKey(TEST_KEY, TEST_SECRET, allowed_ips=frozenset({"10.0.0.1"}))

    with pytest.raises(PermissionDenied):
        await make_bybit(MarketType.SPOT).fetch_balance()


@pytest.mark.parametrize(
    ("market_type", "amount"), [(MarketType.SPOT, "1"), (MarketType.PERPETUAL, "5")], ids=["spot", "linear"]
)
async def test_create_order_when_balance_too_small_then_insufficient_funds_and_no_order(
    make_bybit: ExchangeFactory, bybit_emulator: BybitEmulator, market_type: MarketType, amount: str
) -> None:
    exchange = make_bybit(market_type)

    with pytest.raises(InsufficientFunds, match="Not enough funds on Bybit"):
        await exchange.create_order(market_buy(amount, "too-big"))
    assert bybit_emulator.orders == [] and bybit_emulator.calls(*CREATE) == 1
    assert bybit_emulator.refusals == [170131 if market_type is MarketType.SPOT else 110007]
