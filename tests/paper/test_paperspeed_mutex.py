"""The paper account's Mutex: one holder at a time, waiters in arrival order, cancellation never loses it; and a
PaperExchange's concurrent calls still run one at a time."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.paper.mutex import Mutex
from domain.market import Ticker
from domain.trading import OrderRequest, OrderSide, OrderType

from .scripted_feed import ScriptedFeed, perp_market

D = Decimal


async def _critical(mutex: Mutex, name: str, inside: list[str], log: list[str], yields: int = 3) -> None:
    if not mutex.try_acquire():
        await mutex.acquire()
    try:
        inside.append(name)
        assert len(inside) == 1, f"{inside} hold the lock at once"
        log.append(name)
        for _ in range(yields):
            await asyncio.sleep(0)
        inside.remove(name)
    finally:
        mutex.release()


async def test_mutex_when_many_tasks_contend_then_one_holds_it_at_a_time_in_arrival_order() -> None:
    mutex, inside, log = Mutex(), [], []
    await asyncio.gather(*(_critical(mutex, f"t{i}", inside, log) for i in range(20)))
    assert log == [f"t{i}" for i in range(20)]
    assert not mutex.locked() and mutex.try_acquire()


async def test_mutex_when_released_then_a_newcomer_does_not_overtake_the_woken_waiter() -> None:
    mutex, order = Mutex(), []
    assert mutex.try_acquire()

    async def waiter() -> None:
        await mutex.acquire()
        order.append("waiter")
        mutex.release()

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # it waits now
    mutex.release()  # handed to the waiter, which has not run yet
    assert mutex.locked() and not mutex.try_acquire()  # so a newcomer cannot take it
    await task
    assert order == ["waiter"] and not mutex.locked()


async def test_mutex_when_a_waiter_is_canceled_then_the_others_still_get_it_in_turn() -> None:
    mutex, log = Mutex(), []
    assert mutex.try_acquire()

    async def take(name: str) -> None:
        async with mutex:
            log.append(name)

    tasks = [asyncio.create_task(take(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    tasks[1].cancel()
    await asyncio.sleep(0)
    mutex.release()
    await asyncio.gather(tasks[0], tasks[2])
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    assert log == ["a", "c"] and not mutex.locked()


async def test_mutex_when_canceled_just_after_the_handover_then_it_passes_the_lock_on() -> None:
    mutex, log = Mutex(), []
    assert mutex.try_acquire()

    async def take(name: str) -> None:
        async with mutex:
            log.append(name)

    first, second = asyncio.create_task(take("first")), asyncio.create_task(take("second"))
    await asyncio.sleep(0)
    mutex.release()  # handed to `first`...
    first.cancel()  # ...which is canceled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    assert log == ["second"] and not mutex.locked()


async def test_mutex_when_released_while_free_then_refused() -> None:
    with pytest.raises(RuntimeError):
        Mutex().release()


class SlowFeed(ScriptedFeed):
    """Yields to the loop inside every ticker and book read, and records how many account calls read at once."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reading = 0
        self.most_at_once = 0

    async def _slow(self) -> None:
        self.reading += 1
        self.most_at_once = max(self.most_at_once, self.reading)
        for _ in range(3):
            await asyncio.sleep(0)
        self.reading -= 1

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self._slow()
        return await super().fetch_ticker(symbol)

    async def fetch_order_book(self, symbol: str, limit: int = 20):
        await self._slow()
        return await super().fetch_order_book(symbol, limit)


async def test_exchange_when_engines_call_at_once_then_the_calls_run_one_at_a_time() -> None:
    symbol = "BTC/USDT:USDT"
    feed = SlowFeed(perp_market(symbol))
    paper = await PaperExchange.open(
        feed, starting_balances={"USDT": D(100000)}, config=PaperConfig(), clock=feed.clock
    )
    await paper.fetch_ticker(symbol)
    await paper.create_order(OrderRequest(symbol, OrderSide.BUY, OrderType.MARKET, D(1), client_order_id="open"))
    feed.most_at_once = 0

    async def engine(n: int) -> None:
        for step in range(3):
            await paper.process([symbol])
            await paper.fetch_balance()
            await paper.fetch_positions()
            request = OrderRequest(
                symbol, OrderSide.BUY, OrderType.LIMIT, D("0.1"), price=D(50), client_order_id=f"e{n}-{step}"
            )
            await paper.create_order(request)
            await paper.fetch_order_by_client_id(f"e{n}-{step}", symbol)
            await paper.fetch_open_orders(symbol)

    await asyncio.gather(*(engine(n) for n in range(6)))
    assert feed.most_at_once == 1
    assert len(await paper.fetch_open_orders(symbol)) == 18
