"""Issue 9's end-to-end check on PostgreSQL: two users set up through the service trade on replayed candles
through many cycles in the live runtime. Trades open and close; the breaker trips on a losing streak and the
user resumes it through the service (shown why and when first); a crashed engine restarts; and a restart of the
whole runtime mid-run - cleanly, or killed between "order recorded as pending" and "order sent" - resumes every
pair from the database with identical books, no doubled order and no lost fill."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.port import ExchangePort
from db.database import Database
from db.models import ExchangeAccount, FillRow, OrderRow, TradeRow
from db.repositories import UserRepository
from domain.money import datetime_to_ms
from engine.events import EventKind
from engine.notifier import InMemoryNotifier
from engine.replay_runtime import ReplayRuntime, build_replay_runtime
from engine.service import QuorumService
from engine.service_trading import BreakerPreview, BreakerResumed
from tests.engine.live_support import DAY, HOUR, REPLAY_START, migrated_database
from tests.engine.live_support import SETTINGS as BASE_SETTINGS

START = REPLAY_START
MIDDLE = START + 20 * DAY + 7 * HOUR
END = START + 45 * DAY
SETTINGS = BASE_SETTINGS.model_copy(update={"timeframes": ["1h", "4h", "1d"]})
ANN, BEN = 5001, 5002


class ProcessKilled(BaseException):
    """The process dies here: not an Exception, so no supervisor catches it."""


@dataclass
class Faults:
    """What goes wrong in one run: Ben's engine crashes once at `crash_at`; the process is killed at the first
    entry order sent at or after `kill_at`, after it was recorded as pending and before it leaves."""

    crash_at: int | None = None
    kill_at: int | None = None
    killed: list[str] = field(default_factory=list)
    crashed: list[int] = field(default_factory=list)


class FaultyPort:
    """The paper exchange with the faults of `faults` (the engine talks to it through the exchange port)."""

    def __init__(self, inner: ExchangePort, user_id: int, faults: Faults, clock: Any) -> None:
        self.inner, self.user_id, self.faults, self.clock = inner, user_id, faults, clock

    async def fetch_balance(self) -> Any:
        crash_at = self.faults.crash_at
        if crash_at is not None and self.clock.now_ms() >= crash_at and not self.faults.crashed:
            self.faults.crashed.append(self.clock.now_ms())
            raise RuntimeError("a bug in the balance reader")
        return await self.inner.fetch_balance()

    async def create_order(self, request: Any) -> Any:
        kill_at = self.faults.kill_at
        entry = request.client_order_id.split("-")[2] == "en"
        if kill_at is not None and entry and self.clock.now_ms() >= kill_at and not self.faults.killed:
            self.faults.killed.append(request.client_order_id)
            raise ProcessKilled(request.client_order_id)
        return await self.inner.create_order(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _world(database: Database, notifier: InMemoryNotifier, faults: Faults, ids: dict[int, int]) -> ReplayRuntime:
    clock: list[Any] = []

    def faulty(row: ExchangeAccount, client: ExchangePort) -> ExchangePort:
        if row.user_id != ids.get(BEN):
            return client
        return FaultyPort(client, row.user_id, faults, clock[0])  # type: ignore[return-value]

    world = build_replay_runtime(
        database, SETTINGS, notifier, build_shared_ensemble(SETTINGS), data=shipped_candle_file(), start_ms=START,
        stepped=True, cycle_ms=4 * HOUR, wrap_account=faulty,
    )  # fmt: skip
    clock.append(world.runtime.clock)
    return world


async def _setup(database: Database, world: ReplayRuntime, ids: dict[int, int]) -> QuorumService:
    service = QuorumService(
        database, SETTINGS, gateway=world.gateway, control=world.runtime.control(), clock=world.clock
    )
    for tid, name, balance, budget, leverage in ((ANN, "Ann", "10000", "2000", 3), (BEN, "Ben", "5000", "1500", 2)):
        await service.accounts.register(tid, name)
        async with database.transaction() as session:
            user = await UserRepository(session).by_telegram_id(tid)
        assert user is not None
        ids[tid] = user.id
        await service.accounts.connect_paper(tid, balance)
        await service.pairs.add(tid, "btc/usdt", budget, leverage)
    await service.settings.set_risk(ANN, "breaker_max_consecutive_losses", "2")  # Ann's breaker trips sooner
    return service


class Resumer:
    """Ann looks at her breaker when told it tripped, then confirms: through the service, as the bot would."""

    def __init__(self, service: QuorumService, notifier: InMemoryNotifier, user_id: int) -> None:
        self.service, self.notifier, self.user_id = service, notifier, user_id
        self.seen = 0
        self.previews: list[BreakerPreview] = []
        self.resumed: list[tuple[int, BreakerResumed]] = []

    async def __call__(self, now: int) -> None:
        trips = [e for e in self.notifier.events if e.user_id == self.user_id and e.kind is EventKind.BREAKER_TRIPPED]
        if len(trips) <= self.seen:
            return
        self.seen = len(trips)
        preview = await self.service.trading.resume_breaker(ANN)
        if isinstance(preview, BreakerPreview) and preview.breakers:
            self.previews.append(preview)
            done = await self.service.trading.resume_breaker(ANN, confirm=True)
            assert isinstance(done, BreakerResumed)
            self.resumed.append((now, done))


async def _books(database: Database, user_ids: list[int]) -> dict[str, list[tuple]]:
    index = {uid: i for i, uid in enumerate(user_ids)}
    async with database.transaction() as session:
        orders = await session.execute(
            select(OrderRow.user_id, OrderRow.client_order_id, OrderRow.status, OrderRow.filled, OrderRow.fee)
            .where(OrderRow.user_id.in_(user_ids)).order_by(OrderRow.user_id, OrderRow.client_order_id)
        )  # fmt: skip
        fills = await session.execute(
            select(FillRow.user_id, FillRow.price, FillRow.amount, FillRow.fee, FillRow.executed_at)
            .where(FillRow.user_id.in_(user_ids)).order_by(FillRow.user_id, FillRow.executed_at, FillRow.price)
        )  # fmt: skip
        trades = await session.execute(
            select(TradeRow.user_id, TradeRow.side, TradeRow.amount, TradeRow.entry_price, TradeRow.exit_price,
                   TradeRow.realized_pnl, TradeRow.close_reason, TradeRow.opened_at)
            .where(TradeRow.user_id.in_(user_ids)).order_by(TradeRow.user_id, TradeRow.opened_at)
        )  # fmt: skip
    rows = {"orders": list(orders), "fills": list(fills), "trades": list(trades)}
    out = {name: [(index[r[0]], *r[1:]) for r in items] for name, items in rows.items()}
    out["orders"] = [(r[0], "-".join(r[1].split("-")[1:3]), *r[2:]) for r in out["orders"]]
    return out


async def _run(database: Database, faults: Faults, restart_at: int | None) -> dict[str, Any]:
    notifier = InMemoryNotifier()
    ids: dict[int, int] = {}
    world = _world(database, notifier, faults, ids)
    service = await _setup(database, world, ids)
    resumer = Resumer(service, notifier, ids[ANN])
    await world.runtime.start()
    killed_at = None
    try:
        await world.run_stepped(START, (restart_at or END) - HOUR, resumer)
    except ProcessKilled:
        killed_at = world.feed.clock.now_ms()
    if restart_at is not None or killed_at is not None:
        world.runtime.manager.tasks.clear()  # the process is gone: nothing of it is stopped cleanly
        await world.runtime.ensemble.close()
        world = _world(database, notifier, faults, ids)  # a new process: state only from the database
        service = QuorumService(
            database, SETTINGS, gateway=world.gateway, control=world.runtime.control(), clock=world.clock
        )
        resumer.service = service
        await world.runtime.start()
        resume_from = (killed_at + HOUR) if killed_at is not None else restart_at
        assert resume_from is not None
        await world.run_stepped(resume_from, END, resumer)
    else:
        await world.run_stepped(END, END, resumer)
    for tid in (ANN, BEN):  # /stop: every position closed at market, so the books end flat
        await service.trading.stop_all(tid, confirm=True)
    papers = {uid: world.runtime.manager.engines[(uid, "BTC/USDT")].exchange for uid in ids.values()}
    balances = {uid: (await paper.fetch_balance()).total("USDT") for uid, paper in papers.items()}
    await world.runtime.stop()
    await world.runtime.ensemble.close()
    return {"ids": ids, "notifier": notifier, "resumer": resumer, "balances": balances, "killed_at": killed_at}


@pytest.fixture
def pg_urls(postgres_factory: Any) -> list[str]:
    """Three empty PostgreSQL databases: one per run (each run registers the same two Telegram users)."""
    return [postgres_factory.new_url() for _ in range(3)]


@pytest.mark.slow
async def test_two_users_when_run_through_faults_and_restarts_then_books_are_identical_and_nothing_doubled(
    pg_urls: list[str],
) -> None:
    starts = {0: Decimal(10000), 1: Decimal(5000)}
    async with migrated_database(pg_urls[0]) as database:  # the whole run, one process
        faults = Faults(crash_at=START + 3 * DAY + 5 * HOUR)
        whole = await _run(database, faults, restart_at=None)
        whole_ids = [whole["ids"][ANN], whole["ids"][BEN]]
        notifier: InMemoryNotifier = whole["notifier"]
        kinds = notifier.kinds()
        closes = [
            k for k in kinds if k in (EventKind.POSITION_CLOSED, EventKind.STOP_LOSS_HIT, EventKind.TAKE_PROFIT_HIT)
        ]
        assert kinds.count(EventKind.POSITION_OPENED) >= 4 and len(closes) >= 3
        resumer: Resumer = whole["resumer"]
        assert resumer.previews, "Ann's breaker must trip on a losing streak for the run to mean anything"
        words = resumer.previews[0].message.lower()
        assert "losing" in words and "reopen" in words
        resumed_at = resumer.resumed[0][0]
        ann_opened = [e for e in notifier.events if e.user_id == whole_ids[0] and e.kind is EventKind.POSITION_OPENED]
        assert any(datetime_to_ms(e.at) > resumed_at for e in ann_opened), "Ann trades again after resuming"
        assert faults.crashed, "Ben's engine must crash once"
        assert any(e.kind is EventKind.ENGINE_ERROR and e.user_id == whole_ids[1] for e in notifier.events)
        expected = await _books(database, whole_ids)
        assert expected["trades"]
        _assert_no_doubles_and_no_lost_fills(expected)
        await _assert_ledger_matches_trades(database, whole_ids, whole["balances"], starts)

    async with migrated_database(pg_urls[1]) as database:  # stopped at MIDDLE, resumed by a new process
        split = await _run(database, Faults(crash_at=START + 3 * DAY + 5 * HOUR), restart_at=MIDDLE)
        split_ids = [split["ids"][ANN], split["ids"][BEN]]
        assert await _books(database, split_ids) == expected
        assert split["balances"] == {split_ids[i]: whole["balances"][whole_ids[i]] for i in range(2)}
        assert len(split["resumer"].resumed) == len(resumer.resumed)

    async with migrated_database(pg_urls[2]) as database:  # killed between "recorded as pending" and "sent"
        faults = Faults(crash_at=START + 3 * DAY + 5 * HOUR, kill_at=MIDDLE)
        killed = await _run(database, faults, restart_at=None)
        killed_ids = [killed["ids"][ANN], killed["ids"][BEN]]
        assert faults.killed and killed["killed_at"] is not None
        books = await _books(database, killed_ids)
        _assert_no_doubles_and_no_lost_fills(books)
        await _assert_ledger_matches_trades(database, killed_ids, killed["balances"], starts)
        async with database.transaction() as session:
            row = await session.scalar(select(OrderRow).where(OrderRow.client_order_id == faults.killed[0]))
        assert row is not None and row.status == "rejected" and "never reached the exchange" in (row.error or "")
        assert [t for t in books["trades"] if t[0] == 1 and datetime_to_ms(t[-1]) > killed["killed_at"]], (
            "Ben trades on after the restart"
        )


def _assert_no_doubles_and_no_lost_fills(books: dict[str, list[tuple]]) -> None:
    cids = [(r[0], r[1]) for r in books["orders"]]
    assert len(cids) == len(set(cids)), "an order was doubled"
    filled = sum((r[3] for r in books["orders"] if r[2] in ("filled", "closed")), Decimal(0))
    fill_amounts = sum((r[2] for r in books["fills"]), Decimal(0))
    assert filled == fill_amounts, "a fill is missing from the books"


async def _assert_ledger_matches_trades(
    database: Database, user_ids: list[int], balances: dict[int, Decimal], start: dict[int, Decimal]
) -> None:
    """The paper ledger's cash equals the start plus every closed trade's net P&L (realized_pnl is after fees), to
    the last digit (the run ends flat), so no fill and no fee can be missing from the database."""
    async with database.transaction() as session:
        for i, uid in enumerate(user_ids):
            net = await session.scalar(
                select(func.coalesce(func.sum(TradeRow.realized_pnl), 0)).where(TradeRow.user_id == uid)
            )
            open_trades = await session.scalar(
                select(func.count()).select_from(TradeRow).where(TradeRow.user_id == uid, TradeRow.closed_at.is_(None))
            )
            if not open_trades:
                assert balances[uid] == start[i] + Decimal(net), f"user {i}: ledger and trades disagree"
