from decimal import Decimal

import pytest

from analysis.indicator_cache import IndicatorCache
from analysis.indicators import compute_indicators, trend_label
from analysis.snapshot import build_snapshot
from domain.market import Candle, Ticker
from domain.trading import PositionSide
from tests.ai.market_data import HOUR_MS, btc_hourly, history_snapshot


def test_compute_indicators_when_enough_candles_then_all_values_present_and_sane():
    ind = compute_indicators(btc_hourly()[:300])
    assert 0 <= ind.rsi <= 100
    assert ind.bb_lower < ind.bb_middle < ind.bb_upper and ind.bb_bandwidth > 0
    assert ind.atr > 0 and 0 < ind.atr_pct < 1
    assert ind.ema_200 is not None and ind.volume_ratio > 0 and ind.realised_volatility > 0
    assert ind.macd_hist == pytest.approx(ind.macd - ind.macd_signal)
    expected_b = (ind.close - ind.bb_lower) / (ind.bb_upper - ind.bb_lower)
    assert ind.bb_percent_b == pytest.approx(expected_b)


def test_compute_indicators_when_too_few_candles_then_none_not_nan():
    ind = compute_indicators(btc_hourly()[:10])
    assert ind.close is not None
    assert (ind.rsi, ind.macd, ind.bb_middle, ind.ema_20, ind.atr, ind.volume_ratio) == (None,) * 6
    assert ind.trend == "unknown"
    assert compute_indicators([]).close is None


def test_trend_label_when_emas_stacked_then_up_or_down():
    assert trend_label(110, 105, 100, 90) == "up"
    assert trend_label(80, 85, 90, 95) == "down"
    assert trend_label(100, 105, 100, 90) == "sideways"
    assert trend_label(100, None, None, None) == "unknown"


def test_build_snapshot_when_forming_candle_present_then_keyed_by_last_closed_candle():
    hourly = list(btc_hourly()[:200])
    forming = hourly[-1]
    now = forming.ts + HOUR_MS // 2  # half-way through the last candle
    ticker = Ticker("BTC/USD", now, forming.close)
    snapshot = build_snapshot(exchange="coinbase", symbol="BTC/USD", candles={"1h": hourly}, ticker=ticker)
    assert snapshot.candle_ts == hourly[-2].ts
    assert snapshot.base.candles[-1] == hourly[-2]
    assert snapshot.key == ("coinbase", "BTC/USD", hourly[-2].ts, PositionSide.FLAT)


def test_build_snapshot_when_same_candle_different_moments_then_same_key():
    first = history_snapshot(5000)
    hourly = list(btc_hourly()[4700:5000])
    later = build_snapshot(
        exchange="binance",
        symbol="BTC/USDT",
        candles={"1h": hourly},
        ticker=Ticker("BTC/USDT", hourly[-1].ts + HOUR_MS + 1_000_000, Decimal(1)),
    )
    assert first.key == later.key


def test_build_snapshot_when_no_closed_candle_then_clear_error():
    candle = Candle(0, Decimal(1), Decimal(1), Decimal(1), Decimal(1), Decimal(1))
    with pytest.raises(ValueError, match="no closed 1h candle"):
        build_snapshot(exchange="x", symbol="A/B", candles={"1h": [candle]}, ticker=Ticker("A/B", 10, Decimal(1)))


def test_build_snapshot_when_flat_with_entry_price_then_rejected():
    with pytest.raises(ValueError, match="flat position has no entry price"):
        history_snapshot(5000, entry_price=Decimal("100"))


def test_build_snapshot_when_book_given_then_imbalance_and_spread_recorded():
    snapshot = history_snapshot(5000)
    assert snapshot.order_book_imbalance == Decimal(5 - 1) / Decimal(6)  # bids 3 + 2, asks 1
    assert snapshot.spread_fraction is not None and snapshot.spread_fraction > 0


def test_indicator_cache_when_same_candle_asked_twice_then_computed_once():
    cache = IndicatorCache()
    candles = btc_hourly()[:120]
    first = cache.get("binance", "BTC/USDT", "1h", candles)
    assert cache.get("binance", "BTC/USDT", "1h", candles) is first
    cache.get("binance", "BTC/USDT", "1h", btc_hourly()[:121])
    assert cache.computations == 2
