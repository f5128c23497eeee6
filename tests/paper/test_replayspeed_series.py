"""The one-pass resample and the per-candle terms equal their straightforward definitions, exponents included."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from adapters.exchange.replay.resample import aggregate, bucket_start, resample
from adapters.exchange.replay.series import CandleTerms
from domain.market import Candle

HOUR = 3_600_000


def _candles(seed: int) -> list[Candle]:
    """Hourly candles with gaps and ties written with different exponents (2, 2.0, 2.00)."""
    rng = random.Random(seed)
    candles, ts = [], 0
    for _ in range(300):
        ts += HOUR * rng.choice([1, 1, 1, 2, 7])
        low = rng.randint(90, 100)
        high = rng.choice([low, low + rng.randint(0, 3)])
        values = [Decimal(value).quantize(Decimal(1).scaleb(-rng.randint(0, 2))) for value in (low, high)]
        low_d, high_d = values
        open_ = Decimal(rng.randint(low, high))
        close = Decimal(str(rng.randint(low, high))) + Decimal("0." + "0" * rng.randint(0, 3))
        volume = Decimal(rng.randint(0, 5000)).scaleb(-rng.randint(0, 4))
        candles.append(Candle(ts, open_, high_d, low_d, min(max(close, low_d), high_d), volume))
    return candles


def _fields(candles):
    return [(c.ts, *(str(value) for value in (c.open, c.high, c.low, c.close, c.volume))) for c in candles]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("timeframe_ms", [2 * HOUR, 4 * HOUR, 24 * HOUR])
def test_resample_when_gaps_and_ties_then_each_bucket_is_aggregate_of_its_candles(seed, timeframe_ms):
    candles = _candles(seed)
    buckets: dict[int, list[Candle]] = {}
    for candle in candles:
        buckets.setdefault(bucket_start(candle.ts, timeframe_ms), []).append(candle)

    result = resample(candles, timeframe_ms)

    assert _fields(result) == _fields([aggregate(group, start) for start, group in buckets.items()])
    for candle, group in zip(result, buckets.values(), strict=True):  # the very extremes aggregate picks
        assert candle.high is max(c.high for c in group) and candle.low is min(c.low for c in group)


@pytest.mark.parametrize("seed", range(5))
def test_candle_terms_when_ties_then_true_ranges_as_max_minus_min(seed):
    candles = _candles(seed)

    terms = CandleTerms.of(candles)

    true_ranges = [candles[0].high - candles[0].low] + [
        max(candle.high, previous.close) - min(candle.low, previous.close)
        for previous, candle in zip(candles, candles[1:], strict=False)
    ]
    assert [str(v) for v in terms.true_ranges] == [str(v) for v in true_ranges]
    assert [str(v) for v in terms.ranges] == [str(c.high - c.low) for c in candles]
    assert [str(v) for v in terms.quote_volumes] == [str(c.volume * c.close) for c in candles]
    assert terms.volumes == [c.volume for c in candles]
