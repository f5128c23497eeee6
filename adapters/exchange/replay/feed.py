"""ReplayFeed: the MarketData port over historical candles and a simulated clock (backtests, offline demo).

What it reveals at clock time t, per symbol:
- OHLCV: candles closed by t (open time + timeframe <= t), resampled from the file's base timeframe to any
  longer supported one; with `include_forming` (default, like a live exchange) the last candle is the forming
  one, built only from base candles already closed. Shorter timeframes than the base are refused.
- ticker: last = close of the latest closed base candle; bid/ask = the synthetic book's best levels; 24h
  volumes summed over closed base candles.
- order book: SyntheticBookModel (see book_model.py for the spread/depth model).
- funding (perpetual markets only): a constant `funding_rate` (default 0) paid every `funding_interval_ms`
  (default 8h, at 00:00/08:00/16:00 UTC); the mark price is the last close.

Cost: a backtest asks every cycle, so the book's levels are built once per closed base candle (and Decimal
context) and every answer is kept for the current clock time; the values are those of the straightforward
computation in the caller's Decimal context (see series.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from decimal import Decimal

from adapters.exchange.candle_file import format_timestamp, read_candles
from adapters.exchange.errors import ExchangeError, InvalidSymbol
from domain.market import Candle, FundingRate, MarketInfo, MarketType, OrderBook, Ticker

from .book_model import BookLadder, BookSteps, SyntheticBookModel
from .clock import SimulatedClock
from .series import CandleTerms, ReplaySeries, context_key, default_market

DEFAULT_OHLCV_LIMIT = 500
EIGHT_HOURS_MS = 8 * 3_600_000


class ReplayDataUnavailable(ExchangeError):
    """The clock stands before the first candle of the replay has closed."""

    code = "replay_data_unavailable"


class _Answers:
    """One series' answers: the book ladder of its latest closed-candle count and what was asked at one time."""

    __slots__ = ("books", "context", "count", "ladder", "market", "model", "now", "powers", "steps", "sums", "ticker")

    def __init__(self) -> None:
        self.reset((0, ""), None, None)

    def reset(self, context: tuple[int, str], model: SyntheticBookModel | None, market: MarketInfo | None) -> None:
        self.context, self.model, self.market = context, model, market
        self.powers: list[Decimal] = []  # depth_decay ** k of this model and context
        self.steps = None if market is None else BookSteps(market.price_step, market.amount_step)
        self.count = -1
        self.ladder: BookLadder | None = None
        self.sums: dict[tuple[int, int], Decimal] = {}  # volume sums over windows ending at count
        self.now = -1
        self.books: dict[int, OrderBook] = {}  # by depth, at time now
        self.ticker: Ticker | None = None

    def at(self, count: int, now: int) -> None:
        if count != self.count:
            self.count, self.ladder, self.sums = count, None, {}
        if now != self.now:
            self.now, self.books, self.ticker = now, {}, None

    def volume_sum(self, terms: CandleTerms, start: int, stop: int) -> Decimal:
        """sum of volumes[start:stop] from Decimal(0), as the ticker and the book's mean volume add them."""
        total = self.sums.get((start, stop))
        if total is None:
            total = self.sums[(start, stop)] = sum(terms.volumes[start:stop], Decimal(0))
        return total


