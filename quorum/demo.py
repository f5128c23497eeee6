"""`quorum demo`: the offline end-to-end run a newcomer starts on a laptop with no keys and no internet.

It replays the shipped real BTC/USD hourly candles (traded as the BTC/USDT perpetual) under a simulated clock
through the engine, the one trading loop Quorum has: the replay feed and the paper exchange, the shared hub
with its indicators, the AI ensemble (the offline analysts), the risk manager with its circuit breakers, and
the database through the repositories, in a fresh SQLite file unless told otherwise. Alerts print as they
happen; the summary is read off the engine at the end. The same arguments always print the same results.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import event

from adapters.ai.factory import analyst_settings, build_shared_ensemble
from adapters.ai.shared import SharedEnsemble
from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.replay import ReplayFeed
from config.settings import Settings, get_settings
from db.database import Database, safe_url
from db.migrate import upgrade
from db.repositories import DbPaperStateStore
from db.vote_recorder import DbVoteRecorder
from domain.market import MarketType
from domain.money import datetime_to_ms
from engine.formatting import price, when
from engine.notifier import ConsoleNotifier
from engine.replay import ReplayAccount, ReplaySession, timeframes_for
from quorum.demo_books import setup_demo
from quorum.demo_summary import CountingNotifier, DemoStore, DemoSummary
from risk import RiskLimits

SYMBOL = "BTC/USDT"
BASE_TIMEFRAME = "1h"
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
    start: date = date(2018, 1, 1)
    days: int = 90
    balance: Decimal = Decimal(10000)
    budget: Decimal = Decimal(2000)
    leverage: int = 3
    cycle_hours: int = 4
    database_url: str | None = None  # None: a fresh SQLite file in a new temporary directory
    verbose: bool = False
    use_llms: bool = False  # True: also ask the LLM providers configured in the settings (needs their network)


@dataclass(frozen=True, slots=True)
class DemoWindow:
    start_ms: int
    first_cycle_ms: int
    end_ms: int


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def plan(options: DemoOptions, settings: Settings, first_close_ms: int, last_close_ms: int) -> DemoWindow:
    """Check the arguments against each other, the settings and the data; DemoError says what is wrong."""
    if options.days < 1:
        raise DemoError("--days", f"must be a whole number of days, at least 1 (got {options.days})")
    for flag, value in (("--balance", options.balance), ("--budget", options.budget)):
        if not value.is_finite() or value <= 0:
            raise DemoError(flag, f"must be a positive amount of USDT (got {value})")
    if options.budget > options.balance:
        raise DemoError(
            "--budget",
            f"{options.budget} is more than the --balance {options.balance}: the pair's budget comes out of the "
            "account",
        )
    if not 1 <= options.leverage <= settings.max_leverage:
        raise DemoError(
            "--leverage",
            f"must be between 1 and {settings.max_leverage} (the MAX_LEVERAGE setting); got {options.leverage}",
        )
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
    cycle_ms = options.cycle_hours * HOUR_MS
    first = max(start_ms, first_close_ms)  # the first day of the file starts at its first candle's close
    return DemoWindow(start_ms, -(-first // cycle_ms) * cycle_ms, end_ms)  # the engine's UTC cycle grid


def _database_url(options: DemoOptions) -> str:
    if options.database_url:
        return Settings(database_url=options.database_url).database_url  # the same driver pinning as DATABASE_URL
    folder = Path(tempfile.mkdtemp(prefix="quorum-demo-"))
    return f"sqlite+aiosqlite:///{folder / 'demo.db'}"


def _disposable(database: Database) -> None:
    """The fresh file in a temporary folder is the demo's scratch record: its commits skip the fsync (WAL keeps the
    file consistent; only a power cut could lose the last commits), which is most of the demo's wall time."""

    def relaxed(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(database.engine.sync_engine, "connect", relaxed)


async def run_demo(
    options: DemoOptions, settings: Settings | None = None, emit: Callable[[str], None] = print
) -> DemoSummary:
    """Run the demo, print its lines through `emit`, and return the summary (also printed)."""
    settings = analyst_settings(settings or get_settings(), options.use_llms)
    data = shipped_candle_file()
    feed = ReplayFeed.from_file(data, symbol=SYMBOL, market_type=MarketType.PERPETUAL)
    series = feed.series(SYMBOL)
    window = plan(options, settings, series.first_close_ms, series.last_close_ms)  # before anything is created
    database = Database(_database_url(options))
    if options.database_url is None:
        _disposable(database)
    try:
        await upgrade(database.engine)
        ids = await setup_demo(database, SYMBOL, options.balance, options.budget, options.leverage, feed.exchange_id)
        store = DemoStore(database, show=emit if options.verbose else None)
        notifier = CountingNotifier(ConsoleNotifier(emit))
        shared = build_shared_ensemble(settings, DbVoteRecorder(database))
        try:
            session = await ReplaySession.build(
                data=data,
                symbol=SYMBOL,
                base_timeframe=BASE_TIMEFRAME,
                market_type=MarketType.PERPETUAL,
                ensemble=shared,
                store=store,
                notifier=notifier,
                limits=RiskLimits.from_settings(settings),
                accounts=[
                    ReplayAccount(
                        ids.user_id, options.balance, options.budget, options.leverage,
                        state_store=DbPaperStateStore(database, ids.user_id, ids.account_id),
                    )
                ],
                cycle_ms=options.cycle_hours * HOUR_MS,
                taker_fee=settings.paper_taker_fee,
                maker_fee=settings.paper_maker_fee,
            )  # fmt: skip
            engine = session.engines[0]
            _introduce(options, settings, shared, engine.market.quote, window, emit)
            await session.run(window.first_cycle_ms, window.end_ms)
        finally:
            await shared.close()
        summary = replace(
            DemoSummary.of(
                engine, store, notifier, start_ms=window.start_ms, end_ms=window.end_ms,
                cycle_hours=options.cycle_hours, starting_balance=options.balance,
            ),
            database_url=safe_url(database.url),
            user_id=ids.user_id,
        )  # fmt: skip
        for line in summary.lines():
            emit(line)
        emit(f"  database:        {summary.database_url} (demo user id {summary.user_id})")
        return summary
    finally:
        await database.dispose()


def _introduce(
    options: DemoOptions, settings: Settings, shared: SharedEnsemble, quote: str, window: DemoWindow,
    emit: Callable[[str], None],
) -> None:  # fmt: skip
    emit(
        f"Quorum demo: paper trading {SYMBOL} (perpetual) on real BTC/USD hourly candles "
        "(Coinbase via CryptoDataDownload), with a simulated clock."
    )
    emit(
        f"{when(window.start_ms)} to {when(window.end_ms)} UTC, a decision every {options.cycle_hours}h "
        f"on {'/'.join(timeframes_for(BASE_TIMEFRAME))} candles (base {BASE_TIMEFRAME}); balance "
        f"{price(options.balance)} {quote}, pair budget {price(options.budget)} {quote} at {options.leverage}x."
    )
    analysts = ", ".join(provider.name for provider in shared.ensemble.providers)
    kind = "offline rule-based analysts, no keys or network" if not options.use_llms else "as configured"
    emit(f"Analysts: {analysts} ({kind}); consensus of {settings.ai_min_consensus} needed.")
