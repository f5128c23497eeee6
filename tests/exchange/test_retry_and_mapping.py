"""Pure parts of the live adapter: backoff policy, ccxt-dict mapping, error translation, client configuration."""

from __future__ import annotations

import random
from decimal import Decimal

import ccxt
import pytest
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, SIGNIFICANT_DIGITS, TICK_SIZE

from adapters.exchange import ccxt_mapping as mapping
from adapters.exchange import errors
from adapters.exchange.ccxt_client import build_ccxt_client, rewrite_api_urls
from adapters.exchange.ccxt_errors import to_domain_error
from adapters.exchange.retry import RetryPolicy, retry_transient
from config.settings import Settings
from domain.market import MarketType
from domain.trading import OrderStatus, OrderType
from tests.exchange.conftest import RecordingSleep


def test_retry_policy_when_built_from_settings_then_uses_exchange_fields() -> None:
    settings = Settings(exchange_max_retries=7, exchange_backoff_base_s=0.25, exchange_backoff_max_s=3.0)

    assert RetryPolicy.from_settings(settings) == RetryPolicy(max_retries=7, base_delay_s=0.25, max_delay_s=3.0)


def test_retry_policy_delay_when_attempts_grow_then_doubles_with_jitter_up_to_cap() -> None:
    policy = RetryPolicy(max_retries=10, base_delay_s=1.0, max_delay_s=8.0)
    rng = random.Random(7)

    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        delays = {policy.delay(attempt, rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


async def test_retry_transient_when_error_not_listed_then_raised_without_retry() -> None:
    sleep = RecordingSleep()
    calls = 0

    async def rejected() -> None:
        nonlocal calls
        calls += 1
        raise ccxt.InsufficientFunds("binance Account has insufficient balance for requested action.")

    with pytest.raises(ccxt.InsufficientFunds):
        await retry_transient(rejected, RetryPolicy(), retry_on=(ccxt.NetworkError,), description="t", sleep=sleep)
    assert calls == 1 and sleep.delays == []


async def test_retry_transient_when_server_asks_for_long_wait_then_capped_at_max_delay() -> None:
    sleep = RecordingSleep()
    outcomes = [ccxt.DDoSProtection("429"), "ok"]

    async def flaky() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = await retry_transient(
        flaky,
        RetryPolicy(base_delay_s=0.1, max_delay_s=2.0),
        retry_on=(ccxt.NetworkError,),
        description="t",
        retry_after=lambda error: 3600.0,
        sleep=sleep,
    )

    assert result == "ok" and sleep.delays == [2.0]


@pytest.mark.parametrize(
    ("value", "mode", "step"),
    [
        (0.01, TICK_SIZE, Decimal("0.01")),
        (3, DECIMAL_PLACES, Decimal("0.001")),
        (0, DECIMAL_PLACES, Decimal(1)),
        (5, SIGNIFICANT_DIGITS, Decimal(0)),
        (None, TICK_SIZE, Decimal(0)),
    ],
)
def test_precision_step_when_each_ccxt_precision_mode_then_decimal_step(
    value: object, mode: int, step: Decimal
) -> None:
    assert mapping.precision_step(value, mode) == step


def test_balance_when_exchange_gives_only_totals_then_used_derived_and_zeros_dropped() -> None:
    raw = {
        "info": {},
        "BTC": {"free": 0.1, "used": None, "total": 0.3},
        "ETH": {"free": 0.0, "used": 0.0},
        "free": {"BTC": 0.1},
        "timestamp": 1,
    }

    balance = mapping.balance(raw)

    assert set(balance.currencies) == {"BTC"}
    assert balance.currencies["BTC"].used == Decimal("0.2") and balance.total("BTC") == Decimal("0.3")


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("open", 0, OrderStatus.OPEN),
        ("open", 0.5, OrderStatus.PARTIALLY_FILLED),
        ("closed", 1, OrderStatus.FILLED),
        ("canceled", 0, OrderStatus.CANCELED),
        ("expired", 0, OrderStatus.EXPIRED),
        ("rejected", 0, OrderStatus.REJECTED),
    ],
)
def test_order_when_ccxt_status_then_domain_status(status: str, filled: float, expected: OrderStatus) -> None:
    raw = {
        "id": "1",
        "side": "buy",
        "type": "limit",
        "price": 100.0,
        "amount": 1.0,
        "filled": filled,
        "status": status,
        "timestamp": 5,
        "clientOrderId": "c1",
        "info": {},
    }

    order = mapping.order(raw, "BTC/USDT")

    assert order.status is expected and order.type is OrderType.LIMIT and order.filled == Decimal(str(filled))
    assert order.amount >= order.filled


