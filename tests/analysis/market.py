"""Candles for the indicator tests: the shipped BTC/USD hourly history (and its 4h / 1d resamples) and random walks."""

from __future__ import annotations

import math
from dataclasses import fields
from decimal import Decimal
from functools import lru_cache

import numpy as np

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.replay.resample import resample
from domain.market import TIMEFRAME_MS, Candle
from domain.snapshot import TimeframeIndicators

HOUR_MS = TIMEFRAME_MS["1h"]
EXACT_TO = Decimal("0.00000001")


@lru_cache(maxsize=4)
def btc(timeframe: str = "1h") -> tuple[Candle, ...]:
    hourly = read_candles(shipped_candle_file())
    return tuple(hourly if timeframe == "1h" else resample(hourly, TIMEFRAME_MS[timeframe]))


def random_walk(
    seed: int, count: int, *, volatility: float, start: float = 100.0, flat_every: int = 0, zero_volume: float = 0.0
) -> list[Candle]:
    """Hourly candles of a log-normal walk; flat_every > 0 repeats the price in runs, zero_volume is a probability."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, volatility, count)
    if flat_every:
        steps[(np.arange(count) // flat_every) % 2 == 1] = 0.0
    closes = start * np.exp(np.cumsum(steps))
    opens = np.concatenate(([start], closes[:-1]))
    wicks = np.abs(rng.normal(0.0, volatility / 2, (2, count)))
    volumes = rng.lognormal(3.0, 1.0, count) * (rng.random(count) >= zero_volume)
    candles = []
    for i in range(count):
        open_, close = _price(opens[i]), _price(closes[i])
        high = max(open_, close, _price(max(opens[i], closes[i]) * (1 + wicks[0, i])))
        low = min(open_, close, _price(min(opens[i], closes[i]) * (1 - wicks[1, i])))
        candles.append(
            Candle(i * HOUR_MS, open_, high, low, close, Decimal(repr(float(volumes[i]))).quantize(EXACT_TO))
        )
    return candles


def _price(value: float) -> Decimal:
    return max(Decimal(repr(float(value))).quantize(EXACT_TO), EXACT_TO)


def relative_gaps(a: TimeframeIndicators, b: TimeframeIndicators) -> dict[str, float]:
    """Per numeric field, |a - b| / max(|a|, |b|) (0 when equal); inf when only one side has a value."""
    gaps = {}
    for field in fields(TimeframeIndicators):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name == "trend" or x == y:
            continue
        if x is None or y is None:
            gaps[field.name] = math.inf
        else:
            gaps[field.name] = abs(x - y) / max(abs(x), abs(y))
    return gaps
