"""How the service tells running engines what it has just written to the database.

The database is the source of truth: the service writes it first, then calls an EngineControl so the engines of
this process follow at once. Without one (the admin CLI in another process) the change stands in the database
and is picked up when the engines load it; only what needs a live engine (closing a position, resetting a
breaker held in an engine's memory) is refused.

ManagerControl is the implementation over a MultiPairManager: it adds, starts and removes engines, hands a
changed pair its new configuration and limits, and runs user requests (close, resume) under the pair's step
lock, so they never land in the middle of a cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from loguru import logger

from domain.money import ms_to_datetime
from engine.events import EngineEvent, EventKind
from engine.records import ClosedTrade
from risk import BreakerEvent, BreakerStatus, RiskLimits, RiskManager

if TYPE_CHECKING:  # the service imports this module without the engine's heavy parts (the admin CLI)
    from engine.manager import MultiPairManager
    from engine.pair_engine import PairEngine
    from engine.state import UserBook

BuildEngine = Callable[[int, str], Awaitable["PairEngine"]]
StopEngine = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PairChange:
    """A pair's configuration as the service just stored it, with the risk limits it now trades under."""

    budget: Decimal
    leverage: int
    paused: bool
    limits: RiskLimits


@runtime_checkable
class EngineControl(Protocol):
    async def pair_added(self, user_id: int, symbol: str) -> None:
        """A pair was added (or re-added): build its engine from the database and start it."""
        ...

    async def pair_changed(self, user_id: int, symbol: str, change: PairChange) -> None:
        """Budget, leverage, pause or limits changed: the engine applies them from its next step."""
        ...

    async def pair_removed(self, user_id: int, symbol: str) -> None:
        """Stop the pair's engine (it finishes the step it is in)."""
        ...

    async def close_position(self, user_id: int, symbol: str) -> ClosedTrade | None:
        """Close the pair's open position at market; None when it holds none."""
        ...

    async def resume_breaker(self, user_id: int) -> tuple[BreakerEvent, ...]:
        """Reset every open breaker of the user held by a running engine; the events say what reopened."""
        ...


class ManagerControl:
    """EngineControl over a MultiPairManager. build_engine(user_id, symbol) makes a PairEngine from the stored
    pair; stop_engine (default: manager.remove) stops one, for a runtime that also releases its clients;
    start_engines=False leaves the stepping to the caller (a replay steps the manager itself)."""

    def __init__(
        self,
        manager: MultiPairManager,
        build_engine: BuildEngine,
        *,
        stop_engine: StopEngine | None = None,
        start_engines: bool = True,
    ) -> None:
        self.manager = manager
        self._build = build_engine
        self._stop = stop_engine or manager.remove
        self._start_engines = start_engines

    async def pair_added(self, user_id: int, symbol: str) -> None:
        key = (user_id, symbol)
        if key not in self.manager.engines:
            self.manager.add(await self._build(user_id, symbol))
        if self._start_engines:
            self.manager.start([key])

    async def pair_changed(self, user_id: int, symbol: str, change: PairChange) -> None:
        key = (user_id, symbol)
        watch = self.manager.supervision.get(key)
        if watch is not None and watch.status == "error" and not change.paused:
            await self._stop(user_id, symbol)  # the supervisor gave up after repeated crashes: start afresh
        if key not in self.manager.engines:
            if not change.paused:
                await self.pair_added(user_id, symbol)
            return

        async def apply(engine: PairEngine) -> None:
            config = replace(engine.config, budget=change.budget, leverage=change.leverage, paused=change.paused)
            self.manager.reconfigure(user_id, symbol, config)
            if engine.risk.limits != change.limits:
                engine.risk = RiskManager(change.limits)  # breaker states live in the engine's state, not here

        await self.manager.between_steps(user_id, symbol, apply)

    async def pair_removed(self, user_id: int, symbol: str) -> None:
        await self._stop(user_id, symbol)

    async def close_position(self, user_id: int, symbol: str) -> ClosedTrade | None:
        if (user_id, symbol) not in self.manager.engines:
            await self.pair_added(user_id, symbol)  # e.g. a pair not loaded at start: it still holds a position

        async def close(engine: PairEngine) -> ClosedTrade | None:
            now = self.manager.clock.now_ms()
            await engine.start(now)  # the stored state, reconciled: what the engine would trade on next
            return await engine.close_position(now)

        return await self.manager.between_steps(user_id, symbol, close)

    async def resume_breaker(self, user_id: int) -> tuple[BreakerEvent, ...]:
        events: list[BreakerEvent] = []

        async def resume(engine: PairEngine) -> tuple[BreakerEvent, ...]:
            now = self.manager.clock.now_ms()
            await engine.start(now)  # never reset a breaker the engine has not loaded yet
            return await engine.resume_breaker(now)

        engines = self.manager.engines_of(user_id)
        for engine in engines:
            events.extend(await self.manager.between_steps(user_id, engine.symbol, resume))
        books: dict[int, tuple[UserBook, PairEngine]] = {}
        for engine in engines:
            books.setdefault(id(engine.book), (engine.book, engine))
        for book, engine in books.values():
            events.extend(await self._resume_daily(book, engine))
        return tuple(events)

    async def _resume_daily(self, book: UserBook, engine: PairEngine) -> tuple[BreakerEvent, ...]:
        """The user-wide daily loss limit lives in the user's book, shared by the user's engines."""
        if book.daily_breaker.status is not BreakerStatus.OPEN:
            return ()
        now = ms_to_datetime(self.manager.clock.now_ms())
        step = engine.risk.daily_breaker.resume(book.daily_breaker, now)
        book.daily_breaker = step.state
        await engine.store.save_user(book)
        for event in step.events:
            message = "daily loss limit reset: new entries allowed again"
            alert = EngineEvent(
                EventKind.BREAKER_RESUMED, book.user_id, engine.symbol, event.at, message, reason=event.reason.value
            )
            try:
                await self.manager.notifier.notify(alert)
            except Exception:  # noqa: BLE001 - a transport failure never undoes the reset
                logger.bind(user_id=book.user_id).exception("could not deliver an alert")
        return step.events
