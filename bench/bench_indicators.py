"""Indicator figures on the shipped BTC/USD hourly history: IndicatorSeries (once per series) vs per-window math.

Run: python bench/bench_indicators.py  (one line per measurement; no network, no database)
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.replay.resample import resample
from analysis.indicator_series import LIVE_WINDOW, IndicatorSeries
from analysis.indicators import compute_indicators
from analysis.snapshot import build_snapshot
from domain.market import TIMEFRAME_MS, Candle, Ticker

TIMEFRAMES = ("1h", "4h", "1d")


def _median_ms(runs: int, work: Callable[[], object]) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _line(label: str, value: str) -> None:
    print(f"{label:<66} {value}")


def _row_costs(series: IndicatorSeries) -> tuple[float, float]:
    """Microseconds per row: first access (builds the TimeframeIndicators) and cached access."""
    fresh = IndicatorSeries(series.candles)
    start = time.perf_counter()
    for i in range(len(fresh)):
        fresh.row(i)
    first = time.perf_counter() - start
    timestamps = fresh.timestamps
    start = time.perf_counter()
    for ts in timestamps:
        fresh.at(ts)
    cached = time.perf_counter() - start
    return first / len(fresh) * 1e6, cached / len(fresh) * 1e6


def main() -> None:
    hourly = read_candles(shipped_candle_file())
    candles: dict[str, list[Candle]] = {"1h": hourly}
    for timeframe in TIMEFRAMES[1:]:
        candles[timeframe] = resample(hourly, TIMEFRAME_MS[timeframe])

    start = time.perf_counter()
    IndicatorSeries(hourly[:300])
    _line("first series ever", f"{(time.perf_counter() - start) * 1000:9.1f} ms")

    series: dict[str, IndicatorSeries] = {}
    for timeframe in TIMEFRAMES:
        series[timeframe] = IndicatorSeries(candles[timeframe])
        built = _median_ms(5, partial(IndicatorSeries, candles[timeframe]))
        _line(
            f"IndicatorSeries over the whole {timeframe} history ({len(candles[timeframe])} candles)",
            f"{built:9.1f} ms",
        )
    for timeframe in TIMEFRAMES:
        first, cached = _row_costs(series[timeframe])
        _line(f"row access {timeframe}: first (builds the row) / cached at(ts)", f"{first:9.2f} us / {cached:.2f} us")

    window_ms: dict[int, float] = {}
    for size in (300, LIVE_WINDOW):
        window = hourly[8000 : 8000 + size]
        window_ms[size] = _median_ms(15, partial(compute_indicators, window))
        _line(f"compute_indicators on one {size}-candle window (one timeframe)", f"{window_ms[size]:9.2f} ms")
    _line(
        "per-window math over the 1h backtest, 3 timeframes, W=300 (estimate)",
        f"{len(hourly) * 3 * window_ms[300] / 1000:9.1f} s",
    )
    _line(
        f"per-window math over the 1h backtest, 3 timeframes, W={LIVE_WINDOW} (estimate)",
        f"{len(hourly) * 3 * window_ms[LIVE_WINDOW] / 1000:9.1f} s",
    )

    live = IndicatorSeries.live(hourly[:LIVE_WINDOW])
    following = iter(hourly[LIVE_WINDOW:])
    _line(
        f"live extend by one candle (bounded to {LIVE_WINDOW})",
        f"{_median_ms(30, lambda: live.extend([next(following)])):9.2f} ms",
    )

    now = hourly[LIVE_WINDOW + 500].ts + TIMEFRAME_MS["1h"] // 2  # the last 1h candle is forming
    recent = {tf: [c for c in candles[tf] if c.ts <= now][-LIVE_WINDOW:] for tf in TIMEFRAMES}
    ticker = Ticker("BTC/USD", now, Decimal(1))
    computed = _median_ms(10, lambda: build_snapshot(exchange="x", symbol="BTC/USD", candles=recent, ticker=ticker))
    from_series = _median_ms(
        200, lambda: build_snapshot(exchange="x", symbol="BTC/USD", candles=recent, ticker=ticker, indicators=series)
    )
    _line(f"build_snapshot, 3 timeframes of <= {LIVE_WINDOW} candles, indicators computed", f"{computed:9.2f} ms")
    _line(f"build_snapshot, 3 timeframes of <= {LIVE_WINDOW} candles, rows from the series", f"{from_series:9.3f} ms")

    gc.collect()
    start = time.perf_counter()
    for timeframe in TIMEFRAMES:
        series[timeframe] = IndicatorSeries(candles[timeframe])
    for candle in hourly[1:]:
        at = candle.ts + TIMEFRAME_MS["1h"] // 2
        build_snapshot(
            exchange="x", symbol="BTC/USD", candles=candles, ticker=Ticker("BTC/USD", at, Decimal(1)), indicators=series
        )
    _line(
        f"whole backtest's indicators + snapshots ({len(hourly) - 1} cycles, 3 timeframes, series built inside)",
        f"{time.perf_counter() - start:9.2f} s",
    )


if __name__ == "__main__":
    main()
