"""`quorum backtest`: the engine over history with the paper exchange, the replay feed and a simulated clock.

Writes DIR/metrics.json, DIR/trades.csv, DIR/equity.csv (timestamp, equity) and DIR/equity.png. The position
still open at the end is closed at the last price, so final equity = starting balance + the sum of the trades'
net P&L, exactly (unrealized P&L is then zero).
"""

from __future__ import annotations

import csv
import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from adapters.ai.factory import analyst_settings, build_shared_ensemble
from config.settings import Settings
from domain.market import MarketType, timeframe_ms
from domain.money import datetime_to_ms, ms_to_datetime
from engine.charts import ChartWorker, EquitySeries
from engine.metrics import ClosedTrade as MetricTrade
from engine.metrics import PortfolioMetrics, compute_metrics, drawdown_series
from engine.notifier import Notifier, NullNotifier
from engine.records import ClosedTrade
from engine.replay import ReplayAccount, ReplaySession
from engine.store import MemoryEngineStore
from risk import RiskLimits

HOUR_MS = 3_600_000
CHART_TITLE = "Backtest equity"


class BacktestError(ValueError):
    """An argument the backtest cannot run with; the message says what to change."""

    def __init__(self, option: str, detail: str) -> None:
        super().__init__(f"{option}: {detail}")
        self.option, self.detail = option, detail


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    data: Path
    out: Path
    symbol: str = "BTC/USDT"
    timeframe: str = "1h"
    start: date | None = None
    end: date | None = None  # inclusive: the whole day
    balance: Decimal = Decimal(10000)
    budget: Decimal = Decimal(2000)
    leverage: int = 3
    cycle_hours: int = 1
    use_llms: bool = False
    market_type: MarketType = MarketType.PERPETUAL


@dataclass(frozen=True, slots=True, repr=False)
class BacktestResult:
    metrics: PortfolioMetrics
    trades: list[ClosedTrade]
    equity: list[tuple[int, Decimal]]
    final_equity: Decimal
    unrealized_pnl: Decimal
    cycles: int
    consultations: int
    files: dict[str, Path]
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each phase (bench/bench_backtest.py)

    def __repr__(self) -> str:
        """A summary, not the dataclass's repr of every trade and equity point (2 MB for the shipped history):
        asyncio.run formats its task's repr, this result included, twice on the way out (Python 3.12's
        signal.getsignal builds a ValueError message from its SIGINT handler, which holds the task), ~70 ms."""
        return (
            f"BacktestResult(cycles={self.cycles}, trades={len(self.trades)}, equity_points={len(self.equity)}, "
            f"final_equity={self.final_equity}, files={sorted(self.files)})"
        )


