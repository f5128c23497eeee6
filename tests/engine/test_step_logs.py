"""Structured logs of a running engine (LiveRuntime on the Binance emulator): with LOG_FORMAT=json every line an
engine step writes is one JSON object carrying user_id, symbol and cycle (the step's tick), a crash's traceback
included, and a secret in an exception (registered, or shaped like a key) is masked in JSON mode too."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.port import ExchangePort
from db.database import Database
from db.models import ExchangeAccount
from db.repositories import AccountRepository, PairRepository, UserRepository
from engine.live import LiveRuntime
from engine.notifier import InMemoryNotifier
from quorum.log import MASK, configure_logging, register_secret
from tests.engine.live_support import MINUTE, SETTINGS, START, Clients, SteppedClock, all_beaten, tick
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import eventually

REGISTERED = "bob-exchange-secret-0042"
SHAPED = "sig-9f8e7d6c5b4a39281706"


class FailingBalance:
    """Bob's account as the engine sees it, with a balance call that fails once `failing` is set (a fault at the
    exchange port, as the end-to-end tests inject them)."""

    def __init__(self, inner: ExchangePort) -> None:
        self.inner = inner
        self.failing = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def fetch_balance(self) -> Any:
        if self.failing:
            raise RuntimeError(f"exchange refused {REGISTERED} (signature={SHAPED})")
        return await self.inner.fetch_balance()


async def _seed(database: Database) -> tuple[int, int]:
    async with database.transaction() as session:
        ann, _ = await UserRepository(session).register(9_100_001, "ann", "Ann")
        bob, _ = await UserRepository(session).register(9_100_002, "bob", "Bob")
        for user in (ann, bob):
            account = await AccountRepository(session).add_paper(user.id, Decimal(10000), "binance", "spot")
            await PairRepository(session).add(user.id, "BTC/USDT", Decimal(1000), 1, account.id)
        return ann.id, bob.id


async def test_engine_steps_when_json_logs_then_lines_carry_user_symbol_cycle_and_no_secret(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    ann, bob = await _seed(fresh_database)
    clock = SteppedClock(START, emulator)
    clients = Clients(emulator)
    clients.database, clients.clock = fresh_database, clock
    wrapped: dict[int, FailingBalance] = {}

    def wrap(account: ExchangeAccount, client: ExchangePort) -> ExchangePort:
        if account.user_id != bob:
            return client
        wrapped[bob] = FailingBalance(client)
        return wrapped[bob]  # type: ignore[return-value]

    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    register_secret(REGISTERED)
    ensemble = build_shared_ensemble(SETTINGS)
    runtime = LiveRuntime(
        fresh_database, SETTINGS, InMemoryNotifier(), ensemble, clock=clock, public_factory=clients.public,
        account_factory=clients.account, tick_ms=MINUTE, cycle_ms=5 * MINUTE, wrap_account=wrap,
    )  # fmt: skip
    try:
        await runtime.start()
        await eventually(lambda: all_beaten(runtime, START), timeout=20)
        wrapped[bob].failing = True
        await clock.advance_to(START + MINUTE)
        await eventually(lambda: runtime.manager.supervision[(bob, "BTC/USDT")].last_error is not None, timeout=20)
        wrapped[bob].failing = False
        await tick(runtime, clock, START + 2 * MINUTE, [(ann, "BTC/USDT")])
    finally:
        await runtime.stop(timeout_s=10)
        await ensemble.close()
        configure_logging()  # back to stderr for the tests that follow

    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    consulted = [line for line in lines if str(line["message"]).startswith("ensemble:")]
    crashed = [line for line in lines if line["message"] == "engine crashed"]
    assert consulted and crashed, output[-3000:]
    assert {(line["user_id"], line["symbol"], line["cycle"]) for line in consulted} <= {
        (ann, "BTC/USDT", START),
        (bob, "BTC/USDT", START),
    }
    [crash] = crashed
    assert (crash["user_id"], crash["symbol"], crash["cycle"], crash["level"]) == (bob, "BTC/USDT", START + MINUTE,
                                                                                   "ERROR")  # fmt: skip
    assert "RuntimeError: exchange refused" in str(crash["exception"]) and MASK in str(crash["exception"])
    assert REGISTERED not in output and SHAPED not in output
