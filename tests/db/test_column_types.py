from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.database import Database, DatabaseUnavailable
from db.repositories import PairRepository, TradeRepository, UserRepository

MONEY = st.decimals(
    min_value=Decimal("0.000000000000000001"),
    max_value=Decimal("99999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)


async def test_money_when_stored_then_read_back_exactly(database: Database, telegram_id: Callable[[], int]) -> None:
    values = [
        Decimal("0.000000000000000001"),
        Decimal("12345678901234567890.123456789012345678"),
        Decimal("0.1") + Decimal("0.2"),
        Decimal("1000"),
    ]
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
        for i, value in enumerate(values):
            await PairRepository(session).add(user.id, f"T{i}/USDT", value)

    async with database.transaction() as session:
        stored = [p.budget for p in await PairRepository(session).list_for_user(user.id)]
    assert stored == values
    assert all(isinstance(v, Decimal) for v in stored)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=MONEY, price=MONEY)
async def test_money_when_any_18_place_decimal_then_round_trips(
    database: Database, amount: Decimal, price: Decimal
) -> None:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(int(amount * 7 + price) % 10**11 + 10**11)
        trade = await TradeRepository(session).open(user.id, "BTC/USDT", "long", amount, price, datetime.now(UTC))
    async with database.transaction() as session:
        again = await TradeRepository(session).get(user.id, trade.id)
    assert (again.amount, again.entry_price) == (amount, price)


async def test_datetime_when_stored_with_any_zone_then_read_back_as_aware_utc(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    moment = datetime(2024, 3, 1, 15, 30, tzinfo=timezone(timedelta(hours=3)))
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
        trade = await TradeRepository(session).open(user.id, "BTC/USDT", "long", Decimal(1), Decimal(1), moment)

    async with database.transaction() as session:
        opened = (await TradeRepository(session).get(user.id, trade.id)).opened_at
    assert opened == moment and opened.tzinfo is not None and opened.utcoffset() == timedelta(0)


async def test_datetime_when_naive_then_refused_and_nothing_saved(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
    with pytest.raises(Exception, match="naive datetime"):
        async with database.transaction() as session:
            await TradeRepository(session).open(
                user.id, "BTC/USDT", "long", Decimal(1), Decimal(1), datetime(2024, 1, 1)
            )
    async with database.transaction() as session:
        assert await TradeRepository(session).list_for_user(user.id) == []


async def test_transaction_when_database_unreachable_then_clear_error_without_password() -> None:
    database = Database("postgresql+asyncpg://quorum:hunter2secret@127.0.0.1:1/quorum")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with database.transaction() as session:
                await UserRepository(session).register(1)
        assert "unavailable" in str(caught.value) and "hunter2secret" not in str(caught.value)
    finally:
        await database.dispose()
