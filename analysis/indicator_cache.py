"""Indicators computed once per (exchange, symbol, timeframe, last closed candle) and shared by every engine."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from analysis.indicators import compute_indicators
from domain.market import Candle
from domain.snapshot import TimeframeIndicators

IndicatorKey = tuple[str, str, str, int]


class IndicatorCache:
    """A small LRU: computing is synchronous and cheap enough that a plain lookup-or-compute needs no lock."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[IndicatorKey, TimeframeIndicators] = OrderedDict()
        self._max_entries = max_entries
        self.computations = 0

    def get(self, exchange: str, symbol: str, timeframe: str, candles: Sequence[Candle]) -> TimeframeIndicators:
        if not candles:
            return TimeframeIndicators()
        key = (exchange, symbol, timeframe, candles[-1].ts)
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        indicators = compute_indicators(candles)
        self.computations += 1
        self._entries[key] = indicators
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return indicators
