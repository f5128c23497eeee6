"""Injected faults: reads retry with backoff; orders are looked up by client id and never duplicated."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import TransientExchangeError
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType
from tests.exchange.binance_emulator import BinanceEmulator, Fault
from tests.exchange.conftest import FAST_RETRIES, ExchangeFactory, RecordingSleep

ORDER_PATH = {MarketType.SPOT: "/api/v3/order", MarketType.PERPETUAL: "/fapi/v1/order"}

ORDER_FAULTS = {
    "429 before": Fault("status", status=429, retry_after=1),
    "503 before": Fault("status", status=503),
    "hang before": Fault("hang"),
    "drop before": Fault("drop"),
    "accepted then 500": Fault("status", status=500, after_processing=True),
    "accepted then hang": Fault("hang", after_processing=True),
    "accepted then drop": Fault("drop", after_processing=True),
}


def market_buy(client_id: str) -> OrderRequest:
    return OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), client_id)


# --- reads ---
async def test_fetch_ticker_when_429_with_retry_after_then_waits_as_told_within_cap(
    spot: CcxtExchange, emulator: BinanceEmulator, sleep: RecordingSleep
) -> None:
    emulator.inject("GET", "/api/v3/ticker/24hr", Fault("status", status=429, retry_after=2))

    ticker = await spot.fetch_ticker("BTC/USDT")

    assert ticker.last == Decimal(30000)
    assert emulator.calls("GET", "/api/v3/ticker/24hr") == 2
    assert sleep.delays == [FAST_RETRIES.max_delay_s]


async def test_fetch_ohlcv_when_5xx_twice_then_retried_with_growing_jittered_backoff(
    spot: CcxtExchange, emulator: BinanceEmulator, sleep: RecordingSleep
) -> None:
    await spot.load_markets()
    emulator.inject("GET", "/api/v3/klines", Fault("status", status=502), times=2)

    candles = await spot.fetch_ohlcv("BTC/USDT", "1h", limit=5)

    assert len(candles) == 5
    assert emulator.calls("GET", "/api/v3/klines") == 3
    first, second = sleep.delays
    assert 0.005 <= first <= 0.01 and 0.01 <= second <= 0.02


async def test_fetch_order_book_when_response_hangs_then_times_out_and_retries(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await perp.load_markets()
    emulator.inject("GET", "/fapi/v1/depth", Fault("hang"))

    book = await perp.fetch_order_book("BTC/USDT")

    assert book.bids and emulator.calls("GET", "/fapi/v1/depth") == 2


async def test_fetch_balance_when_connection_dropped_then_retried(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await spot.load_markets()
    emulator.inject("GET", "/api/v3/account", Fault("drop"))

    balance = await spot.fetch_balance()

    assert balance.free("USDT") == Decimal(10000)
    assert emulator.calls("GET", "/api/v3/account") == 2


async def test_fetch_funding_rate_when_always_unavailable_then_transient_error_after_max_retries(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await perp.load_markets()
    emulator.inject("GET", "/fapi/v1/premiumIndex", Fault("status", status=503), times=10)

    with pytest.raises(TransientExchangeError, match="cannot be reached right now"):
        await perp.fetch_funding_rate("BTC/USDT")

    assert emulator.calls("GET", "/fapi/v1/premiumIndex") == FAST_RETRIES.max_retries + 1


# --- orders: zero duplicates under every fault ---
@pytest.mark.parametrize("market_type", [MarketType.SPOT, MarketType.PERPETUAL])
@pytest.mark.parametrize("fault_name", list(ORDER_FAULTS))
async def test_create_order_when_fault_injected_then_exactly_one_order_exists(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType, fault_name: str
) -> None:
    fault = ORDER_FAULTS[fault_name]
    exchange = make_exchange(market_type)
    await exchange.load_markets()
    emulator.account.reject_duplicate_client_ids = False  # the adapter alone must prevent duplicates
    emulator.inject("POST", ORDER_PATH[market_type], fault)

    order = await exchange.create_order(market_buy("dup-guard-1"))

    assert order.client_order_id == "dup-guard-1"
    assert order.status is OrderStatus.FILLED
    assert len(emulator.stored_orders()) == 1
    assert emulator.calls("POST", ORDER_PATH[market_type]) == (1 if fault.after_processing else 2)


async def test_create_order_when_response_lost_and_first_lookup_fails_then_still_one_order(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await spot.load_markets()
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject("POST", "/api/v3/order", Fault("hang", after_processing=True))
    emulator.inject_after(("POST", "/api/v3/order"), "GET", "/api/v3/order", Fault("status", status=503))

    order = await spot.create_order(market_buy("dup-guard-2"))

    assert order.status is OrderStatus.FILLED
    assert len(emulator.stored_orders()) == 1
    assert emulator.calls("POST", "/api/v3/order") == 1


async def test_create_order_when_lookup_keeps_failing_then_unknown_and_never_resent(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await spot.load_markets()
    emulator.account.reject_duplicate_client_ids = False
    emulator.inject("POST", "/api/v3/order", Fault("drop", after_processing=True))
    emulator.inject_after(("POST", "/api/v3/order"), "GET", "/api/v3/order", Fault("status", status=503), times=100)

    order = await spot.create_order(market_buy("dup-guard-3"))

    # The order may exist and the exchange cannot be asked: unknown, for the caller to reconcile, not an error
    # that invites it to place the order again.
    assert (order.status, order.client_order_id, order.id) == (OrderStatus.UNKNOWN, "dup-guard-3", "")
    assert emulator.calls("POST", "/api/v3/order") == 1
    assert len(emulator.stored_orders()) == 1
    assert emulator.calls("GET", "/api/v3/order") == 1 + FAST_RETRIES.max_retries + 1  # pre-check, lookups


async def test_create_order_when_every_attempt_fails_before_reaching_exchange_then_transient_error_and_none_placed(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await spot.load_markets()
    emulator.inject("POST", "/api/v3/order", Fault("status", status=503), times=10)

    with pytest.raises(TransientExchangeError, match="did not confirm order dup-guard-4"):
        await spot.create_order(market_buy("dup-guard-4"))

    assert emulator.stored_orders() == []
    assert emulator.calls("POST", "/api/v3/order") == FAST_RETRIES.max_retries + 1


async def test_create_order_when_client_id_reused_after_fill_then_existing_order_returned(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    emulator.account.reject_duplicate_client_ids = False
    first = await spot.create_order(market_buy("reuse-1"))

    second = await spot.create_order(market_buy("reuse-1"))

    assert (second.id, second.status, second.filled) == (first.id, OrderStatus.FILLED, first.filled)
    assert len(emulator.stored_orders()) == 1


async def test_cancel_order_when_cancel_accepted_but_response_lost_then_returns_canceled(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    placed = await perp.create_order(
        OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), "cx-1", price=Decimal(29000))
    )
    emulator.inject("DELETE", "/fapi/v1/order", Fault("drop", after_processing=True))

    canceled = await perp.cancel_order(placed.id, "BTC/USDT")

    assert canceled.status is OrderStatus.CANCELED
    assert emulator.calls("DELETE", "/fapi/v1/order") == 2
