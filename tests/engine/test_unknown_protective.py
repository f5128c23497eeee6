"""A protective order the exchange cannot tell about (its client-id lookup answers "cannot tell") never crashes
the engine nor closes the trade on a guess: the user is told once, no new entry opens, and the trade settles
normally once the exchange answers again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.errors import OrderStateUnknown
from adapters.exchange.port import ExchangePort
from db.database import Database
from db.models import ExchangeAccount
from engine.events import EventKind
from engine.notifier import InMemoryNotifier
from engine.replay_runtime import build_replay_runtime
from engine.service import QuorumService
from tests.engine.live_support import DAY, HOUR, migrated_database
from tests.engine.live_support import REPLAY_START as START
from tests.engine.live_support import SETTINGS as BASE

SETTINGS = BASE.model_copy(update={"timeframes": ["1h", "4h", "1d"]})


class Blind:
    """Lookups of protective orders answer "cannot tell" while `blind` is set."""

    def __init__(self, inner: ExchangePort) -> None:
        self.inner, self.blind, self.refused = inner, False, 0

    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Any:
        if self.blind and client_order_id.split("-")[2] in ("sl", "tp"):
            self.refused += 1
            raise OrderStateUnknown(f"cannot tell about {client_order_id}", client_order_id=client_order_id)
        return await self.inner.fetch_order_by_client_id(client_order_id, symbol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
async def sqlite_database(tmp_path: Any) -> AsyncIterator[Database]:
    async with migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'quorum.db'}") as database:
        yield database


async def test_protective_lookup_when_the_exchange_cannot_tell_then_no_crash_no_guess_and_settled_later(
    sqlite_database: Database,
) -> None:
    ports: list[Blind] = []

    def blind(row: ExchangeAccount, client: ExchangePort) -> ExchangePort:
        ports.append(Blind(client))
        return ports[-1]  # type: ignore[return-value]

    notifier = InMemoryNotifier()
    world = build_replay_runtime(
        sqlite_database, SETTINGS, notifier, build_shared_ensemble(SETTINGS), data=shipped_candle_file(),
        start_ms=START, stepped=True, cycle_ms=4 * HOUR, wrap_account=blind,
    )  # fmt: skip
    service = QuorumService(sqlite_database, SETTINGS, gateway=world.gateway, control=world.runtime.control(),
                            clock=world.clock)  # fmt: skip
    await service.accounts.register(7001, "Ann")
    await service.accounts.connect_paper(7001, "10000")
    await service.pairs.add(7001, "BTC/USDT", "2000", 3)
    engine = next(iter(world.runtime.manager.engines.values()))
    port = ports[0]
    try:
        now = START
        while engine.state.open_trade is None and now < START + 40 * DAY:  # until a trade is open
            await world.run_stepped(now, now)
            now += HOUR
        assert engine.state.open_trade is not None, "a trade must open for the check to mean anything"
        opened = notifier.kinds().count(EventKind.POSITION_OPENED)
        port.blind = True
        await world.run_stepped(now, now + 3 * DAY)
        watch = world.runtime.manager.supervision[(engine.user_id, engine.symbol)]
        assert watch.crashes == [] and watch.status == "running"
        assert notifier.kinds().count(EventKind.ORDER_UNKNOWN) >= 1
        assert notifier.kinds().count(EventKind.POSITION_OPENED) == opened  # no new entry while unknown
        if port.refused:  # the trade needed its protective orders looked up while blind
            assert engine.unknown_orders
        port.blind = False
        await world.run_stepped(now + 3 * DAY + HOUR, now + 10 * DAY)
        assert not engine.unknown_orders and watch.crashes == []
    finally:
        await world.runtime.stop()
        await world.runtime.ensemble.close()
