"""pandas-ta indicators for one timeframe, reduced to the values on the last closed candle.

Floats live only here, inside the indicator math; what leaves is a frozen TimeframeIndicators where a value
that needs more candles than were given is None rather than NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pandas_ta as ta

from domain.market import Candle
from domain.snapshot import TimeframeIndicators

RSI_LENGTH = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BB_LENGTH, BB_STD = 20, 2.0
ATR_LENGTH = 14
VOLUME_LOOKBACK = 20
VOLATILITY_LOOKBACK = 20


def candles_to_frame(candles: Sequence[Candle]) -> pd.DataFrame:
    """OHLCV as float columns indexed by open time (UTC ms), oldest first."""
    return pd.DataFrame(
        {
            "open": [float(c.open) for c in candles],
            "high": [float(c.high) for c in candles],
            "low": [float(c.low) for c in candles],
            "close": [float(c.close) for c in candles],
            "volume": [float(c.volume) for c in candles],
        },
        index=[c.ts for c in candles],
    )


def compute_indicators(candles: Sequence[Candle]) -> TimeframeIndicators:
    """Indicators on the last candle of `candles` (pass closed candles only, oldest first)."""
    if not candles:
        return TimeframeIndicators()
    frame = candles_to_frame(candles)
    close, high, low, volume = frame["close"], frame["high"], frame["low"], frame["volume"]
    last_close = float(close.iloc[-1])

    macd_line, macd_signal, macd_hist, macd_hist_prev = _macd(close)
    bb_lower, bb_middle, bb_upper = _bollinger(close)
    percent_b = bandwidth = None
    if bb_lower is not None and bb_upper is not None and bb_middle:
        width = bb_upper - bb_lower
        percent_b = (last_close - bb_lower) / width if width > 0 else 0.5
        bandwidth = width / bb_middle
    ema_20, ema_50, ema_200 = (_last(ta.ema(close, length=n)) for n in (20, 50, 200))
    atr = _last(ta.atr(high, low, close, length=ATR_LENGTH))

    return TimeframeIndicators(
        close=last_close,
        rsi=_last(ta.rsi(close, length=RSI_LENGTH)),
        macd=macd_line,
        macd_signal=macd_signal,
        macd_hist=macd_hist,
        macd_hist_prev=macd_hist_prev,
        bb_lower=bb_lower,
        bb_middle=bb_middle,
        bb_upper=bb_upper,
        bb_percent_b=percent_b,
        bb_bandwidth=bandwidth,
        ema_20=ema_20,
        ema_50=ema_50,
        ema_200=ema_200,
        trend=trend_label(last_close, ema_20, ema_50, ema_200),
        atr=atr,
        atr_pct=atr / last_close if atr is not None and last_close > 0 else None,
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


def _macd(close: pd.Series) -> tuple[float | None, float | None, float | None, float | None]:
    frame = ta.macd(close, fast=MACD_FAST, slow=MACD_SLOW, signal=MACD_SIGNAL)
    if frame is None or frame.empty:
        return None, None, None, None
    line = _column(frame, "MACD_")
    hist = _column(frame, "MACDh_")
    signal = _column(frame, "MACDs_")
    hist_prev = _finite(hist.iloc[-2]) if hist is not None and len(hist) > 1 else None
    return _last(line), _last(signal), _last(hist), hist_prev


def _bollinger(close: pd.Series) -> tuple[float | None, float | None, float | None]:
    frame = ta.bbands(close, length=BB_LENGTH, std=BB_STD)
    if frame is None or frame.empty:
        return None, None, None
    return _last(_column(frame, "BBL_")), _last(_column(frame, "BBM_")), _last(_column(frame, "BBU_"))


def _volume_ratio(volume: pd.Series) -> float | None:
    if len(volume) < VOLUME_LOOKBACK + 1:
        return None
    baseline = float(volume.iloc[-VOLUME_LOOKBACK - 1 : -1].mean())
    return float(volume.iloc[-1]) / baseline if baseline > 0 else None


def _realised_volatility(close: pd.Series) -> float | None:
    if len(close) < VOLATILITY_LOOKBACK + 1 or (close <= 0).any():
        return None
    returns = np.log(close / close.shift(1)).iloc[-VOLATILITY_LOOKBACK:]
    return _finite(returns.std())


def _column(frame: pd.DataFrame, prefix: str) -> pd.Series | None:
    """pandas-ta names columns with their parameters (BBL_20_2.0 or BBL_20_2_2.0); match on the prefix."""
    return next((frame[name] for name in frame.columns if str(name).startswith(prefix)), None)


def _last(series: pd.Series | None) -> float | None:
    if series is None or len(series) == 0:
        return None
    return _finite(series.iloc[-1])


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