def _window(options: BacktestOptions, first_close: int, last_close: int, cycle_ms: int) -> tuple[int, int]:
    start = (
        first_close
        if options.start is None
        else datetime_to_ms(datetime.combine(options.start, datetime.min.time(), UTC))
    )
    end = (
        last_close
        if options.end is None
        else datetime_to_ms(datetime.combine(options.end, datetime.min.time(), UTC)) + 86_400_000
    )
    span = f"the data runs from {ms_to_datetime(first_close):%Y-%m-%d} to {ms_to_datetime(last_close):%Y-%m-%d}"
    start, end = max(start, first_close), min(end, last_close)
    if start >= end:
        raise BacktestError("--start/--end", f"the period holds no candle: {span}")
    return -(-start // cycle_ms) * cycle_ms if start % cycle_ms else start, end


def check(options: BacktestOptions, settings: Settings) -> None:
    for flag, value in (("--balance", options.balance), ("--budget", options.budget)):
        if not value.is_finite() or value <= 0:
            raise BacktestError(flag, f"must be a positive amount (got {value})")
    if options.budget > options.balance:
        raise BacktestError("--budget", f"{options.budget} is more than the --balance {options.balance}")
    if not 1 <= options.leverage <= settings.max_leverage:
        raise BacktestError("--leverage", f"must be between 1 and {settings.max_leverage} (MAX_LEVERAGE)")
    if options.cycle_hours < 1:
        raise BacktestError("--cycle-hours", "must be at least 1")
    if not options.data.is_file():
        raise BacktestError("--data", f"{options.data} is not a file")
    if options.start and options.end and options.end < options.start:
        raise BacktestError("--end", "is before --start")


async def run_backtest(
    options: BacktestOptions, settings: Settings, notifier: Notifier | None = None
) -> BacktestResult:
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    check(options, settings)
    chart = ChartWorker()  # imports matplotlib on the other core while the engine runs
    try:
        # _run hands the chart to the child before it makes the metrics and the other files; it returns before
        # the chart is awaited, so that freeing the run's heap (candles, indicators, engine state: ~70 ms) also
        # happens while the child draws
        with batch_collection():  # left once _run's frame, and with it the run's heap, is gone
            result = await _run(options, settings, notifier, chart, started, seconds)
        waited = time.perf_counter()
        chart.finish()
        seconds["chart"] += time.perf_counter() - waited
        seconds["total"] = time.perf_counter() - started
        return result
    finally:
        chart.close()


async def _run(
    options: BacktestOptions,
    settings: Settings,
    notifier: Notifier | None,
    chart: ChartWorker,
    started: float,
    seconds: dict[str, float],
) -> BacktestResult:
    settings = analyst_settings(settings, options.use_llms)
    store = MemoryEngineStore(keep_decisions=False)
    ensemble = build_shared_ensemble(settings)
    if options.use_llms:
        from adapters.ai.answer_cache import cache_llm_answers

        cache_llm_answers(ensemble, options.out / "llm-answers.jsonl")
    cycle_ms = options.cycle_hours * HOUR_MS
    try:
        session = await ReplaySession.build(
            data=options.data,
            symbol=options.symbol,
            base_timeframe=options.timeframe,
            market_type=options.market_type,
            ensemble=ensemble,
            store=store,
            notifier=notifier or NullNotifier(),
            limits=RiskLimits.from_settings(settings),
            accounts=[ReplayAccount(1, options.balance, options.budget, options.leverage)],
            cycle_ms=cycle_ms,
            taker_fee=settings.paper_taker_fee,
            maker_fee=settings.paper_maker_fee,
            record_equity=False,  # the report is the engine's equity_curve
        )
        series = session.feed.series(options.symbol)
        if timeframe_ms(options.timeframe) != series.base_ms:
            raise BacktestError("--timeframe", f"the file holds {series.base_timeframe} candles")
        start, end = _window(options, series.first_close_ms, series.last_close_ms, cycle_ms)
        seconds["load"] = time.perf_counter() - started
        await session.run(start, end)
        seconds["run"] = time.perf_counter() - started - seconds["load"]
    finally:
        await ensemble.close()
    engine = session.engines[0]
    trades = engine.closed_trades
    curve = [(p.ts, p.equity) for p in engine.equity_curve]
    unrealized = engine.equity_curve[-1].unrealized if engine.equity_curve else Decimal(0)
    final = curve[-1][1] if curve else options.balance
    charted = time.perf_counter()
    points = _dated(curve)
    falls = drawdown_series(points, options.balance)  # once, for the chart and the metrics
    start_chart(options.out, points, options.balance, chart, falls)  # drawn on the other core from here on
    measured = time.perf_counter()
    seconds["chart"] = measured - charted
    metrics = compute_metrics(
        points,
        options.balance,
        [MetricTrade(t.pnl, ms_to_datetime(t.opened_ms), ms_to_datetime(t.closed_ms)) for t in trades],
        drawdown=falls,
    )
    seconds["metrics"] = time.perf_counter() - measured
    written = time.perf_counter()
    files = write_files(options.out, metrics, trades, points)
    files["equity.png"] = options.out / "equity.png"  # drawing: run_backtest awaits it
    seconds["files"] = time.perf_counter() - written
    return BacktestResult(
        metrics, trades, curve, final, unrealized, engine.state.cycles, ensemble.calls, files, seconds
    )


@contextmanager
def batch_collection(threshold: int = 1_000_000) -> Iterator[None]:
    """The garbage collector's first generation collected after `threshold` net allocations instead of 700,
    for a run over history (loading included), then restored. A run builds a large live heap (candles,
    indicator rows, the equity curve: about 6 objects a cycle stay alive to the end) and leaves next to no
    cyclic garbage (about 1,300 objects over the 20,110 cycles of the shipped history), yet each collection
    walks the young objects and those that reach the older generations walk the heap: with the default the
    collections of a full run took about 1.6 s, with 10,000 about 0.5 s, with 100,000 about 0.1 s (two
    collections); with 1,000,000 the shipped history's run (at most ~170,000 net allocations) makes none. A
    longer run collects once per million net allocations, walking each young object once as before. Nothing is
    collected differently, only less often."""
    thresholds = gc.get_threshold()
    gc.set_threshold(threshold, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _dated(curve: list[tuple[int, Decimal]]) -> list[tuple[datetime, Decimal]]:
    """The curve (one point per time: the engine keeps the last mark of each) with UTC datetimes."""
    return [(ms_to_datetime(ts), equity) for ts, equity in curve]


def start_chart(
    out: Path,
    curve: list[tuple[datetime, Decimal]],
    starting_balance: Decimal,
    chart: ChartWorker,
    falls: list[Decimal] | None = None,
) -> None:
    """Hand OUT/equity.png to the chart process before the metrics and the other files are made: it draws
    while they are made (chart.finish() then waits for it) instead of after."""
    out.mkdir(parents=True, exist_ok=True)
    chart.start(EquitySeries.of(curve, starting_balance, falls), out / "equity.png", title=CHART_TITLE)


def write_files(
    out: Path, metrics: PortfolioMetrics, trades: list[ClosedTrade], curve: list[tuple[datetime, Decimal]]
) -> dict[str, Path]:
    """OUT/metrics.json, trades.csv and equity.csv."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / name for name in ("metrics.json", "trades.csv", "equity.csv")}
    files["metrics.json"].write_text(json.dumps(metrics.to_json_dict(), indent=2) + "\n")
    with files["trades.csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["symbol", "side", "amount", "entry_price", "exit_price", "opened_at", "closed_at", "fees", "net_pnl",
             "reason"]
        )  # fmt: skip
        for t in trades:
            writer.writerow(
                [t.symbol, t.side, t.amount, t.entry_price, t.exit_price, ms_to_datetime(t.opened_ms).isoformat(),
                 ms_to_datetime(t.closed_ms).isoformat(), t.fees, t.pnl, t.reason]
            )  # fmt: skip
    with files["equity.csv"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "equity"])
        last, text = None, ""
        for at, equity in curve:
            if at is not last:  # _dated shares one datetime between the points of one time
                last, text = at, at.isoformat()
            writer.writerow([text, equity])
    return files
