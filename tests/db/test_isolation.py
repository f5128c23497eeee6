"""One user can never read or change another user's rows, through any repository."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from db.database import Database
from db.encryption import SecretBox, generate_master_key
from db.models import ExchangeAccount, TradeDecision, TradeRow, User
from db.repositories import (
    AccountRepository,
    AuditRepository,
    ConsultationInfo,
    DecisionRepository,
    HeartbeatRepository,
    OrderRepository,
    PairExists,
    PairRepository,
    PaperLedgerRepository,
    PositionRepository,
    ReportRepository,
    TradeRepository,
    UserRepository,
    UserStateRepository,
    VoteRow,
)
from domain.credentials import ExchangeCredentials
from domain.money import utc_now
from domain.trading import Fill, Order, OrderRequest, OrderSide, OrderStatus, OrderType

BOX = SecretBox.from_encoded(generate_master_key())


async def _two_users(database: Database, telegram_id: Callable[[], int]) -> tuple[int, int]:
    async with database.transaction() as session:
        users = UserRepository(session)
        alice, _ = await users.register(telegram_id(), "alice")
        bob, _ = await users.register(telegram_id(), "bob")
        return alice.id, bob.id


async def _populate(database: Database, user_id: int, cid: str) -> dict[str, int]:
    """Give a user one row in every per-user table."""
    async with database.transaction() as session:
        account = await AccountRepository(session, BOX).add_live(
            user_id, "binance", ExchangeCredentials("k" * 20, "s" * 40)
        )
        pair = await PairRepository(session).add(user_id, "BTC/USDT", Decimal("1000"), 2, account.id)
        order = await OrderRepository(session).add_pending(
            user_id, OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), cid), account.id
        )
        trade = await TradeRepository(session).open(
            user_id, "BTC/USDT", "long", Decimal("0.01"), Decimal("50000"), utc_now(), pair.id, order.id
        )
        await PositionRepository(session).upsert(
            user_id, "BTC/USDT", side="long", amount=Decimal("0.01"), entry_price=Decimal("50000"), pair_id=pair.id
        )
        key = f"binance:BTC/USDT:{user_id}:flat"
        await DecisionRepository(session).record_consultation(
            ConsultationInfo(key, "binance", "BTC/USDT", user_id, "flat"),
            [VoteRow("trend", "offline", "BUY", Decimal("0.8")), VoteRow("openai", "gpt", None, error="timeout")],
        )
        decision = await DecisionRepository(session).add_decision(
            user_id, "BTC/USDT", key, "BUY", "executed", pair_id=pair.id
        )
        await AuditRepository(session).record(f"telegram:{user_id}", "addpair", user_id, "BTC/USDT", {"budget": "1000"})
        await HeartbeatRepository(session).beat(user_id, "BTC/USDT", "running", cycle_completed=True)
        await PaperLedgerRepository(session).save(user_id, account.id, {"balances": {"USDT": "1"}})
        await UserStateRepository(session).update(user_id, balance=Decimal("5"), equity=Decimal("6"))
        return {"account": account.id, "pair": pair.id, "order": order.id, "trade": trade.id, "decision": decision.id}


async def test_every_repository_when_another_user_asks_then_sees_nothing(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    alice, bob = await _two_users(database, telegram_id)
    ids = await _populate(database, alice, f"a-{alice}")

    async with database.transaction() as session:
        accounts = AccountRepository(session, BOX)
        assert await accounts.get(bob, ids["account"]) is None
        assert await accounts.credentials(bob, ids["account"]) is None
        assert await accounts.list_for_user(bob) == []
        assert await accounts.active(bob) is None
        assert await PairRepository(session).get(bob, "BTC/USDT") is None
        assert await PairRepository(session).list_for_user(bob) == []
        orders = OrderRepository(session)
        assert await orders.by_client_id(bob, f"a-{alice}") is None
        assert await orders.list_for_user(bob) == []
        assert await TradeRepository(session).get(bob, ids["trade"]) is None
        assert await TradeRepository(session).list_for_user(bob) == []
        assert await TradeRepository(session).open_trade(bob, "BTC/USDT") is None
        assert await PositionRepository(session).get(bob, "BTC/USDT") is None
        assert await PositionRepository(session).list_for_user(bob) == []
        decisions = DecisionRepository(session)
        assert await decisions.recent_decisions(bob) == []
        assert await decisions.votes(bob, ids["decision"]) == []
        assert await decisions.recent_votes(bob, "BTC/USDT") == []
        assert await decisions.provider_stats(bob) == []
        assert await AuditRepository(session).list_for_user(bob) == []
        assert await HeartbeatRepository(session).list_for_user(bob) == []
        assert await PaperLedgerRepository(session).load(bob, ids["account"]) is None
        assert await ReportRepository(session).recent_trades(bob) == []
        overview = await ReportRepository(session).overview(bob)
        assert overview is not None and overview["pairs"] == 0 and overview["open_positions"] == 0

    async with database.transaction() as session:  # ... while alice sees her own
        assert len(await DecisionRepository(session).votes(alice, ids["decision"])) == 2
        stats = {row["provider"]: row for row in await DecisionRepository(session).provider_stats(alice)}
        assert stats["openai"]["abstentions"] == 1 and stats["trend"]["buys"] == 1
        assert (await ReportRepository(session).overview(alice))["pairs"] == 1
        assert len(await ReportRepository(session).recent_trades(alice)) == 1


async def test_every_repository_when_another_user_writes_then_changes_nothing(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    alice, bob = await _two_users(database, telegram_id)
    ids = await _populate(database, alice, f"w-{alice}")

    async with database.transaction() as session:
        pairs = PairRepository(session)
        assert await pairs.set_status(bob, "BTC/USDT", "paused") is None
        assert await pairs.save_breaker(bob, "BTC/USDT", {"state": "open"}, "open") is None
        assert await pairs.remove(bob, "BTC/USDT") is False
        assert (
            await TradeRepository(session).close(bob, ids["trade"], Decimal("1"), Decimal("-1"), utc_now(), "manual")
            is None
        )
        assert await PositionRepository(session).remove(bob, "BTC/USDT") is False
        assert await AccountRepository(session, BOX).deactivate_all(bob) == 0
        order = Order(
            id="x",
            client_order_id=f"w-{alice}",
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.MARKET,
            status=OrderStatus.CANCELED,
            amount=Decimal("0.01"),
            filled=Decimal(0),
            ts=0,
        )
        assert await OrderRepository(session).apply_update(bob, order) is None
        assert await OrderRepository(session).mark_failed(bob, f"w-{alice}", "nope") is None
        alice_order = await OrderRepository(session).by_client_id(alice, f"w-{alice}")
        with pytest.raises(PermissionError):
            await OrderRepository(session).record_fill(
                bob, alice_order, Fill("x", "BTC/USDT", OrderSide.BUY, Decimal(1), Decimal(1), Decimal(0), "USDT", 0)
            )

    async with database.transaction() as session:
        pair = await PairRepository(session).get(alice, "BTC/USDT")
        assert pair is not None and pair.status == "active" and pair.breaker == {}
        assert (await TradeRepository(session).get(alice, ids["trade"])).status == "open"
        assert await PositionRepository(session).get(alice, "BTC/USDT") is not None
        assert (await AccountRepository(session, BOX).active(alice)) is not None
        assert (await OrderRepository(session).by_client_id(alice, f"w-{alice}")).status == "pending"


async def test_delete_user_when_rows_exist_then_cascade_removes_all_of_them(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    alice, bob = await _two_users(database, telegram_id)
    await _populate(database, alice, f"d-{alice}")
    await _populate(database, bob, f"d-{bob}")

    async with database.transaction() as session:
        assert await UserRepository(session).delete(alice)

    async with database.transaction() as session:
        for model in (ExchangeAccount, TradeRow, TradeDecision):
            assert await session.scalar(select(func.count()).select_from(model).where(model.user_id == alice)) == 0
            assert await session.scalar(select(func.count()).select_from(model).where(model.user_id == bob)) > 0
        assert await session.get(User, bob) is not None


async def test_add_pair_when_symbol_already_added_then_clear_error_and_nothing_lost(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    alice, _ = await _two_users(database, telegram_id)
    async with database.transaction() as session:
        await PairRepository(session).add(alice, "ETH/USDT", Decimal("500"))

    async with database.transaction() as session:
        with pytest.raises(PairExists, match="already in your pairs"):
            await PairRepository(session).add(alice, "ETH/USDT", Decimal("900"))
        await PairRepository(session).add(alice, "SOL/USDT", Decimal("100"))  # the session is still usable

    async with database.transaction() as session:
        pairs = {p.symbol: p.budget for p in await PairRepository(session).list_for_user(alice)}
        assert pairs == {"ETH/USDT": Decimal("500"), "SOL/USDT": Decimal("100")}


async def test_record_fill_when_the_same_fill_arrives_twice_then_stored_once(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    alice, _ = await _two_users(database, telegram_id)
    cid = f"f-{alice}"
    fill = Fill(
        "ex-1",
        "BTC/USDT",
        OrderSide.BUY,
        Decimal("50000.5"),
        Decimal("0.004"),
        Decimal("0.2"),
        "USDT",
        1_700_000_000_000,
        "t-1",
    )
    order = Order(
        id="ex-1",
        client_order_id=cid,
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.MARKET,
        status=OrderStatus.FILLED,
        amount=Decimal("0.004"),
        filled=Decimal("0.004"),
        ts=0,
        average=Decimal("50000.5"),
        fee=Decimal("0.2"),
        fee_currency="USDT",
        fills=(fill,),
    )
    async with database.transaction() as session:
        await OrderRepository(session).add_pending(
            alice, OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.004"), cid)
        )

    for _ in range(2):
        async with database.transaction() as session:
            await OrderRepository(session).apply_update(alice, order)

    async with database.transaction() as session:
        row = await OrderRepository(session).by_client_id(alice, cid)
        fills = await OrderRepository(session).fills(alice, row.id)
        assert row.status == "filled" and row.filled == Decimal("0.004") and row.exchange_order_id == "ex-1"
        assert [(f.price, f.amount) for f in fills] == [(Decimal("50000.5"), Decimal("0.004"))]


async def test_record_consultation_when_many_users_share_it_then_votes_stored_once_and_seen_by_each(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    alice, bob = await _two_users(database, telegram_id)
    _, carol = await _two_users(database, telegram_id)
    key = f"binance:ETH/USDT:{alice}:flat"
    votes = [
        VoteRow("trend", "offline", "BUY", Decimal("0.7")),
        VoteRow("breakout", "offline", "BUY", Decimal("0.9")),
        VoteRow("anthropic", "claude", None, error="http_429"),
    ]
    async with database.transaction() as session:
        repo = DecisionRepository(session)
        assert await repo.record_consultation(ConsultationInfo(key, "binance", "ETH/USDT", 1, "flat"), votes) == 3
        assert await repo.record_consultation(ConsultationInfo(key, "binance", "ETH/USDT", 1, "flat"), votes) == 0
        mine = await repo.add_decision(alice, "ETH/USDT", key, "BUY", "executed")
        theirs = await repo.add_decision(
            bob,
            "ETH/USDT",
            key,
            "BUY",
            "rejected",
            reason_code="breaker_open",
            reason_message="The circuit breaker is open.",
        )

    async with database.transaction() as session:
        repo = DecisionRepository(session)
        assert [v.provider for v in await repo.votes(alice, mine.id)] == ["anthropic", "breakout", "trend"]
        assert len(await repo.votes(bob, theirs.id)) == 3
        assert await repo.votes(bob, mine.id) == []
        assert await repo.recent_votes(carol, "ETH/USDT") == []
        assert len(await repo.recent_votes(bob, "ETH/USDT")) == 3
        assert (await repo.recent_decisions(bob))[0].reason_message == "The circuit breaker is open."


async def test_register_when_the_same_person_starts_twice_at_once_then_one_user(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    tg = telegram_id()

    async def start() -> tuple[int, bool]:
        async with database.transaction() as session:
            user, created = await UserRepository(session).register(tg, "twice")
            return user.id, created

    results = await asyncio.gather(*(start() for _ in range(5)))

    assert len({user_id for user_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(User).where(User.telegram_id == tg)) == 1
