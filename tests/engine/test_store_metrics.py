"""The database store's figures in /metrics (SQLite and PostgreSQL): quorum_cycles_total counts each candle an
engine claims, once; quorum_orders_total{status} counts each status an order reaches, once, however many times
the exchange reports it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from db.database import Database
from db.repositories import AccountRepository, PairRepository, UserRepository
from domain.trading import Order, OrderRequest, OrderSide, OrderStatus, OrderType
from engine.store_db import DbEngineStore
from telemetry import METRICS

BTC = "BTC/USDT"


async def _pair(database: Database, telegram_id: int) -> int:
    async with database.transaction() as session:
        user, _ = await UserRepository(session).register(telegram_id, "mia", "Mia")
        account = await AccountRepository(session).add_paper(user.id, Decimal(10000), "binance", "spot")
        await PairRepository(session).add(user.id, BTC, Decimal(1000), 1, account.id)
    return user.id


def _orders() -> dict[str, float]:
    return {status.value: METRICS.value("quorum_orders_total", status=status.value) for status in OrderStatus}


def _report(cid: str, status: OrderStatus, filled: str) -> Order:
    return Order("x-" + cid, cid, BTC, OrderSide.BUY, OrderType.MARKET, status, Decimal(1), Decimal(filled), 0)


async def test_store_metrics_when_candles_are_claimed_then_each_cycle_counts_once(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user = await _pair(database, telegram_id())
    store = DbEngineStore(database)
    before = METRICS.value("quorum_cycles_total")

    assert await store.claim_candle(user, BTC, 3_600_000)
    assert not await store.claim_candle(user, BTC, 3_600_000)  # a second process, or a restart: refused
    assert await store.claim_candle(user, BTC, 7_200_000)

    assert METRICS.value("quorum_cycles_total") - before == 2


async def test_store_metrics_when_an_order_moves_through_its_statuses_then_each_counts_once(
    database: Database, telegram_id: Callable[[], int]
) -> None:
    user = await _pair(database, telegram_id())
    store = DbEngineStore(database)
    filled, refused = f"q-met-{user}-f", f"q-met-{user}-r"
    before = _orders()

    for cid in (filled, refused):
        request = OrderRequest(BTC, OrderSide.BUY, OrderType.MARKET, Decimal(1), cid)
        await store.order_pending(user, request, "entry")
    await store.order_pending(user, OrderRequest(BTC, OrderSide.BUY, OrderType.MARKET, Decimal(1), filled), "entry")
    await store.order_update(user, _report(filled, OrderStatus.OPEN, "0"), "entry")
    await store.order_update(user, _report(filled, OrderStatus.OPEN, "0"), "entry")  # reported again: no change
    await store.order_update(user, _report(filled, OrderStatus.FILLED, "1"), "entry")
    await store.order_update(user, _report(filled, OrderStatus.OPEN, "1"), "entry")  # late and stale
    await store.order_failed(user, refused, "the exchange refused it", OrderStatus.REJECTED)
    await store.order_failed(user, filled, "a stale failure report", OrderStatus.REJECTED)  # final: kept

    after = _orders()
    change = {status: after[status] - before[status] for status in after}
    assert change == {"pending": 2, "unknown": 0, "open": 1, "partially_filled": 0, "filled": 1, "canceled": 0,
                      "rejected": 1, "expired": 0}  # fmt: skip
