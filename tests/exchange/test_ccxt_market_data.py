"""Public market data through the real ccxt binance class against the emulator: spot and USDT perpetuals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.ccxt_client import UnknownExchange, build_ccxt_client
from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import ExchangeError, InvalidSymbol
from adapters.exchange.port import ExchangePort, MarketData
from domain.market import MarketType
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.binance_market_state import expected_close
from tests.exchange.conftest import ExchangeFactory

HOUR = 3_600_000


async def test_load_markets_when_spot_then_tick_size_precision_becomes_decimal_steps(spot: CcxtExchange) -> None:
    markets = await spot.load_markets()

    btc = markets["BTC/USDT"]
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    assert btc.type is MarketType.SPOT
    assert (btc.base, btc.quote) == ("BTC", "USDT")
    assert btc.amount_step == Decimal("0.00001")
    assert btc.price_step == Decimal("0.01")
    assert btc.min_amount == Decimal("0.00001")
    assert btc.min_notional == Decimal(5)
    assert btc.max_leverage == 1
    assert btc.exchange_id == "binance"


async def test_load_markets_when_perpetual_then_only_linear_swaps_under_plain_symbols(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    markets = await perp.load_markets()

    btc = markets["BTC/USDT"]
    assert btc.type is MarketType.PERPETUAL
    assert btc.amount_step == Decimal("0.001")
    assert btc.price_step == Decimal("0.1")
    assert btc.min_notional == Decimal(100)
    assert emulator.calls("GET", "/api/v3/exchangeInfo") == 0
    assert (await perp.market("BTC/USDT:USDT")).symbol == "BTC/USDT"


async def test_market_when_symbol_unknown_then_invalid_symbol_names_it(spot: CcxtExchange) -> None:
    with pytest.raises(InvalidSymbol, match="DOGE/EUR"):
        await spot.market("DOGE/EUR")


async def test_fetch_ohlcv_when_since_given_then_typed_candles_from_that_open_time(spot: CcxtExchange) -> None:
    since = 1_704_067_200_000 + 5 * HOUR

    candles = await spot.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=3)

    assert [c.ts for c in candles] == [since, since + HOUR, since + 2 * HOUR]
    assert candles[0].close == expected_close(since, HOUR)
    assert candles[0].high >= max(candles[0].open, candles[0].close)
    assert all(isinstance(c.volume, Decimal) for c in candles)


async def test_fetch_ohlcv_when_perpetual_then_futures_klines_endpoint(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    candles = await perp.fetch_ohlcv("BTC/USDT", "4h", limit=2)

    assert len(candles) == 2 and candles[1].ts - candles[0].ts == 4 * HOUR
    assert emulator.calls("GET", "/fapi/v1/klines") == 1


async def test_fetch_ohlcv_when_timeframe_unknown_then_error_lists_choices(spot: CcxtExchange) -> None:
    with pytest.raises(ExchangeError, match="no 7m candles; use one of 1s, 1m"):
        await spot.fetch_ohlcv("BTC/USDT", "7m")


async def test_fetch_order_book_when_limit_given_then_sorted_decimal_levels(spot: CcxtExchange) -> None:
    book = await spot.fetch_order_book("BTC/USDT", limit=5)

    assert len(book.bids) == 5 and len(book.asks) == 5
    assert book.bids[0].price == Decimal("29999.99") and book.asks[0].price == Decimal("30000.01")
    assert all(a.price > b.price for a, b in zip(book.bids, book.bids[1:], strict=False))
    assert -1 <= book.imbalance() <= 1


async def test_fetch_ticker_when_spot_then_last_bid_ask_from_24h_ticker(spot: CcxtExchange) -> None:
    ticker = await spot.fetch_ticker("BTC/USDT")

    assert ticker.last == Decimal(30000)
    assert (ticker.bid, ticker.ask) == (Decimal("29999.99"), Decimal("30000.01"))
    assert ticker.spread_fraction is not None and ticker.spread_fraction < Decimal("0.0001")


async def test_fetch_ticker_when_perpetual_ticker_lacks_bid_ask_then_taken_from_book(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    ticker = await perp.fetch_ticker("BTC/USDT")

    assert (ticker.bid, ticker.ask) == (Decimal("29999.9"), Decimal("30000.1"))
    assert emulator.calls("GET", "/fapi/v1/depth") == 1


async def test_fetch_funding_rate_when_perpetual_then_rate_and_next_time(perp: CcxtExchange) -> None:
    funding = await perp.fetch_funding_rate("BTC/USDT")

    assert funding.rate == Decimal("0.0001")
    assert funding.next_funding_ts == 1_704_096_000_000
    assert funding.mark_price == Decimal(30000)


async def test_fetch_funding_rate_when_spot_then_invalid_symbol_without_request(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    with pytest.raises(InvalidSymbol, match="spot"):
        await spot.fetch_funding_rate("BTC/USDT")
    assert emulator.calls("GET", "/fapi/v1/premiumIndex") == 0


async def test_public_calls_when_no_credentials_then_work_without_signed_requests(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    public = make_exchange(MarketType.PERPETUAL, credentials=None)

    await public.load_markets()
    await public.fetch_ticker("BTC/USDT")
    await public.fetch_ohlcv("BTC/USDT", "1h", limit=2)
    await public.fetch_funding_rate("BTC/USDT")

    assert isinstance(public, MarketData) and isinstance(public, ExchangePort)
    assert not any("signature" in request.params for request in emulator.requests)
    assert emulator.unhandled == []


def test_ccxt_exchange_when_exchange_id_unknown_then_clear_error_with_suggestion() -> None:
    with pytest.raises(UnknownExchange, match="binanse.*binance"):
        CcxtExchange("binanse")


async def test_ccxt_exchange_when_bybit_perpetual_then_client_loads_only_linear_swaps() -> None:
    exchange = CcxtExchange("Bybit", market_type=MarketType.PERPETUAL, close_delay_ms=0)
    client = build_ccxt_client("bybit", market_type=MarketType.PERPETUAL, close_delay_ms=0)
    try:
        assert exchange.exchange_id == "bybit"
        assert client.options["defaultType"] == "swap"
        assert client.options["fetchMarkets"]["types"] == ["linear"]
    finally:
        await exchange.close()
        await client.close()
