"""The replay feed's answers kept per clock time follow the clock and the Decimal context."""

from __future__ import annotations

import asyncio
from decimal import localcontext

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.replay import ReplayFeed, ReplaySeries, SimulatedClock, default_market
from domain.market import MarketType

HOUR = 3_600_000
SYMBOL = "BTC/USDT"


def _feed(candles, at_ms: int) -> ReplayFeed:
    market = default_market(SYMBOL, MarketType.PERPETUAL, candles[0].close)
    return ReplayFeed(SimulatedClock(at_ms), ReplaySeries(market=market, candles=candles, base_timeframe="1h"))


async def _answers(feed: ReplayFeed) -> tuple:
    ticker = await feed.fetch_ticker(SYMBOL)
    imbalance = await feed.order_book_imbalance(SYMBOL, 50, 20)
    book = await feed.fetch_order_book(SYMBOL, 50)
    funding = await feed.fetch_funding_rate(SYMBOL)
    return tuple(map(repr, (ticker, imbalance, book, funding)))


def test_feed_when_clock_moves_or_context_changes_then_answers_are_those_of_a_fresh_feed():
    candles = read_candles(shipped_candle_file())[:400]
    start = candles[0].ts + 30 * HOUR
    feed = _feed(candles, start)

    async def run() -> None:
        seen = set()
        for step in range(6):  # each hour a new count; each answer asked twice at the same time
            now = start + step * HOUR // 2
            feed.clock.advance_to(now)
            first = await _answers(feed)
            assert await _answers(feed) == first == await _answers(_feed(candles, now))
            seen.add((await feed.fetch_ticker(SYMBOL)).last)
            with localcontext() as context:  # another precision at the same time: answers of that context
                context.prec = 6
                narrow = await _answers(feed)
                assert narrow == await _answers(_feed(candles, now))
                assert narrow != first
            assert await _answers(feed) == first
        assert len(seen) == 3  # the last price moved with each closed candle (every other half hour)

    asyncio.run(run())
