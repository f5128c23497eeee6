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
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from decimal import Decimal

from adapters.exchange.candle_file import format_timestamp, read_candles
from adapters.exchange.errors import ExchangeError, InvalidSymbol
from domain.market import Candle, FundingRate, MarketInfo, MarketType, OrderBook, Ticker

from .book_model import SyntheticBookModel
from .clock import SimulatedClock
from .series import ReplaySeries, default_market

DEFAULT_OHLCV_LIMIT = 500
EIGHT_HOURS_MS = 8 * 3_600_000


class ReplayDataUnavailable(ExchangeError):
    """The clock stands before the first candle of the replay has closed."""

    code = "replay_data_unavailable"


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

    def _latest(self, series: ReplaySeries, count: int) -> list[Candle]:
        now = self.clock.now_ms()
        recent = list(series.closed(now, count))
        if not recent:
            raise ReplayDataUnavailable(
                f"No {series.symbol} candle has closed yet at {format_timestamp(now)}; the replay data starts "
                f"with the candle closing at {format_timestamp(series.first_close_ms)}."
            )
        return recent

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        return {symbol: series.market for symbol, series in self._series.items()}

    async def market(self, symbol: str) -> MarketInfo:
        return self._get(symbol).market

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        series = self._get(symbol)
        limit = DEFAULT_OHLCV_LIMIT if limit is None else limit
        if limit <= 0:
            return []
        return series.ohlcv(timeframe, self.clock.now_ms(), since, limit, self.include_forming)

    def _book(self, series: ReplaySeries, depth: int) -> OrderBook:
        recent = self._latest(series, self.book_model.lookback)
        return self.book_model.build(
            series.symbol, recent, self.clock.now_ms(), depth, series.market.price_step, series.market.amount_step
        )

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        return self._book(self._get(symbol), max(1, limit))

    async def fetch_ticker(self, symbol: str) -> Ticker:
        series = self._get(symbol)
        day = self._latest(series, max(1, 86_400_000 // series.base_ms))
        book = self._book(series, 1)
        return Ticker(
            symbol=symbol,
            ts=self.clock.now_ms(),
            last=day[-1].close,
            bid=book.bids[0].price if book.bids else None,
            ask=book.asks[0].price if book.asks else None,
            base_volume=sum((candle.volume for candle in day), Decimal(0)),
            quote_volume=sum((candle.volume * candle.close for candle in day), Decimal(0)),
        )

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        series = self._get(symbol)
        if series.market.type is not MarketType.PERPETUAL:
            raise InvalidSymbol(f"{symbol} is a spot market; funding rates exist only for perpetual swaps.")
        now = self.clock.now_ms()
        last = self._latest(series, 1)[-1]
        return FundingRate(
            symbol=symbol,
            rate=self.funding_rate,
            ts=now,
            next_funding_ts=(now // self.funding_interval_ms + 1) * self.funding_interval_ms,
            mark_price=last.close,
        )

    async def close(self) -> None:
        """Nothing to release: the candles live in memory."""
