"""IndicatorSeries for live use: extend with overlapping fetches, a bounded history, revised candles, lookups."""

from __future__ import annotations

from dataclasses import fields, replace
from decimal import Decimal

import numpy as np
import pytest

from analysis.indicator_series import LIVE_WINDOW, IndicatorSeries
from analysis.indicators import compute_indicators
from tests.analysis.market import HOUR_MS, btc, random_walk


def test_extend_when_fed_candle_by_candle_then_same_columns_as_built_at_once():
    candles = btc("1h")[:260]
    grown = IndicatorSeries(candles[:1])
    for candle in candles[1:]:
        assert grown.extend([candle]) == 1
    built = IndicatorSeries(candles)
    for field in fields(built.columns):
        np.testing.assert_array_equal(getattr(grown.columns, field.name), getattr(built.columns, field.name))
    assert [grown.row(i) for i in range(len(candles))] == [built.row(i) for i in range(len(candles))]


def test_extend_when_live_fetches_overlap_past_the_bound_then_last_row_is_the_live_window_result():
    candles = btc("1h")[: LIVE_WINDOW + 400]
    series = IndicatorSeries.live()
    added = 0
    for end in range(300, len(candles) + 1, 100):  # every fetch returns the last 300 closed candles
        added += series.extend(candles[end - 300 : end])
    assert added == len(candles)
    assert len(series) == LIVE_WINDOW and series.timestamps[0] == candles[-LIVE_WINDOW].ts
    assert series.row(-1) == compute_indicators(candles[-LIVE_WINDOW:])
    assert series.at(candles[-1].ts) is series.row(-1)


def test_extend_when_nothing_new_then_no_recomputation():
    candles = btc("1h")[:300]
    series = IndicatorSeries(candles)
    assert series.extend(candles[-50:]) == 0
    assert series.computations == 1


def test_extend_when_held_candle_revised_then_replaced_and_recomputed():
    candles = btc("1h")[:300]
    series = IndicatorSeries(candles)
    revised = replace(candles[-1], volume=candles[-1].volume * 3)
    assert series.extend([revised]) == 1
    assert series.candles[-1] == revised
    assert series.row(-1) == compute_indicators([*candles[:-1], revised])
    with pytest.raises(ValueError, match="read-only"):
        series.columns.close[-1] = 0.0


def test_extend_when_candle_falls_in_a_held_gap_then_refused():
    candles = random_walk(1, 50, volatility=0.01)
    series = IndicatorSeries(candles[:20] + candles[21:])
    with pytest.raises(ValueError, match="no candle"):
        series.extend([candles[20]])


def test_extend_when_candles_unsorted_then_refused():
    candles = random_walk(1, 50, volatility=0.01)
    with pytest.raises(ValueError, match="oldest first"):
        IndicatorSeries(candles[::-1])


def test_extend_when_candle_older_than_history_then_refused_unless_the_bound_dropped_it():
    candles = random_walk(2, 80, volatility=0.01)
    with pytest.raises(ValueError, match="older than"):
        IndicatorSeries(candles[10:]).extend(candles[:11])
    bounded = IndicatorSeries(candles, max_candles=30)
    assert bounded.extend(candles) == 0
    assert bounded.timestamps == tuple(candle.ts for candle in candles[-30:])


def test_extend_when_data_has_a_time_gap_then_rows_follow_the_candles_given():
    candles = random_walk(4, 120, volatility=0.01)
    later = [replace(candle, ts=candle.ts + 1000 * HOUR_MS) for candle in candles[60:]]
    series = IndicatorSeries(candles[:60] + later)
    assert series.at(later[-1].ts) == compute_indicators(candles[:60] + later)


def test_at_when_open_time_not_held_then_key_error_naming_it():
    series = IndicatorSeries(btc("1h")[:30])
    with pytest.raises(KeyError, match="no candle opening at 123"):
        series.at(123)
    with pytest.raises(IndexError):
        series.row(30)
    assert 123 not in series and btc("1h")[5].ts in series
    assert series.at(btc("1h")[5].ts) is series.row(5) is series.row(-25)


def test_series_when_empty_then_no_rows_and_bound_must_be_positive():
    assert len(IndicatorSeries()) == 0
    with pytest.raises(ValueError, match="max_candles"):
        IndicatorSeries(max_candles=0)


def test_row_when_price_flat_then_bands_have_no_width_and_percent_b_is_half():
    flat = [
        replace(candle, open=Decimal(5), high=Decimal(5), low=Decimal(5), close=Decimal(5)) for candle in btc("1h")[:60]
    ]
    row = IndicatorSeries(flat).row(-1)
    assert (row.bb_lower, row.bb_upper, row.bb_percent_b, row.bb_bandwidth) == (5.0, 5.0, 0.5, 0.0)
    assert row.rsi is None and row.trend == "sideways"  # RSI is 0 / 0 on a flat series
    assert 0 < row.atr < 1e-15  # pandas-ta's non_zero_range puts machine epsilon in a zero high-low range
