"""Exchange updates of an order: fills are stored exactly once each, and an order's record only moves forward."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.database import Database
from db.repositories import OrderRepository, UserRepository
from domain.trading import Fill, Order, OrderRequest, OrderSide, OrderStatus, OrderType

RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.UNKNOWN: 0,
    OrderStatus.OPEN: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
}


def _rank(status: str) -> int:
    return RANK.get(OrderStatus(status), 3)


async def _pending(database: Database, telegram_id: Callable[[], int]) -> tuple[int, str]:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id())
        cid = f"upd-{user.id}"
        request = OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("1"), cid)
        await OrderRepository(session).add_pending(user.id, request)
        return user.id, cid


def _order(cid: str, status: OrderStatus, filled: str, fee: str = "0", fills: tuple[Fill, ...] = ()) -> Order:
    return Order(
        id="ex-1",
        client_order_id=cid,
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.MARKET,
        status=status,
        amount=Decimal("1"),
        filled=Decimal(filled),
        ts=1_700_000_000_000,
        average=Decimal("100") if Decimal(filled) else None,
        fee=Decimal(fee),
        fee_currency="USDT",
        fills=fills,
    )


def _fill(amount: str, ts: int = 1_700_000_000_000, trade_id: str = "") -> Fill:
    return Fill(
        "ex-1", "BTC/USDT", OrderSide.BUY, Decimal("100"), Decimal(amount), Decimal("0.1"), "USDT", ts, trade_id
    )


async def _apply(database: Database, user_id: int, order: Order) -> None:
    async with database.transaction() as session:
        await OrderRepository(session).apply_update(user_id, order)


async def _stored_fills(database: Database, user_id: int, cid: str) -> list[Decimal]:
    async with database.transaction() as session:
        row = await OrderRepository(session).by_client_id(user_id, cid)
        assert row is not None
        return [fill.amount for fill in await OrderRepository(session).fills(user_id, row.id)]


async def test_apply_update_when_two_fills_without_ids_are_identical_then_both_stored_once(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user_id, cid = await _pending(database, telegram_id)
    update = _order(cid, OrderStatus.FILLED, "0.5", "0.2", (_fill("0.25"), _fill("0.25")))

    await _apply(database, user_id, update)
    await _apply(database, user_id, update)

    assert await _stored_fills(database, user_id, cid) == [Decimal("0.25"), Decimal("0.25")]


async def test_apply_update_when_fills_without_ids_or_times_are_reported_again_then_each_stored_once(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    """An adapter stamps a fill that has no timestamp with the time it read it: a new ts on every update."""
    user_id, cid = await _pending(database, telegram_id)

    await _apply(database, user_id, _order(cid, OrderStatus.PARTIALLY_FILLED, "0.25", fills=(_fill("0.25", 1),)))
    await _apply(database, user_id, _order(cid, OrderStatus.PARTIALLY_FILLED, "0.25", fills=(_fill("0.25", 2),)))
    both = (_fill("0.25", 3), _fill("0.75", 3))
    await _apply(database, user_id, _order(cid, OrderStatus.FILLED, "1", fills=both))
    await _apply(database, user_id, _order(cid, OrderStatus.FILLED, "1", fills=both))

    assert await _stored_fills(database, user_id, cid) == [Decimal("0.25"), Decimal("0.75")]


async def test_apply_update_when_fills_have_ids_then_keyed_by_id_whatever_their_position(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user_id, cid = await _pending(database, telegram_id)
    first, second = _fill("0.25", trade_id="t-1"), _fill("0.75", trade_id="t-2")

    await _apply(database, user_id, _order(cid, OrderStatus.PARTIALLY_FILLED, "0.75", fills=(second,)))
    await _apply(database, user_id, _order(cid, OrderStatus.FILLED, "1", fills=(first, second)))

    assert await _stored_fills(database, user_id, cid) == [Decimal("0.75"), Decimal("0.25")]


async def test_apply_update_when_a_late_open_arrives_after_filled_then_stays_filled_with_its_fee(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user_id, cid = await _pending(database, telegram_id)
    await _apply(database, user_id, _order(cid, OrderStatus.FILLED, "1", "0.3"))

    await _apply(database, user_id, _order(cid, OrderStatus.OPEN, "0", "0"))
    await _apply(database, user_id, _order(cid, OrderStatus.CANCELED, "0.4", "0.1"))

    async with database.transaction() as session:
        row = await OrderRepository(session).by_client_id(user_id, cid)
    assert row is not None
    assert (row.status, row.filled, row.fee, row.average) == ("filled", Decimal("1"), Decimal("0.3"), Decimal("100"))


async def test_mark_failed_when_order_already_final_then_record_kept(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user_id, cid = await _pending(database, telegram_id)
    await _apply(database, user_id, _order(cid, OrderStatus.FILLED, "1", "0.3"))

    async with database.transaction() as session:
        await OrderRepository(session).mark_failed(user_id, cid, "timeout")
    async with database.transaction() as session:
        row = await OrderRepository(session).by_client_id(user_id, cid)
    assert row is not None and (row.status, row.error) == ("filled", None)


async def test_mark_failed_when_state_unknown_then_unknown_and_reconciled_later(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user_id, cid = await _pending(database, telegram_id)
    async with database.transaction() as session:
        await OrderRepository(session).mark_failed(user_id, cid, "lost answer", OrderStatus.UNKNOWN)
    async with database.transaction() as session:
        orders = OrderRepository(session)
        assert cid in {row.client_order_id for row in await orders.unresolved()}
        assert [row.status for row in await orders.list_for_user(user_id, open_only=True)] == ["unknown"]

    await _apply(database, user_id, _order(cid, OrderStatus.FILLED, "1", "0.3"))
    async with database.transaction() as session:
        row = await OrderRepository(session).by_client_id(user_id, cid)
    assert row is not None and row.status == "filled"


UPDATES = st.lists(
    st.tuples(
        st.sampled_from(list(OrderStatus)),
        st.decimals(min_value=0, max_value=1, places=3),
        st.decimals(min_value=0, max_value=1, places=3),
        st.integers(min_value=0, max_value=3),  # how many of the order's id-less fills the update reports
        st.integers(min_value=1, max_value=10**13),  # when the adapter read them: their ts when they have none
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates=UPDATES)
async def test_apply_update_when_updates_arrive_in_any_order_then_record_only_moves_forward(
    database: Database, telegram_id: Callable[[], int], updates: list[tuple[OrderStatus, Decimal, Decimal, int, int]]
) -> None:
    user_id, cid = await _pending(database, telegram_id)
    base = _order(cid, OrderStatus.PENDING, "0")
    before = ("pending", Decimal(0), Decimal(0))
    reported = 0
    for status, filled, fee, fills, read_at in updates:
        same = tuple(_fill("0.1", read_at) for _ in range(fills))  # indistinguishable but for their position
        await _apply(database, user_id, replace(base, status=status, filled=filled, fee=fee, fills=same))
        async with database.transaction() as session:
            row = await OrderRepository(session).by_client_id(user_id, cid)
        assert row is not None
        after = (row.status, row.filled, row.fee)
        forward = not OrderStatus(before[0]).is_final and _rank(status.value) >= _rank(before[0])
        assert after[0] == (status.value if forward else before[0])
        assert after[1] == max(before[1], filled) and after[2] == max(before[2], fee)
        reported = max(reported, fills)
        assert len(await _stored_fills(database, user_id, cid)) == reported
        before = after
