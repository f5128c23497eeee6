"""MarketHub: market data, indicators, news and ensemble answers computed once and shared by every engine.

- candles: one fetch per (exchange, symbol, timeframe, candle);
- indicators: one computation per (exchange, symbol, timeframe, candle) - from a whole-series computation
  when the history is preloaded (a replay), else from the fetched window;
- ticker, order book and funding: once per (exchange, symbol, cycle);
- news: once per symbol per TTL (the news service caches);
- the ensemble: one consultation per (exchange, symbol, candle, position side, ensemble fingerprint).

A snapshot carries no user identity or balance, so the same object serves every engine on that symbol and
position side. Counters say how much work was really done, for the scale benchmark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from adapters.ai.shared import SharedEnsemble
from adapters.exchange.errors import ExchangeError
from adapters.exchange.port import MarketData
from analysis.indicator_series import IndicatorSeries
from analysis.snapshot import ORDER_BOOK_DEPTH, build_snapshot, closed_candles, timeframe_view
from domain.fast_init import fast_init
from domain.market import Candle, FundingRate, MarketType, OrderBook, Ticker, timeframe_ms
from domain.recent import RecentSlots
from domain.snapshot import MarketSnapshot, NewsItem, TimeframeIndicators, TimeframeView
from domain.trading import PositionSide
from domain.vote import ConsensusResult

DEFAULT_TIMEFRAMES = ("1h", "4h", "1d")
DEFAULT_OHLCV_LIMIT = 1000  # one page on most exchanges; the live series then grows to LIVE_WINDOW candles
KEEP_CANDLES = 100
BOOK_DEPTH = 20


class NewsSource(Protocol):
    async def headlines(self, symbol: str, limit: int = 10) -> tuple[NewsItem, ...]: ...


class IndicatorRows(Protocol):
    """Indicator values per candle open time of one (exchange, symbol, timeframe), computed over a whole series."""

    def __contains__(self, ts: object) -> bool: ...

    def at(self, ts: int) -> TimeframeIndicators: ...


@dataclass(frozen=True, slots=True)
class HubConfig:
    timeframes: tuple[str, ...] = DEFAULT_TIMEFRAMES
    base_timeframe: str = "1h"
    ohlcv_limit: int = DEFAULT_OHLCV_LIMIT
    keep_candles: int = KEEP_CANDLES
    book_depth: int = BOOK_DEPTH
    news_limit: int = 10

    def __post_init__(self) -> None:
        if self.base_timeframe not in self.timeframes:
            raise ValueError(f"the base timeframe {self.base_timeframe} must be one of {', '.join(self.timeframes)}")


@dataclass(slots=True)
class HubCounters:
    exchange_calls: int = 0
    indicator_computations: int = 0
    consultations: int = 0
    snapshots: int = 0


@fast_init
@dataclass(frozen=True, slots=True)
class _Market:
    ticker: Ticker
    book: OrderBook | None
    funding: FundingRate | None
    imbalance: Decimal | None = None  # from a feed that answers it without building a book (replay)


class MarketHub:
    def __init__(
        self,
        feeds: Mapping[str, MarketData],
        ensemble: SharedEnsemble,
        *,
        config: HubConfig | None = None,
        news: NewsSource | None = None,
    ) -> None:
        self.feeds = dict(feeds)
        self.ensemble = ensemble
        self.config = config or HubConfig()
        self.news = news
        self.counters = HubCounters()
        self._rows: dict[tuple[str, str, str], IndicatorRows] = {}
        # by stream and slot (candle number or clock time), the newest two slots of each stream
        self._candles: RecentSlots[list[Candle]] = RecentSlots()
        self._views: RecentSlots[tuple[list[Candle], TimeframeView]] = RecentSlots()
        self._market: RecentSlots[_Market] = RecentSlots()
        self._snapshots: RecentSlots[MarketSnapshot] = RecentSlots()
        self._in_flight: dict[tuple, list[asyncio.Future[Any]]] = {}

    def feed(self, exchange_id: str) -> MarketData:
        feed = self.feeds.get(exchange_id)
        if feed is None:
            raise ExchangeError(f"No market data for {exchange_id} is connected.")
        return feed

    def preload(self, exchange_id: str, symbol: str, timeframe: str, rows: IndicatorRows) -> None:
        """Indicator rows computed once over a whole (causal) series: the hub reads them instead of computing."""
        self._rows[(exchange_id, symbol, timeframe)] = rows

    @property
    def consultations(self) -> int:
        return self.ensemble.calls

    async def snapshot(
        self, exchange_id: str, symbol: str, now_ms: int, side: PositionSide, entry_price: Decimal | None
    ) -> MarketSnapshot:
        """The shared snapshot of (exchange, symbol, cycle, position side)."""
        stream = (exchange_id, symbol, side)
        cached = self._snapshots.get(stream, now_ms)
        if cached is not None:
            return cached
        snapshot = await self._once(
            ("snapshot", *stream, now_ms), lambda: self._build(exchange_id, symbol, now_ms, side, entry_price)
        )
        self._snapshots.put(stream, now_ms, snapshot)
        return snapshot

    async def consult(self, snapshot: MarketSnapshot) -> ConsensusResult:
        return await self.ensemble.decide(snapshot)

    async def _build(
        self, exchange_id: str, symbol: str, now_ms: int, side: PositionSide, entry_price: Decimal | None
    ) -> MarketSnapshot:
        config = self.config
        candles: dict[str, list[Candle]] = {}
        views: dict[str, TimeframeView] = {}
        for timeframe in config.timeframes:
            closed = candles[timeframe] = await self.closed_candles(exchange_id, symbol, timeframe, now_ms)
            views[timeframe] = self._view(exchange_id, symbol, timeframe, now_ms, closed)
        market = await self._market_state(exchange_id, symbol, now_ms)
        news: Sequence[NewsItem] = ()
        if self.news is not None:
            news = await self.news.headlines(symbol, config.news_limit)
        self.counters.snapshots += 1
        return build_snapshot(
            exchange=exchange_id,
            symbol=symbol,
            candles=candles,
            ticker=market.ticker,
            base_timeframe=config.base_timeframe,
            order_book=market.book,
            order_book_imbalance=market.imbalance,
            funding_rate=market.funding,
            news=news,
            position_side=side,
            entry_price=entry_price if side is not PositionSide.FLAT else None,
            now_ms=now_ms,
            keep_candles=config.keep_candles,
            indicator_cache=self,
            views=views,
        )

    def _view(self, exchange_id: str, symbol: str, timeframe: str, now_ms: int, closed: list[Candle]) -> TimeframeView:
        """The view of one timeframe's closed candles, built once per (exchange, symbol, timeframe, candle): the
        candles (this very list, from closed_candles) and their indicators are the same until the next candle
        closes, so the 4h view serves four hourly snapshots and the 1d view twenty-four."""
        stream, slot = (exchange_id, symbol, timeframe), now_ms // timeframe_ms(timeframe)
        cached = self._views.get(stream, slot)
        if cached is not None and cached[0] is closed:
            return cached[1]
        view = timeframe_view(exchange_id, symbol, timeframe, closed, now_ms, self.config.keep_candles, self)
        self._views.put(stream, slot, (closed, view))
        return view

    async def closed_candles(self, exchange_id: str, symbol: str, timeframe: str, now_ms: int) -> list[Candle]:
        """Closed candles of one timeframe at now_ms, fetched once per (exchange, symbol, timeframe, candle)."""
        stream, slot = (exchange_id, symbol, timeframe), now_ms // timeframe_ms(timeframe)
        cached = self._candles.get(stream, slot)
        if cached is not None:
            return cached

        async def fetch() -> list[Candle]:
            self.counters.exchange_calls += 1
            feed, limit = self.feed(exchange_id), self.config.ohlcv_limit
            rows = self._rows.get((exchange_id, symbol, timeframe))
            if rows is not None and not _is_live(rows) and self.config.keep_candles + 2 < limit:
                # the preloaded rows hold the indicators and the snapshot keeps the last keep_candles candles:
                # those are all the history it needs, unless its last candle is missing from the rows
                short = self.config.keep_candles + 2
                closed_of = getattr(feed, "fetch_closed_ohlcv", None)
                if closed_of is not None:  # a replay answers the closed ones alone (the short fetch's closed part)
                    closed = await closed_of(symbol, timeframe, short - 1)
                else:
                    closed = closed_candles(await feed.fetch_ohlcv(symbol, timeframe, limit=short), timeframe, now_ms)
                if not closed or closed[-1].ts in rows:
                    return closed
            return closed_candles(await feed.fetch_ohlcv(symbol, timeframe, limit=limit), timeframe, now_ms)

        closed = await self._once(("candles", *stream, slot), fetch)
        self._candles.put(stream, slot, closed)
        return closed

    def get(self, exchange_id: str, symbol: str, timeframe: str, closed: Sequence[Candle]) -> TimeframeIndicators:
        """Indicators on the last of `closed`: a preloaded row when there is one, else computed once."""
        if not closed:
            return TimeframeIndicators()
        key = (exchange_id, symbol, timeframe)
        rows = self._rows.get(key)
        if rows is not None and closed[-1].ts in rows:
            return rows.at(closed[-1].ts)
        series = rows if isinstance(rows, IndicatorSeries) and _is_live(rows) else None
        if series is None:
            series = IndicatorSeries.live()
            self._rows[key] = series
        before = series.computations
        series.extend(closed)
        self.counters.indicator_computations += series.computations - before
        return series.at(closed[-1].ts)

    async def _market_state(self, exchange_id: str, symbol: str, now_ms: int) -> _Market:
        stream = (exchange_id, symbol)
        cached = self._market.get(stream, now_ms)
        if cached is not None:
            return cached

        async def fetch() -> _Market:
            feed = self.feed(exchange_id)
            ticker = await feed.fetch_ticker(symbol)
            self.counters.exchange_calls += 1
            book = funding = imbalance = None
            imbalance_of = getattr(feed, "order_book_imbalance", None)
            try:
                if imbalance_of is not None:  # what the snapshot reads of the book, without the book
                    imbalance = await imbalance_of(symbol, self.config.book_depth, ORDER_BOOK_DEPTH)
                else:
                    book = await feed.fetch_order_book(symbol, self.config.book_depth)
                self.counters.exchange_calls += 1
            except ExchangeError:
                book = None  # the snapshot can do without the book's imbalance
            market = await feed.market(symbol)
            if market.type is MarketType.PERPETUAL:
                try:
                    funding = await feed.fetch_funding_rate(symbol)
                    self.counters.exchange_calls += 1
                except ExchangeError:
                    funding = None
            return _Market(ticker, book, funding, imbalance)

        state = await self._once(("market", *stream, now_ms), fetch)
        self._market.put(stream, now_ms, state)
        return state

    async def _once(self, key: tuple, make: Any) -> Any:
        """However many engines ask at once, the first does the work and the others await its result.

        A waiter's future is made only when a second asker arrives while the work is suspended: alone (a
        replay, or any work that does not wait) the first asker pays for no future at all."""
        waiters = self._in_flight.get(key)
        if waiters is not None:
            future = asyncio.get_running_loop().create_future()
            waiters.append(future)
            return await future  # cancelling this waiter cancels its own future only, never the work
        waiters = self._in_flight[key] = []
        try:
            result = await make()
        except BaseException as exc:
            for future in waiters:
                if not future.done():
                    future.set_exception(exc)  # each waiter awaits its future, so each re-raises it
            raise
        else:
            for future in waiters:
                if not future.done():
                    future.set_result(result)
            return result
        finally:
            self._in_flight.pop(key, None)


def _is_live(rows: IndicatorRows) -> bool:
    """A bounded series the hub extends with the fetched window (not rows preloaded over a whole history)."""
    return isinstance(rows, IndicatorSeries) and rows.max_candles is not None
