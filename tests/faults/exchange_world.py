"""The world of the exchange-fault run: users with live Binance perpetual accounts, each account its own Binance
emulator (its own API key, balances, orders and positions) with random faults on its private requests, one public
emulator for market data, an LLM stand-in that opens a long when flat and closes it when long, and the live runtime
that trades them on a stepped clock: every minute is a cycle, so every pair trades every cycle."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.port import ExchangePort, MarketData
from adapters.exchange.retry import RetryPolicy
from db.database import Database
from db.encryption import SecretBox, generate_master_key
from db.models import ExchangeAccount
from db.repositories import AccountRepository, PairRepository, UserRepository
from domain.credentials import ExchangeCredentials
from domain.market import MarketType
from engine.live import LiveRuntime
from engine.notifier import InMemoryNotifier
from tests.ai.fake_llm import FakeLLMServer, Reply, decision_json
from tests.engine.live_support import MINUTE, SETTINGS, START, SteppedClock, all_beaten
from tests.exchange.binance_emulator import ApiKey, BinanceEmulator
from tests.exchange.conftest import CLIENT_TIMEOUT_MS
from tests.exchange.emulator_server import RandomFaults

SYMBOL = "BTC/USDT"
# The production number of retries (Settings.exchange_max_retries), with delays short enough for a test.
RETRIES = RetryPolicy(max_retries=4, base_delay_s=0.01, max_delay_s=0.05)
_PRICE = re.compile(r"^Current price: (\S+)$", re.MULTILINE)


def trade_every_cycle(body: dict[str, Any]) -> Reply:
    """The analyst: flat, buy with a stop 10% below and a take profit 20% above; in a position, close it."""
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    if "Position: flat" not in prompt:
        return Reply(content=decision_json("CLOSE", 0.8, reasoning="take the round trip"))
    found = _PRICE.search(prompt)
    assert found is not None, "the prompt carries the current price"
    price = Decimal(found.group(1))
    stop, target = (price * Decimal("0.9")).quantize(Decimal(1)), (price * Decimal("1.2")).quantize(Decimal(1))
    return Reply(content=decision_json("BUY", 0.8, float(stop), float(target), "a test that trades every cycle"))


@dataclass
class Accounts:
    """The runtime's client factories: market data from the public emulator, each live account's client pointed at
    the emulator that holds its API key."""

    public_emulator: BinanceEmulator
    by_key: dict[str, BinanceEmulator]
    opened: list[CcxtExchange] = field(default_factory=list)

    def _client(self, emulator: BinanceEmulator, credentials: ExchangeCredentials | None) -> CcxtExchange:
        client = CcxtExchange(
            "binance", credentials, market_type=MarketType.PERPETUAL, retry_policy=RETRIES,
            timeout_ms=CLIENT_TIMEOUT_MS, url_override=emulator.base_url, enable_rate_limit=False, close_delay_ms=0,
        )  # fmt: skip
        self.opened.append(client)
        return client

    def public(self, exchange_id: str, market_type: MarketType) -> MarketData:
        assert (exchange_id, market_type) == ("binance", MarketType.PERPETUAL)
        return self._client(self.public_emulator, None)

    async def account(
        self, account: ExchangeAccount, credentials: ExchangeCredentials | None, public: MarketData
    ) -> ExchangePort:
        assert credentials is not None and not account.is_paper
        return self._client(self.by_key[credentials.api_key], credentials)


@dataclass
class World:
    database: Database
    runtime: LiveRuntime
    clock: SteppedClock
    notifier: InMemoryNotifier
    emulators: dict[int, BinanceEmulator]  # user id -> that user's exchange account
    faults: dict[int, RandomFaults]
    now: int = START

    async def tick(self, timeout_s: float = 120.0) -> None:
        """One minute on: every engine runs its step (a cycle, as every minute is one) and sleeps again."""
        self.now += MINUTE
        await self.clock.advance_to(self.now)
        await self.all_stepped(timeout_s)

    async def all_stepped(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not all_beaten(self.runtime, self.now):
            dead = [key for key, task in self.runtime.manager.tasks.items() if task.done()]
            assert not dead, f"engine tasks ended: {dead}"
            assert time.monotonic() < deadline, f"engines did not finish the step at {self.now} in {timeout_s}s"
            await asyncio.sleep(0.02)

    def orders_placed(self) -> int:
        return sum(len(emulator.stored_orders()) for emulator in self.emulators.values())

    def set_faults(self, enabled: bool) -> None:
        for faults in self.faults.values():
            faults.enabled = enabled


async def _seed(database: Database, box: SecretBox, keys: list[str]) -> list[int]:
    ids = []
    async with database.transaction() as session:
        users, accounts, pairs = UserRepository(session), AccountRepository(session, box), PairRepository(session)
        for n, key in enumerate(keys):
            user, _ = await users.register(7000 + n, f"trader{n}", f"Trader {n}")
            account = await accounts.add_live(
                user.id, "binance", ExchangeCredentials(key, f"secret-{key}"), market_type="perpetual"
            )
            await pairs.add(user.id, SYMBOL, Decimal(2000), 2, account.id)
            await users.set_mode(user.id, "live")  # keys alone trade on paper: these accounts trade for real
            ids.append(user.id)
    return ids


@asynccontextmanager
async def fault_world(database: Database, users: int, rate: float, seed: int) -> AsyncIterator[World]:
    """`users` live accounts on their own emulators, each dealing random faults on `rate` of its private requests
    (seeded per account), run by one LiveRuntime; everything is stopped and closed afterwards."""
    public = BinanceEmulator()
    llm = FakeLLMServer(respond=trade_every_cycle)
    keys = [f"fault-key-{n:03d}" for n in range(users)]
    emulators = [BinanceEmulator(keys={k: ApiKey(k, f"secret-{k}")}) for k in keys]
    await public.start()
    await llm.start()
    for emulator in emulators:
        await emulator.start()
    settings = SETTINGS.model_copy(
        update={
            "offline_analysts": [], "openai_compatible_base_url": f"{llm.url}/v1", "ai_min_consensus": 1,
            "ai_min_responders": 1, "max_trades_per_day": 1000, "breaker_max_consecutive_losses": 100,
            "breaker_daily_loss_pct": Decimal("0.5"), "max_drawdown_fraction": Decimal("0.9"),
        }
    )  # fmt: skip
    box = SecretBox.from_encoded(generate_master_key())
    ids = await _seed(database, box, keys)
    clock = SteppedClock(START, public)
    accounts = Accounts(public, dict(zip(keys, emulators, strict=True)))
    notifier = InMemoryNotifier()
    ensemble = build_shared_ensemble(settings)
    runtime = LiveRuntime(
        database, settings, notifier, ensemble, box=box, clock=clock, public_factory=accounts.public,
        account_factory=accounts.account, tick_ms=MINUTE, cycle_ms=MINUTE, backoff_s=0.05,
    )  # fmt: skip
    faults = {}
    for n, (uid, emulator) in enumerate(zip(ids, emulators, strict=True)):
        emulator.account.reject_duplicate_client_ids = False  # the engine alone must never place an order twice
        faults[uid] = emulator.random_faults = RandomFaults(rate=rate, seed=seed * 1000 + n)
    world = World(database, runtime, clock, notifier, dict(zip(ids, emulators, strict=True)), faults)
    try:
        yield world
    finally:
        await runtime.stop(timeout_s=30)
        await ensemble.close()
        for emulator in (public, *emulators):
            await emulator.stop()
        await llm.stop()
