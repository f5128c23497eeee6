"""The paper account's state, stored in paper_ledgers, restores exactly after a restart on both databases."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from adapters.exchange.paper import PaperExchange
from db.database import Database
from db.repositories import AccountRepository, DbPaperStateStore, UserRepository
from tests.paper.test_paper_state import SPOT, busy_account


async def test_paper_exchange_when_restarted_from_database_then_account_is_identical(
    database: Database, db_url: str, telegram_id: Callable[[], int]
) -> None:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
        account = await AccountRepository(session).add_paper(user.id, Decimal("5000"))
    feed, before = await busy_account(DbPaperStateStore(database, user.id, account.id))
    balance, orders, positions = (
        await before.fetch_balance(),
        await before.fetch_open_orders(),
        await before.fetch_positions(),
    )

    restarted = Database(db_url)
    try:
        after = await PaperExchange.open(
            feed,
            DbPaperStateStore(restarted, user.id, account.id),
            starting_balances={"USDT": Decimal(1)},
            clock=feed.clock,
        )
        assert after.state() == before.state()
        assert await after.fetch_balance() == balance
        assert await after.fetch_open_orders() == orders
        assert await after.fetch_positions() == positions
        assert (await after.fetch_order_by_client_id("buy", SPOT)).fills == (
            await before.fetch_order_by_client_id("buy", SPOT)
        ).fills
    finally:
        await restarted.dispose()
