"""MultiPairManager: one engine per (user, symbol), supervised.

Live, each engine is one named task that sleeps to the next tick of the clock and steps; a crash is logged
with the pair, the user is told, and the engine restarts after an exponential backoff without touching any
other engine; the fifth crash within an hour pauses the pair with status `error` and the reason. An exchange that
cannot be reached (TransientExchangeError, after the client's own retries) is not a crash: the user is told once,
and the step is retried with the same backoff for as long as the outage lasts. In a replay
the manager steps every engine itself, tick by tick, on the simulated clock: the same step() either way.
Stopping is cancel, then await with a timeout; a step is never cancelled between recording an order and
booking its answer, because cancellation is only delivered while an engine sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from loguru import logger

from adapters.exchange.errors import TransientExchangeError
from engine.clock import Clock
from engine.events import EngineEvent, EventKind
from engine.notifier import Notifier
from engine.pair_engine import PairConfig, PairEngine

PairKey = tuple[int, str]
MAX_CRASHES_PER_HOUR = 5
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 300.0


@dataclass(slots=True)
class Supervision:
    crashes: list[float] = field(default_factory=list)  # monotonic times of recent crashes
    last_error: str | None = None
    status: str = "starting"
    last_step_ms: int | None = None  # the tick of the last finished step (crashed or not): for health checks
    unreachable: bool = False  # the exchange could not be reached at the last step (the user has been told)

    def crashed(self, now: float, error: str) -> int:
        self.crashes = [t for t in self.crashes if now - t < 3600] + [now]
        self.last_error = error
        return len(self.crashes)


Heartbeat = Callable[[int, str, str, int, str | None], Awaitable[None]]


class MultiPairManager:
    def __init__(
        self,
        *,
        clock: Clock,
        notifier: Notifier,
        tick_ms: int = 60_000,
        heartbeat: Heartbeat | None = None,
        on_paused: Callable[[int, str, str], Awaitable[None]] | None = None,
        backoff_s: float = BACKOFF_START_S,
    ) -> None:
        self.clock = clock
        self.notifier = notifier
        self.tick_ms = tick_ms
        self.engines: dict[PairKey, PairEngine] = {}
        self.tasks: dict[PairKey, asyncio.Task[None]] = {}
        self.supervision: dict[PairKey, Supervision] = {}
        self._heartbeat = heartbeat
        self._on_paused = on_paused
        self._backoff_s = backoff_s  # the first restart's delay; it doubles per crash up to BACKOFF_MAX_S
        self._steps: dict[PairKey, asyncio.Lock] = {}

    # --- membership ----------------------------------------------------------------------------------------

    def add(self, engine: PairEngine) -> None:
        key = (engine.user_id, engine.symbol)
        if key in self.engines:
            raise ValueError(f"user {engine.user_id} already has a running {engine.symbol} engine")
        self.engines[key] = engine
        self.supervision[key] = Supervision()
        self._steps[key] = asyncio.Lock()

    def reconfigure(self, user_id: int, symbol: str, config: PairConfig) -> None:
        """A changed budget, leverage or pause applies from the engine's next step, without a restart."""
        engine = self.engines[(user_id, symbol)]
        engine.config = config

    def engines_of(self, user_id: int) -> list[PairEngine]:
        return [engine for (uid, _), engine in self.engines.items() if uid == user_id]

    async def between_steps[T](self, user_id: int, symbol: str, work: Callable[[PairEngine], Awaitable[T]]) -> T:
        """Run `work` on the pair's engine under its step lock, so never in the middle of one of its steps."""
        key = (user_id, symbol)
        async with self._steps[key]:
            return await work(self.engines[key])

    async def remove(self, user_id: int, symbol: str, timeout_s: float = 30.0) -> None:
        key = (user_id, symbol)
        await self._stop_task(key, timeout_s)
        self.engines.pop(key, None)
        self.supervision.pop(key, None)
        self._steps.pop(key, None)

    # --- live ----------------------------------------------------------------------------------------------

    def start(self, keys: Iterable[PairKey] | None = None) -> None:
        for key in list(keys if keys is not None else self.engines):
            if key not in self.tasks or self.tasks[key].done():
                user_id, symbol = key
                self.tasks[key] = asyncio.create_task(self._supervise(key), name=f"engine u{user_id} {symbol}")

    async def _supervise(self, key: PairKey) -> None:
        engine, watch = self.engines[key], self.supervision[key]
        backoff = self._backoff_s
        while watch.status != "error":
            now = self.clock.now_ms()
            tick = now - now % self.tick_ms
            async with self._steps[key]:
                crashed = await asyncio.shield(self.guarded_step(engine, tick))
            watch.last_step_ms = tick
            if crashed:
                if watch.status == "error":
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = self._backoff_s
            await self._beat(engine, watch.status, None)
            await self.clock.sleep_until(tick + self.tick_ms)  # at once if the step overran: no tick is lost

    async def guarded_step(self, engine: PairEngine, now: int) -> bool:
        """One step; a crash is logged, told, counted and answered with a restart (True), never raised."""
        key = (engine.user_id, engine.symbol)
        watch = self.supervision[key]
        if watch.status == "error":
            return False
        try:
            await engine.step(now)
        except TransientExchangeError as exc:  # an outage, not a bug: retried for as long as it lasts
            logger.bind(user=key[0], symbol=key[1]).warning("the exchange cannot be reached: {}", exc)
            await self._beat(engine, "error", f"{type(exc).__name__}: {exc}")
            if not watch.unreachable:
                watch.unreachable = True
                await self._tell(engine, f"{engine.symbol}: {exc} The engine keeps trying until it answers.")
            engine.restart()
            return True
        except Exception as exc:  # noqa: BLE001 - the supervisor's whole job
            error = f"{type(exc).__name__}: {exc}"
            logger.bind(user=key[0], symbol=key[1]).exception("engine crashed")
            count = watch.crashed(time.monotonic(), error)
            await self._beat(engine, "error", error)
            if count >= MAX_CRASHES_PER_HOUR:
                await self._give_up(engine, error, count)
            else:
                await self._tell(engine, f"{engine.symbol}: the engine stopped on an error ({error}); it restarts "
                                 "with its stored state.")  # fmt: skip
                engine.restart()
            return True
        watch.status = "paused" if engine.config.paused else "running"
        watch.unreachable = False
        return False

    async def _give_up(self, engine: PairEngine, error: str, count: int) -> None:
        reason = f"{count} crashes within an hour; last: {error}"
        engine.config = replace(engine.config, paused=True)
        try:
            await engine.store.set_pair_status(engine.user_id, engine.symbol, "error", reason)
            if self._on_paused is not None:
                await self._on_paused(engine.user_id, engine.symbol, reason)
        except Exception:  # noqa: BLE001 - the pair stops in this process all the same
            logger.bind(user=engine.user_id, symbol=engine.symbol).exception("could not store the error status")
        await self._tell(engine, f"{engine.symbol} paused after {reason}. /resume {engine.symbol} when it is fixed.")
        self.supervision[(engine.user_id, engine.symbol)].status = "error"  # last: observers see it all done

    async def _tell(self, engine: PairEngine, message: str) -> None:
        event = EngineEvent(EventKind.ENGINE_ERROR, engine.user_id, engine.symbol, _now(self.clock), message)
        try:
            await self.notifier.notify(event)
        except Exception:  # noqa: BLE001
            logger.exception("could not deliver an engine alert")

    async def _beat(self, engine: PairEngine, status: str, error: str | None) -> None:
        if self._heartbeat is None:
            return
        try:
            await self._heartbeat(engine.user_id, engine.symbol, status, engine.state.cycles, error)
        except Exception:  # noqa: BLE001 - a heartbeat never stops an engine
            logger.exception("could not write a heartbeat")

    async def _stop_task(self, key: PairKey, timeout_s: float) -> None:
        task = self.tasks.pop(key, None)
        if task is None or task.done():
            return
        task.cancel()
        try:
            await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout_s)
        except TimeoutError:
            logger.bind(user=key[0], symbol=key[1]).error("engine did not stop within {}s", timeout_s)

    async def shutdown(self, timeout_s: float = 30.0) -> None:
        """Cancel every engine and wait (with a timeout) until each has finished the step it was in."""
        await asyncio.gather(*(self._stop_task(key, timeout_s) for key in list(self.tasks)))

    # --- replay --------------------------------------------------------------------------------------------

    async def run_replay(
        self,
        advance_to: Callable[[int], object],
        start_ms: int,
        end_ms: int,
        on_tick: Callable[[int], Awaitable[None] | None] | None = None,
    ) -> None:
        """Step every engine at each tick from start_ms to end_ms on the simulated clock."""
        now = start_ms
        engines = list(self.engines.values())
        while now <= end_ms:
            advance_to(now)
            for engine in engines:
                await self.guarded_step(engine, now)
            if on_tick is not None:
                result = on_tick(now)
                if result is not None:
                    await result
            now += self.tick_ms


def _now(clock: Clock):
    from domain.money import ms_to_datetime

    return ms_to_datetime(clock.now_ms())
