"""What the admin CLI changes in the database reaches the engines of a running Quorum (LiveRuntime on the Binance
emulator over real HTTP, SQLite and PostgreSQL) at its next configuration refresh, for the user named only:
a pause stops their engines opening positions and a resume lets them trade again; a breaker reset reopens
their engines' breakers even when a cycle wrote the open breaker back over the CLI's stored reset in between
(the reset request is the audit row, engine/operator_resets.py), and it is applied once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from adapters.ai.factory import build_shared_ensemble
from db.database import Database
from db.models import TradeDecision, UserPair, UserState
from engine.events import EventKind
from engine.live import LiveRuntime
from engine.notifier import InMemoryNotifier
from risk import BreakerStatus
from tests.admin.support import quorum_admin, seed
from tests.engine.live_support import MINUTE, SETTINGS, START, Clients, SteppedClock, all_beaten, tick
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import eventually

OPEN, RUNNING = BreakerStatus.OPEN, BreakerStatus.RUNNING


async def _stored(database: Database, user_id: int) -> tuple[str, str | None]:
    """(BTC/USDT's breaker, the daily loss limit) as the database holds them."""
    async with database.transaction() as session:
        pair = await session.scalar(select(UserPair).where(UserPair.user_id == user_id, UserPair.symbol == "BTC/USDT"))
        state = await session.scalar(select(UserState).where(UserState.user_id == user_id))
        assert pair is not None and state is not None
        return pair.breaker_status, state.breaker_status


async def _decisions(database: Database, user_id: int) -> int:
    async with database.transaction() as session:
        count = select(func.count()).select_from(TradeDecision).where(TradeDecision.user_id == user_id)
        return int(await session.scalar(count) or 0)


async def test_cli_changes_when_quorum_runs_then_its_next_refresh_applies_them_to_that_user_only(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    url = fresh_database.url
    ann = await seed(url, 8_000_001, "Ann", ("BTC/USDT", "ETH/USDT"), tripped=True, market_type="spot")
    bob = await seed(url, 8_000_002, "Bob", ("BTC/USDT",), tripped=True, market_type="spot")
    clock = SteppedClock(START, emulator)
    clients = Clients(emulator)
    clients.database, clients.clock = fresh_database, clock
    notifier = InMemoryNotifier()
    ensemble = build_shared_ensemble(SETTINGS)
    runtime = LiveRuntime(
        fresh_database, SETTINGS, notifier, ensemble, clock=clock, public_factory=clients.public,
        account_factory=clients.account, tick_ms=MINUTE, cycle_ms=5 * MINUTE,
    )  # fmt: skip
    try:
        await runtime.start()
        await eventually(lambda: all_beaten(runtime, START), timeout=20)
        engines = runtime.manager.engines
        ann_btc, ann_eth = engines[(ann.user_id, "BTC/USDT")], engines[(ann.user_id, "ETH/USDT")]
        bob_btc = engines[(bob.user_id, "BTC/USDT")]
        assert ann_btc.state.breaker.status is OPEN and ann_btc.book.daily_breaker.status is OPEN
        assert bob_btc.state.breaker.status is OPEN and bob_btc.book.daily_breaker.status is OPEN

        reset = await asyncio.to_thread(quorum_admin, url, "reset-breaker", str(ann.telegram_id), "--yes")
        assert reset.exit_code == 0, reset.output
        assert await _stored(fresh_database, ann.user_id) == ("running", "running")
        await tick(runtime, clock, START + 5 * MINUTE)  # a cycle: Ann's engines save their open breakers again
        assert await _stored(fresh_database, ann.user_id) == ("open", "open")
        assert ann_btc.state.breaker.status is OPEN

        await runtime.refresh()
        assert ann_btc.state.breaker.status is RUNNING and ann_btc.book.daily_breaker.status is RUNNING
        assert await _stored(fresh_database, ann.user_id) == ("running", "running")
        assert bob_btc.state.breaker.status is OPEN and bob_btc.book.daily_breaker.status is OPEN
        assert await _stored(fresh_database, bob.user_id) == ("open", "open")
        assert notifier.kinds(ann.user_id).count(EventKind.BREAKER_RESUMED) == 2  # the streak and the daily limit
        assert EventKind.BREAKER_RESUMED not in notifier.kinds(bob.user_id)
        await runtime.refresh()
        assert notifier.kinds(ann.user_id).count(EventKind.BREAKER_RESUMED) == 2  # applied once

        paused = await asyncio.to_thread(quorum_admin, url, "pause", str(ann.telegram_id))
        assert paused.exit_code == 0, paused.output
        assert not ann_btc.config.paused  # until the running process refreshes
        await runtime.refresh()
        assert ann_btc.config.paused and ann_eth.config.paused and not bob_btc.config.paused
        before = await _decisions(fresh_database, ann.user_id), await _decisions(fresh_database, bob.user_id)
        await tick(runtime, clock, START + 10 * MINUTE)
        assert await _decisions(fresh_database, ann.user_id) == before[0]  # paused: watched, never traded
        assert await _decisions(fresh_database, bob.user_id) == before[1] + 1

        resumed = await asyncio.to_thread(quorum_admin, url, "resume", str(ann.telegram_id))
        assert resumed.exit_code == 0, resumed.output
        await runtime.refresh()
        assert not ann_btc.config.paused and not ann_eth.config.paused
        await tick(runtime, clock, START + 15 * MINUTE)
        assert await _decisions(fresh_database, ann.user_id) == before[0] + 2  # both pairs cycle again
    finally:
        await runtime.stop(timeout_s=10)
        await ensemble.close()
