"""build_snapshot and IndicatorCache reading a precomputed IndicatorSeries: no indicator math on the hot path."""

from __future__ import annotations

from decimal import Decimal

import pytest

import analysis.indicator_cache as indicator_cache
import analysis.snapshot as snapshot_module
from analysis.indicator_cache import IndicatorCache
from analysis.indicator_series import LIVE_WINDOW, SETTLE_TOLERANCE, IndicatorSeries
from analysis.indicators import compute_indicators
from analysis.snapshot import build_snapshot
from domain.market import Ticker
from tests.analysis.market import HOUR_MS, btc, relative_gaps

FOUR_HOURS_MS = 4 * HOUR_MS


def _no_math(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("indicator math on the hot path")


def _ticker(now: int) -> Ticker:
    return Ticker("BTC/USD", now, Decimal(1))


def test_build_snapshot_when_series_given_then_reads_rows_at_last_closed_candle_without_math(monkeypatch):
    hourly, four_hourly = btc("1h"), btc("4h")
    sources = {"1h": IndicatorSeries(hourly), "4h": IndicatorSeries(four_hourly)}
    monkeypatch.setattr(snapshot_module, "compute_indicators", _no_math)
    now = hourly[8001].ts + HOUR_MS // 2  # candle 8001 is still forming
    snapshot = build_snapshot(
        exchange="x",
        symbol="BTC/USD",
        candles={"1h": hourly, "4h": four_hourly},
        ticker=_ticker(now),
        indicators=sources,
    )
    last_4h = next(candle for candle in reversed(four_hourly) if candle.ts + FOUR_HOURS_MS <= now)
    assert snapshot.candle_ts == hourly[8000].ts
    assert snapshot.base.indicators is sources["1h"].at(hourly[8000].ts)
    assert snapshot.timeframe("4h").indicators is sources["4h"].at(last_4h.ts)


def test_build_snapshot_when_series_given_then_same_indicators_as_computed_per_window():
    hourly = btc("1h")
    now = hourly[6000].ts + HOUR_MS
    from_series = build_snapshot(
        exchange="x",
        symbol="BTC/USD",
        candles={"1h": hourly},
        ticker=_ticker(now),
        indicators={"1h": IndicatorSeries(hourly)},
    )
    computed = build_snapshot(exchange="x", symbol="BTC/USD", candles={"1h": hourly[:6001]}, ticker=_ticker(now))
    assert from_series.base.candles == computed.base.candles
    assert (
        max(relative_gaps(from_series.base.indicators, computed.base.indicators).values(), default=0) < SETTLE_TOLERANCE
    )


def test_build_snapshot_when_more_than_live_window_candles_then_computes_over_the_last_window():
    hourly = btc("1h")[: LIVE_WINDOW + 500]
    snapshot = build_snapshot(
        exchange="x", symbol="BTC/USD", candles={"1h": hourly}, ticker=_ticker(hourly[-1].ts + HOUR_MS)
    )
    assert snapshot.base.indicators == compute_indicators(hourly[-LIVE_WINDOW:])


def test_indicator_cache_when_series_attached_then_served_without_computation(monkeypatch):
    hourly = btc("1h")[:2000]
    cache = IndicatorCache()
    series = IndicatorSeries(hourly[:1500])
    cache.attach("coinbase", "BTC/USD", "1h", series)
    monkeypatch.setattr(indicator_cache, "compute_indicators", _no_math)
    assert cache.get("coinbase", "BTC/USD", "1h", hourly[:1200]) is series.at(hourly[1199].ts)
    assert cache.series("coinbase", "BTC/USD", "1h") is series and cache.computations == 0
    with pytest.raises(AssertionError, match="hot path"):  # a candle the series does not hold is computed
        cache.get("coinbase", "BTC/USD", "1h", hourly[:1600])


def test_indicator_cache_when_more_than_live_window_candles_then_computes_over_the_last_window():
    hourly = btc("1h")[: LIVE_WINDOW + 100]
    assert IndicatorCache().get("x", "BTC/USD", "1h", hourly) == compute_indicators(hourly[-LIVE_WINDOW:])


def test_build_snapshot_when_keep_candles_below_one_then_rejected():
    hourly = list(btc("1h")[:50])
    with pytest.raises(ValueError, match="keep_candles"):
        build_snapshot(
            exchange="x",
            symbol="BTC/USD",
            candles={"1h": hourly},
            ticker=_ticker(hourly[-1].ts + HOUR_MS),
            keep_candles=0,
        )


def test_build_snapshot_when_candles_newest_first_then_rejected():
    hourly = list(btc("1h")[:50])[::-1]  # newest first, as some APIs answer
    with pytest.raises(ValueError, match="oldest first"):
        build_snapshot(exchange="x", symbol="BTC/USD", candles={"1h": hourly}, ticker=_ticker(hourly[-1].ts + HOUR_MS))
