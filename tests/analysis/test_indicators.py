"""compute_indicators (the per-window result): Bollinger bands reduced per window, volatility per its own closes."""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest

import analysis.indicators as indicators
from analysis.indicators import compute_indicators
from tests.analysis.market import btc, random_walk

BANDS = ("bb_lower", "bb_middle", "bb_upper", "bb_percent_b", "bb_bandwidth")


def _closes(candles) -> list[float]:  # type: ignore[no-untyped-def]
    return [float(candle.close) for candle in candles]


def test_compute_indicators_when_bb_std_changed_then_band_width_follows_it(monkeypatch):
    candles = btc("1h")[1000:1300]
    monkeypatch.setattr(indicators, "BB_STD", 3.0)
    ind = compute_indicators(candles)
    stdev = statistics.stdev(_closes(candles[-20:]))
    assert ind.bb_upper - ind.bb_middle == pytest.approx(3.0 * stdev, rel=1e-9)
    assert ind.bb_middle - ind.bb_lower == pytest.approx(3.0 * stdev, rel=1e-9)


@pytest.mark.parametrize("t", [1999, 5000, 12345, 20110])
def test_compute_indicators_when_window_start_moves_then_bollinger_values_identical(t):
    """Bands depend on the last 20 closes only, so every window ending at t gives the same bits."""
    candles = btc("1h")
    results = [compute_indicators(candles[t + 1 - size : t + 1]) for size in (20, 21, 300, 2000)]
    for name in BANDS:
        assert len({getattr(result, name) for result in results}) == 1, name


@pytest.mark.parametrize("t", [19, 777, 9000, 20110])
def test_compute_indicators_when_compared_with_exact_statistics_then_bands_within_1e_12(t):
    closes = [Fraction(close) for close in _closes(btc("1h")[t - 19 : t + 1])]
    mean = statistics.mean(closes)
    half_width = 2 * Fraction(statistics.stdev(closes))
    ind = compute_indicators(btc("1h")[max(0, t - 299) : t + 1])
    assert ind.bb_middle == pytest.approx(float(mean), rel=1e-14)
    assert ind.bb_upper == pytest.approx(float(mean + half_width), rel=1e-12)
    assert ind.bb_lower == pytest.approx(float(mean - half_width), rel=1e-12)


def test_compute_indicators_when_zero_close_outside_last_21_then_volatility_still_computed():
    candles = random_walk(3, 300, volatility=0.01)
    candles[100] = replace(candles[100], close=Decimal(0), low=Decimal(0))
    closes = _closes(candles[-21:])
    expected = statistics.stdev([math.log(later / earlier) for earlier, later in itertools.pairwise(closes)])
    assert compute_indicators(candles).realised_volatility == pytest.approx(expected, rel=1e-12)


def test_compute_indicators_when_zero_close_among_last_21_then_volatility_none():
    candles = random_walk(3, 300, volatility=0.01)
    candles[-21] = replace(candles[-21], close=Decimal(0), low=Decimal(0))
    assert compute_indicators(candles).realised_volatility is None


def test_compute_indicators_when_volumes_given_then_ratio_is_last_over_mean_of_20_before():
    candles = btc("1h")[4000:4100]
    volumes = [float(candle.volume) for candle in candles]
    assert compute_indicators(candles).volume_ratio == pytest.approx(volumes[-1] / statistics.fmean(volumes[-21:-1]))
    silent = [replace(candle, volume=Decimal(0)) for candle in candles]
    assert compute_indicators(silent).volume_ratio is None


def test_import_when_the_engine_computes_indicators_then_pandas_is_never_loaded() -> None:
    """pandas-ta is the reference of the tests only (test_ta_kernels): it takes half a second to import."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, engine.pair_engine, engine.market_hub, analysis.snapshot, analysis.indicator_series\n"
        "from analysis.indicators import compute_indicators\n"
        "from tests.analysis.market import btc\n"
        "compute_indicators(btc()[:300])\n"
        "assert not {'pandas', 'pandas_ta', 'numba'} & set(sys.modules), 'loaded'\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
