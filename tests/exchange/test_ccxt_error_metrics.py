"""quorum_exchange_errors_total counts every failed request to the exchange by kind, retried or not, with the real
ccxt binance client against the Binance emulator over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import InsufficientFunds
from domain.trading import OrderRequest, OrderSide, OrderType
from telemetry import METRICS
from tests.exchange.binance_emulator import BinanceEmulator, Fault


def errors(kind: str) -> float:
    return METRICS.value("quorum_exchange_errors_total", exchange="binance", kind=kind)


async def test_exchange_errors_when_reads_fail_then_each_failed_request_is_counted_by_kind(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await spot.load_markets()
    before = {kind: errors(kind) for kind in ("rate_limited", "unavailable", "timeout", "network")}
    emulator.inject("GET", "/api/v3/ticker/24hr", Fault("status", status=429, retry_after=1))
    emulator.inject("GET", "/api/v3/klines", Fault("status", status=503), times=2)
    emulator.inject("GET", "/api/v3/depth", Fault("hang"))

    await spot.fetch_ticker("BTC/USDT")  # each read fails, is retried and then answers
    await spot.fetch_ohlcv("BTC/USDT", "1h", limit=5)
    await spot.fetch_order_book("BTC/USDT")

    after = {kind: errors(kind) for kind in before}
    assert after["rate_limited"] - before["rate_limited"] == 1
    assert after["unavailable"] - before["unavailable"] == 2
    assert after["timeout"] - before["timeout"] == 1
    assert after["network"] == before["network"]  # nothing else was counted


async def test_exchange_errors_when_an_order_is_refused_then_counted_under_the_domain_code(
    spot: CcxtExchange,
) -> None:
    before = errors("insufficient_funds")
    request = OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("1000"), "q-metrics-funds")

    with pytest.raises(InsufficientFunds):
        await spot.create_order(request)

    assert errors("insufficient_funds") - before == 1
