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


def resample(candles: Sequence[Candle], timeframe_ms: int) -> list[Candle]:
    """Every bucket that holds at least one candle, oldest first (a gap in the data leaves no empty bucket).

    Each bucket is aggregate() of its candles, folded in one pass: the same comparisons in the same order (max
    and min keep the first extreme, replacing it only with one strictly beyond, as `>` and `<` here) and the
    same volume sum, candles[0].volume * 0 plus each volume left to right."""
    if not candles:
        return []
    result: list[Candle] = []
    append = result.append
    iterator = iter(candles)
    first = next(iterator)
    current = bucket_start(first.ts, timeframe_ms)
    open_, high, low, close = first.open, first.high, first.low, first.close
    volume = first.volume * 0 + first.volume
    for candle in iterator:
        ts = candle.ts
        start = ts - ts % timeframe_ms  # bucket_start, inline
        if start != current:
            append(Candle(current, open_, high, low, close, volume))  # positional: cheaper than keywords
            current = start
            open_, high, low, close = candle.open, candle.high, candle.low, candle.close
            volume = candle.volume * 0 + candle.volume
            continue
        if candle.high > high:
            high = candle.high
        if candle.low < low:
            low = candle.low
        close = candle.close
        volume = volume + candle.volume
    append(Candle(current, open_, high, low, close, volume))
    return result
