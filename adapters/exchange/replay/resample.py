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
    """Every bucket that holds at least one candle, oldest first (a gap in the data leaves no empty bucket)."""
    if not candles:
        return []
    result: list[Candle] = []
    group: list[Candle] = []
    current = bucket_start(candles[0].ts, timeframe_ms)
    for candle in candles:
        start = bucket_start(candle.ts, timeframe_ms)
        if start != current:
            result.append(aggregate(group, current))
            group, current = [], start
        group.append(candle)
    result.append(aggregate(group, current))
    return result
