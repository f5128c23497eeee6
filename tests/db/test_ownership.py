"""A row can only refer to rows of its own user: the repositories refuse it, and so does the database itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from db.database import Database
from db.models import (
    ExchangeAccount,
    FillRow,
    OrderRow,
    PaperLedger,
    PositionRow,
    TradeDecision,
    TradeRow,
    UserPair,
)
from db.repositories import (
    AccountRepository,
    DecisionRepository,
    NotOwned,
    OrderRepository,
    PairRepository,
    PaperLedgerRepository,
    PositionRepository,
    TradeRepository,
    UserRepository,
)
from domain.money import utc_now
from domain.trading import OrderRequest, OrderSide, OrderType

NOT_YOURS = "does not belong to user"


@dataclass(frozen=True)
class Owned:
    user: int
    account: int
    pair: int
    order: int
    trade: int


async def _owner(database: Database, telegram_id: Callable[[], int], name: str) -> Owned:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id(), name)
        account = await AccountRepository(session).add_paper(user.id, Decimal("1000"))
        pair = await PairRepository(session).add(user.id, "BTC/USDT", Decimal("100"), account_id=account.id)
        request = OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), f"own-{user.id}")
        order = await OrderRepository(session).add_pending(user.id, request, account.id)
        trade = await TradeRepository(session).open(
            user.id, "BTC/USDT", "long", Decimal("0.01"), Decimal("50000"), utc_now(), pair.id, order.id
        )
        return Owned(user.id, account.id, pair.id, order.id, trade.id)


@pytest.fixture
async def alice_bob(database: Database, telegram_id: Callable[[], int]) -> tuple[Owned, Owned]:
    return await _owner(database, telegram_id, "alice"), await _owner(database, telegram_id, "bob")


async def test_save_paper_ledger_when_account_is_another_users_then_refused_and_owner_still_saves(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    async with database.transaction() as session:
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await PaperLedgerRepository(session).save(alice.user, bob.account, {"by": "alice"})

    async with database.transaction() as session:
        await PaperLedgerRepository(session).save(bob.user, bob.account, {"by": "bob"})
    async with database.transaction() as session:
        assert await PaperLedgerRepository(session).load(bob.user, bob.account) == {"by": "bob"}


async def test_add_pair_when_account_is_another_users_then_refused(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    async with database.transaction() as session:
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await PairRepository(session).add(alice.user, "ETH/USDT", Decimal("10"), account_id=bob.account)
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await PairRepository(session).add(alice.user, "ETH/USDT", Decimal("10"), account_id=10**12)
        assert await PairRepository(session).get(alice.user, "ETH/USDT") is None


async def test_add_pending_order_when_account_is_another_users_then_refused(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    request = OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("1"), f"x-{alice.user}")
    async with database.transaction() as session:
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await OrderRepository(session).add_pending(alice.user, request, bob.account)
        assert await OrderRepository(session).by_client_id(alice.user, request.client_order_id) is None


async def test_open_or_close_trade_when_pair_or_order_is_another_users_then_refused(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    trades_args: dict[str, Any] = {"amount": Decimal(1), "entry_price": Decimal(1), "opened_at": utc_now()}
    async with database.transaction() as session:
        trades = TradeRepository(session)
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await trades.open(alice.user, "BTC/USDT", "long", pair_id=bob.pair, **trades_args)
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await trades.open(alice.user, "BTC/USDT", "long", entry_order_id=bob.order, **trades_args)
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await trades.close(alice.user, alice.trade, Decimal(1), Decimal(0), utc_now(), "manual", bob.order)

    async with database.transaction() as session:
        trade = await TradeRepository(session).get(alice.user, alice.trade)
        assert trade is not None and trade.status == "open" and trade.exit_order_id is None


async def test_upsert_position_when_pair_is_another_users_then_refused(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    async with database.transaction() as session:
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await PositionRepository(session).upsert(
                alice.user, "BTC/USDT", side="long", amount=Decimal(1), entry_price=Decimal(1), pair_id=bob.pair
            )
        assert await PositionRepository(session).get(alice.user, "BTC/USDT") is None


async def test_add_decision_when_pair_or_order_is_another_users_then_refused(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    async with database.transaction() as session:
        decisions = DecisionRepository(session)
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await decisions.add_decision(alice.user, "BTC/USDT", "k", "BUY", "executed", pair_id=bob.pair)
        with pytest.raises(NotOwned, match=NOT_YOURS):
            await decisions.add_decision(alice.user, "BTC/USDT", "k", "BUY", "executed", order_id=bob.order)
        assert await decisions.recent_decisions(alice.user) == []


def _cross_user_inserts(alice: Owned, bob: Owned) -> dict[str, tuple[Any, dict[str, Any]]]:
    """For every user-owned reference: a row of alice's that points at bob's row, written with raw SQL."""
    now = utc_now()
    money = Decimal(1)
    trade = {"user_id": alice.user, "symbol": "X", "side": "long", "status": "open", "amount": money}
    trade |= {"entry_price": money, "fees": money, "leverage": 1, "opened_at": now}
    position = {"user_id": alice.user, "symbol": "Y/USDT", "side": "long", "amount": money, "entry_price": money}
    position |= {"leverage": 1, "margin": money, "unrealized_pnl": money, "opened_at": now, "updated_at": now}
    decision = {"user_id": alice.user, "symbol": "X", "consultation_key": "k", "action": "BUY"}
    decision |= {"outcome": "executed", "created_at": now}
    order = {"user_id": alice.user, "symbol": "X", "client_order_id": f"raw-{alice.user}", "side": "buy"}
    order |= {"type": "market", "purpose": "entry", "status": "open", "amount": money, "filled": money}
    order |= {"fee": money, "reduce_only": False, "created_at": now, "updated_at": now}
    pair = {"user_id": alice.user, "symbol": "Z/USDT", "budget": money, "leverage": 1, "status": "active"}
    pair |= {"risk_overrides": {}, "breaker": {}, "breaker_status": "running", "created_at": now, "updated_at": now}
    fill = {"user_id": alice.user, "exchange_trade_id": "t", "symbol": "X", "side": "buy", "price": money}
    fill |= {"amount": money, "fee": money, "executed_at": now}
    return {
        "paper_ledger.account": (PaperLedger, {"account_id": bob.account, "user_id": alice.user, "state": {}}),
        "pair.account": (UserPair, pair | {"account_id": bob.account}),
        "order.account": (OrderRow, order | {"account_id": bob.account}),
        "fill.order": (FillRow, fill | {"order_id": bob.order}),
        "trade.pair": (TradeRow, trade | {"pair_id": bob.pair}),
        "trade.entry_order": (TradeRow, trade | {"entry_order_id": bob.order}),
        "trade.exit_order": (TradeRow, trade | {"exit_order_id": bob.order}),
        "position.pair": (PositionRow, position | {"pair_id": bob.pair}),
        "decision.pair": (TradeDecision, decision | {"pair_id": bob.pair}),
        "decision.order": (TradeDecision, decision | {"order_id": bob.order}),
    }


@pytest.mark.parametrize("case", list(_cross_user_inserts(*[Owned(1, 1, 1, 1, 1)] * 2)))
async def test_raw_insert_when_it_refers_to_another_users_row_then_database_refuses(
    database: Database, alice_bob: tuple[Owned, Owned], case: str
) -> None:
    model, values = _cross_user_inserts(*alice_bob)[case]
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(insert(model).values(**values))


async def test_raw_update_when_it_points_a_row_at_another_users_row_then_database_refuses(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    statements = [
        update(UserPair).where(UserPair.id == alice.pair).values(account_id=bob.account),
        update(OrderRow).where(OrderRow.id == alice.order).values(account_id=bob.account),
        update(TradeRow).where(TradeRow.id == alice.trade).values(pair_id=bob.pair),
        update(TradeRow).where(TradeRow.id == alice.trade).values(exit_order_id=bob.order),
        update(ExchangeAccount).where(ExchangeAccount.id == bob.account).values(user_id=alice.user),
        update(OrderRow).where(OrderRow.id == bob.order).values(user_id=alice.user),
        update(UserPair).where(UserPair.id == bob.pair).values(user_id=alice.user),
    ]
    for statement in statements:
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                await session.execute(statement)


async def test_delete_account_when_its_orders_are_referenced_then_only_its_owners_rows_go(
    database: Database, alice_bob: tuple[Owned, Owned]
) -> None:
    alice, bob = alice_bob
    async with database.transaction() as session:
        await PaperLedgerRepository(session).save(bob.user, bob.account, {"by": "bob"})
        unpaired = await TradeRepository(session).open(
            bob.user, "ETH/USDT", "long", Decimal(1), Decimal(1), utc_now(), entry_order_id=bob.order
        )

    async with database.transaction() as session:
        await session.execute(delete(ExchangeAccount).where(ExchangeAccount.id == bob.account))

    async with database.transaction() as session:
        assert await session.get(UserPair, bob.pair) is None and await session.get(OrderRow, bob.order) is None
        assert await session.get(PaperLedger, bob.account) is None
        assert await session.get(TradeRow, bob.trade) is None  # its pair went, and the trade with it
        kept = await session.get(TradeRow, unpaired.id)
        assert kept is not None and kept.entry_order_id is None and kept.user_id == bob.user
        for model, row_id in ((UserPair, alice.pair), (OrderRow, alice.order), (TradeRow, alice.trade)):
            assert await session.get(model, row_id) is not None


async def test_sqlite_connection_when_opened_then_foreign_keys_are_enforced(database: Database, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("a SQLite pragma")
    async with database.engine.connect() as first, database.engine.connect() as second:
        for connection in (first, second):
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            await session.execute(insert(PaperLedger).values(account_id=10**12, user_id=10**12, state={}))
    async with database.transaction() as session:
        assert (await session.scalars(select(PaperLedger).where(PaperLedger.account_id == 10**12))).first() is None
