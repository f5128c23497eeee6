"""MultiPairManager: one engine per (user, symbol), supervised.

Live, each engine is one named task that sleeps to the next tick of the clock and steps; a crash is logged
with the pair, the user is told, and the engine restarts after an exponential backoff without touching any
other engine; the fifth crash within an hour pauses the pair with status `error` and the reason. An exchange that
cannot be reached (TransientExchangeError, after the client's own retries) is not a crash: the user is told once,
and the step is retried with the same backoff for as long as the outage lasts. In a replay
the manager steps every engine itself, tick by tick, on the simulated clock: the same step() either way.
Stopping is cancel, then await with a timeout; a step is never cancelled between recording an order and
booking its answer, because cancellation is only delivered while an engine sleeps. A live step that ran a cycle
is timed for /metrics (quorum_cycle_duration_seconds); a replay's steps are not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from loguru import logger

from adapters.exchange.errors import TransientExchangeError
from engine import log_context
from engine.clock import Clock
from engine.events import EngineEvent, EventKind
from engine.notifier import Notifier
from engine.outage import DatabaseOutage, Probe, is_unavailable
from engine.pair_engine import PairConfig, PairEngine

PairKey = tuple[int, str]
MAX_CRASHES_PER_HOUR = 5
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 300.0


@dataclass(slots=True)
class Supervision:
    crashes: list[float] = field(default_factory=list)  # monotonic times of recent crashes
    waited: bool = False  # the last step waited out a database outage: step again at once
    last_error: str | None = None
    status: str = "starting"
    last_step_ms: int | None = None  # the tick of the last finished step (crashed or not): for health checks
    step_since: float | None = None  # time.monotonic() when the live step it is in began (None: between steps)
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
        probe: Probe | None = None,
        probe_every_s: float = 2.0,
    ) -> None:
        """probe: a check that the database answers (raises while it does not); with one, an engine that meets
        an unreachable database waits for it (engine/outage.py) instead of crashing."""
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
        self._inflight: dict[PairKey, asyncio.Future[bool]] = {}  # the step a live engine is in
        self.outage = DatabaseOutage(probe, notifier, clock, probe_every_s) if probe is not None else None

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
            with log_context.step_context(user_id=user_id, symbol=symbol):
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
        from telemetry import METRICS  # live engines only: a replay (backtest) never imports prometheus_client

        engine, watch = self.engines[key], self.supervision[key]
        backoff = self._backoff_s
        while watch.status != "error":
            now = self.clock.now_ms()
            tick = now - now % self.tick_ms
            async with self._steps[key]:
                last_cycle, started = engine.state.last_candle_ts, time.perf_counter()
                watch.step_since = time.monotonic()
                step = self._inflight[key] = asyncio.ensure_future(self.guarded_step(engine, tick))
                crashed = await asyncio.shield(step)  # a stop lets the step finish; only the watchdog cuts it
                self._inflight.pop(key, None)
                watch.step_since = None
                if not crashed and engine.state.last_candle_ts == tick != last_cycle:  # this step ran a cycle
                    METRICS.cycle_seconds.observe(time.perf_counter() - started)
            if crashed and watch.waited:
                watch.waited = False
                continue  # the database is back: the step again, at the tick it is now
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
        """One step; a crash is logged, told, counted and answered with a restart (True), never raised. Every log
        line of the step carries user_id, symbol and cycle (the step's tick, ms: the candle the cycle claims)."""
        key = (engine.user_id, engine.symbol)
        watch = self.supervision[key]
        if watch.status == "error":
            return False
        token = log_context.enter(user_id=key[0], symbol=key[1], cycle=now)
        try:
            return await self._step(engine, watch, now)
        finally:
            log_context.leave(token)

    async def _step(self, engine: PairEngine, watch: Supervision, now: int) -> bool:
        try:
            await engine.step(now)
        except TransientExchangeError as exc:  # an outage, not a bug: retried for as long as it lasts
            logger.warning("the exchange cannot be reached: {}", exc)  # user_id, symbol, cycle: the step's context
            await self._beat(engine, "error", f"{type(exc).__name__}: {exc}")
            if not watch.unreachable:
                watch.unreachable = True
                await self._tell(engine, f"{engine.symbol}: {exc} The engine keeps trying until it answers.")
            engine.restart()
            return True
        except Exception as exc:  # noqa: BLE001 - the supervisor's whole job
            error = f"{type(exc).__name__}: {exc}"
            if self.outage is not None and is_unavailable(exc):
                await self.outage.wait([(engine.user_id, engine.symbol), *self.engines], error)
                engine.restart()  # the step may have stopped anywhere: reload and reconcile first
                watch.waited = True
                return True
            logger.exception("engine crashed")  # user_id, symbol and cycle come from guarded_step's context
            count = watch.crashed(time.monotonic(), error)
            await self._beat(engine, "error", error)
            if count >= MAX_CRASHES_PER_HOUR:
                await self._give_up(engine, error, count)
            else:
                await self._tell(engine, f"{engine.symbol}: the engine stopped on an error ({error}); it restarts "
                                 "with its stored state.")  # fmt: skip
                engine.restart()
            watch.last_step_ms = now
            return True
        watch.status = "paused" if engine.config.paused else "running"
        watch.last_step_ms = now
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
            logger.bind(user_id=engine.user_id, symbol=engine.symbol).exception("could not store the error status")
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

    # --- watchdog ------------------------------------------------------------------------------------------

    def silent(self, silent_s: float) -> list[PairKey]:
        """Live engines in the same step for over silent_s wall seconds (hung on a call that never returns), or
        whose supervisor task ended although the pair was neither removed nor given up. An engine asleep until its
        next tick is not silent, however long the tick."""
        if self.outage is not None and self.outage.active:
            return []  # every engine waits for the database: a wait, not a hang
        now = time.monotonic()
        keys = []
        for key, task in self.tasks.items():
            watch = self.supervision.get(key)
            if watch is None or watch.status == "error":
                continue
            if task.done() or (watch.step_since is not None and now - watch.step_since > silent_s):
                keys.append(key)
        return keys

    async def restart_silent(self, silent_s: float) -> list[PairKey]:
        """The heartbeat watchdog: cut the hung step of each silent engine, count it as a crash (five in an
        hour pause the pair with status error), tell the user, and start it again from its stored state."""
        restarted = []
        for key in self.silent(silent_s):
            engine, watch = self.engines[key], self.supervision[key]
            task, step = self.tasks.pop(key), self._inflight.pop(key, None)
            quiet = time.monotonic() - (watch.step_since or time.monotonic())
            error = "its supervisor stopped" if task.done() else f"no heartbeat for {quiet:.0f}s"
            logger.bind(user_id=key[0], symbol=key[1]).error("watchdog: {}; restarting the engine", error)
            for hung in (task, step):
                if hung is not None and not hung.done():
                    hung.cancel()
            await asyncio.gather(*(t for t in (task, step) if t is not None), return_exceptions=True)
            count = watch.crashed(time.monotonic(), error)
            await self._beat(engine, "error", error)
            if count >= MAX_CRASHES_PER_HOUR:
                await self._give_up(engine, error, count)
                continue
            await self._tell(engine, f"{engine.symbol}: the engine went silent ({error}); it restarts with its "
                             "stored state.")  # fmt: skip
            engine.restart()
            watch.step_since = None
            self.start([key])
            restarted.append(key)
        return restarted

    async def _stop_task(self, key: PairKey, timeout_s: float) -> None:
        """Cancel the engine's supervisor and wait (up to timeout_s) for the step it was in to finish."""
        task = self.tasks.pop(key, None)
        step = self._inflight.pop(key, None)
        if task is None or task.done():
            return
        task.cancel()
        waiting = [task] + ([step] if step is not None else [])
        try:
            await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), timeout_s)
        except TimeoutError:
            logger.bind(user_id=key[0], symbol=key[1]).error("engine did not stop within {}s", timeout_s)

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
        """Step every engine at each tick from start_ms to end_ms on the simulated clock: the engines of that tick
        (a pair added or removed meanwhile joins or leaves at the next one), each under its step lock."""
        now = start_ms
        while now <= end_ms:
            advance_to(now)
            for key, engine in list(self.engines.items()):
                lock = self._steps.get(key)
                if lock is None:  # removed while an earlier engine stepped
                    continue
                async with lock:
                    while await self.guarded_step(engine, now) and self.supervision[key].waited:
                        self.supervision[key].waited = False  # the database is back: this tick again
            if on_tick is not None:
                result = on_tick(now)
                if result is not None:
                    await result
            now += self.tick_ms


def _now(clock: Clock):
    from domain.money import ms_to_datetime

    return ms_to_datetime(clock.now_ms())
