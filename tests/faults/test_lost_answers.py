"""Lost answers the engine settles later, one at a time (what the 20% fault run found or risks): one live account on
the Binance emulator, real ccxt over HTTP, the engine trading every cycle (open, close, open ...).

- an entry filled whose fills cannot be read: unknown at first, then booked with its fills, and protected;
- an exit whose answer is lost: the round trip is closed on the exit's fills for its reason, not "closed by the
  exchange" at the entry price;
- a stop loss whose answer is lost: the trade stands (no second entry opens beside it); it is protected once the
  exchange answers, whether the stop had been placed or not;
- an outage (every private request fails for a while): not a crash; the user is told once, the pair is never put
  in `error`, and trading goes on once the exchange answers.

After each, the exchange's books and Quorum's agree in full (tests/faults/exchange_books.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db.database import Database
from db.models import TradeRow
from engine.events import EventKind
from engine.ids import Intent, client_order_id
from tests.engine.live_support import MINUTE, START, migrated_database
from tests.exchange.binance_emulator import BinanceEmulator, Fault
from tests.exchange.conftest import eventually
from tests.exchange.emulator_server import RandomFaults
from tests.faults.exchange_books import audit
from tests.faults.exchange_world import RETRIES, SYMBOL, World, fault_world

ALL_ATTEMPTS = RETRIES.max_retries + 1
ORDER, ALGO, TRADES = "/fapi/v1/order", "/fapi/v1/algoOrder", "/fapi/v1/userTrades"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'quorum.db'}") as database:
        async with fault_world(database, users=1, rate=0.0, seed=0) as world:
            yield world


def _only(world: World) -> tuple[int, BinanceEmulator]:
    [(user_id, emulator)] = world.emulators.items()
    return user_id, emulator


def _placed(emulator: BinanceEmulator, cid: str) -> list[str]:
    return [o.status for o in emulator.stored_orders() if o.client_order_id == cid]


async def _trades(database: Database) -> list[TradeRow]:
    async with database.transaction() as session:
        return list(await session.scalars(select(TradeRow).order_by(TradeRow.id)))


async def _books_agree(world: World) -> None:
    books = await audit(world.database, world.emulators, SYMBOL)
    assert books.problems() == {}


async def test_entry_when_its_fills_cannot_be_read_then_unknown_and_later_booked_with_fills_and_protected(
    world: World,
) -> None:
    user_id, emulator = _only(world)
    emulator.inject_after(("POST", ORDER), "GET", TRADES, Fault("status", status=503), times=ALL_ATTEMPTS)

    await world.runtime.start()
    await world.all_stepped()  # START: the entry fills; its trades cannot be read

    entry = client_order_id(user_id, SYMBOL, START, Intent.ENTRY)
    assert world.notifier.kinds().count(EventKind.ORDER_UNKNOWN) == 1
    assert await _trades(world.database) == []  # nothing booked without price and fee
    await world.tick()  # reconciled: booked from its fills and protected, then closed by the cycle's signal
    for intent in (Intent.STOP_LOSS, Intent.TAKE_PROFIT):
        assert _placed(emulator, client_order_id(user_id, SYMBOL, START, intent)) == ["CANCELED"]
    [trade] = await _trades(world.database)
    assert (trade.status, trade.close_reason) == ("closed", "signal")
    assert _placed(emulator, entry) == ["FILLED"]
    await _books_agree(world)


async def test_exit_when_its_answer_is_lost_then_the_trade_closes_on_the_exit_fills_for_its_reason(
    world: World,
) -> None:
    user_id, emulator = _only(world)
    await world.runtime.start()
    await world.all_stepped()  # START: entry, stop loss, take profit
    emulator.inject("POST", ORDER, Fault("drop", after_processing=True))  # the exit at START + 1 minute
    emulator.inject_after(("POST", ORDER), "GET", ORDER, Fault("status", status=503), times=ALL_ATTEMPTS)

    await world.tick()
    exit_ = client_order_id(user_id, SYMBOL, world.now, Intent.EXIT)
    assert _placed(emulator, exit_) == ["FILLED"]
    assert world.notifier.kinds().count(EventKind.ORDER_UNKNOWN) == 1
    await world.tick()  # the exit is read: the round trip closes on it; the cycle opens the next

    first, second = await _trades(world.database)
    assert (first.status, first.close_reason, second.status) == ("closed", "signal", "open")
    [exit_order] = [o for o in emulator.stored_orders() if o.client_order_id == exit_]
    assert first.exit_price == exit_order.cum_quote / exit_order.executed_qty
    await _books_agree(world)


@pytest.mark.parametrize("placed", [True, False], ids=["stop placed", "stop never placed"])
async def test_stop_loss_when_its_answer_is_lost_then_the_trade_stands_and_is_protected_later(
    world: World, placed: bool
) -> None:
    user_id, emulator = _only(world)
    emulator.inject("POST", ALGO, Fault("drop", after_processing=placed))
    emulator.inject_after(("POST", ALGO), "GET", ORDER, Fault("status", status=503), times=ALL_ATTEMPTS)

    await world.runtime.start()
    await world.all_stepped()  # START: the entry fills, its stop loss cannot be confirmed

    stop = client_order_id(user_id, SYMBOL, START, Intent.STOP_LOSS)
    take = client_order_id(user_id, SYMBOL, START, Intent.TAKE_PROFIT)
    assert _placed(emulator, stop) == (["NEW"] if placed else [])
    engine = world.runtime.manager.engines[(user_id, SYMBOL)]
    assert engine.state.open_trade is not None and engine.unknown_orders == {stop}
    await world.tick()  # the stop is settled, the protection completed; the cycle's signal closes the trade
    assert (_placed(emulator, stop), _placed(emulator, take)) == (["CANCELED"], ["CANCELED"])
    [trade] = await _trades(world.database)  # no second entry was opened beside the first
    assert (trade.status, trade.close_reason) == ("closed", "signal")
    await world.tick()  # flat again: the next entry opens
    assert [t.status for t in await _trades(world.database)] == ["closed", "open"]
    await _books_agree(world)


async def test_outage_when_every_private_request_fails_for_a_while_then_no_crash_and_trading_goes_on(
    world: World,
) -> None:
    user_id, emulator = _only(world)
    await world.runtime.start()
    await world.all_stepped()  # START: a trade opens
    emulator.random_faults = RandomFaults(rate=1.0, mix=(("503", Fault("status", status=503)),))
    watch = world.runtime.manager.supervision[(user_id, SYMBOL)]

    world.now += MINUTE
    await world.clock.advance_to(world.now)
    failed_steps = 8  # each step gives up after every attempt at one read; five crashes used to mean `error`
    await eventually(lambda: emulator.random_faults.counts["503"] >= failed_steps * ALL_ATTEMPTS, timeout=60)
    assert (watch.status, watch.crashes, watch.unreachable) == ("running", [], True)
    emulator.random_faults = None
    await eventually(lambda: not watch.unreachable, timeout=30)  # the step at START + 1 minute: the trade closes
    await world.tick()  # and the next one opens a new one

    told = [e.message for e in world.notifier.events if e.kind is EventKind.ENGINE_ERROR]
    assert len(told) == 1 and "cannot be reached" in told[0]
    assert not watch.unreachable and watch.crashes == []
    assert [(t.status, t.close_reason) for t in await _trades(world.database)] == [("closed", "signal"), ("open", None)]
    await _books_agree(world)
