"""The pandas-ta indicators analysis.indicators uses (EMA, RSI, ATR, MACD), computed without pandas, bit for bit.

pandas and pandas-ta (with numba) take about half a second to import, more than a backtest's whole indicator
math, so these are the same floating-point operations in the same order: pandas-ta 0.4's ema (seeded with the
SMA of the first `length` values), rma, rsi, true_range and atr, and pandas' Series.ewm(adjust=False).mean()
(pandas/_libs/window/aggregations.pyx ewm: the recursion with its division by old_wt + new_wt, and the centre
of mass that alpha or span become first). A mean is numpy's sum divided by the count, as pandas' nanmean does.
tests/analysis/test_ta_kernels.py checks every column against pandas-ta itself, exactly.

Each function returns None where pandas-ta returns None (a series shorter than it needs), else a new float64
array with NaN where pandas-ta gives NaN.
"""

from __future__ import annotations

import sys
from array import array

import numpy as np

FloatArray = np.ndarray


def ewm_mean(values: FloatArray, com: float) -> FloatArray:
    """pd.Series(values).ewm(com=com, adjust=False).mean(): ignore_na False, min_periods 1, infinities read as NaN
    (pandas' window functions convert them first)."""
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
    alpha = 1.0 / (1.0 + com)
    old_wt_factor = 1.0 - alpha
    new_wt = alpha
    out = values.tolist()
    if not out:
        return np.empty(0)
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid) and len(valid) == len(out) - valid[0]:
        # through array('d'): the same doubles, converted in C without numpy's per-item type discovery
        return np.frombuffer(array("d", _ewm_unbroken(out, int(valid[0]), old_wt_factor, new_wt)), dtype=np.float64)
    weighted = out[0]
    old_wt = 1.0
    for i in range(1, len(out)):
        cur = out[i]
        if weighted == weighted:  # not NaN
            old_wt *= old_wt_factor
            if cur == cur:
                if weighted != cur:  # pandas: "avoid numerical errors on constant series"
                    weighted = old_wt * weighted + new_wt * cur
                    weighted /= old_wt + new_wt
                old_wt = 1.0
        elif cur == cur:
            weighted = cur
        out[i] = weighted
    return np.array(out, dtype=np.float64)


def _ewm_unbroken(out: list[float], first: int, old_wt_factor: float, new_wt: float) -> list[float]:
    """ewm_mean's recursion over `out` (in place) when out[first] is its first number and no NaN follows it.

    Then ewm_mean's weighted value is NaN (out[0]) before first and out[first] at first, and after it old_wt is
    1.0 * old_wt_factor = old_wt_factor at every step (reset to 1.0 by each number): the same float operations
    in the same order, without the tests and the weight bookkeeping of the general loop."""
    weighted = out[0]
    for i in range(1, first):
        out[i] = weighted
    weighted = out[first]
    denominator = old_wt_factor + new_wt
    tail: list[float] = []
    append = tail.append
    for cur in out[first + 1 :]:
        if weighted != cur:  # pandas: "avoid numerical errors on constant series"
            weighted = (old_wt_factor * weighted + new_wt * cur) / denominator
        append(weighted)
    out[first + 1 :] = tail
    return out


def _mean(values: FloatArray) -> float:
    """pandas' Series.mean() (nanops.nanmean): numpy's (pairwise) sum with NaN as 0, over the count of the others."""
    missing = np.isnan(values)
    if missing.any():
        values = np.where(missing, 0.0, values)
    count = np.float64(len(values) - int(missing.sum()))
    return values.sum() / count if count > 0 else np.nan


def _span_com(span: int) -> float:
    return float((span - 1) / 2)


def _alpha_com(alpha: float) -> float:
    return float((1 - alpha) / alpha)


def ema(close: FloatArray, length: int) -> FloatArray | None:
    """ta.ema(close, length): the first length - 1 values NaN, the SMA of the first length at length - 1."""
    if len(close) < length:
        return None
    seeded = close.astype(np.float64, copy=True)
    sma = _mean(seeded[0:length])
    seeded[: length - 1] = np.nan
    seeded[length - 1] = sma
    return ewm_mean(seeded, _span_com(length))


def rma(values: FloatArray, length: int) -> FloatArray | None:
    """ta.rma(values, length): ewm with alpha 1 / length."""
    if len(values) < length:
        return None
    return ewm_mean(values, _alpha_com((1.0 / length) if length > 0 else 0.5))


def rsi(close: FloatArray, length: int) -> FloatArray | None:
    """ta.rsi(close, length): 100 * rma(gains) / (rma(gains) + |rma(losses)|)."""
    if len(close) < length + 1:
        return None
    negative = np.full(len(close), np.nan)
    negative[1:] = close[1:] - close[:-1]
    positive = negative.copy()
    with np.errstate(invalid="ignore"):
        positive[positive < 0] = 0
        negative[negative > 0] = 0
    positive_avg, negative_avg = rma(positive, length), rma(negative, length)
    assert positive_avg is not None and negative_avg is not None
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * positive_avg / (positive_avg + np.abs(negative_avg))


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """ta.true_range: the largest of |high - low| (plus epsilon everywhere if any is zero), |high - previous
    close| and |previous close - low|, skipping the missing previous close of the first candle."""
    hl_range = high - low
    if (hl_range == 0).any():
        hl_range = hl_range + sys.float_info.epsilon
    previous = np.full(len(close), np.nan)
    previous[1:] = close[:-1]
    ranges = np.abs(np.vstack((hl_range, high - previous, previous - low)))
    with np.errstate(invalid="ignore"):
        return np.fmax(np.fmax(ranges[0], ranges[1]), ranges[2])  # fmax: NaN only where all three are


def atr(high: FloatArray, low: FloatArray, close: FloatArray, length: int) -> FloatArray | None:
    """ta.atr(high, low, close, length): rma of the true range, seeded with the SMA of its first length values."""
    if len(close) < length + 1:
        return None
    ranges = true_range(high, low, close)
    if np.isnan(ranges).all():
        return None
    seeded = ranges.copy()
    sma = _mean(seeded[0:length])
    seeded[: length - 1] = np.nan
    seeded[length - 1] = sma
    result = rma(seeded, length)
    if result is None or np.isnan(result).all():
        return None
    return result


def macd(close: FloatArray, fast: int, slow: int, signal: int) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """ta.macd(close, fast, slow, signal): (macd line, signal line, histogram), the signal an EMA of the line from
    its first value on."""
    if slow < fast:
        fast, slow = slow, fast
    if len(close) < slow + signal - 1:
        return None
    fast_ma, slow_ma = ema(close, fast), ema(close, slow)
    assert fast_ma is not None and slow_ma is not None
    line = fast_ma - slow_ma
    valid = np.flatnonzero(~np.isnan(line))
    first = int(valid[0]) if len(valid) else 0
    tail = ema(line[first:], signal)
    signal_line = np.full(len(close), np.nan)
    if tail is not None:
        signal_line[first:] = tail
    return line, signal_line, line - signal_line
