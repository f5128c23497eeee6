"""`quorum demo`: the offline, zero-configuration tour a newcomer starts with no keys and no internet.

It is `quorum run --replay` on the shipped real BTC/USD hourly candles (traded as the BTC/USDT perpetual), stepped
as fast as the machine goes: the same assemble() builds the database (a fresh SQLite file unless told otherwise),
the engines, the service and the router; three scripted people chat with the router as the terminal chat or
Telegram would (quorum/demo_chat.py); the offline analysts vote; alerts go through the outbox and print as they
happen; at the end each person asks for /status and /profit and a closing report reads their figures back through
the service (quorum/demo_report.py). The demo holds no trading logic: every number is the engine's. The same
arguments always print the same lines.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from adapters.ai.factory import analyst_settings
from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.replay import ReplayFeed
from bot.outbox import OutboxSender
from bot.router import RateLimit
from bot.run import Quorum, RunOptions, assemble
from config.settings import Settings, get_settings
from db.database import Database, safe_url
from db.models import User
from domain.market import MarketType
from domain.money import datetime_to_ms
from engine.formatting import when
from engine.replay import timeframes_for
from quorum.demo_chat import CLOSING, USERS, DemoChat
from quorum.demo_report import UserReport
from quorum.demo_screen import Screen

SYMBOL = "BTC/USDT"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class DemoError(ValueError):
    """An argument the demo cannot run with; the message says what to change. option names the flag."""

    def __init__(self, option: str, detail: str) -> None:
        super().__init__(f"{option}: {detail}")
        self.option = option
        self.detail = detail


@dataclass(frozen=True, slots=True)
class DemoOptions:
    start: date = date(2018, 1, 10)
    days: int = 30
    cycle_hours: int = 4
    database_url: str | None = None  # None: a fresh SQLite file in a new temporary directory
    charts: Path | None = None  # where the equity charts go; None: the demo's temporary directory


@dataclass(frozen=True, slots=True)
class DemoWindow:
    start_ms: int  # the conversation starts here; so does the history (at the data's first close at the earliest)
    end_ms: int  # the last tick replayed


@dataclass(frozen=True, slots=True)
class DemoReport:
    window: DemoWindow
    users: tuple[UserReport, ...]
    database_url: str  # password hidden
    charts: Path


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def plan(options: DemoOptions, first_close_ms: int, last_close_ms: int) -> DemoWindow:
    """Check the arguments against each other and the data; DemoError says what is wrong."""
    if options.days < 1:
        raise DemoError("--days", f"must be a whole number of days, at least 1 (got {options.days})")
    if not 1 <= options.cycle_hours <= 24:
        raise DemoError("--cycle-hours", f"must be between 1 and 24 (got {options.cycle_hours})")
    start_ms = datetime_to_ms(datetime.combine(options.start, datetime.min.time(), UTC))
    first_day, last_day = _day(first_close_ms), _day(last_close_ms - DAY_MS)
    span = f"the shipped candles run from {when(first_close_ms - HOUR_MS)} to {when(last_close_ms)} UTC"
    if start_ms + DAY_MS <= first_close_ms or start_ms + DAY_MS > last_close_ms:
        raise DemoError(
            "--start", f"{options.start} is outside the data: {span}; pick a day from {first_day} to {last_day}"
        )
    end_ms = start_ms + options.days * DAY_MS
    if end_ms > last_close_ms:
        most = (last_close_ms - start_ms) // DAY_MS
        end_day = (options.start + timedelta(days=options.days)).isoformat()
        raise DemoError(
            "--days",
            f"{options.days} days from {options.start} would end on {end_day}, after the data: {span}. "
            f"Use --days {most} at most, or an earlier --start",
        )
    return DemoWindow(max(start_ms, first_close_ms), end_ms)


def _disposable(database: Database) -> None:
    """The fresh file in a temporary folder is the demo's scratch record: its commits skip the fsync (WAL keeps the
    file consistent; only a power cut could lose the last commits)."""

    def relaxed(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(database.engine.sync_engine, "connect", relaxed)


async def run_demo(options: DemoOptions, settings: Settings | None = None, screen: Screen | None = None) -> DemoReport:
    """Run the demo, write its lines on `screen` (default: the terminal) and return the closing report."""
    screen = screen or Screen()
    data = shipped_candle_file()
    series = ReplayFeed.from_file(data, symbol=SYMBOL, market_type=MarketType.PERPETUAL).series(SYMBOL)
    window = plan(options, series.first_close_ms, series.last_close_ms)  # before anything is created
    url, charts = options.database_url, options.charts
    if url is None or charts is None:
        folder = Path(tempfile.mkdtemp(prefix="quorum-demo-"))
        url = url or f"sqlite+aiosqlite:///{folder / 'demo.db'}"
        charts = charts or folder
    charts.mkdir(parents=True, exist_ok=True)
    settings = analyst_settings(settings or get_settings(), use_llms=False).model_copy(
        update={"database_url": Settings(database_url=url).database_url}  # the driver pinning
    )
    run = RunOptions(
        replay=data, symbol=SYMBOL, refresh_every_s=0, stepped=True, schedule=False,
        cycle_ms=options.cycle_hours * HOUR_MS, start_ms=window.start_ms,
    )  # fmt: skip
    quorum = await assemble(settings, run, box=None, bot_username=None)
    try:
        await _fresh(quorum, options)
        quorum.router.rate = RateLimit(clock=lambda: quorum.runtime.clock.now_ms() / 1000)  # simulated seconds
        _introduce(quorum, window, options, screen)
        return await _play(quorum, window, screen, charts)
    finally:
        await quorum.stop()


async def _fresh(quorum: Quorum, options: DemoOptions) -> None:
    """The demo registers its own people: it needs a database nobody uses yet."""
    async with quorum.database.transaction() as session:
        users = await session.scalar(select(func.count()).select_from(User))
    if users:
        raise DemoError(
            "--database-url",
            f"{safe_url(quorum.database.url)} already holds {users} user{'' if users == 1 else 's'}; the demo "
            "registers its own three and needs an empty database (a new file or a new PostgreSQL database)",
        )
    if options.database_url is None:
        _disposable(quorum.database)
        await quorum.database.engine.dispose()  # reconnect with the relaxed fsync


def _introduce(quorum: Quorum, window: DemoWindow, options: DemoOptions, screen: Screen) -> None:
    settings = quorum.settings
    days = (window.end_ms - window.start_ms) // DAY_MS
    analysts = ", ".join(provider.name for provider in quorum.ensemble.ensemble.providers)
    for line in (
        "Quorum demo: three people chat with the bot here, as they would on Telegram, while the engine replays real "
        f"BTC/USD hourly candles (Coinbase via CryptoDataDownload, shipped with Quorum) as {SYMBOL} perpetual, on "
        "paper, with a simulated clock.",
        f"History: {when(window.start_ms)} to {when(window.end_ms)} UTC ({days} days), a decision every "
        f"{options.cycle_hours}h on {'/'.join(timeframes_for('1h'))} candles.",
        f"Analysts: {analysts} (offline rule-based, no keys or network); a consensus of {settings.ai_min_consensus} "
        "is needed to trade.",
        "ETH/USD: no hourly ETH history ships with Quorum, so this replay lists BTC/USDT only; Ann asks for ETH/USD "
        "anyway to show the bot's answer.",
        f"Database: {safe_url(quorum.database.url)}",
        "",
    ):
        screen.line(line)


async def _play(quorum: Quorum, window: DemoWindow, screen: Screen, charts: Path) -> DemoReport:
    world = quorum.replay
    assert world is not None  # assembled with a replay
    chats = {user.telegram_id: DemoChat(quorum, user, screen, charts) for user in USERS}

    async def send(chat_id: int, html: str) -> None:
        chat = chats.get(chat_id)
        if chat is not None:
            await chat.alert(chat_id, html)

    sender = quorum.jobs.sender = OutboxSender(quorum.database, send)

    async def deliver() -> None:
        """Every queued alert, in order, and each person's reaction to them (whose answers may bring more)."""
        while quorum.notifier.queued.is_set():
            quorum.notifier.queued.clear()
            while await sender.deliver_due():
                pass
            for chat in chats.values():
                await chat.react()

    for chat in chats.values():
        for text in chat.user.setup:
            await chat.say(text)
        screen.line()
    with screen.progress(window.start_ms, window.end_ms) as advance:

        async def tick(now: int) -> None:
            for name, _, job in quorum.jobs.table():  # quorum run's scheduled jobs, once a simulated hour
                if name != "outbox_retry":  # deliver() sends every alert as it is queued; none is ever deferred
                    await job()
            await deliver()
            advance(now)

        await world.run_stepped(window.start_ms, window.end_ms, tick)
    screen.line()
    for chat in chats.values():
        for text in CLOSING:
            await chat.say(text)
        screen.line()
    await deliver()
    reports = tuple([await UserReport.of(quorum.service, chat) for chat in chats.values()])
    report = DemoReport(window, reports, safe_url(quorum.database.url), charts)
    screen.line(f"Closing report, {when(window.start_ms)} to {when(window.end_ms)} UTC")
    for user in reports:
        for line in user.lines():
            screen.line(line)
    screen.line(f"Database: {report.database_url} (every order, fill, trade, decision and alert of the run)")
    return report
