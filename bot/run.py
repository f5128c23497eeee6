"""`quorum run`: one process, one event loop: the engines (LiveRuntime, or the same runtime on replayed candles),
the service, the alert outbox and a transport (Telegram, or the terminal chat without a bot token).

Start-up migrates the database, resumes every runnable pair from it, then opens the transport and the health and
metrics endpoint (METRICS_PORT: /healthz, /readyz, /metrics); SIGTERM or SIGINT stops the endpoint and the
transport first (no new commands), then the engines (each finishes the step it is in), then the outbox sender,
so a restart resumes everything where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from loguru import logger

from adapters.ai.factory import build_shared_ensemble
from adapters.ai.shared import SharedEnsemble
from bot.chart_pool import ChartPool
from bot.commands import build_router
from bot.health_http import Check, HealthServer
from bot.outbox import OutboxNotifier, OutboxSender, Send
from bot.readiness import TelegramCheck, start_health, stop_health
from bot.router import Router
from bot.scheduler import Jobs, Periods, start_scheduler, stop_scheduler
from config.settings import Settings
from db.database import Database
from db.encryption import SecretBox
from db.migrate import upgrade
from db.vote_recorder import DbVoteRecorder
from domain.market import Candle, MarketType
from domain.money import ms_to_datetime
from engine.daily_summary import DailySummaries
from engine.live import LiveRuntime
from engine.notifier import CountingNotifier
from engine.service import QuorumService
from engine.service_gateway import CcxtGateway, ExchangeGateway
from telemetry import METRICS

if TYPE_CHECKING:
    from engine.replay_runtime import ReplayRuntime

CHART_CANDLES = 120
TRANSPORT_STOP_S = 10.0  # per part of the Telegram transport at shutdown (updater, application, its session)


@dataclass(slots=True)
class RunOptions:
    replay: Path | None = None
    speed: float = 3600.0  # simulated seconds per wall second in a replay
    stepped: bool = False  # a replay stepped tick by tick as fast as the engines go (deterministic)
    replay_end_ms: int | None = None  # a replay stops after this tick and the process exits (default: the file's end)
    symbol: str = "BTC/USDT"
    refresh_every_s: float = 30.0  # configuration pickup for changes made outside this process (admin CLI)
    periods: Periods | None = None  # the scheduled jobs' periods (None: the defaults, scaled to a replay's speed)
    schedule: bool = True  # False: no wall-clock scheduler; the caller runs quorum.jobs on its own ticks (the demo)
    cycle_ms: int | None = None  # a replay's decision interval (default: CYCLE_INTERVAL_MINUTES)
    start_ms: int | None = None  # where a replay starts (default: where the books stopped)
    role: str = "all"  # all: everything in this process; gateway / worker: see bot/run_roles.py
    concurrency: int = 8  # --role worker: jobs run at once


@dataclass(slots=True)
class Quorum:
    """The running parts, for the transports and for tests."""

    database: Database
    settings: Settings
    runtime: LiveRuntime
    service: QuorumService
    router: Router
    notifier: OutboxNotifier
    ensemble: SharedEnsemble
    jobs: Jobs
    replay: ReplayRuntime | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    scheduler: Any = None
    http: HealthServer | None = None
    charts: ChartPool | None = None

    async def start_http(self, telegram: Check | None = None) -> None:
        """/healthz, /readyz and /metrics on METRICS_PORT; telegram: its readiness check (None: console)."""
        self.http = await start_health(self.database, self.runtime, self.settings.metrics_port, telegram)

    async def start_sender(self, send: Send) -> OutboxSender:
        sender = OutboxSender(self.database, send)
        self.jobs.sender = sender
        self.tasks.append(asyncio.create_task(sender.run(self.notifier.queued), name="alert outbox"))
        return sender

    def start_jobs(self) -> None:
        self.scheduler = start_scheduler(self.jobs)

    def play_replay(self, end_ms: int | None, done: Callable[[], None]) -> None:
        """With --replay: play it to end_ms (stepped, or as the clock passes), then call done (the process ends)."""
        if self.replay is None:
            return
        replay = self.replay

        async def play() -> None:
            await replay.play(end_ms, on_tick=self.jobs.on_tick if replay.runtime.stepped else None)
            logger.info("the replay is over at {}", ms_to_datetime(replay.clock.now_ms()).isoformat())
            done()

        self.tasks.append(asyncio.create_task(play(), name="replay"))

    async def stop(self) -> None:
        await stop_health(self.http)
        self.http = None
        if self.scheduler is not None:
            stop_scheduler(self.scheduler)
        await self.runtime.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.charts is not None:
            await asyncio.to_thread(self.charts.close)
        await self.ensemble.close()
        for close in self.closers:
            await close()
        await self.database.dispose()


async def assemble(settings: Settings, options: RunOptions, box: SecretBox | None, bot_username: str | None) -> Quorum:
    """Database (migrated), engines, service and router: everything but the transport."""
    database = Database(settings.database_url)
    await upgrade(database.engine)
    notifier = OutboxNotifier(database)
    counted = CountingNotifier(notifier)  # the engines' events, counted for /metrics on their way to the outbox
    ensemble = build_shared_ensemble(settings, DbVoteRecorder(database), observer=METRICS.consultation)
    gateway: ExchangeGateway
    news, closers = None, []
    periods = options.periods or Periods()
    world: ReplayRuntime | None = None
    if options.replay is not None:
        from engine.replay_runtime import build_replay_runtime

        start_ms = options.start_ms if options.start_ms is not None else await _replayed_until(database)
        world = build_replay_runtime(
            database, settings, counted, ensemble, data=options.replay, symbol=options.symbol, speed=options.speed,
            start_ms=start_ms, stepped=options.stepped, cycle_ms=options.cycle_ms,
        )  # fmt: skip
        runtime, gateway = world.runtime, world.gateway
        if options.periods is None:
            periods = _scaled(periods, options.speed)
    else:
        news, close_news = _news_service(settings)
        closers.append(close_news)
        runtime = LiveRuntime(database, settings, counted, ensemble, box=box, news=news)
        gateway = CcxtGateway(settings)
        periods = replace(periods, news_s=periods.news_s or settings.news_ttl_s * 0.8)
    gateway_role = options.role == "gateway"  # the engines run on workers: no control of engines here
    service = QuorumService(
        database, settings, gateway=gateway, box=box, control=None if gateway_role else runtime.control(),
        clock=runtime.clock,
    )  # fmt: skip
    service.context.on_outbox = notifier.queued.set  # operator notices and broadcasts leave at once
    charts = ChartPool()  # drawn in a child process: a chart in this one would stall every user's command
    router = build_router(service, bot_username=bot_username, charts=charts, candles=_candles_of(runtime))
    jobs = Jobs(runtime, DailySummaries(database, counted), periods=periods, news=news)
    quorum = Quorum(
        database,
        settings,
        runtime,
        service,
        router,
        notifier,
        ensemble,
        jobs,
        replay=world,
        closers=closers,
        charts=charts,
    )
    if gateway_role:
        from bot.run_roles import start_scheduler

        await start_scheduler(quorum)
    else:
        await runtime.start(refresh_every_s=options.refresh_every_s)
        logger.info("{} engines resumed from the database", len(runtime.manager.engines))
    if options.schedule:
        quorum.start_jobs()
    return quorum


def _scaled(periods: Periods, speed: float) -> Periods:
    """On replayed history running `speed` times faster than the wall, the clock-bound jobs run as much more
    often (a daily summary per simulated day needs the job to look at least once per simulated hour)."""
    factor = max(1.0, speed)
    return replace(
        periods,
        summaries_s=max(0.2, periods.summaries_s / factor),
        breakers_s=max(0.2, periods.breakers_s / factor),
        snapshots_s=max(0.2, periods.snapshots_s / factor),
    )


def _news_service(settings: Settings) -> tuple[Any, Callable[[], Awaitable[object]]]:
    """The shared news service of a live run and the closing of its HTTP client."""
    import httpx

    from adapters.news.factory import build_news_service

    client = httpx.AsyncClient(timeout=settings.news_fetch_timeout_s, follow_redirects=True)
    return build_news_service(settings, client), client.aclose


async def _replayed_until(database: Database) -> int | None:
    """Where an earlier run on history stopped (its latest processed candle): a restart goes on from there
    instead of replaying time the books have already seen."""
    from sqlalchemy import func, select

    from db.models import UserPair

    async with database.transaction() as session:
        latest = await session.scalar(select(func.max(UserPair.last_candle_ts)))
    return int(latest) if latest is not None else None


def _candles_of(runtime: LiveRuntime) -> Callable[[str, MarketType, str], Awaitable[Sequence[Candle]]]:
    """/chart's candles: the closed base-timeframe candles the engines read, through their shared hub."""

    async def candles(exchange: str, market_type: MarketType, symbol: str) -> Sequence[Candle]:
        hub = runtime.hub_for(exchange, market_type)
        closed = await hub.closed_candles(exchange, symbol, hub.config.base_timeframe, runtime.clock.now_ms())
        return closed[-CHART_CANDLES:]

    return candles


