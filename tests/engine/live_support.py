"""Shared pieces of the live-runtime tests: a clock the test steps, client factories pointed at the Binance
emulator, and a helper that waits until every engine has finished a tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.port import ExchangePort, MarketData
from config.settings import Settings
from db.database import Database, create_engine
from db.migrate import upgrade
from db.models import ExchangeAccount
from domain.credentials import ExchangeCredentials
from domain.market import MarketType
from engine.live import LiveRuntime
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import (
    CLIENT_TIMEOUT_MS,
    FAST_RETRIES,
    RecordingSleep,
    eventually,
)  # fmt: skip

MINUTE = 60_000
HOUR, DAY = 3_600_000, 86_400_000
REPLAY_START = 1_514_764_800_000  # 2018-01-01 00:00 UTC, inside the shipped BTC history
START = 1_704_067_200_000 + 10 * 86_400_000  # 2024-01-11, inside the emulator's history
SETTINGS = Settings(
    _env_file=None, timeframes=["1m", "5m"], openai_api_key=None, anthropic_api_key=None, deepseek_api_key=None
)


class SteppedClock:
    """Time moves only when the test says so; engines asleep until a later tick wake when it comes. The
    emulator's candles end at the clock's now, as a real exchange's do."""

    def __init__(self, now_ms: int, emulator: BinanceEmulator) -> None:
        self.now = now_ms
        self.emulator = emulator
        emulator.market.history_end_ms = now_ms
        self._moved = asyncio.Condition()

    def now_ms(self) -> int:
        return self.now

    async def sleep_until(self, ms: int) -> None:
        async with self._moved:
            await self._moved.wait_for(lambda: self.now >= ms)

    async def advance_to(self, ms: int) -> None:
        async with self._moved:
            self.now = ms
            self.emulator.market.history_end_ms = ms
            self._moved.notify_all()


class Clients:
    """The runtime's client factories, pointed at the emulator; counts what is opened and closed."""

    def __init__(self, emulator: BinanceEmulator) -> None:
        self.emulator = emulator
        self.opened: list[CcxtExchange] = []
        self.credentials: list[ExchangeCredentials | None] = []

    def _client(self, market_type: MarketType, credentials: ExchangeCredentials | None) -> CcxtExchange:
        client = CcxtExchange(
            "binance", credentials, market_type=market_type, retry_policy=FAST_RETRIES, timeout_ms=CLIENT_TIMEOUT_MS,
            url_override=self.emulator.base_url, enable_rate_limit=False, close_delay_ms=0, sleep=RecordingSleep(),
        )  # fmt: skip
        self.opened.append(client)
        return client

    def public(self, exchange_id: str, market_type: MarketType) -> MarketData:
        assert exchange_id == "binance"
        return self._client(market_type, None)

    async def account(
        self, account: ExchangeAccount, credentials: ExchangeCredentials | None, public: MarketData
    ) -> ExchangePort:
        self.credentials.append(credentials)
        if account.is_paper:
            from adapters.exchange.paper import PaperExchange
            from db.repositories.paper import DbPaperStateStore

            assert account.paper_start_balance is not None
            return await PaperExchange.open(
                public, DbPaperStateStore(self.database, account.user_id, account.id),
                starting_balances={"USDT": account.paper_start_balance}, clock=self.clock.now_ms,
            )  # fmt: skip
        return self._client(MarketType(account.market_type), credentials)

    database: Database
    clock: SteppedClock


@asynccontextmanager
async def migrated_database(url: str) -> AsyncIterator[Database]:
    """The database at `url` brought to the newest schema, disposed of afterwards."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def fresh_database(fresh_db_url: str) -> AsyncIterator[Database]:
    async with migrated_database(fresh_db_url) as database:
        yield database


async def tick(runtime: LiveRuntime, clock: SteppedClock, now_ms: int, keys: list | None = None) -> None:
    await clock.advance_to(now_ms)
    await eventually(lambda: all_beaten(runtime, now_ms, keys), timeout=20)


def all_beaten(runtime: LiveRuntime, now_ms: int, keys: list | None = None) -> bool:
    """Every engine (or those of `keys`) has finished its step at now_ms and sleeps toward the next tick."""
    watches = runtime.manager.supervision
    return all(watches[key].last_step_ms == now_ms for key in (keys if keys is not None else list(watches)))


async def two_paper_traders(database: Database, names: tuple[str, str], first_telegram_id: int) -> tuple[int, int]:
    """Two users, each with a 10,000 USDT paper account on binance spot and a BTC/USDT pair of 1,000."""
    from decimal import Decimal

    from db.repositories import AccountRepository, PairRepository, UserRepository

    ids = []
    async with database.transaction() as session:
        users, accounts, pairs = UserRepository(session), AccountRepository(session), PairRepository(session)
        for offset, name in enumerate(names):
            user, _ = await users.register(first_telegram_id + offset, name.lower(), name)
            account = await accounts.add_paper(user.id, Decimal(10000), "binance", "spot")
            await pairs.add(user.id, "BTC/USDT", Decimal(1000), 1, account.id)
            ids.append(user.id)
    return ids[0], ids[1]
