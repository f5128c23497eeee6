"""The market hub's shortcuts against the long way: a snapshot from preloaded rows and the feed's imbalance
equals build_snapshot over full fetches and the book; concurrent askers share one piece of work."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.ai.ensemble import Ensemble
from adapters.ai.offline import offline_analyst
from adapters.ai.shared import SharedEnsemble
from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.errors import ExchangeError
from adapters.exchange.replay import ReplayFeed, ReplaySeries, SimulatedClock, default_market
from analysis.indicator_series import IndicatorSeries
from analysis.snapshot import build_snapshot, closed_candles
from domain.market import MarketType
from domain.trading import PositionSide
from engine.market_hub import HubConfig, MarketHub

HOUR = 3_600_000
SYMBOL = "BTC/USDT"
TIMEFRAMES = ("1h", "4h", "1d")


@pytest.fixture(scope="module")
def candles():
    return read_candles(shipped_candle_file())[:6000]


def replay(candles) -> ReplayFeed:
    market = default_market(SYMBOL, MarketType.PERPETUAL, candles[0].close)
    series = ReplaySeries(market=market, candles=candles, base_timeframe="1h")
    return ReplayFeed(SimulatedClock(series.first_close_ms), series)


def ensemble() -> SharedEnsemble:
    return SharedEnsemble(Ensemble([offline_analyst("trend")]))


def preloaded_hub(candles) -> tuple[ReplayFeed, MarketHub, dict[str, IndicatorSeries]]:
    """A hub over a replay whose indicator rows are preloaded for every timeframe, as a backtest builds it."""
    feed = replay(candles)
    hub = MarketHub({feed.exchange_id: feed}, ensemble(), config=HubConfig(TIMEFRAMES, "1h"))
    series = feed.series(SYMBOL)
    rows = {}
    for timeframe in TIMEFRAMES:
        rows[timeframe] = IndicatorSeries(series.ohlcv(timeframe, series.last_close_ms, None, 10**9, False))
        hub.preload(feed.exchange_id, SYMBOL, timeframe, rows[timeframe])
    return feed, hub, rows


async def snapshot_the_long_way(feed, rows, now, side, entry):
    """build_snapshot over full fetches of every timeframe and the whole book."""
    full = {tf: closed_candles(await feed.fetch_ohlcv(SYMBOL, tf, limit=1000), tf, now) for tf in TIMEFRAMES}
    return build_snapshot(
        exchange=feed.exchange_id, symbol=SYMBOL, candles=full, ticker=await feed.fetch_ticker(SYMBOL),
        base_timeframe="1h", order_book=await feed.fetch_order_book(SYMBOL, 20),
        funding_rate=await feed.fetch_funding_rate(SYMBOL), position_side=side, entry_price=entry, now_ms=now,
        indicators=rows,
    )  # fmt: skip


@pytest.mark.parametrize("hours", [1, 2, 30, 99, 100, 101, 102, 250, 1999, 4001, 5998])
async def test_snapshot_when_rows_are_preloaded_then_equal_to_build_snapshot_over_full_fetches_and_the_book(
    candles, hours
) -> None:
    feed, hub, rows = preloaded_hub(candles)
    series = feed.series(SYMBOL)
    now = series.first_close_ms + (hours - 1) * HOUR
    feed.clock.advance_to(now)

    for side, entry in ((PositionSide.FLAT, None), (PositionSide.LONG, Decimal("2500"))):
        snapshot = await hub.snapshot(feed.exchange_id, SYMBOL, now, side, entry)

        assert snapshot == await snapshot_the_long_way(feed, rows, now, side, entry)


async def test_snapshot_when_the_clock_walks_hour_by_hour_then_longer_views_are_reused_within_their_candle(
    candles,
) -> None:
    feed, hub, rows = preloaded_hub(candles)
    series = feed.series(SYMBOL)
    start = (series.first_close_ms // (24 * HOUR) + 40) * 24 * HOUR - 3 * HOUR  # 3 hours before a day closes
    seen: dict[str, dict[int, object]] = {timeframe: {} for timeframe in TIMEFRAMES}
    for hour in range(30):
        now = start + hour * HOUR
        feed.clock.advance_to(now)
        snapshot = await hub.snapshot(feed.exchange_id, SYMBOL, now, PositionSide.FLAT, None)
        expected = await snapshot_the_long_way(feed, rows, now, PositionSide.FLAT, None)
        assert snapshot == expected, now  # the reused views are the views built anew
        for view in snapshot.timeframes:
            period = 3_600_000 * {"1h": 1, "4h": 4, "1d": 24}[view.timeframe]
            seen[view.timeframe].setdefault(now // period, view)
            assert seen[view.timeframe][now // period] is view  # one view per candle of its timeframe
    assert [len(seen[tf]) for tf in TIMEFRAMES] == [30, 8, 3]  # 30 hours from 3 hours before a day closes


class SlowFeed:
    """Answers after a pause, counting how often it is really asked (or fails when told to)."""

    def __init__(self, inner: ReplayFeed) -> None:
        self.inner, self.exchange_id, self.ohlcv_calls, self.fail = inner, inner.exchange_id, 0, False

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        self.ohlcv_calls += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise ExchangeError("the exchange is down")
        return await self.inner.fetch_ohlcv(symbol, timeframe, since, limit)


async def test_closed_candles_when_many_ask_at_once_then_one_fetch_and_a_cancelled_asker_changes_nothing(
    candles,
) -> None:
    inner = replay(candles)
    inner.clock.advance_to(inner.clock.now_ms() + 500 * HOUR)
    feed = SlowFeed(inner)
    hub = MarketHub({feed.exchange_id: feed}, ensemble())  # type: ignore[dict-item]
    now = inner.clock.now_ms()
    askers = [asyncio.create_task(hub.closed_candles(feed.exchange_id, SYMBOL, "1h", now)) for _ in range(20)]
    await asyncio.sleep(0)
    askers[0].cancel()  # the one doing the work
    askers[5].cancel()  # one waiting

    results = await asyncio.gather(*askers, return_exceptions=True)

    assert isinstance(results[0], asyncio.CancelledError) and isinstance(results[5], asyncio.CancelledError)
    # the work was cancelled with its asker, so the waiters see that too; the next ask fetches again
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    again = await asyncio.gather(*(hub.closed_candles(feed.exchange_id, SYMBOL, "1h", now) for _ in range(10)))
    assert feed.ohlcv_calls == 2 and all(r == again[0] for r in again) and again[0][-1].ts + HOUR <= now


async def test_closed_candles_when_the_fetch_fails_then_every_asker_gets_the_error_and_nothing_is_kept(candles):
    inner = replay(candles)
    inner.clock.advance_to(inner.clock.now_ms() + 500 * HOUR)
    feed = SlowFeed(inner)
    feed.fail = True
    hub = MarketHub({feed.exchange_id: feed}, ensemble())  # type: ignore[dict-item]
    now = inner.clock.now_ms()

    results = await asyncio.gather(
        *(hub.closed_candles(feed.exchange_id, SYMBOL, "1h", now) for _ in range(5)), return_exceptions=True
    )

    assert feed.ohlcv_calls == 1 and all(isinstance(r, ExchangeError) for r in results)
    feed.fail = False
    assert await hub.closed_candles(feed.exchange_id, SYMBOL, "1h", now) and feed.ohlcv_calls == 2
