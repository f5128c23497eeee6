"""Build the MarketSnapshot every analyst reads, from the shared market data of one symbol.

Only closed candles count, so every engine looking at the same symbol in the same candle builds an identical
snapshot (and shares one ensemble answer). The snapshot carries no user identity or balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from analysis.indicator_cache import IndicatorCache
from analysis.indicators import compute_indicators
from domain.market import Candle, FundingRate, OrderBook, Ticker, timeframe_ms
from domain.snapshot import MarketSnapshot, NewsItem, TimeframeView
from domain.trading import PositionSide

DEFAULT_KEEP_CANDLES = 100
ORDER_BOOK_DEPTH = 20


def closed_candles(candles: Sequence[Candle], timeframe: str, now_ms: int) -> list[Candle]:
    """Candles whose period has ended by now_ms, oldest first (the still-forming candle is dropped)."""
    period = timeframe_ms(timeframe)
    return sorted((c for c in candles if c.ts + period <= now_ms), key=lambda c: c.ts)


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
    indicator_cache: IndicatorCache | None = None,
) -> MarketSnapshot:
    """candles maps timeframe -> candles (oldest first, may include the forming one); now_ms defaults to ticker.ts.

    base_timeframe (default: the first timeframe given) names the candle that keys the snapshot.
    """
    if not candles:
        raise ValueError("build_snapshot needs candles for at least one timeframe")
    base = base_timeframe or next(iter(candles))
    if base not in candles:
        raise ValueError(f"base timeframe {base} is not among the timeframes given: {', '.join(candles)}")
    if position_side is PositionSide.FLAT and entry_price is not None:
        raise ValueError("a flat position has no entry price")
    now = ticker.ts if now_ms is None else now_ms

    views: list[TimeframeView] = []
    for timeframe, series in candles.items():
        closed = closed_candles(series, timeframe, now)
        if indicator_cache is not None:
            indicators = indicator_cache.get(exchange, symbol, timeframe, closed)
        else:
            indicators = compute_indicators(closed)
        views.append(TimeframeView(timeframe, tuple(closed[-keep_candles:]), indicators))

    base_view = next(view for view in views if view.timeframe == base)
    if not base_view.candles:
        raise ValueError(f"no closed {base} candle for {symbol} at {now}: cannot key the snapshot")

    return MarketSnapshot(
        exchange=exchange,
        symbol=symbol,
        base_timeframe=base,
        candle_ts=base_view.candles[-1].ts,
        price=ticker.last,
        ticker=ticker,
        timeframes=tuple(views),
        position_side=position_side,
        entry_price=entry_price,
        order_book_imbalance=order_book.imbalance(ORDER_BOOK_DEPTH) if order_book else None,
        spread_fraction=ticker.spread_fraction,
        funding_rate=funding_rate,
        news=tuple(sorted(news, key=lambda item: item.published_at, reverse=True)),
    )
