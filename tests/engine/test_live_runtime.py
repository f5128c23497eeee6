"""The live runtime on a fresh database (SQLite and PostgreSQL) and the Binance emulator over real HTTP: every
runnable pair starts from the database, one pair that cannot start never stops the others, engines share their
account's client (closed with the last engine), heartbeats are written, and a changed pair is picked up."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from adapters.ai.factory import build_shared_ensemble
from db.database import Database
from db.encryption import SecretBox, generate_master_key
from db.models import EngineHeartbeat, EquitySnapshot, TradeDecision, UserPair
from db.repositories import AccountRepository, PairRepository, UserRepository
from engine.live import LiveRuntime
from engine.notifier import InMemoryNotifier
from tests.engine.live_support import MINUTE, SETTINGS, START, Clients, SteppedClock, all_beaten, tick
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import TEST_CREDENTIALS, eventually


async def _seed(database: Database, box: SecretBox) -> dict[str, int]:
    async with database.transaction() as session:
        users, accounts, pairs = UserRepository(session), AccountRepository(session, box), PairRepository(session)
        alice, _ = await users.register(1001, "alice", "Alice")
        bob, _ = await users.register(1002, "bob", "Bob")
        carol, _ = await users.register(1003, "carol", "Carol")
        dave, _ = await users.register(1004, "dave", "Dave")
        a_paper = await accounts.add_paper(alice.id, Decimal(10000), "binance", "spot")
        await pairs.add(alice.id, "BTC/USDT", Decimal(2000), 1, a_paper.id)
        await pairs.add(alice.id, "ETH/USDT", Decimal(1000), 1, a_paper.id)
        await pairs.set_status(alice.id, "ETH/USDT", "paused", "paused by the user")
        b_paper = await accounts.add_paper(bob.id, Decimal(5000), "binance", "spot")
        await pairs.add(bob.id, "BTC/USDT", Decimal(1500), 1, b_paper.id)
        await pairs.add(bob.id, "DOGE/USDT", Decimal(100), 1, b_paper.id)  # not listed on the emulator
        c_paper = await accounts.add_paper(carol.id, Decimal(5000), "binance", "spot")
        await pairs.add(carol.id, "BTC/USDT", Decimal(1000), 1, c_paper.id)
        await pairs.set_status(carol.id, "BTC/USDT", "error", "5 crashes within an hour")
        d_live = await accounts.add_live(dave.id, "binance", TEST_CREDENTIALS)
        await pairs.add(dave.id, "BTC/USDT", Decimal(500), 1, d_live.id)
        await users.set_mode(dave.id, "live")
        erin, _ = await users.register(1005, "erin", "Erin")  # keys connected, still in paper mode
        e_live = await accounts.add_live(erin.id, "binance", TEST_CREDENTIALS)
        await pairs.add(erin.id, "BTC/USDT", Decimal(500), 1, e_live.id)
        return {"alice": alice.id, "bob": bob.id, "carol": carol.id, "dave": dave.id, "erin": erin.id}


async def _count(database: Database, model: type, **where: object) -> int:
    async with database.transaction() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def test_start_when_pairs_are_stored_then_runnable_pairs_trade_and_a_broken_one_is_put_in_error(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    box = SecretBox.from_encoded(generate_master_key())
    ids = await _seed(fresh_database, box)
    clock = SteppedClock(START, emulator)
    clients = Clients(emulator)
    clients.database, clients.clock = fresh_database, clock
    ensemble = build_shared_ensemble(SETTINGS)
    runtime = LiveRuntime(
        fresh_database, SETTINGS, InMemoryNotifier(), ensemble, box=box, clock=clock,
        public_factory=clients.public, account_factory=clients.account, tick_ms=MINUTE, cycle_ms=5 * MINUTE,
    )  # fmt: skip
    try:
        started = await runtime.start()
        alice, bob, carol, dave, erin = ids["alice"], ids["bob"], ids["carol"], ids["dave"], ids["erin"]
        assert sorted(started) == sorted(
            [(alice, "BTC/USDT"), (alice, "ETH/USDT"), (bob, "BTC/USDT"), (dave, "BTC/USDT"), (erin, "BTC/USDT")]
        )
        assert (carol, "BTC/USDT") not in runtime.manager.engines  # in error: stays stopped until resumed
        async with fresh_database.transaction() as session:
            doge = await PairRepository(session).get(bob, "DOGE/USDT")
        assert doge is not None and doge.status == "error"
        assert doge.status_reason is not None and "DOGE/USDT" in doge.status_reason
        engines = runtime.manager.engines
        assert engines[(alice, "BTC/USDT")].exchange is engines[(alice, "ETH/USDT")].exchange  # one account
        assert engines[(alice, "BTC/USDT")].book is engines[(alice, "ETH/USDT")].book  # one user book
        assert engines[(alice, "ETH/USDT")].config.paused
        assert runtime.open_accounts == 4
        assert clients.credentials.count(TEST_CREDENTIALS) == 1  # dave's keys, decrypted for his client only
        assert type(engines[(erin, "BTC/USDT")].exchange).__name__ == "PaperExchange"  # paper mode: no real order
        assert engines[(erin, "BTC/USDT")].exchange.exchange_id == "binance"  # on the exchange's own prices

        await eventually(lambda: all_beaten(runtime, START), timeout=20)
        for minute in range(1, 11):  # ten monitor ticks; cycles at 0, 5 and 10 minutes
            await tick(runtime, clock, START + minute * MINUTE)

        async def decisions(user: int, symbol: str) -> int:
            return await _count(fresh_database, TradeDecision, user_id=user, symbol=symbol)

        assert await decisions(alice, "BTC/USDT") == 3  # exactly once per cycle candle
        assert await decisions(bob, "BTC/USDT") == 3
        assert await decisions(dave, "BTC/USDT") == 3  # the live account's engine, signed requests
        assert await decisions(erin, "BTC/USDT") == 3
        assert await decisions(alice, "ETH/USDT") == 0  # paused: watched, never traded
        async with fresh_database.transaction() as session:
            beats = {(b.user_id, b.symbol): b for b in await session.scalars(select(EngineHeartbeat))}
        assert beats[(alice, "BTC/USDT")].status == "running" and beats[(alice, "BTC/USDT")].cycles == 3
        assert beats[(alice, "ETH/USDT")].status == "paused"
        assert (carol, "BTC/USDT") not in beats

        # The user resumes ETH with a new budget and bob removes his pair: picked up without a restart.
        async with fresh_database.transaction() as session:
            pairs = PairRepository(session)
            await pairs.set_status(alice, "ETH/USDT", "active")
            eth = await pairs.get(alice, "ETH/USDT")
            assert eth is not None
            eth.budget = Decimal("1234.5")
            await pairs.remove(bob, "BTC/USDT")
        await runtime.refresh()
        assert not engines[(alice, "ETH/USDT")].config.paused
        assert engines[(alice, "ETH/USDT")].config.budget == Decimal("1234.5")
        assert (bob, "BTC/USDT") not in runtime.manager.engines
        assert runtime.open_accounts == 3  # bob's last engine stopped: his account's client is closed
        await tick(runtime, clock, START + 15 * MINUTE)
        assert await decisions(alice, "ETH/USDT") == 1
        async with fresh_database.transaction() as session:  # both of alice's engines marked her account
            moments = list(await session.scalars(select(EquitySnapshot.at).where(EquitySnapshot.user_id == alice)))
        assert len(moments) == 4 and len(set(moments)) == 4  # one row per moment: the later mark replaced it
    finally:
        await runtime.stop(timeout_s=10)
        await ensemble.close()
    assert runtime.open_accounts == 0 and not runtime.manager.tasks
    assert await _count(fresh_database, UserPair, user_id=ids["bob"]) == 1  # only the DOGE pair, in error


async def test_mode_when_a_live_account_switches_between_paper_and_live_then_its_engines_use_that_client(
    fresh_database: Database, emulator: BinanceEmulator
) -> None:
    """Keys connected in paper mode trade on paper at the exchange's prices; the rebuild /mode live does gives the
    engines the signed client (the paper client is closed with its last engine), and back again."""
    box = SecretBox.from_encoded(generate_master_key())
    async with fresh_database.transaction() as session:
        users, accounts, pairs = UserRepository(session), AccountRepository(session, box), PairRepository(session)
        erin, _ = await users.register(1101, "erin", "Erin")
        account = await accounts.add_live(erin.id, "binance", TEST_CREDENTIALS)
        for symbol in ("BTC/USDT", "ETH/USDT"):
            await pairs.add(erin.id, symbol, Decimal(500), 1, account.id)
    clock = SteppedClock(START, emulator)
    clients = Clients(emulator)
    clients.database, clients.clock = fresh_database, clock
    ensemble = build_shared_ensemble(SETTINGS)
    runtime = LiveRuntime(
        fresh_database, SETTINGS, InMemoryNotifier(), ensemble, box=box, clock=clock,
        public_factory=clients.public, account_factory=clients.account, tick_ms=MINUTE, cycle_ms=5 * MINUTE,
    )  # fmt: skip
    control = runtime.control()

    async def switch(mode: str) -> None:  # what the service's set_mode does once it has stored the mode
        async with fresh_database.transaction() as session:
            await UserRepository(session).set_mode(erin.id, mode)
        for symbol in ("BTC/USDT", "ETH/USDT"):
            await control.pair_removed(erin.id, symbol)
            await control.pair_added(erin.id, symbol)

    def kinds() -> set[str]:
        return {type(engine.exchange).__name__ for engine in runtime.manager.engines_of(erin.id)}

    try:
        await runtime.start()
        assert kinds() == {"PaperExchange"} and TEST_CREDENTIALS not in clients.credentials
        assert runtime.open_accounts == 1
        await switch("live")
        assert "PaperExchange" not in kinds() and len(kinds()) == 1 and runtime.open_accounts == 1
        assert clients.credentials.count(TEST_CREDENTIALS) == 1
        await switch("paper")
        assert kinds() == {"PaperExchange"} and runtime.open_accounts == 1
    finally:
        await runtime.stop(timeout_s=10)
        await ensemble.close()
    assert runtime.open_accounts == 0
