"""`quorum demo`: the offline end-to-end run a newcomer starts on a laptop with no keys and no internet.

It replays the shipped real BTC/USD hourly candles (traded as the BTC/USDT perpetual) under a simulated clock
and wires the real parts: the replay feed and the paper exchange, the snapshot with its indicators, the AI
ensemble (the offline analysts), the risk manager with its circuit breakers, and the database through the
repositories. The same arguments always print the same results.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from adapters.ai.factory import build_providers, build_shared_ensemble
from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.replay import ReplayFeed
from db.database import Database, safe_url
from db.migrate import upgrade
from db.repositories import DbPaperStateStore
from db.vote_recorder import DbVoteRecorder
from domain.market import MarketType
from domain.money import datetime_to_ms
from quorum.demo_books import DemoBooks
from quorum.demo_report import DemoSummary, price, when
from quorum.demo_run import BASE_TIMEFRAME, HOUR_MS, TIMEFRAMES, DemoRun
from quorum.settings import Settings, get_settings

SYMBOL = "BTC/USDT"
DAY_MS = 24 * HOUR_MS
LLM_SETTINGS = ("openai_api_key", "anthropic_api_key", "deepseek_api_key", "openai_compatible_base_url")


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
    cycles_before_data = max(0, -(-(first_close_ms - start_ms) // cycle_ms))  # the first day of the file
    return DemoWindow(start_ms, start_ms + cycles_before_data * cycle_ms, end_ms)


def demo_settings(settings: Settings, use_llms: bool) -> Settings:
    """Without --use-llms the demo asks only the offline analysts, whatever keys the environment holds."""
    if use_llms:
        return settings
    return settings.model_copy(update=dict.fromkeys(LLM_SETTINGS))


def _database_url(options: DemoOptions) -> str:
    if options.database_url:
        return Settings(database_url=options.database_url).database_url  # the same driver pinning as DATABASE_URL
    folder = Path(tempfile.mkdtemp(prefix="quorum-demo-"))
    return f"sqlite+aiosqlite:///{folder / 'demo.db'}"


async def run_demo(
    options: DemoOptions, settings: Settings | None = None, emit: Callable[[str], None] = print
) -> DemoSummary:
    """Run the demo, print its lines through `emit`, and return the summary (also printed)."""
    settings = demo_settings(settings or get_settings(), options.use_llms)
    feed = ReplayFeed.from_file(shipped_candle_file(), symbol=SYMBOL, market_type=MarketType.PERPETUAL)
    series = feed.series(SYMBOL)
    window = plan(options, settings, series.first_close_ms, series.last_close_ms)
    analysts = ", ".join(provider.name for provider in build_providers(settings))
    database = Database(_database_url(options))
    try:
        await upgrade(database.engine)
        books = DemoBooks(database)
        await books.setup(SYMBOL, options.balance, options.budget, options.leverage, feed.exchange_id)
        paper = await PaperExchange.open(
            feed,
            DbPaperStateStore(database, books.user_id, books.account_id),
            starting_balances={"USDT": options.balance},
            clock=feed.clock.now_ms,
            config=PaperConfig(
                candle_timeframe="1h", taker_fee=settings.paper_taker_fee, maker_fee=settings.paper_maker_fee
            ),
        )
        market = await paper.market(SYMBOL)
        emit(
            f"Quorum demo: paper trading {SYMBOL} (perpetual) on real BTC/USD hourly candles "
            "(Coinbase via CryptoDataDownload), with a simulated clock."
        )
        emit(
            f"{when(window.start_ms)} to {when(window.end_ms)} UTC, a decision every {options.cycle_hours}h "
            f"on {'/'.join(TIMEFRAMES)} candles (base {BASE_TIMEFRAME}); balance {price(options.balance)} "
            f"{market.quote}, pair budget {price(options.budget)} {market.quote} at {options.leverage}x."
        )
        kind = "offline rule-based analysts, no keys or network" if not options.use_llms else "as configured"
        emit(f"Analysts: {analysts} ({kind}); consensus of {settings.ai_min_consensus} needed.")
        summary = DemoSummary(
            SYMBOL, market.quote, window.start_ms, window.end_ms, options.cycle_hours, options.balance
        )
        summary.database_url, summary.user_id = safe_url(database.url), books.user_id
        shared = build_shared_ensemble(settings, DbVoteRecorder(database))
        run = DemoRun(
            settings=settings,
            feed=feed,
            paper=paper,
            market=market,
            books=books,
            shared=shared,
            summary=summary,
            budget=options.budget,
            leverage=options.leverage,
            emit=emit,
            verbose=options.verbose,
        )
        try:
            await run.run(window.first_cycle_ms, window.end_ms)
        finally:
            await shared.close()
        for line in summary.lines():
            emit(line)
        emit(f"  database:        {summary.database_url} (demo user id {summary.user_id})")
        return summary
    finally:
        await database.dispose()
