"""Build the MarketSnapshot every analyst reads, from the shared market data of one symbol.

Only closed candles count, so every engine looking at the same symbol in the same candle builds an identical
snapshot (and shares one ensemble answer). The snapshot carries no user identity or balance. It is built once
per cycle per symbol, so it does no work proportional to the history: the closed candles are found by bisection
(candles come oldest first), only the kept tail is copied, and indicators come from an IndicatorSource (a series
computed once) when the caller has one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from analysis.indicator_series import LIVE_WINDOW
from analysis.indicators import compute_indicators
from domain.market import Candle, FundingRate, OrderBook, Ticker, timeframe_ms
from domain.snapshot import MarketSnapshot, NewsItem, TimeframeIndicators, TimeframeView
from domain.trading import PositionSide

DEFAULT_KEEP_CANDLES = 100
ORDER_BOOK_DEPTH = 20


class IndicatorSource(Protocol):
    """Indicators already computed for one timeframe, by candle open time (analysis.indicator_series)."""

    def at(self, ts: int) -> TimeframeIndicators: ...


class IndicatorLookup(Protocol):
    """Indicators on the last of some closed candles, e.g. IndicatorCache (computed once, shared)."""

    def get(self, exchange: str, symbol: str, timeframe: str, candles: Sequence[Candle]) -> TimeframeIndicators: ...


def closed_count(candles: Sequence[Candle], timeframe: str, now_ms: int) -> int:
    """How many leading candles of `candles` (oldest first) have closed by now_ms, in O(log n); O(1) when at most
    the last one is still forming (the usual fetch)."""
    last_open = now_ms - timeframe_ms(timeframe)  # a candle has closed when it opened at or before this
    count = len(candles)
    if not count or candles[-1].ts <= last_open:
        return count
    if count == 1 or candles[-2].ts <= last_open:
        return count - 1
    return bisect_right(candles, last_open, key=_open_time)


def _open_time(candle: Candle) -> int:
    return candle.ts


def closed_candles(candles: Sequence[Candle], timeframe: str, now_ms: int) -> list[Candle]:
    """Candles (oldest first) whose period has ended by now_ms, as a new list: the still-forming one is dropped."""
    closed = candles[: closed_count(candles, timeframe, now_ms)]
    return closed if closed.__class__ is list else list(closed)  # a list's slice is a new list already


def build_snapshot(
    *,
    exchange: str,
    symbol: str,
    candles: Mapping[str, Sequence[Candle]],
    ticker: Ticker,
    base_timeframe: str | None = None,
    order_book: OrderBook | None = None,
    funding_rate: FundingRate | None = None,
    news: Iterable[NewsItem] = (),
    position_side: PositionSide = PositionSide.FLAT,
    entry_price: Decimal | None = None,
    now_ms: int | None = None,
    keep_candles: int = DEFAULT_KEEP_CANDLES,
    indicator_cache: IndicatorLookup | None = None,
    indicators: Mapping[str, IndicatorSource] | None = None,
    order_book_imbalance: Decimal | None = None,
    views: Mapping[str, TimeframeView] | None = None,
) -> MarketSnapshot:
    """candles maps timeframe -> candles (oldest first, may include the forming one); now_ms defaults to ticker.ts.

    order_book_imbalance, when there is no order_book, is the book's imbalance as the feed already knows it
    (OrderBook.imbalance(ORDER_BOOK_DEPTH) of the book it would return).
    base_timeframe (default: the first timeframe given) names the candle that keys the snapshot. Indicators of
    a timeframe come from `indicators` (read at the last closed candle, so a source can never leak a later one),
    else from indicator_cache, else are computed over the last LIVE_WINDOW closed candles.
    views holds timeframes already built by timeframe_view() over the same candles at the same now (a market hub
    keeps them per candle: a 4h view is the same for the four hourly snapshots of its candle); the others are
    built here.
    """
    if keep_candles < 1:
        raise ValueError(
            f"keep_candles must be at least 1, not {keep_candles}: the last closed candle keys the snapshot"
        )
    if not candles:
        raise ValueError("build_snapshot needs candles for at least one timeframe")
    base = base_timeframe or next(iter(candles))
    if base not in candles:
        raise ValueError(f"base timeframe {base} is not among the timeframes given: {', '.join(candles)}")
    if position_side is PositionSide.FLAT and entry_price is not None:
        raise ValueError("a flat position has no entry price")
    now = ticker.ts if now_ms is None else now_ms

    built: list[TimeframeView] = []
    for timeframe, series in candles.items():
        view = views.get(timeframe) if views is not None else None
        if view is None:
            source = indicators.get(timeframe) if indicators is not None else None
            view = timeframe_view(exchange, symbol, timeframe, series, now, keep_candles, indicator_cache, source)
        built.append(view)

    base_view = built[0]
    for view in built:  # the base timeframe is among them (checked above)
        if view.timeframe == base:
            base_view = view
            break
    if not base_view.candles:
        raise ValueError(f"no closed {base} candle for {symbol} at {now}: cannot key the snapshot")

    return MarketSnapshot(
        exchange=exchange,
        symbol=symbol,
        base_timeframe=base,
        candle_ts=base_view.candles[-1].ts,
        price=ticker.last,
        ticker=ticker,
        timeframes=tuple(built),
        position_side=position_side,
        entry_price=entry_price,
        order_book_imbalance=order_book.imbalance(ORDER_BOOK_DEPTH) if order_book else order_book_imbalance,
        spread_fraction=ticker.spread_fraction,
        funding_rate=funding_rate,
        news=tuple(sorted(news, key=lambda item: item.published_at, reverse=True)),
    )


def timeframe_view(
    exchange: str,
    symbol: str,
    timeframe: str,
    series: Sequence[Candle],
    now: int,
    keep_candles: int = DEFAULT_KEEP_CANDLES,
    indicator_cache: IndicatorLookup | None = None,
    source: IndicatorSource | None = None,
) -> TimeframeView:
    """The last keep_candles candles of `series` closed by now, and the indicators on the last of them (from
    `source`, else indicator_cache, else computed over the last LIVE_WINDOW closed candles)."""
    if len(series) > 1 and series[0].ts >= series[-1].ts:  # O(1); checking every pair costs more than the rest
        raise ValueError(f"{timeframe} candles for {symbol} must be sorted oldest first with no duplicates")
    end = closed_count(series, timeframe, now)  # slice only what is used: a backtest passes its whole history
    kept = tuple(series[max(0, end - keep_candles) : end])
    if not kept:
        values = TimeframeIndicators()
    elif source is not None:
        values = source.at(kept[-1].ts)
    else:
        # copy only when the candles hold a forming candle or more than the window (a cache hit reads one)
        window = series if end == len(series) <= LIVE_WINDOW else series[max(0, end - LIVE_WINDOW) : end]
        if indicator_cache is None:
            values = compute_indicators(window)
        else:
            values = indicator_cache.get(exchange, symbol, timeframe, window)
    return TimeframeView(timeframe, kept, values)
