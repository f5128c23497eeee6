"""`quorum run`: one process, one event loop: the engines (LiveRuntime, or the same runtime on replayed candles),
the service, the alert outbox and a transport (Telegram, or the terminal chat without a bot token).

Start-up migrates the database, resumes every runnable pair from it, then opens the transport; SIGTERM or
SIGINT stops the transport first (no new commands), then the engines (each finishes the step it is in), then the
outbox sender, so a restart resumes everything where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from loguru import logger

from adapters.ai.factory import build_shared_ensemble
from adapters.ai.shared import SharedEnsemble
from bot.chart_pool import ChartPool
from bot.commands import build_router
from bot.outbox import OutboxNotifier, OutboxSender, Send
from bot.router import Router
from config.settings import Settings
from db.database import Database
from db.encryption import SecretBox
from db.migrate import upgrade
from db.vote_recorder import DbVoteRecorder
from domain.market import Candle, MarketType
from engine.live import LiveRuntime
from engine.service import QuorumService
from engine.service_gateway import CcxtGateway, ExchangeGateway

CHART_CANDLES = 120


@dataclass(slots=True)
class RunOptions:
    replay: Path | None = None
    speed: float = 3600.0  # simulated seconds per wall second in a replay
    symbol: str = "BTC/USDT"
    refresh_every_s: float = 30.0  # configuration pickup for changes made outside this process (admin CLI)


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
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    charts: ChartPool | None = None

    async def start_sender(self, send: Send) -> OutboxSender:
        sender = OutboxSender(self.database, send)
        self.tasks.append(asyncio.create_task(sender.run(self.notifier.queued), name="alert outbox"))
        return sender

    async def stop(self) -> None:
        await self.runtime.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.charts is not None:
            await asyncio.to_thread(self.charts.close)
        await self.ensemble.close()
        await self.database.dispose()


async def assemble(settings: Settings, options: RunOptions, box: SecretBox | None, bot_username: str | None) -> Quorum:
    """Database (migrated), engines, service and router: everything but the transport."""
    database = Database(settings.database_url)
    await upgrade(database.engine)
    notifier = OutboxNotifier(database)
    ensemble = build_shared_ensemble(settings, DbVoteRecorder(database))
    gateway: ExchangeGateway
    if options.replay is not None:
        from engine.replay_runtime import build_replay_runtime

        world = build_replay_runtime(
            database, settings, notifier, ensemble, data=options.replay, symbol=options.symbol, speed=options.speed,
            start_ms=await _replayed_until(database),
        )  # fmt: skip
        runtime, gateway = world.runtime, world.gateway
    else:
        runtime = LiveRuntime(database, settings, notifier, ensemble, box=box)
        gateway = CcxtGateway(settings)
    service = QuorumService(
        database, settings, gateway=gateway, box=box, control=runtime.control(), clock=runtime.clock
    )
    charts = ChartPool()  # drawn in a child process: a chart in this one would stall every user's command
    router = build_router(service, bot_username=bot_username, charts=charts, candles=_candles_of(runtime))
    await runtime.start(refresh_every_s=options.refresh_every_s)
    logger.info("{} engines resumed from the database", len(runtime.manager.engines))
    return Quorum(database, settings, runtime, service, router, notifier, ensemble, charts=charts)


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
    stop = asyncio.Event()
    _on_signals(stop.set)
    if settings.telegram_bot_token is None:
        from bot.console import run_console

        quorum = await assemble(settings, options, box, None)
        try:
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
        logger.info("Quorum is running; Telegram bot @{}", app.bot.username)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
        with contextlib.suppress(Exception):
            if app.running:
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()
        await quorum.stop()


def _on_signals(handler: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not POSIX
            loop.add_signal_handler(sig, handler)
