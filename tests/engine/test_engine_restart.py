"""The engine on the database (SQLite and PostgreSQL): two users over replayed candles, stopped and restarted
mid-run from nothing but the database, end exactly where an uninterrupted run ends; a crash between recording
an order and sending it doubles nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.candle_file import shipped_candle_file
from config.settings import Settings
from db.database import Database
from db.models import FillRow, OrderRow, TradeDecision, TradeRow
from db.repositories import AccountRepository, DbPaperStateStore, PairRepository, UserRepository
from domain.market import MarketType
from domain.money import datetime_to_ms
from engine.manager import MultiPairManager
from engine.notifier import InMemoryNotifier
from engine.replay import ReplayAccount, ReplaySession
from engine.store_db import DbEngineStore
from risk import RiskLimits

SYMBOL = "BTC/USDT"
DAY_MS = 86_400_000
START = datetime_to_ms(datetime(2018, 1, 1, tzinfo=UTC))
END = START + 40 * DAY_MS
SETTINGS = Settings(_env_file=None)


async def _users(database: Database, telegram_id: Callable[[], int]) -> list[ReplayAccount]:
    accounts = []
    async with database.transaction() as session:
        for balance, budget, leverage in ((Decimal(10000), Decimal(2000), 3), (Decimal(5000), Decimal(1500), 2)):
            user, _ = await UserRepository(session).register(telegram_id(), "t", "t")
            account = await AccountRepository(session).add_paper(user.id, balance, "replay", "perpetual")
            await PairRepository(session).add(user.id, SYMBOL, budget, leverage, account.id)
            accounts.append(
                ReplayAccount(user.id, balance, budget, leverage, DbPaperStateStore(database, user.id, account.id))
            )
    return accounts


async def _session(database: Database, accounts: list[ReplayAccount], notifier: InMemoryNotifier) -> ReplaySession:
    settings = SETTINGS.model_copy(update={"openai_api_key": None, "anthropic_api_key": None})
    return await ReplaySession.build(
        data=shipped_candle_file(),
        symbol=SYMBOL,
        base_timeframe="1h",
        market_type=MarketType.PERPETUAL,
        ensemble=build_shared_ensemble(settings),
        store=DbEngineStore(database),
        notifier=notifier,
        limits=RiskLimits.from_settings(settings),
        accounts=accounts,
        cycle_ms=4 * 3_600_000,
        taker_fee=settings.paper_taker_fee,
        maker_fee=settings.paper_maker_fee,
    )


async def _rows(database: Database, user_ids: list[int]) -> dict[str, list[tuple]]:
    """What the run left in the books, per user order, without row ids (two runs number rows differently)."""
    async with database.transaction() as session:
        orders = await session.execute(
            select(OrderRow.user_id, OrderRow.client_order_id, OrderRow.status, OrderRow.filled, OrderRow.fee)
            .where(OrderRow.user_id.in_(user_ids))
            .order_by(OrderRow.user_id, OrderRow.client_order_id)
        )
        fills = await session.execute(
            select(FillRow.user_id, FillRow.price, FillRow.amount, FillRow.fee, FillRow.executed_at)
            .where(FillRow.user_id.in_(user_ids))
            .order_by(FillRow.user_id, FillRow.executed_at, FillRow.price)
        )
        trades = await session.execute(
            select(TradeRow.user_id, TradeRow.side, TradeRow.amount, TradeRow.entry_price, TradeRow.exit_price)
            .add_columns(TradeRow.realized_pnl, TradeRow.close_reason, TradeRow.opened_at)
            .where(TradeRow.user_id.in_(user_ids))
            .order_by(TradeRow.user_id, TradeRow.opened_at)
        )
        decisions = await session.execute(
            select(TradeDecision.user_id, TradeDecision.consultation_key, TradeDecision.outcome)
            .where(TradeDecision.user_id.in_(user_ids))
            .order_by(TradeDecision.user_id, TradeDecision.consultation_key)
        )
        return {
            "orders": [tuple(r) for r in orders],
            "fills": [tuple(r) for r in fills],
            "trades": [tuple(r) for r in trades],
            "decisions": [tuple(r) for r in decisions],
        }


def _relative(rows: dict[str, list[tuple]], ids: list[int]) -> dict[str, list[tuple]]:
    """Rows with user ids replaced by the user's position, so two runs' users compare."""
    index = {uid: i for i, uid in enumerate(ids)}
    out = {}
    for name, items in rows.items():
        out[name] = [(index[r[0]], *r[1:]) for r in items]
    # q<user>-<candle>-<intent>-<digest of user and symbol>: compare the candle and the intent
    out["orders"] = [(r[0], "-".join(r[1].split("-")[1:3]), *r[2:]) for r in out["orders"]]
    return out


async def test_restart_when_stopped_mid_run_then_books_equal_an_uninterrupted_run(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    database = Database(db_url)
    try:
        whole_accounts = await _users(database, telegram_id)
        whole = await _session(database, whole_accounts, InMemoryNotifier())
        await whole.run(START, END)

        split_accounts = await _users(database, telegram_id)
        notifier = InMemoryNotifier()
        first = await _session(database, split_accounts, notifier)
        middle = START + 17 * DAY_MS + 5 * 3_600_000
        await first.manager.run_replay(first.feed.clock.advance_to, START, middle)
        second = await _session(database, split_accounts, notifier)  # a new process: state only from the database
        await second.run(middle + 3_600_000, END)

        whole_ids = [a.user_id for a in whole_accounts]
        split_ids = [a.user_id for a in split_accounts]
        expected = _relative(await _rows(database, whole_ids), whole_ids)
        got = _relative(await _rows(database, split_ids), split_ids)
        assert expected["trades"], "the run must trade for the comparison to mean anything"
        assert got == expected
        cids = [(r[0], r[1]) for r in got["orders"]]
        assert len(cids) == len(set(cids))  # no order doubled
    finally:
        await database.dispose()


async def test_restart_when_crashed_between_pending_and_sent_then_nothing_doubled(
    db_url: str, telegram_id: Callable[[], int]
) -> None:
    database = Database(db_url)
    try:
        accounts = (await _users(database, telegram_id))[:1]
        notifier = InMemoryNotifier()
        session = await _session(database, accounts, notifier)
        paper = session.papers[0]
        real_create = paper.create_order
        crashed: list[str] = []

        async def create_once_crashing(request):  # the process dies after recording, before the order leaves
            if not crashed and request.client_order_id.split("-")[2] == "en":
                crashed.append(request.client_order_id)
                raise RuntimeError("killed between 'recorded as pending' and 'sent'")
            return await real_create(request)

        paper.create_order = create_once_crashing  # type: ignore[method-assign]
        await session.run(START, END)
        assert crashed, "an entry must have been attempted"
        async with database.transaction() as db_session:
            row = await db_session.scalar(select(OrderRow).where(OrderRow.client_order_id == crashed[0]))
            assert row is not None and row.status == "rejected" and "never reached the exchange" in (row.error or "")
            mine = select(OrderRow.client_order_id).where(OrderRow.user_id == accounts[0].user_id)
            ids = list(await db_session.scalars(mine))
        assert len(ids) == len(set(ids))
        assert paper.account.find_by_client_id(crashed[0]) is None  # never placed
        assert any(e.kind.value == "engine_error" for e in notifier.events)
        assert isinstance(session.manager, MultiPairManager)
    finally:
        await database.dispose()
