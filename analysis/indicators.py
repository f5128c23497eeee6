"""Indicators for one timeframe (pandas-ta's, see analysis.ta_kernels): whole columns over a candle series, or
the values on its last candle.

Floats live only in the indicator math; what leaves is IndicatorColumns (numpy arrays, NaN where a value needs
more candles than there are) or a frozen TimeframeIndicators where such a value is None. compute_indicators is
the last row of indicator_columns, so the per-window result and the series built once over a whole history
(analysis/indicator_series.py) come out of the same code. Every column is causal: row i reads candles 0..i only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from analysis import ta_kernels
from domain.market import Candle
from domain.snapshot import TimeframeIndicators

RSI_LENGTH = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BB_LENGTH, BB_STD = 20, 2.0
EMA_LENGTHS = (20, 50, 200)
ATR_LENGTH = 14
MACD_MIN_CANDLES = MACD_SLOW + MACD_SIGNAL - 1  # pandas-ta's macd refuses shorter series
VOLUME_LOOKBACK = 20
VOLATILITY_LOOKBACK = 20

FloatArray = np.ndarray


@dataclass(frozen=True, slots=True)
class IndicatorColumns:
    """One array per TimeframeIndicators field (same names, same order), one element per candle.

    Numbers are float64 with NaN where compute_indicators would give None (close is the raw close); trend holds
    the labels of trend_label.
    """

    close: FloatArray
    rsi: FloatArray
    macd: FloatArray
    macd_signal: FloatArray
    macd_hist: FloatArray
    macd_hist_prev: FloatArray
    bb_lower: FloatArray
    bb_middle: FloatArray
    bb_upper: FloatArray
    bb_percent_b: FloatArray
    bb_bandwidth: FloatArray
    ema_20: FloatArray
    ema_50: FloatArray
    ema_200: FloatArray
    trend: np.ndarray
    atr: FloatArray
    atr_pct: FloatArray
    volume_ratio: FloatArray
    realised_volatility: FloatArray

    def __len__(self) -> int:
        return len(self.close)


COLUMN_NAMES = tuple(field.name for field in fields(IndicatorColumns))
if COLUMN_NAMES != tuple(field.name for field in fields(TimeframeIndicators)):  # rows are built positionally
    raise RuntimeError("IndicatorColumns must list the fields of TimeframeIndicators in the same order")


def hlcv_arrays(candles: Sequence[Candle]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """high, low, close, volume as float64 arrays, oldest first (the open enters no indicator)."""
    return (
        np.array([float(c.high) for c in candles], dtype=np.float64),
        np.array([float(c.low) for c in candles], dtype=np.float64),
        np.array([float(c.close) for c in candles], dtype=np.float64),
        np.array([float(c.volume) for c in candles], dtype=np.float64),
    )


def compute_indicators(candles: Sequence[Candle]) -> TimeframeIndicators:
    """Indicators on the last candle of `candles` (pass closed candles only, oldest first)."""
    if not candles:
        return TimeframeIndicators()
    high, low, close, volume = hlcv_arrays(candles)
    columns = indicator_columns(high=high, low=low, close=close, volume=volume)
    values = [python_value(name, getattr(columns, name)[-1]) for name in COLUMN_NAMES]
    return TimeframeIndicators(*values)  # type: ignore[arg-type]


def indicator_columns(*, high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray) -> IndicatorColumns:
    """Every indicator as a column over the whole series; the value at i depends only on candles 0..i.

    EMA, RSI, ATR and MACD are pandas-ta's, bit for bit (analysis.ta_kernels, without pandas). Where pandas-ta
    refuses a series shorter than it needs (returns None) but fills earlier rows of a longer one (RSI from row 1,
    ATR from 13, MACD from 25), those rows are blanked: row i is what i + 1 candles alone give.
    """
    n = len(close)
    macd = ta_kernels.macd(close, MACD_FAST, MACD_SLOW, MACD_SIGNAL)
    macd_line, macd_signal, macd_hist = (
        _from(_array(column, n), MACD_MIN_CANDLES) for column in (macd or (None, None, None))
    )
    bb_lower, bb_middle, bb_upper = _bollinger(close)
    ema_20, ema_50, ema_200 = (_array(ta_kernels.ema(close, length), n) for length in EMA_LENGTHS)
    atr = _from(_array(ta_kernels.atr(high, low, close, ATR_LENGTH), n), ATR_LENGTH + 1)
    percent_b, bandwidth = _band_position(close, bb_lower, bb_middle, bb_upper)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        atr_pct = _finite(np.where(close > 0, atr / close, np.nan))
    return IndicatorColumns(
        close=close.copy(),  # the columns never alias the caller's arrays
        rsi=_from(_array(ta_kernels.rsi(close, RSI_LENGTH), n), RSI_LENGTH + 1),
        macd=macd_line,
        macd_signal=macd_signal,
        macd_hist=macd_hist,
        macd_hist_prev=_shift(macd_hist, 1),
        bb_lower=bb_lower,
        bb_middle=bb_middle,
        bb_upper=bb_upper,
        bb_percent_b=percent_b,
        bb_bandwidth=bandwidth,
        ema_20=ema_20,
        ema_50=ema_50,
        ema_200=ema_200,
        trend=trend_labels(close, ema_20, ema_50, ema_200),
        atr=atr,
        atr_pct=atr_pct,
        volume_ratio=_volume_ratio(volume),
        realised_volatility=_realised_volatility(close),
    )


def trend_label(close: float, ema_20: float | None, ema_50: float | None, ema_200: float | None) -> str:
    """up when price and EMAs are stacked bullishly (close > 20 > 50 [> 200]), down when stacked bearishly."""
    if ema_20 is None or ema_50 is None:
        return "unknown"
    if close > ema_20 > ema_50 and (ema_200 is None or ema_50 > ema_200):
        return "up"
    if close < ema_20 < ema_50 and (ema_200 is None or ema_50 < ema_200):
        return "down"
    return "sideways"


def trend_labels(close: FloatArray, ema_20: FloatArray, ema_50: FloatArray, ema_200: FloatArray) -> np.ndarray:
    """trend_label on every row at once (a non-finite EMA counts as None)."""
    no_200 = ~np.isfinite(ema_200)
    up = (close > ema_20) & (ema_20 > ema_50) & (no_200 | (ema_50 > ema_200))
    down = (close < ema_20) & (ema_20 < ema_50) & (no_200 | (ema_50 < ema_200))
    unknown = ~np.isfinite(ema_20) | ~np.isfinite(ema_50)
    return np.select([unknown, up, down], ["unknown", "up", "down"], default="sideways").astype(object)


def _bollinger(close: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """pandas-ta's bbands (SMA 20 -/+ BB_STD sample stdevs), each window reduced on its own 20 closes.

    ta.bbands takes its stdev from pandas' running rolling variance, which carries rounding from every earlier
    close (so a window's bands depend on where the series starts, by ~1e-9 of the width on the BTC history),
    and its SMA sums in an order that depends on the series length; a per-window mean and stdev have neither.
    """
    lower, middle, upper = (np.full(len(close), np.nan) for _ in range(3))
    if len(close) >= BB_LENGTH:
        windows = sliding_window_view(close, BB_LENGTH)
        mean = windows.mean(axis=1)
        deviation = BB_STD * windows.std(axis=1, ddof=1)
        middle[BB_LENGTH - 1 :] = mean
        lower[BB_LENGTH - 1 :] = mean - deviation
        upper[BB_LENGTH - 1 :] = mean + deviation
    return _finite(lower), _finite(middle), _finite(upper)


def _band_position(
    close: FloatArray, lower: FloatArray, middle: FloatArray, upper: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """%b (0.5 when the bands have no width) and bandwidth as a fraction of the middle band."""
    valid = np.isfinite(lower) & np.isfinite(upper) & np.isfinite(middle) & (middle != 0)
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        percent_b = np.where(valid, np.where(width > 0, (close - lower) / width, 0.5), np.nan)
        bandwidth = np.where(valid, width / middle, np.nan)
    return _finite(percent_b), _finite(bandwidth)


def _volume_ratio(volume: FloatArray) -> FloatArray:
    """volume[i] / mean(volume[i-20 .. i-1]), each mean over its own 20 values (no running sum to drift)."""
    result = np.full(len(volume), np.nan)
    if len(volume) < VOLUME_LOOKBACK + 1:
        return result
    baseline = sliding_window_view(volume[:-1], VOLUME_LOOKBACK).mean(axis=1)
    current = volume[VOLUME_LOOKBACK:]
    with np.errstate(divide="ignore", invalid="ignore"):
        result[VOLUME_LOOKBACK:] = np.where(baseline > 0, current / baseline, np.nan)
    return _finite(result)


def _realised_volatility(close: FloatArray) -> FloatArray:
    """Sample stdev of the 20 log returns ending at i; NaN when any of the 21 closes involved is not positive."""
    result = np.full(len(close), np.nan)
    if len(close) < VOLATILITY_LOOKBACK + 1:
        return result
    positive = close > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.log(close[1:] / close[:-1])
    windows = sliding_window_view(returns, VOLATILITY_LOOKBACK)
    all_positive = sliding_window_view(positive, VOLATILITY_LOOKBACK + 1).all(axis=1)
    with np.errstate(invalid="ignore"):
        result[VOLATILITY_LOOKBACK:] = np.where(all_positive, windows.std(axis=1, ddof=1), np.nan)
    return _finite(result)


def _array(values: FloatArray | None, n: int) -> FloatArray:
    if values is None:
        return np.full(n, np.nan)
    return _finite(values.astype(np.float64, copy=True))


def _finite(values: FloatArray) -> FloatArray:
    """inf -> NaN in place: every non-finite value means None to TimeframeIndicators."""
    values[~np.isfinite(values)] = np.nan
    return values


def _from(values: FloatArray, min_candles: int) -> FloatArray:
    """Blank the rows a series of fewer than min_candles candles gets no value for."""
    values[: min_candles - 1] = np.nan
    return values


def _shift(values: FloatArray, periods: int) -> FloatArray:
    shifted = np.full(len(values), np.nan)
    shifted[periods:] = values[: len(values) - periods]
    return shifted


def python_value(name: str, value: object) -> float | str | None:
    """One element of a column as TimeframeIndicators holds it: NaN -> None (not the raw close), plain Python."""
    if name == "trend":
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    return number if name == "close" or number == number else None