async def run(settings: Settings, options: RunOptions, box: SecretBox | None) -> None:
    if options.role != "all":
        from bot.run_roles import check_role

        check_role(settings, options)
    if options.role == "worker":
        from bot.run_roles import run_worker

        await run_worker(settings, options, box)
        return
    stop = asyncio.Event()
    _on_signals(stop.set)
    if settings.telegram_bot_token is None:
        from bot.console import run_console

        quorum = await assemble(settings, options, box, None)
        try:
            await quorum.start_http()
            quorum.play_replay(options.replay_end_ms, stop.set)
            await run_console(quorum, stop)
        finally:
            await quorum.stop()
        return
    await _run_telegram(settings, options, box, stop)


async def _run_telegram(settings: Settings, options: RunOptions, box: SecretBox | None, stop: asyncio.Event) -> None:
    from bot.telegram_app import build_application, register_commands
    from bot.telegram_send import telegram_send

    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    quorum = await assemble(settings, options, box, None)
    app = build_application(
        token, quorum.router, base_url=settings.telegram_api_base_url, admin_ids=settings.admin_telegram_ids
    )
    try:
        await app.initialize()
        await quorum.start_http(TelegramCheck(app.bot.get_me))
        quorum.router.bot_username = (app.bot.username or "").lower()
        await register_commands(app, quorum.router)
        await app.start()
        updater = app.updater
        assert updater is not None
        if settings.telegram_webhook_url:  # Telegram posts updates here; the secret proves a post is Telegram's
            await updater.start_webhook(
                listen="0.0.0.0", port=settings.telegram_webhook_port, webhook_url=settings.telegram_webhook_url,
                url_path=urlparse(settings.telegram_webhook_url).path.lstrip("/"),
                secret_token=secrets.token_urlsafe(32),
            )  # fmt: skip
        else:
            await updater.start_polling(drop_pending_updates=False)
        await quorum.start_sender(telegram_send(app.bot))
        quorum.play_replay(options.replay_end_ms, stop.set)
        logger.info("Quorum is running; Telegram bot @{}", app.bot.username)
        await stop.wait()
    finally:  # each part of the transport gets a bounded time to stop: the engines' graceful stop comes next
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await asyncio.wait_for(app.updater.stop(), TRANSPORT_STOP_S)
        with contextlib.suppress(Exception):
            if app.running:
                await asyncio.wait_for(app.stop(), TRANSPORT_STOP_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.shutdown(), TRANSPORT_STOP_S)
        await quorum.stop()


def _on_signals(handler: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not POSIX
            loop.add_signal_handler(sig, handler)
