"""Aggregating base candles into longer timeframes, aligned to UTC (4h buckets start at 00, 04, ... UTC)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.market import Candle


def bucket_start(ts: int, timeframe_ms: int) -> int:
    return ts - ts % timeframe_ms


def aggregate(candles: Sequence[Candle], ts: int) -> Candle:
    """One candle from consecutive candles: open first, high max, low min, close last, volume sum."""
    if not candles:
        raise ValueError("cannot aggregate zero candles")
    return Candle(
        ts=ts,
        open=candles[0].open,
        high=max(candle.high for candle in candles),
        low=min(candle.low for candle in candles),
        close=candles[-1].close,
        volume=sum((candle.volume for candle in candles), candles[0].volume * 0),
    )


def fold(candle: Candle, later: Sequence[Candle]) -> Candle:
    """candle (an aggregate) extended by the later candles of its bucket: equal to aggregating them all at once,
    since max/min keep the first extreme (a later one replaces it only when strictly beyond) and the volume sum
    adds left to right."""
    if not later:
        return candle
    high, low, volume = candle.high, candle.low, candle.volume
    for item in later:
        if item.high > high:
            high = item.high
        if item.low < low:
            low = item.low
        volume = volume + item.volume
    return Candle(candle.ts, candle.open, high, low, later[-1].close, volume)


def resample(candles: Sequence[Candle], timeframe_ms: int) -> list[Candle]:
    """Every bucket that holds at least one candle, oldest first (a gap in the data leaves no empty bucket).

    Each bucket is its first candle, as aggregate() of it alone, folded with the rest of the bucket (fold): the
    same comparisons in the same order and the same volume sum as aggregate() of the whole bucket."""
    result: list[Candle] = []
    seed: Candle | None = None  # the bucket's first candle, as aggregate() of it alone
    rest = 0  # where the rest of the bucket begins
    for index, candle in enumerate(candles):
        ts = candle.ts
        start = ts - ts % timeframe_ms  # bucket_start, inline
        if seed is None or start != seed.ts:
            if seed is not None:
                result.append(fold(seed, candles[rest:index]))
            seed = Candle(start, candle.open, candle.high, candle.low, candle.close, candle.volume * 0 + candle.volume)
            rest = index + 1
    if seed is not None:
        result.append(fold(seed, candles[rest:]))
    return result
