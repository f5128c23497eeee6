"""Migration 0003 on a populated database: rows kept, cross-user references repaired, the new keys in force."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.database import Database, create_engine
from db.migrate import MigrationFailed, current_revision, downgrade, head_revision, upgrade
from db.models import (
    AuditLog,
    ExchangeAccount,
    FillRow,
    OrderRow,
    PaperLedger,
    PositionRow,
    TradeDecision,
    TradeRow,
    User,
    UserPair,
)
from db.repositories import OrderRepository, PaperLedgerRepository
from domain.money import utc_now
from domain.trading import Fill, Order, OrderSide, OrderStatus, OrderType

ALICE, BOB = 1001, 1002
ONE = Decimal(1)


@pytest.fixture
async def engine(fresh_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_db_url)
    await upgrade(engine, "0002")
    yield engine
    await engine.dispose()


def _order(row_id: int, user: int, account: int, exchange_id: str) -> dict[str, Any]:
    return {"id": row_id, "user_id": user, "account_id": account, "symbol": "BTC/USDT", "side": "buy"} | {
        "client_order_id": f"c-{row_id}",
        "exchange_order_id": exchange_id,
        "type": "market",
        "amount": ONE,
    }


def _fill(row_id: int, user: int, order: int, key: str, amount: str) -> dict[str, Any]:
    return {"id": row_id, "user_id": user, "order_id": order, "exchange_trade_id": key, "symbol": "BTC/USDT"} | {
        "side": "buy",
        "price": Decimal("100"),
        "amount": Decimal(amount),
        "executed_at": utc_now(),
    }


def _trade(row_id: int, pair: int | None, entry: int | None, exit_: int | None) -> dict[str, Any]:
    return {"id": row_id, "user_id": ALICE, "pair_id": pair, "entry_order_id": entry, "exit_order_id": exit_} | {
        "symbol": "BTC/USDT",
        "side": "long",
        "amount": ONE,
        "entry_price": ONE,
        "opened_at": utc_now(),
    }


ROWS: list[tuple[Any, list[dict[str, Any]]]] = [
    (
        User,
        [
            {"id": ALICE, "telegram_id": 9_000_001, "settings": {}},
            {"id": BOB, "telegram_id": 9_000_002, "settings": {}},
        ],
    ),
    (
        ExchangeAccount,
        [{"id": 1001, "user_id": ALICE, "exchange": "paper"}, {"id": 1002, "user_id": BOB, "exchange": "paper"}],
    ),
    (
        UserPair,
        [
            {"id": 1001, "user_id": ALICE, "account_id": 1001, "symbol": "BTC/USDT", "budget": ONE},
            {"id": 1002, "user_id": ALICE, "account_id": 1002, "symbol": "ETH/USDT", "budget": ONE},  # bob's account
            {"id": 1003, "user_id": BOB, "account_id": 1002, "symbol": "BTC/USDT", "budget": ONE},
        ],
    ),
    (OrderRow, [_order(1001, ALICE, 1001, "ex-a"), _order(1002, ALICE, 1002, "ex-x"), _order(1003, BOB, 1002, "ex-b")]),
    (
        FillRow,
        [
            _fill(1001, ALICE, 1001, "ex-a:1700000000000:0.5:100", "0.5"),  # keyed by the old code: no trade id
            _fill(1002, ALICE, 1001, "ex-a:1700000000000:0.25:100", "0.25"),
            _fill(1003, ALICE, 1001, "t-9", "0.25"),
            _fill(1004, ALICE, 1003, "t-1", "1"),  # a fill of bob's order, filed under alice
        ],
    ),
    (TradeRow, [_trade(1001, 1001, 1001, None), _trade(1002, 1003, 1003, 1001)]),
    (
        PositionRow,
        [
            {"id": 1001, "user_id": ALICE, "pair_id": 1003, "symbol": "BTC/USDT", "side": "long"}
            | {"amount": ONE, "entry_price": ONE, "opened_at": utc_now()}
        ],
    ),
    (
        TradeDecision,
        [
            {"id": 1001, "user_id": ALICE, "pair_id": 1001, "order_id": 1003, "symbol": "BTC/USDT"}
            | {"consultation_key": "k", "action": "BUY", "outcome": "executed"}
        ],
    ),
    (
        PaperLedger,
        [
            {"account_id": 1001, "user_id": ALICE, "state": {"a": 1}},
            {"account_id": 1002, "user_id": ALICE, "state": {}},
        ],
    ),
]


async def _populate(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for model, rows in ROWS:
            await connection.execute(insert(model), rows)


async def _get(database: Database, model: Any, key: int) -> Any:
    async with database.transaction() as session:
        return await session.get(model, key)


async def test_upgrade_when_database_is_populated_then_rows_kept_and_cross_user_references_repaired(
    engine: AsyncEngine, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _populate(engine)

    await upgrade(engine)

    assert await current_revision(engine) == head_revision()
    database = Database(engine.url.render_as_string(hide_password=False))
    try:
        assert (await _get(database, UserPair, 1001)).account_id == 1001
        assert (await _get(database, UserPair, 1002)).account_id is None
        assert (await _get(database, UserPair, 1003)).account_id == 1002
        assert [(await _get(database, OrderRow, i)).account_id for i in (1001, 1002, 1003)] == [1001, None, 1002]
        first, second = await _get(database, TradeRow, 1001), await _get(database, TradeRow, 1002)
        assert (first.pair_id, first.entry_order_id) == (1001, 1001)
        assert (second.pair_id, second.entry_order_id, second.exit_order_id) == (None, None, 1001)
        assert (await _get(database, PositionRow, 1001)).pair_id is None
        decision = await _get(database, TradeDecision, 1001)
        assert (decision.pair_id, decision.order_id) == (1001, None)
        assert (await _get(database, PaperLedger, 1001)).state == {"a": 1}
        assert await _get(database, PaperLedger, 1002) is None
        async with database.transaction() as session:
            stored = await session.execute(select(FillRow.id, FillRow.exchange_trade_id))
            keys = {row.id: row.exchange_trade_id for row in stored}
            assert keys == {1001: "position:0", 1002: "position:1", 1003: "t-9"}
            overview = await session.execute(text("SELECT pairs FROM user_overview WHERE user_id = :u"), {"u": ALICE})
            assert overview.scalar_one() == 2
        assert "set to NULL" in caplog.text and "deleted" in caplog.text

        async with database.transaction() as session:  # the fills the old code stored are not stored again
            replay = _replayed_order((Decimal("0.5"), Decimal("0.25")))
            await OrderRepository(session).apply_update(ALICE, replay)
            await PaperLedgerRepository(session).save(BOB, 1002, {"b": 2})  # bob's ledger is his again
        async with database.transaction() as session:
            assert len(await OrderRepository(session).fills(ALICE, 1001)) == 3
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                await session.execute(
                    insert(UserPair).values(id=1009, user_id=ALICE, account_id=1002, symbol="X", budget=ONE)
                )
        if backend == "sqlite":
            async with engine.connect() as connection:
                assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
                assert (await connection.execute(text("PRAGMA foreign_key_check"))).all() == []
    finally:
        await database.dispose()


def _replayed_order(amounts: tuple[Decimal, ...]) -> Order:
    fills = tuple(
        Fill("ex-a", "BTC/USDT", OrderSide.BUY, Decimal("100"), amount, Decimal(0), "USDT", 1_700_000_000_000)
        for amount in amounts
    )
    return Order(
        id="ex-a",
        client_order_id="c-1001",
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.MARKET,
        status=OrderStatus.PARTIALLY_FILLED,
        amount=ONE,
        filled=Decimal("0.75"),
        ts=1_700_000_000_000,
        fills=fills,
    )


async def _foreign_key_names(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: {fk["name"] for fk in inspect(sync).get_foreign_keys(table)})


async def test_downgrade_when_at_head_then_0002_keys_and_rows_back_and_upgrade_again(engine: AsyncEngine) -> None:
    await _populate(engine)
    await upgrade(engine)

    await downgrade(engine, "0002")

    assert await current_revision(engine) == "0002"
    assert await _foreign_key_names(engine, "user_pairs") == {
        "fk_user_pairs_user_id_users",
        "fk_user_pairs_account_id_exchange_accounts",
    }
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT COUNT(*) FROM fills"))).scalar_one() == 3
    await upgrade(engine)
    assert "fk_user_pairs_account_id_same_user" in await _foreign_key_names(engine, "user_pairs")


async def test_upgrade_when_sqlite_holds_an_orphan_row_then_refused_and_nothing_changed(
    engine: AsyncEngine, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL never let an orphan in")
    await _populate(engine)
    async with engine.connect() as connection:  # written while foreign keys were off
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.execute(insert(AuditLog).values(user_id=4242, actor="x", action="y", detail={}))
        await connection.commit()
        await connection.exec_driver_sql("PRAGMA foreign_keys=ON")

    with pytest.raises(MigrationFailed, match="audit_log"):
        await upgrade(engine)

    assert await current_revision(engine) == "0002"
    assert "fk_user_pairs_account_id_same_user" not in await _foreign_key_names(engine, "user_pairs")
    async with engine.connect() as connection:
        pair = (await connection.execute(text("SELECT account_id FROM user_pairs WHERE id = 1002"))).scalar_one()
        assert pair == 1002  # the repair was rolled back with the rest
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1


async def test_upgrade_when_it_fails_on_sqlite_then_not_even_its_ddl_is_left(fresh_db_url: str, backend: str) -> None:
    """pysqlite runs DDL outside any transaction unless one is begun explicitly; the migration begins one."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL DDL is transactional anyway")
    engine = create_engine(fresh_db_url)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.exec_driver_sql("CREATE TABLE legacy (ref INTEGER REFERENCES legacy_parent (id))")
            await connection.exec_driver_sql("CREATE TABLE legacy_parent (id INTEGER PRIMARY KEY)")
            await connection.exec_driver_sql("INSERT INTO legacy VALUES (7)")
            await connection.commit()

        with pytest.raises(MigrationFailed, match="legacy"):
            await upgrade(engine)

        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables == {"legacy", "legacy_parent"}
    finally:
        await engine.dispose()
