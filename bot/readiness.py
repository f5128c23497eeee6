"""What /readyz checks in a running Quorum, and the engine figures /metrics reads at each scrape.

- database: a `SELECT 1` answers (the HTTP server bounds it with its check timeout).
- telegram: the Bot API answered getMe within the last `fresh_s` seconds; an older answer is refreshed by a new
  getMe, so a probe every few seconds costs Telegram one call per `fresh_s`. Console transport: not applicable.
- engines: every pair the manager holds has its supervised task running (a pair the supervisor paused with
  status `error` is the user's to fix, not a reason to take the process out of service).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from loguru import logger
from sqlalchemy import text

from bot.health_http import Check, HealthServer, NotReady
from db.database import Database
from engine.live import LiveRuntime
from telemetry import METRICS, RuntimeFigures

TELEGRAM_FRESH_S = 30.0


def database_check(database: Database) -> Check:
    async def check() -> str:
        try:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure: not reachable (the URL's password never shown)
            raise NotReady(f"unreachable ({type(exc).__name__})") from None
        return "reachable"

    return check


class TelegramCheck:
    """Readiness of the Bot API through `get_me` (the bot's getMe), answered at most every `fresh_s` seconds."""

    def __init__(
        self,
        get_me: Callable[[], Awaitable[object]],
        fresh_s: float = TELEGRAM_FRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.get_me, self.fresh_s, self.clock = get_me, fresh_s, clock
        self.last_ok: float | None = None

    async def __call__(self) -> str:
        now = self.clock()
        if self.last_ok is not None and now - self.last_ok < self.fresh_s:
            return f"getMe answered {now - self.last_ok:.0f}s ago"
        try:
            await self.get_me()
        except Exception as exc:  # noqa: BLE001 - unreachable, 5xx, flood control: not ready
            raise NotReady(f"Bot API unreachable ({type(exc).__name__})") from None
        self.last_ok = self.clock()
        return "getMe answered"


async def console_transport() -> str:
    return "n/a: console transport"


def engines_check(runtime: LiveRuntime) -> Check:
    async def check() -> str:
        if runtime.stepped:
            return "n/a: stepped by the caller"
        figures = runtime_figures(runtime)
        manager = runtime.manager
        stopped = [
            f"u{user_id} {symbol}"
            for (user_id, symbol) in manager.engines
            if _status(runtime, (user_id, symbol)) != "error" and not _alive(runtime, (user_id, symbol))
        ]
        if stopped:
            raise NotReady(f"{len(stopped)} of {figures.engines} engines not running: {', '.join(stopped[:10])}")
        return f"{figures.engines_alive} of {figures.engines} running"

    return check


def runtime_figures(runtime: LiveRuntime) -> RuntimeFigures:
    engines = runtime.manager.engines
    return RuntimeFigures(
        engines=len(engines),
        engines_alive=sum(1 for key in engines if _alive(runtime, key)),
        open_positions=sum(1 for engine in engines.values() if engine.state.open_trade is not None),
    )


def _alive(runtime: LiveRuntime, key: tuple[int, str]) -> bool:
    task = runtime.manager.tasks.get(key)
    return task is not None and not task.done()


def _status(runtime: LiveRuntime, key: tuple[int, str]) -> str | None:
    watch = runtime.manager.supervision.get(key)
    return watch.status if watch is not None else None


async def start_health(
    database: Database, runtime: LiveRuntime, port: int, telegram: Check | None = None
) -> HealthServer | None:
    """The endpoint on `port` (0: a free one) with the three checks, the engine gauges watched. A port already in
    use is logged as an error and the process runs on without the endpoint: trading never waits on metrics."""
    server = HealthServer(
        {"database": database_check(database), "telegram": telegram or console_transport,
         "engines": engines_check(runtime)},
        METRICS.registry, port=port,
    )  # fmt: skip
    try:
        bound = await server.start()
    except OSError as exc:
        logger.error("cannot listen on METRICS_PORT {} ({}): no /healthz, /readyz or /metrics", port, exc.strerror)
        return None
    METRICS.watch(lambda: runtime_figures(runtime))
    logger.info("health and metrics on port {}: /healthz, /readyz, /metrics", bound)
    return server


async def stop_health(server: HealthServer | None) -> None:
    if server is not None:
        METRICS.watch(None)
        await server.stop()
