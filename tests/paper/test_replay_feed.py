"""The replay feed over the shipped BTC/USD hourly candles: resampling, no look-ahead, ticker and synthetic book."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, localcontext
from itertools import pairwise

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.errors import InvalidSymbol
from adapters.exchange.port import MarketData
from adapters.exchange.replay import (
    ReplayDataUnavailable,
    ReplayFeed,
    ReplaySeries,
    SimulatedClock,
    SyntheticBookModel,
    UnsupportedTimeframe,
    default_market,
)
from analysis.snapshot import closed_candles
from domain.market import MarketType

D = Decimal
HOUR = 3_600_000
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def shipped_candles():
    return read_candles(shipped_candle_file())


def replay(candles, at_ms: int, market_type: MarketType = MarketType.SPOT, **options) -> ReplayFeed:
    """A feed over already-read candles (the file is read once per module) with its clock at at_ms."""
    market = default_market(SYMBOL, market_type, candles[0].close)
    series = ReplaySeries(market=market, candles=candles, base_timeframe="1h")
    return ReplayFeed(SimulatedClock(at_ms), series, **options)


def pandas_aggregation(candles, rule: str) -> list[tuple]:
    """The reference: pandas resampling of the raw hourly rows, on UTC-aligned buckets."""
    frame = pd.DataFrame(
        {
            "open": [float(c.open) for c in candles],
            "high": [float(c.high) for c in candles],
            "low": [float(c.low) for c in candles],
            "close": [float(c.close) for c in candles],
            "volume": [float(c.volume) for c in candles],
        },
        index=pd.to_datetime([c.ts for c in candles], unit="ms", utc=True),
    )
    grouped = frame.resample(rule, origin="epoch", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    grouped = grouped.dropna()
    return [
        (int(row.Index.value // 1_000_000), row.open, row.high, row.low, row.close, round(row.volume, 6))
        for row in grouped.itertuples()
    ]


def as_rows(candles) -> list[tuple]:
    return [
        (c.ts, float(c.open), float(c.high), float(c.low), float(c.close), round(float(c.volume), 6)) for c in candles
    ]


async def test_shipped_file_when_read_then_twenty_thousand_hourly_candles_with_attribution(shipped_candles):
    assert len(shipped_candles) == 20_111
    assert shipped_candles[0].ts == 1_498_906_800_000  # 2017-07-01T11:00:00Z
    assert (shipped_candle_file().parent / "SOURCE.md").read_text().count(
        "Source: CryptoDataDownload (www.CryptoDataDownload.com)"
    ) == 1


@pytest.mark.parametrize("timeframe, rule", [("4h", "4h"), ("1d", "24h")])
async def test_resampled_candles_when_compared_then_equal_aggregation_of_their_hourly_candles(
    shipped_candles, timeframe, rule
):
    feed = replay(shipped_candles, shipped_candles[-1].ts + 48 * HOUR, include_forming=False)  # all buckets closed

    resampled = await feed.fetch_ohlcv(SYMBOL, timeframe, since=0, limit=100_000)

    assert as_rows(resampled) == pandas_aggregation(shipped_candles, rule)
    assert all(isinstance(c.open, Decimal) for c in resampled)


async def test_four_hour_candle_when_built_then_open_first_high_max_low_min_close_last_volume_sum(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[-1].ts + HOUR, include_forming=False)
    four_hour = await feed.fetch_ohlcv(SYMBOL, "4h", since=shipped_candles[100].ts, limit=3)

    for candle in four_hour:
        hours = [c for c in shipped_candles if candle.ts <= c.ts < candle.ts + 4 * HOUR]
        assert len(hours) == 4
        assert candle.open == hours[0].open and candle.close == hours[-1].close
        assert candle.high == max(c.high for c in hours) and candle.low == min(c.low for c in hours)
        assert candle.volume == sum(c.volume for c in hours)


@settings(max_examples=40, deadline=None)
@given(
    offset_ms=st.integers(min_value=HOUR, max_value=3_000 * HOUR),
    timeframe=st.sampled_from(["1h", "2h", "4h", "1d"]),
)
async def test_fetch_ohlcv_when_clock_anywhere_then_output_equals_a_feed_that_never_saw_the_future(
    shipped_candles, offset_ms, timeframe
):
    now = shipped_candles[0].ts + offset_ms
    window = shipped_candles[: offset_ms // HOUR + 100]  # what has happened plus 100 hours of future
    full = replay(window, now)
    known = [c for c in window if c.ts + HOUR <= now]
    truncated = replay(known, now)

    seen = await full.fetch_ohlcv(SYMBOL, timeframe, limit=60)

    assert seen == await truncated.fetch_ohlcv(SYMBOL, timeframe, limit=60)
    assert (await full.fetch_ticker(SYMBOL)).last == known[-1].close
    assert await full.fetch_order_book(SYMBOL) == await truncated.fetch_order_book(SYMBOL)
    step = {"1h": 1, "2h": 2, "4h": 4, "1d": 24}[timeframe] * HOUR
    assert all(c.ts + step <= now for c in seen[:-1])  # all but the forming candle have closed
    assert seen[-1].ts <= now < seen[-1].ts + step  # the forming one holds now


async def test_fetch_ohlcv_when_forming_excluded_then_only_closed_candles(shipped_candles):
    now = shipped_candles[50].ts + 90 * 60_000  # 1.5 hours into the 50th candle's hour
    feed = replay(shipped_candles, now, include_forming=False)

    hourly = await feed.fetch_ohlcv(SYMBOL, "1h", limit=5)

    assert hourly == shipped_candles[46:51]


@settings(max_examples=60, deadline=None)
@given(hours=st.integers(0, 20_200), minutes=st.sampled_from([0, 1, 59]), limit=st.sampled_from([1, 2, 101, 500]))
async def test_fetch_closed_ohlcv_when_asked_anywhere_then_the_closed_part_of_a_fetch_one_longer(
    shipped_candles, hours, minutes, limit
):
    now = shipped_candles[0].ts + hours * HOUR + minutes * 60_000
    feed = replay(shipped_candles, now)
    for timeframe in ("1h", "4h", "1d"):
        fetched = await feed.fetch_ohlcv(SYMBOL, timeframe, limit=limit + 1)  # the last one may be forming
        assert (
            await feed.fetch_closed_ohlcv(SYMBOL, timeframe, limit) == closed_candles(fetched, timeframe, now)[-limit:]
        )


async def test_forming_candle_when_bucket_just_opened_then_flat_at_last_close_with_no_volume(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[200].ts)

    *_, forming = await feed.fetch_ohlcv(SYMBOL, "1h", limit=3)

    assert forming.ts == shipped_candles[200].ts and forming.volume == 0
    assert forming.open == forming.high == forming.low == forming.close == shipped_candles[199].close


async def test_clock_when_advanced_then_new_candles_appear_one_at_a_time(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[10].ts, include_forming=False)
    before = await feed.fetch_ohlcv(SYMBOL, "1h", limit=1)

    feed.clock.advance(HOUR)
    after = await feed.fetch_ohlcv(SYMBOL, "1h", limit=1)

    assert before == [shipped_candles[9]] and after == [shipped_candles[10]]
    with pytest.raises(ValueError, match="only moves forward"):
        feed.clock.advance_to(shipped_candles[0].ts)


async def test_fetch_ohlcv_when_timeframe_below_base_then_refused_with_supported_list(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[30].ts)

    with pytest.raises(UnsupportedTimeframe, match="has 1h candles, so it cannot produce 15m candles; use one of 1h"):
        await feed.fetch_ohlcv(SYMBOL, "15m")


async def test_order_book_when_built_then_bid_below_close_below_ask_with_decaying_depth(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[5000].ts)
    close = shipped_candles[4999].close

    book = await feed.fetch_order_book(SYMBOL, limit=20)
    ticker = await feed.fetch_ticker(SYMBOL)

    assert book.bids[0].price < close < book.asks[0].price
    assert len(book.bids) == len(book.asks) == 20
    assert [level.price for level in book.asks] == sorted(level.price for level in book.asks)
    assert [level.price for level in book.bids] == sorted((level.price for level in book.bids), reverse=True)
    assert book.asks[0].amount > book.asks[5].amount > book.asks[19].amount > 0
    assert ticker.bid == book.bids[0].price and ticker.ask == book.asks[0].price and ticker.last == close
    assert D("0.0001") <= ticker.spread_fraction <= D("0.0101")


async def test_spread_when_market_volatile_then_wider_than_when_calm(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[0].ts + HOUR)
    spreads = []
    for index in range(100, len(shipped_candles), 97):
        feed.clock.advance_to(shipped_candles[index].ts)
        spreads.append((await feed.fetch_ticker(SYMBOL)).spread_fraction)

    assert max(spreads) > 2 * min(spreads)


async def test_ticker_when_before_first_close_then_replay_data_unavailable(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[0].ts)

    with pytest.raises(ReplayDataUnavailable, match="replay data starts"):
        await feed.fetch_ticker(SYMBOL)
    assert await feed.fetch_ohlcv(SYMBOL, "1h") == []


async def test_market_when_symbol_unknown_then_invalid_symbol(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[3].ts)

    with pytest.raises(InvalidSymbol, match="ETH/USDT is not available in this replay; it holds BTC/USDT"):
        await feed.market("ETH/USDT")


async def test_funding_when_spot_then_invalid_symbol_and_when_perpetual_then_constant_rate(shipped_candles):
    spot = replay(shipped_candles, shipped_candles[3].ts)
    perp = replay(
        shipped_candles, shipped_candles[3].ts + 60_000, market_type=MarketType.PERPETUAL, funding_rate=D("0.0001")
    )

    with pytest.raises(InvalidSymbol):
        await spot.fetch_funding_rate(SYMBOL)
    funding = await perp.fetch_funding_rate(SYMBOL)
    assert funding.rate == D("0.0001") and funding.mark_price == shipped_candles[2].close
    assert funding.next_funding_ts % (8 * HOUR) == 0 and 0 < funding.next_funding_ts - perp.clock.now_ms() <= 8 * HOUR


async def test_from_file_when_symbol_given_then_feed_trades_it_under_that_name_and_is_market_data():
    feed = ReplayFeed.from_file(shipped_candle_file(), symbol="BTC/EUR")

    market = await feed.market("BTC/EUR")

    assert isinstance(feed, MarketData)
    assert (market.base, market.quote, market.price_step, market.amount_step) == ("BTC", "EUR", D("0.01"), D("0.00001"))
    assert feed.clock.now_ms() == 1_498_906_800_000 + HOUR
    assert (await feed.fetch_ticker("BTC/EUR")).last == D("2509.17")


async def test_close_times_when_iterated_then_every_four_hours_until_data_ends(shipped_candles):
    feed = replay(shipped_candles, shipped_candles[0].ts + HOUR)

    times = list(feed.close_times(SYMBOL, "4h"))

    assert all(later - earlier == 4 * HOUR for earlier, later in pairwise(times))
    assert times[0] % (4 * HOUR) == 0 and times[-1] <= shipped_candles[-1].ts + HOUR


WIDE_BOOK = SyntheticBookModel(max_spread=D("0.5"), spread_atr_factor=D(40))  # gaps of up to a quarter of the price


@settings(max_examples=60, deadline=None)
@given(
    offset_hours=st.integers(min_value=1, max_value=20_000),
    limit=st.integers(min_value=1, max_value=60),
    depth=st.integers(min_value=1, max_value=60),
    wide=st.booleans(),
    price_step=st.sampled_from([None, D("0.05"), D("0.3"), D("1E+1")]),
    amount_step=st.sampled_from([None, D("1E-12"), D("1E+1")]),
    top_fraction=st.sampled_from([None, D("1E+9"), D("1E+20")]),
    precision=st.sampled_from([28, 9, 60]),
    first_asks=st.booleans(),
)
async def test_order_book_imbalance_when_anywhere_then_the_imbalance_of_the_book_digit_for_digit(
    shipped_candles, offset_hours, limit, depth, wide, price_step, amount_step, top_fraction, precision, first_asks
):
    """What a market hub reads instead of the book: the same number as OrderBook.imbalance of the book the feed
    would return, with power-of-ten and other steps, books whose deep bids have no positive price, and depths
    whose sums no longer fit the context's digits (huge tops, fine amount steps, low precision)."""
    now = shipped_candles[0].ts + min(offset_hours, len(shipped_candles)) * HOUR
    market = default_market(SYMBOL, MarketType.PERPETUAL, shipped_candles[0].close)
    if price_step is not None:
        market = replace(market, price_step=price_step)
    if amount_step is not None:
        market = replace(market, amount_step=amount_step)
    model = WIDE_BOOK if wide else SyntheticBookModel()
    if top_fraction is not None:
        model = replace(model, top_depth_fraction=top_fraction)
    with localcontext(prec=precision):
        await _assert_imbalance_of_the_book(shipped_candles, now, market, model, limit, depth, first_asks)


async def _assert_imbalance_of_the_book(shipped_candles, now, market, model, limit, depth, first_asks) -> None:

    def feed() -> ReplayFeed:
        series = ReplaySeries(market=market, candles=shipped_candles, base_timeframe="1h")
        return ReplayFeed(SimulatedClock(now), series, book_model=model)

    lazy, built = feed(), feed()
    if first_asks:  # levels already built for a deeper book: the imbalance is read from them
        await lazy.fetch_order_book(SYMBOL, limit + 5)
    book = await built.fetch_order_book(SYMBOL, limit)

    assert str(await lazy.order_book_imbalance(SYMBOL, limit, depth)) == str(book.imbalance(depth))
    assert await lazy.fetch_order_book(SYMBOL, limit) == book  # and the book itself is unchanged by it