class ReplayFeed:
    """MarketData over one or more symbols' candles; time passes only when the shared clock is advanced."""

    def __init__(
        self,
        clock: SimulatedClock,
        series: ReplaySeries | Iterable[ReplaySeries],
        *,
        exchange_id: str = "replay",
        book_model: SyntheticBookModel | None = None,
        funding_rate: Decimal = Decimal(0),
        funding_interval_ms: int = EIGHT_HOURS_MS,
        include_forming: bool = True,
    ) -> None:
        items = [series] if isinstance(series, ReplaySeries) else list(series)
        if not items:
            raise ValueError("a replay needs at least one symbol's candles")
        self.exchange_id = exchange_id
        self.clock = clock
        self.book_model = book_model or SyntheticBookModel()
        self.funding_rate = funding_rate
        self.funding_interval_ms = funding_interval_ms
        self.include_forming = include_forming
        self._series = {item.symbol: item for item in items}
        self._answers = {symbol: _Answers() for symbol in self._series}

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        symbol: str = "BTC/USDT",
        market_type: MarketType = MarketType.SPOT,
        market: MarketInfo | None = None,
        clock: SimulatedClock | None = None,
        base_timeframe: str = "",
        exchange_id: str = "replay",
        book_model: SyntheticBookModel | None = None,
        funding_rate: Decimal = Decimal(0),
        include_forming: bool = True,
    ) -> ReplayFeed:
        """A one-symbol replay of a candle file, traded under `symbol` (the shipped BTC/USD file as BTC/USDT).

        Without a clock, one is created at the close of the file's first candle.
        """
        candles = read_candles(path)
        market = market or default_market(symbol, market_type, candles[0].close, exchange_id)
        series = ReplaySeries(market=market, candles=candles, base_timeframe=base_timeframe)
        clock = clock or SimulatedClock(series.first_close_ms)
        return cls(
            clock,
            series,
            exchange_id=exchange_id,
            book_model=book_model,
            funding_rate=funding_rate,
            include_forming=include_forming,
        )

    def _get(self, symbol: str) -> ReplaySeries:
        series = self._series.get(symbol)
        if series is None:
            raise InvalidSymbol(
                f"{symbol} is not available in this replay; it holds {', '.join(sorted(self._series))}."
            )
        return series

    def series(self, symbol: str) -> ReplaySeries:
        return self._get(symbol)

    @property
    def symbols(self) -> list[str]:
        return list(self._series)

    def close_times(self, symbol: str, timeframe: str, start_ms: int | None = None) -> Iterator[int]:
        """Candle close times of `timeframe` from start_ms (default: the first close) to the end of the data;
        a backtest advances the clock to each in turn."""
        series = self._get(symbol)
        step = series.check_timeframe(timeframe)
        first = start_ms if start_ms is not None else series.first_close_ms
        ts = -(-first // step) * step
        while ts <= series.last_close_ms:
            yield ts
            ts += step

    def _unavailable(self, series: ReplaySeries, now: int) -> ReplayDataUnavailable:
        return ReplayDataUnavailable(
            f"No {series.symbol} candle has closed yet at {format_timestamp(now)}; the replay data starts "
            f"with the candle closing at {format_timestamp(series.first_close_ms)}."
        )

    def _answers_at(self, series: ReplaySeries, now: int) -> tuple[_Answers, int]:
        """The series' answers (dropped if the Decimal context, book model or market changed) and its closed count.

        The count is worked out once per clock time: it depends on now alone (closed_count reads the open times
        fixed with the series), and reset() forgets the time, so answers kept at `now` hold the count of now."""
        context = context_key()
        answers = self._answers[series.symbol]
        if answers.context != context or answers.model is not self.book_model or answers.market is not series.market:
            answers.reset(context, self.book_model, series.market)
        elif answers.now == now:
            return answers, answers.count
        count = series.closed_count(now)
        answers.at(count, now)
        return answers, count

    def _ladder(self, series: ReplaySeries, answers: _Answers, count: int, now: int) -> BookLadder:
        """The book's levels after `count` closed candles: the model's sums over its windows of recent candles."""
        ladder = answers.ladder
        if ladder is not None:
            return ladder
        model = self.book_model
        recent = range(max(0, count - model.lookback), count)
        if not recent:
            raise self._unavailable(series, now)
        terms = series.terms(answers.context)
        mid = series.candles[count - 1].close
        window = recent[-model.atr_period :]
        atr = terms.true_range_sum(window.start, window.stop) / len(window) if window else Decimal(0)
        spread = model.spread_from_atr(mid, atr)
        window = recent[-model.volume_period :]
        top = model.top_from_mean_volume(answers.volume_sum(terms, window.start, window.stop) / len(window))
        assert answers.steps is not None  # set with the market
        ladder = BookLadder(model, mid, spread, top, answers.steps, answers.powers)
        answers.ladder = ladder
        return ladder

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        return {symbol: series.market for symbol, series in self._series.items()}

    async def market(self, symbol: str) -> MarketInfo:
        return self._get(symbol).market

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        series = self._series.get(symbol) or self._get(symbol)
        limit = DEFAULT_OHLCV_LIMIT if limit is None else limit
        if limit <= 0:
            return []
        return series.ohlcv(timeframe, self.clock.now_ms(), since, limit, self.include_forming)

    async def fetch_closed_ohlcv(self, symbol: str, timeframe: str, limit: int) -> list[Candle]:
        """The last `limit` candles of `timeframe` closed by now, oldest first: what a market hub keeps of a
        fetch, without building the forming candle only to drop it."""
        series = self._series.get(symbol) or self._get(symbol)
        return series.ohlcv(timeframe, self.clock.now_ms(), None, limit, False) if limit > 0 else []

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        series = self._series.get(symbol) or self._get(symbol)
        depth = max(1, limit)
        now = self.clock.now_ms()
        answers, count = self._answers_at(series, now)
        book = answers.books.get(depth)
        if book is None:
            book = self._ladder(series, answers, count, now).book(series.symbol, now, depth)
            answers.books[depth] = book
        return book

    async def order_book_imbalance(self, symbol: str, limit: int = 20, depth: int = 20) -> Decimal:
        """fetch_order_book(symbol, limit).imbalance(depth), without building the book's levels when they are
        not built yet (a market hub needs the imbalance of every candle, and the levels only for a fill)."""
        series = self._series.get(symbol) or self._get(symbol)
        fetched = max(1, limit)
        now = self.clock.now_ms()
        answers, count = self._answers_at(series, now)
        book = answers.books.get(fetched)
        if book is not None:
            return book.imbalance(depth)
        return self._ladder(series, answers, count, now).imbalance(min(fetched, depth))

    async def fetch_ticker(self, symbol: str) -> Ticker:
        series = self._series.get(symbol) or self._get(symbol)
        now = self.clock.now_ms()
        answers, count = self._answers_at(series, now)
        if answers.ticker is not None:
            return answers.ticker
        start = max(0, count - max(1, 86_400_000 // series.base_ms))  # the last day of closed candles
        if start >= count:
            raise self._unavailable(series, now)
        bid, ask = self._ladder(series, answers, count, now).best()
        terms = series.terms(answers.context)
        last = series.candles[count - 1].close
        base_volume = answers.volume_sum(terms, start, count)
        quote_volume = sum(terms.quote_volumes[start:count], Decimal(0))
        answers.ticker = Ticker(symbol, now, last, bid, ask, base_volume, quote_volume)  # positional: cheaper
        return answers.ticker

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        series = self._get(symbol)
        if series.market.type is not MarketType.PERPETUAL:
            raise InvalidSymbol(f"{symbol} is a spot market; funding rates exist only for perpetual swaps.")
        now = self.clock.now_ms()
        count = series.closed_count(now)
        if count == 0:
            raise self._unavailable(series, now)
        next_funding = (now // self.funding_interval_ms + 1) * self.funding_interval_ms
        return FundingRate(symbol, self.funding_rate, now, next_funding, series.candles[count - 1].close)

    async def close(self) -> None:
        """Nothing to release: the candles live in memory."""