@pytest.mark.parametrize(
    ("error", "expected", "words"),
    [
        (ccxt.InsufficientFunds("x"), errors.InsufficientFunds, "Not enough funds"),
        (ccxt.BadSymbol("x"), errors.InvalidSymbol, "does not list"),
        (
            ccxt.AuthenticationError('binance {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'),
            errors.AuthenticationFailed,
            "rejected the API key",
        ),
        (
            ccxt.PermissionDenied("binance This account may not place or cancel orders."),
            errors.PermissionDenied,
            "permission",
        ),
        (ccxt.OrderNotFound("x"), errors.OrderNotFound, "no such order"),
        (ccxt.InvalidOrder("x"), errors.InvalidOrder, "rejected the order"),
        (ccxt.RateLimitExceeded("x"), errors.TransientExchangeError, "limiting how fast"),
        (ccxt.OnMaintenance("x"), errors.TransientExchangeError, "under maintenance"),
        (ccxt.RequestTimeout("x"), errors.TransientExchangeError, "did not answer in time"),
    ],
)
def test_to_domain_error_when_ccxt_error_then_domain_type_with_user_sentence(
    error: Exception, expected: type, words: str
) -> None:
    translated = to_domain_error(error, "binance", "place the order")

    assert type(translated) is expected
    assert words in translated.user_message


def test_to_domain_error_when_reason_echoes_secret_then_redacted() -> None:
    error = ccxt.ExchangeError('binance {"code":-1,"msg":"bad key sk-LEAKED-123"}')

    translated = to_domain_error(error, "binance", "read the balance", secrets=("sk-LEAKED-123",))

    assert "sk-LEAKED-123" not in str(translated) and "***" in str(translated)


async def test_build_ccxt_client_when_testnet_then_sandbox_or_demo_urls() -> None:
    spot = build_ccxt_client("binance", testnet=True, close_delay_ms=0)
    perp = build_ccxt_client("binance", market_type=MarketType.PERPETUAL, testnet=True, close_delay_ms=0)
    bybit = build_ccxt_client("bybit", testnet=True, close_delay_ms=0)
    try:
        assert "testnet" in spot.urls["api"]["public"]
        assert "demo" in perp.urls["api"]["fapiPrivate"]
        assert "testnet" in bybit.urls["api"]["public"]
    finally:
        for client in (spot, perp, bybit):
            await client.close()


async def test_build_ccxt_client_when_exchange_has_no_testnet_then_clear_error() -> None:
    with pytest.raises(errors.ExchangeError, match="no testnet"):
        build_ccxt_client("bitstamp", testnet=True)


async def test_rewrite_api_urls_when_base_given_then_every_url_keeps_its_path() -> None:
    client = build_ccxt_client("binance", close_delay_ms=0)
    try:
        rewrite_api_urls(client, "http://127.0.0.1:9999/")

        assert client.urls["api"]["public"] == "http://127.0.0.1:9999/api/v3"
        assert client.urls["api"]["fapiPrivateV3"] == "http://127.0.0.1:9999/fapi/v3"
    finally:
        await client.close()
