"""analysis.ta_kernels against pandas-ta itself (the reference): every value of every column equal, bit for bit,
NaN where pandas-ta has NaN and None where it returns None."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import ta_kernels
from analysis.indicators import ATR_LENGTH, EMA_LENGTHS, MACD_FAST, MACD_SIGNAL, MACD_SLOW, RSI_LENGTH, hlcv_arrays
from domain.market import Candle
from tests.analysis.market import btc, random_walk

pd = pytest.importorskip("pandas")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ta = pytest.importorskip("pandas_ta")


def _values(reference: object) -> np.ndarray | None:
    return None if reference is None else reference.to_numpy(dtype=np.float64)  # type: ignore[attr-defined]


def _assert_identical(mine: np.ndarray | None, reference: np.ndarray | None, what: str) -> None:
    assert (mine is None) == (reference is None), f"{what}: None from one side only"
    if mine is not None and reference is not None:
        assert mine.dtype == np.float64 and len(mine) == len(reference), what
        differ = np.flatnonzero(~((mine == reference) | (np.isnan(mine) & np.isnan(reference))))
        assert not len(differ), f"{what}: {len(differ)} values differ, first at {differ[:3]}: {mine[differ[:3]]}"


def _assert_like_pandas_ta(candles: list[Candle] | tuple[Candle, ...], label: str) -> None:
    high, low, close, _ = hlcv_arrays(candles)
    close_s, high_s, low_s = pd.Series(close), pd.Series(high), pd.Series(low)
    for length in EMA_LENGTHS:
        _assert_identical(ta_kernels.ema(close, length), _values(ta.ema(close_s, length=length)), f"{label} ema")
    _assert_identical(ta_kernels.rsi(close, RSI_LENGTH), _values(ta.rsi(close_s, length=RSI_LENGTH)), f"{label} rsi")
    _assert_identical(
        ta_kernels.atr(high, low, close, ATR_LENGTH),
        _values(ta.atr(high_s, low_s, close_s, length=ATR_LENGTH)),
        f"{label} atr",
    )
    mine = ta_kernels.macd(close, MACD_FAST, MACD_SLOW, MACD_SIGNAL)
    frame = ta.macd(close_s, fast=MACD_FAST, slow=MACD_SLOW, signal=MACD_SIGNAL)
    assert (mine is None) == (frame is None), f"{label} macd"
    if mine is not None:
        for column, prefix in zip(mine, ("MACD_", "MACDs_", "MACDh_"), strict=True):
            name = next(name for name in frame.columns if str(name).startswith(prefix))
            _assert_identical(column, _values(frame[name]), f"{label} {prefix}")


@pytest.mark.parametrize("timeframe", ["1h", "4h", "1d"])
def test_kernels_when_btc_history_then_pandas_ta_bit_for_bit(timeframe: str) -> None:
    candles = btc(timeframe)
    _assert_like_pandas_ta(candles, timeframe)
    for start in (1, len(candles) // 3):  # windows start anywhere (the live per-window computation)
        _assert_like_pandas_ta(candles[start : start + 3000], f"{timeframe}[{start}:]")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(0, 420),
    volatility=st.sampled_from([0.0, 1e-4, 0.01, 0.08]),
    flat_every=st.sampled_from([0, 7, 40]),
)
def test_kernels_when_random_walk_then_pandas_ta_bit_for_bit(seed, count, volatility, flat_every) -> None:
    """Short series (None below each indicator's minimum), flat runs (the EMA's constant-series branch) and
    zero ranges (the epsilon added to every high - low)."""
    _assert_like_pandas_ta(random_walk(seed, count, volatility=volatility, flat_every=flat_every), f"walk {seed}")


def test_ewm_mean_when_gaps_and_leading_nans_then_pandas_ewm() -> None:
    values = np.array([np.nan, np.nan, 3.0, np.nan, 5.0, 5.0, np.nan, np.nan, 1.5, 2.25, np.inf, 7.0])
    for com in (0.5, 5.5, 13.0):
        expected = pd.Series(values).ewm(com=com, adjust=False).mean().to_numpy()
        _assert_identical(ta_kernels.ewm_mean(values, com), expected, f"com {com}")
