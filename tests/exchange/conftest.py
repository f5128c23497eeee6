"""Fixtures: a Binance emulator on 127.0.0.1 and the real ccxt binance class pointed at it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.retry import RetryPolicy
from domain.credentials import ExchangeCredentials
from domain.market import MarketType
from tests.exchange.binance_emulator import ApiKey, BinanceEmulator

TEST_KEY = "emulator-key-0123456789abcdef"
TEST_SECRET = "emulator-secret-fedcba9876543210"
TEST_CREDENTIALS = ExchangeCredentials(TEST_KEY, TEST_SECRET)
FAST_RETRIES = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05)
CLIENT_TIMEOUT_MS = 750  # the hang faults wait this long; generous enough for a loaded CI box


class RecordingSleep:
    """An injectable sleep that records each delay and yields without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 3.0) -> None:
    """Poll check until it is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def emulator() -> AsyncIterator[BinanceEmulator]:
    emu = BinanceEmulator(keys={TEST_KEY: ApiKey(TEST_KEY, TEST_SECRET)})
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


ExchangeFactory = Callable[..., CcxtExchange]


@asynccontextmanager
async def emulated_clients(exchange_id: str, base_url: str, sleep: RecordingSleep) -> AsyncIterator[ExchangeFactory]:
    """A factory of CcxtExchange clients of `exchange_id` pointed at an emulator; all are closed afterwards."""
    created: list[CcxtExchange] = []

    def factory(
        market_type: MarketType = MarketType.SPOT,
        credentials: ExchangeCredentials | None = TEST_CREDENTIALS,
        retry_policy: RetryPolicy = FAST_RETRIES,
        **options: Any,  # further CcxtExchange options: capabilities, lookup_limits
    ) -> CcxtExchange:
        exchange = CcxtExchange(
            exchange_id,
            credentials,
            market_type=market_type,
            retry_policy=retry_policy,
            timeout_ms=CLIENT_TIMEOUT_MS,
            url_override=base_url,
            enable_rate_limit=False,
            close_delay_ms=0,
            sleep=sleep,
            **options,
        )
        created.append(exchange)
        return exchange

    try:
        yield factory
    finally:
        for exchange in created:
            await exchange.close()


@pytest.fixture
async def make_exchange(emulator: BinanceEmulator, sleep: RecordingSleep) -> AsyncIterator[ExchangeFactory]:
    """Build CcxtExchange clients against the Binance emulator; all are closed after the test."""
    async with emulated_clients("binance", emulator.base_url, sleep) as factory:
        yield factory


@pytest.fixture
async def spot(make_exchange: ExchangeFactory) -> CcxtExchange:
    return make_exchange(MarketType.SPOT)


@pytest.fixture
async def perp(make_exchange: ExchangeFactory) -> CcxtExchange:
    return make_exchange(MarketType.PERPETUAL)
