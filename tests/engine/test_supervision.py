"""Supervision in the live runtime (SQLite and PostgreSQL, Binance emulator over HTTP): a crashed engine is logged,
its user told, and it restarts from its stored state after a backoff; no other engine is touched; the fifth crash
within an hour pauses the pair with status `error` and the reason, and the next start leaves it stopped."""

from __future__ import annotations

from typing import Any

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.port import ExchangePort, MarketData
from db.database import Database
from db.models import ExchangeAccount
from db.repositories import HeartbeatRepository, PairRepository
from domain.credentials import ExchangeCredentials
from engine.events import EventKind
from engine.live import LiveRuntime
from engine.notifier import InMemoryNotifier
from tests.engine.live_support import (
    MINUTE,
    SETTINGS,
    START,
    Clients,
    SteppedClock,
    all_beaten,
    tick,
    two_paper_traders,
)
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import eventually


class Failing:
    """An exchange port whose balance call fails while `failures` > 0 (a bug deep in a dependency, say): every
    other call goes to the real paper exchange."""

    def __init__(self, inner: ExchangePort, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def fetch_balance(self) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("balance parser broke")
        return await self.inner.fetch_balance()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _seed(database: Database) -> tuple[int, int]:
    return await two_paper_traders(database, ("Erin", "Finn"), 2001)


def _runtime(database: Database, clients: Clients, notifier: InMemoryNotifier, failures: dict[int, int]) -> Any:
    async def account(
        row: ExchangeAccount, credentials: ExchangeCredentials | None, public: MarketData
    ) -> ExchangePort:
        inner = await clients.account(row, credentials, public)
        return Failing(inner, failures.get(row.user_id, 0))  # type: ignore[return-value]

    return LiveRuntime(
        database, SETTINGS, notifier, build_shared_ensemble(SETTINGS), clock=clients.clock,
        public_factory=clients.public, account_factory=account, tick_ms=MINUTE, cycle_ms=5 * MINUTE, backoff_s=0.01,
    )  # fmt: skip


async def test_crash_when_an_engine_fails_then_it_restarts_and_the_fifth_crash_pauses_only_that_pair(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    erin, finn = await _seed(fresh_database)
    clock = SteppedClock(START, emulator)
    clients = Clients(emulator)
    clients.database, clients.clock = fresh_database, clock
    notifier = InMemoryNotifier()
    runtime = _runtime(fresh_database, clients, notifier, {erin: 2})  # erin's engine crashes twice, then heals
    try:
        await runtime.start()
        erin_watch = runtime.manager.supervision[(erin, "BTC/USDT")]
        await eventually(lambda: erin_watch.status == "running" and all_beaten(runtime, START), timeout=20)
        assert len(erin_watch.crashes) == 2 and "balance parser broke" in (erin_watch.last_error or "")
        assert erin_watch.status == "running"  # restarted from its stored state, trading again
        assert runtime.manager.supervision[(finn, "BTC/USDT")].crashes == []
        assert notifier.kinds(erin).count(EventKind.ENGINE_ERROR) == 2
        assert EventKind.ENGINE_ERROR not in notifier.kinds(finn)
        await tick(runtime, clock, START + MINUTE)
        assert runtime.manager.engines[(erin, "BTC/USDT")].state.cycles == 1  # the START cycle ran after healing
    finally:
        await runtime.stop(timeout_s=10)
        await runtime.ensemble.close()

    notifier = InMemoryNotifier()
    runtime = _runtime(fresh_database, clients, notifier, {erin: 10**6})  # a new process; erin's bug is back
    try:
        await runtime.start()
        await eventually(lambda: runtime.manager.supervision[(erin, "BTC/USDT")].status == "error", timeout=20)
        await eventually(lambda: all_beaten(runtime, START + MINUTE, [(finn, "BTC/USDT")]), timeout=20)
        assert len(runtime.manager.supervision[(erin, "BTC/USDT")].crashes) == 5
        async with fresh_database.transaction() as session:
            pair = await PairRepository(session).get(erin, "BTC/USDT")
            beat = await HeartbeatRepository(session).get(erin, "BTC/USDT")
        assert pair is not None and pair.status == "error"
        assert pair.status_reason is not None and pair.status_reason.startswith("5 crashes within an hour")
        assert beat is not None and beat.status == "error" and "balance parser broke" in (beat.last_error or "")
        told = [e.message for e in notifier.events if e.user_id == erin]
        assert any("paused after 5 crashes" in message and "/resume" in message for message in told)
        await tick(runtime, clock, START + 2 * MINUTE, [(finn, "BTC/USDT")])  # finn trades on
        assert runtime.manager.supervision[(finn, "BTC/USDT")].status == "running"
    finally:
        await runtime.stop(timeout_s=10)
        await runtime.ensemble.close()

    runtime = _runtime(fresh_database, clients, InMemoryNotifier(), {})
    try:
        started = await runtime.start()
        assert started == [(finn, "BTC/USDT")]  # a pair in error waits for the user's /resume
    finally:
        await runtime.stop(timeout_s=10)
        await runtime.ensemble.close()
