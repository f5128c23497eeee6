"""Indicators computed once per (exchange, symbol, timeframe, last closed candle) and shared by every engine.

A series attached for a key (a backtest's whole history, or a live series the market hub extends) answers
without any indicator math; otherwise the indicators are computed over the last LIVE_WINDOW candles given.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from analysis.indicator_series import LIVE_WINDOW, IndicatorSeries
from analysis.indicators import compute_indicators
from domain.market import Candle
from domain.snapshot import TimeframeIndicators

IndicatorKey = tuple[str, str, str, int]
SeriesKey = tuple[str, str, str]


class IndicatorCache:
    """A small LRU: computing is synchronous and cheap enough that a plain lookup-or-compute needs no lock."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[IndicatorKey, TimeframeIndicators] = OrderedDict()
        self._series: dict[SeriesKey, IndicatorSeries] = {}
        self._max_entries = max_entries
        self.computations = 0

    def attach(self, exchange: str, symbol: str, timeframe: str, series: IndicatorSeries) -> None:
        """Serve (exchange, symbol, timeframe) from `series` for every candle it holds (replaces any earlier one)."""
        self._series[(exchange, symbol, timeframe)] = series

    def series(self, exchange: str, symbol: str, timeframe: str) -> IndicatorSeries | None:
        return self._series.get((exchange, symbol, timeframe))

    def get(self, exchange: str, symbol: str, timeframe: str, candles: Sequence[Candle]) -> TimeframeIndicators:
        """Indicators on the last of `candles` (closed, oldest first)."""
        if not candles:
            return TimeframeIndicators()
        ts = candles[-1].ts
        series = self._series.get((exchange, symbol, timeframe))
        if series is not None and ts in series:
            return series.at(ts)
        key = (exchange, symbol, timeframe, ts)
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        indicators = compute_indicators(candles[-LIVE_WINDOW:])
        self.computations += 1
        self._entries[key] = indicators
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return indicators
