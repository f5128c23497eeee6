"""Exchange errors arrive as domain errors with sentences a user understands, never retried, never leaking keys."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from loguru import logger

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import (
    AuthenticationFailed,
    ExchangeError,
    InsufficientFunds,
    InvalidSymbol,
    PermissionDenied,
)
from domain.credentials import ExchangeCredentials
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderType
from tests.exchange.binance_emulator import ApiKey, BinanceEmulator
from tests.exchange.conftest import TEST_KEY, TEST_SECRET, ExchangeFactory


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


async def test_create_order_when_spot_balance_too_small_then_insufficient_funds_sentence(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    with pytest.raises(InsufficientFunds, match="Not enough funds on Binance") as caught:
        await spot.create_order(OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal(1), "big-1"))

    assert "insufficient balance" in str(caught.value)
    assert emulator.calls("POST", "/api/v3/order") == 1
    assert emulator.stored_orders() == []


async def test_create_order_when_futures_margin_too_small_then_insufficient_funds(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    with pytest.raises(InsufficientFunds, match="Margin is insufficient"):
        await perp.create_order(OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal(10), "big-2"))
    assert emulator.calls("POST", "/fapi/v1/order") == 1


async def test_fetch_ticker_when_exchange_delisted_symbol_after_load_then_invalid_symbol(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await spot.load_markets()
    del emulator.market.spot["ETHUSDT"]

    with pytest.raises(InvalidSymbol, match="does not list that trading pair"):
        await spot.fetch_ticker("ETH/USDT")


async def test_fetch_balance_when_api_key_unknown_then_authentication_failed_once(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, log_lines: list[str]
) -> None:
    exchange = make_exchange(credentials=ExchangeCredentials("wrong-key-abcdef123456", TEST_SECRET))

    with pytest.raises(AuthenticationFailed, match="rejected the API key") as caught:
        await exchange.fetch_balance()

    assert emulator.calls("GET", "/api/v3/account") == 1
    assert log_lines and not any("signature=" in line for line in log_lines)
    for text in (str(caught.value), repr(exchange), *log_lines):
        assert "wrong-key-abcdef123456" not in text and TEST_SECRET not in text


async def test_fetch_balance_when_signature_made_with_wrong_secret_then_authentication_failed(
    make_exchange: ExchangeFactory, log_lines: list[str]
) -> None:
    exchange = make_exchange(credentials=ExchangeCredentials(TEST_KEY, "not-the-secret-0000000000"))

    with pytest.raises(AuthenticationFailed) as caught:
        await exchange.fetch_balance()

    assert "Signature" in str(caught.value)
    for text in (str(caught.value), repr(exchange), *log_lines):
        assert "not-the-secret-0000000000" not in text and TEST_KEY not in text


async def test_create_order_when_ip_not_on_key_allow_list_then_permission_denied_names_ip(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    emulator.keys["ip-locked-key-000000000000"] = ApiKey(
        "ip-locked-key-000000000000", TEST_SECRET, allowed_ips=frozenset({"203.0.113.7"})
    )
    exchange = make_exchange(credentials=ExchangeCredentials("ip-locked-key-000000000000", TEST_SECRET))

    with pytest.raises(PermissionDenied, match="IP address is not on the API key's allow list") as caught:
        await exchange.create_order(OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), "ip-1"))

    assert "127.0.0.1" in str(caught.value)
    assert "ip-locked-key" not in str(caught.value)
    assert emulator.stored_orders() == []


async def test_set_leverage_when_exchange_rejects_then_its_reason_is_quoted(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    emulator.market.futures["ETHUSDT"].max_leverage = 3

    with pytest.raises(ExchangeError, match="Leverage 10 is not valid") as caught:
        await perp.set_leverage("ETH/USDT", 10)

    assert type(caught.value) is ExchangeError
    assert emulator.calls("POST", "/fapi/v1/leverage") == 1


def test_credentials_when_printed_then_redacted() -> None:
    credentials = ExchangeCredentials("visible-key-123", "visible-secret-456")

    for text in (repr(credentials), str(credentials), f"{credentials}"):
        assert "visible" not in text


async def test_exchange_repr_when_authenticated_then_shows_no_credentials(
    make_exchange: ExchangeFactory,
) -> None:
    exchange = make_exchange(MarketType.PERPETUAL)

    assert "authenticated=True" in repr(exchange)
    assert TEST_KEY not in repr(exchange) and TEST_SECRET not in repr(exchange)
