"""Indicators computed once per candle series (vectorised) and read per candle in O(1).

compute_indicators runs the indicator math over a window for every cycle and keeps one row; a backtest over years then
spends minutes on indicator math. IndicatorSeries runs the same code (analysis.indicators.indicator_columns)
once over the whole series, so row t is what compute_indicators gives on candles[:t+1] (every column is causal).

Window start. EMA (and MACD's EMAs) are seeded by an SMA of their first `length` values and RSI/ATR are running
averages, so a value depends, weakly, on where the candles start: a series started s candles earlier differs
at candle t by about (1 - 2/201)^(t - s - 199) of the gap between the EMA-200 seed and the long-run EMA
(RSI/ATR/MACD forget 10-100x faster). LIVE_WINDOW is chosen so that this is below SETTLE_TOLERANCE relative:
(199/201)^2801 ~ 7e-13, so even a seed 1000x off the price leaves < 1e-9. Callers computing per window must
pass LIVE_WINDOW closed candles: over the former 300, EMA-200 is off by 0.4% (up to 1.3%) on the BTC history,
EMA-50 by 1e-6 and MACD by up to 3e-7; over 1000, EMA-200 by 3e-6; over 3000, by 3e-14.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import islice
from operator import attrgetter, lt
from typing import cast

import numpy as np

from analysis.indicators import COLUMN_NAMES, EMA_LENGTHS, IndicatorColumns, hlcv_arrays, indicator_columns
from domain.market import Candle
from domain.snapshot import TimeframeIndicators

WARMUP = max(EMA_LENGTHS)  # candles before every indicator has a value (EMA-200 needs 200 closes)
SETTLE_TOLERANCE = 1e-9  # relative gap allowed between a LIVE_WINDOW result and the full-history one
LIVE_WINDOW = 3000  # closed candles a live series keeps and a per-window computation must be given

_TREND = COLUMN_NAMES.index("trend")
_NUMERIC = tuple(name for name in COLUMN_NAMES if name != "trend")
_TS = attrgetter("ts")
if _NUMERIC[0] != "close":  # row() keeps the raw close and maps NaN to None in the others
    raise RuntimeError("TimeframeIndicators must start with close")


class IndicatorSeries:
    """Indicator columns over closed candles (oldest first), with TimeframeIndicators per candle built lazily.

    max_candles bounds the history kept (live use: LIVE_WINDOW); None keeps everything (a backtest's history).
    """

    def __init__(self, candles: Sequence[Candle] = (), *, max_candles: int | None = None) -> None:
        if max_candles is not None and max_candles < 1:
            raise ValueError("max_candles must be at least 1 (or None for no bound)")
        self.max_candles = max_candles
        self.computations = 0
        self._candles: list[Candle] = []
        self._ts: list[int] = []
        self._index: dict[int, int] = {}  # open time -> absolute position (position in held + self._dropped)
        self._dropped = 0
        self._hlcv: tuple[np.ndarray, ...] = tuple(np.empty(0) for _ in range(4))  # high, low, close, volume
        self._numbers = np.empty((0, len(_NUMERIC)))  # the numeric columns side by side: a row is one tolist()
        self._gaps: list[bool] = []  # per row: some indicator is NaN (warm-up), so the row maps NaN to None
        self._trend: list[str] = []
        self._rows: list[TimeframeIndicators | None] = []
        if candles:
            self.extend(candles)  # computes the columns (a series built with candles never holds the empty ones)
        else:
            self._columns = indicator_columns(high=np.empty(0), low=np.empty(0), close=np.empty(0), volume=np.empty(0))

    @classmethod
    def live(cls, candles: Sequence[Candle] = ()) -> IndicatorSeries:
        """A series for one (exchange, symbol, timeframe) fed candle by candle, bounded to LIVE_WINDOW."""
        return cls(candles, max_candles=LIVE_WINDOW)

    def __len__(self) -> int:
        return len(self._ts)

    def __contains__(self, ts: object) -> bool:
        return ts in self._index

    @property
    def columns(self) -> IndicatorColumns:
        """The whole columns (read-only numpy arrays), aligned with `timestamps`."""
        return self._columns

    @property
    def timestamps(self) -> tuple[int, ...]:
        """Open times of the held candles (a copy: O(n))."""
        return tuple(self._ts)

    @property
    def candles(self) -> tuple[Candle, ...]:
        """The held candles (a copy: O(n))."""
        return tuple(self._candles)

    def position(self, ts: int) -> int:
        """Row number of the candle opening at ts; KeyError when the series does not hold it."""
        absolute = self._index.get(ts)
        if absolute is None:
            held = f"{self._ts[0]}..{self._ts[-1]}" if self._ts else "none"
            raise KeyError(f"no candle opening at {ts} in this indicator series (held open times: {held})")
        return absolute - self._dropped

    def at(self, ts: int) -> TimeframeIndicators:
        """Indicators on the candle that opened at ts (UTC ms)."""
        return self.row(self.position(ts))

    def row(self, i: int) -> TimeframeIndicators:
        """Indicators on row i (negative counts from the end, like a list)."""
        if not -len(self._rows) <= i < len(self._rows):
            raise IndexError(f"row {i} is outside this indicator series of {len(self._rows)} candles")
        cached = self._rows[i]
        if cached is None:
            values = self._numbers[i].tolist()
            if self._gaps[i]:  # NaN -> None, except the raw close; a row past the warm-up has no NaN to look for
                values[1:] = [number if number == number else None for number in values[1:]]
            values.insert(_TREND, self._trend[i])
            cached = TimeframeIndicators(*values)
            self._rows[i] = cached
        return cached

    def extend(self, candles: Sequence[Candle]) -> int:
        """Merge closed candles (oldest first) into the series and recompute; returns how many were new or revised.

        Candles already held are compared and replaced when the exchange revised them; candles older than the
        first held are ignored once the bound has dropped history (a live fetch overlaps what is held). A candle
        that would land inside the held history where there is none is refused: rows cannot be inserted.
        """
        if not candles:
            return 0
        times = list(map(_TS, candles))
        if not all(map(lt, times, islice(times, 1, None))):  # each open time before the next one
            raise ValueError("candles must be sorted oldest first with no duplicate open times")
        split = bisect_right(times, self._ts[-1]) if self._ts else 0
        revised = sum(self._merge(candle) for candle in candles[:split])
        newer = candles[split:]
        if not newer and not revised:
            return 0
        self._append(newer, times[split:])
        self._recompute()
        return len(newer) + revised

    def _merge(self, candle: Candle) -> bool:
        absolute = self._index.get(candle.ts)
        if absolute is None:
            if candle.ts < self._ts[0]:
                if self._dropped:  # the bound dropped it already
                    return False
                raise ValueError(
                    f"candle opening at {candle.ts} is older than the first held ({self._ts[0]}): rows cannot be "
                    "prepended; build a new series from the longer history"
                )
            raise ValueError(
                f"candle opening at {candle.ts} falls inside the held history ({self._ts[0]}..{self._ts[-1]}) "
                "where the series has no candle: rows cannot be inserted; build a new series"
            )
        position = absolute - self._dropped
        held = self._candles[position]
        if held is candle or held == candle:
            return False
        self._candles[position] = candle
        for array, value in zip(self._hlcv, (candle.high, candle.low, candle.close, candle.volume), strict=True):
            array[position] = float(value)
        return True

    def _append(self, newer: Sequence[Candle], times: list[int]) -> None:
        """Hold `newer` (whose open times are `times`) after the candles held."""
        start = self._dropped + len(self._ts)
        self._index.update(zip(times, range(start, start + len(times)), strict=True))
        self._candles.extend(newer)
        self._ts.extend(times)
        self._hlcv = tuple(
            np.concatenate((held, new)) for held, new in zip(self._hlcv, hlcv_arrays(newer), strict=True)
        )
        excess = len(self._ts) - self.max_candles if self.max_candles is not None else 0
        if excess > 0:
            for ts in self._ts[:excess]:
                del self._index[ts]
            del self._ts[:excess], self._candles[:excess]
            self._hlcv = tuple(array[excess:].copy() for array in self._hlcv)
            self._dropped += excess

    def _recompute(self) -> None:
        high, low, close, volume = self._hlcv
        self._columns = indicator_columns(high=high, low=low, close=close, volume=volume)
        for name in COLUMN_NAMES:
            getattr(self._columns, name).setflags(write=False)
        self._numbers = np.column_stack([getattr(self._columns, name) for name in _NUMERIC])
        self._trend = self._columns.trend.tolist()
        self._gaps = cast(list[bool], np.isnan(self._numbers[:, 1:]).any(axis=1).tolist())
        self._rows = [None] * len(self._ts)
        self.computations += 1
