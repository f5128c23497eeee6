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
from decimal import Decimal, getcontext

from adapters.exchange.candle_file import format_timestamp, read_candles
from adapters.exchange.errors import ExchangeError, InvalidSymbol
from domain.market import Candle, FundingRate, MarketInfo, MarketType, OrderBook, Ticker

from .book_model import BookLadder, BookSteps, SyntheticBookModel
from .clock import SimulatedClock
from .series import CandleTerms, ReplaySeries, context_key, default_market

DEFAULT_OHLCV_LIMIT = 500
EIGHT_HOURS_MS = 8 * 3_600_000
_ZERO = Decimal(0)


class ReplayDataUnavailable(ExchangeError):
    """The clock stands before the first candle of the replay has closed."""

    code = "replay_data_unavailable"


def _window_start(start: int, stop: int, period: int) -> int:
    """range(start, stop)[-period:].start: max(start, stop - period) for a period of at least 1, written out."""
    if period < 1:
        return range(start, stop)[-period:].start
    first = stop - period
    return first if first > start else start


class _Answers:
    """One series' answers: the book ladder of its latest closed-candle count and what was asked at one time.

    The context is kept as its key (for the series' terms) and as its two parts, which the hourly check compares
    without building a tuple."""

    __slots__ = (
        "books", "context", "count", "ladder", "market", "model", "now", "powers", "prec", "rounding", "series",
        "steps", "terms", "ticker", "volume_start", "volume_total",
    )  # fmt: skip

    def __init__(self, series: ReplaySeries) -> None:
        self.series = series
        self.reset((0, ""), None, None)

    def reset(self, context: tuple[int, str], model: SyntheticBookModel | None, market: MarketInfo | None) -> None:
        self.context, self.model, self.market = context, model, market
        self.prec, self.rounding = context
        self.terms: CandleTerms | None = None  # the series' terms in this context, fetched with the first ladder
        self.powers: list[Decimal] = []  # depth_decay ** k of this model and context
        self.steps = None if market is None else BookSteps(market.price_step, market.amount_step)
        self.count = -1
        self.ladder: BookLadder | None = None
        self.volume_start, self.volume_total = -1, _ZERO  # the latest volume sum over volumes[start:count]
        self.now: int | None = None  # None: no time yet (any int, -1 too, is a clock time)
        self.books: dict[int, OrderBook] = {}  # by depth, at time now
        self.ticker: Ticker | None = None

    def at(self, count: int, now: int) -> None:
        if count != self.count:
            self.count, self.ladder, self.volume_start = count, None, -1
        self.now, self.books, self.ticker = now, {}, None

    def volume_sum(self, terms: CandleTerms, start: int) -> Decimal:
        """sum of volumes[start:count] from Decimal(0), as the ticker and the book's mean volume add them (the
        same window for both in the shipped model: a day of hourly candles). One sum is kept: the windows all
        end at count, so the start tells them apart, and a new count forgets it."""
        if start != self.volume_start:
            self.volume_total = sum(terms.volumes[start : self.count], _ZERO)
            self.volume_start = start
        return self.volume_total


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
        self._answers = {symbol: _Answers(item) for symbol, item in self._series.items()}

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
            raise self._no_symbol(symbol)
        return series

    def _no_symbol(self, symbol: str) -> InvalidSymbol:
        return InvalidSymbol(f"{symbol} is not available in this replay; it holds {', '.join(sorted(self._series))}.")

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

    def _answers_at(self, symbol: str, now: int) -> _Answers:
        """The symbol's answers at `now` (dropped if the Decimal context, book model or market changed), their count
        the closed-candle count of now.

        The count is worked out once per clock time: it depends on now alone (closed_count reads the open times
        fixed with the series), and reset() forgets the time, so answers kept at `now` hold the count of now. The
        check of every call compares the context's precision and rounding (context_key()) in place."""
        answers = self._answers.get(symbol)
        if answers is None:
            raise self._no_symbol(symbol)
        context = getcontext()
        if (
            answers.now == now
            and answers.prec == context.prec
            and answers.rounding == context.rounding
            and answers.model is self.book_model
            and answers.market is answers.series.market
        ):
            return answers
        series = answers.series
        key = context_key()
        if answers.context != key or answers.model is not self.book_model or answers.market is not series.market:
            answers.reset(key, self.book_model, series.market)
        answers.at(series.closed_count(now), now)
        return answers

    def _ladder(self, answers: _Answers) -> BookLadder:
        """The book's levels after the answers' count of closed candles: the model's sums over its windows of
        recent candles. A window of range(start, count)[-period:] starts at max(start, count - period) for a
        period of at least 1 (the model's: other periods take the range's own slicing)."""
        ladder = answers.ladder
        if ladder is not None:
            return ladder
        model, count, series = self.book_model, answers.count, answers.series
        start = count - model.lookback
        if start < 0:
            start = 0
        if start >= count:
            assert answers.now is not None  # set with the count
            raise self._unavailable(series, answers.now)
        terms = answers.terms
        if terms is None:
            terms = answers.terms = series.terms(answers.context)
        mid = series.candles[count - 1].close
        period = model.atr_period
        first = _window_start(start, count, period)
        atr = terms.true_range_sum(first, count) / (count - first) if first < count else _ZERO
        spread = model.spread_from_atr(mid, atr)
        first = _window_start(start, count, model.volume_period)
        top = model.top_from_mean_volume(answers.volume_sum(terms, first) / (count - first))
        assert answers.steps is not None  # set with the market
        ladder = answers.ladder = BookLadder(model, mid, spread, top, answers.steps, answers.powers)
        return ladder

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        return {symbol: series.market for symbol, series in self._series.items()}

    async def market(self, symbol: str) -> MarketInfo:
        series = self._series.get(symbol)
        return (series or self._get(symbol)).market

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
        return series.closed_ohlcv(timeframe, self.clock.now_ms(), limit) if limit > 0 else []

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        depth = max(1, limit)
        now = self.clock.now_ms()
        answers = self._answers_at(symbol, now)
        book = answers.books.get(depth)
        if book is None:
            book = self._ladder(answers).book(answers.series.symbol, now, depth)
            answers.books[depth] = book
        return book

    async def order_book_imbalance(self, symbol: str, limit: int = 20, depth: int = 20) -> Decimal:
        """fetch_order_book(symbol, limit).imbalance(depth), without building the book's levels when they are
        not built yet (a market hub needs the imbalance of every candle, and the levels only for a fill)."""
        fetched = max(1, limit)
        answers = self._answers_at(symbol, self.clock.now_ms())
        book = answers.books.get(fetched)
        if book is not None:
            return book.imbalance(depth)
        return self._ladder(answers).imbalance(min(fetched, depth))

    async def fetch_ticker(self, symbol: str) -> Ticker:
        now = self.clock.now_ms()
        answers = self._answers_at(symbol, now)
        ticker = answers.ticker
        if ticker is not None:
            return ticker
        series, count = answers.series, answers.count
        start = count - series.day_count  # the last day of closed candles
        if start < 0:
            start = 0
        if start >= count:
            raise self._unavailable(series, now)
        bid, ask = self._ladder(answers).best()
        terms = answers.terms
        assert terms is not None  # fetched with the ladder
        base_volume = answers.volume_sum(terms, start)
        quote_volume = sum(terms.quote_volumes[start:count], _ZERO)
        last = series.candles[count - 1].close
        ticker = answers.ticker = Ticker(symbol, now, last, bid, ask, base_volume, quote_volume)  # positional: cheaper
        return ticker

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        series = self._series.get(symbol) or self._get(symbol)
        if series.market.type is not MarketType.PERPETUAL:
            raise InvalidSymbol(f"{symbol} is a spot market; funding rates exist only for perpetual swaps.")
        now = self.clock.now_ms()
        answers = self._answers[symbol]
        count = answers.count if answers.now == now else series.closed_count(now)  # the count of now, once a time
        if count == 0:
            raise self._unavailable(series, now)
        next_funding = (now // self.funding_interval_ms + 1) * self.funding_interval_ms
        return FundingRate(symbol, self.funding_rate, now, next_funding, series.candles[count - 1].close)

    async def close(self) -> None:
        """Nothing to release: the candles live in memory."""
