"""PaperExchange: the ExchangePort with simulated fills on the prices of any MarketData feed.

The feed can be the live CCXT adapter (paper trading on live prices) or a ReplayFeed (backtest, offline demo).

When resting orders are evaluated: on every account call (fetch_balance, fetch_positions, fetch_open_orders,
fetch_order, fetch_order_by_client_id, create_order, cancel_order) and on `await paper.process()`. Each of those
first looks at the feed's latest ticker for the symbols involved and walks the price from the last one seen,
so limits, stops, take-profits, liquidations and funding happen before the call answers. With
`PaperConfig.candle_timeframe` set, candles closed since the last look are walked too (their highs and lows),
so a stop touched between two looks still fires. A backtest advances its clock, then calls `process()`.

The state is saved to the PaperStateStore after every change (a FollowingStateStore is told where to read it
instead), and one lock serialises the calls of an account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import cast

from adapters.exchange.errors import ExchangeError, InvalidOrder
from adapters.exchange.port import MarketData
from domain.market import Candle, FundingRate, MarketInfo, MarketType, OrderBook, Ticker, timeframe_ms
from domain.money import datetime_to_ms, utc_now
from domain.trading import Balance, Order, OrderRequest, OrderType, Position, TradingMode

from .account import Mark, PaperAccount
from .config import PaperConfig
from .ledger import Ledger
from .mutex import Mutex
from .perpetual import funding_times
from .state import (
    FollowingStateStore,
    InMemoryPaperStateStore,
    PaperStateStore,
    account_from_state,
    account_to_state,
)
from .triggers import candle_path


def wall_clock_ms() -> int:
    return datetime_to_ms(utc_now())


class PaperExchange:
    mode = TradingMode.PAPER

    def __init__(
        self,
        feed: MarketData,
        account: PaperAccount,
        store: PaperStateStore,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        owns_feed: bool = False,
    ) -> None:
        """Prefer `await PaperExchange.open(...)`, which restores the account from the store."""
        self.feed = feed
        self.exchange_id = feed.exchange_id
        self.account = account
        self.store = store
        self.clock = clock
        self.owns_feed = owns_feed
        self._lock = Mutex()  # the calls of a cycle take it without awaiting (see mutex.py)
        self._saved_revision = account.revision
        self._follows = isinstance(store, FollowingStateStore)  # it reads the state when it needs it
        # per symbol: (clock, account revision, ticker) after its last look
        self._looked: dict[str, tuple[int, int, Ticker]] = {}
        self._balance: tuple[int, int, Balance] | None = None  # (revision, ts, balance) of the last answer
        self._positions: tuple[tuple, list[Position]] | None = None  # (key, views) of the last answer

    @classmethod
    async def open(
        cls,
        feed: MarketData,
        store: PaperStateStore | None = None,
        *,
        starting_balances: Mapping[str, Decimal] | None = None,
        config: PaperConfig | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        owns_feed: bool = False,
    ) -> PaperExchange:
        """Restore the account saved in `store`, or start a new one with `starting_balances` and save it."""
        store = store if store is not None else InMemoryPaperStateStore()
        state = await store.load()
        if state is not None:
            account = account_from_state(state, config)
        else:
            account = PaperAccount(Ledger(dict(starting_balances or {})), config)
            await store.save(account_to_state(account))
        return cls(feed, account, store, clock=clock, owns_feed=owns_feed)

    def state(self) -> dict:
        """The JSON-safe state, as saved to the store."""
        return account_to_state(self.account)

    # --- market data: straight from the feed ---------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        return await self.feed.load_markets(reload)

    async def market(self, symbol: str) -> MarketInfo:
        return await self.feed.market(symbol)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        return await self.feed.fetch_ticker(symbol)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        return await self.feed.fetch_ohlcv(symbol, timeframe, since, limit)

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        return await self.feed.fetch_order_book(symbol, limit)

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        return await self.feed.fetch_funding_rate(symbol)

    async def close(self) -> None:
        """Closes the feed only when this exchange owns it (a shared live feed outlives one paper account)."""
        if self.owns_feed:
            await self.feed.close()

    # --- the account ---------------------------------------------------------------------------------------

    async def process(self, symbols: list[str] | None = None) -> list[Order]:
        """Evaluate resting orders, liquidations and funding against the feed now; returns the orders that
        filled, triggered, were canceled or rejected, and any liquidations.

        A symbol with nothing open (no order, no position) has nothing to evaluate and is not looked at: its mark
        catches up at the next call that reads it (placing an order, a fetch of its orders)."""
        if not self._lock.try_acquire():
            await self._lock.acquire()
        try:
            if symbols is None:
                symbols = self.account.active_symbols()
            else:
                for symbol in symbols:
                    await self.feed.market(symbol)  # an unknown symbol is still refused
                symbols = [symbol for symbol in symbols if self.account.holds(symbol)]
            return await self._catch_up(symbols)
        finally:
            self._lock.release()

    def state_version(self) -> tuple[int, int]:
        """(account revision, clock time): while it is the same, fetch_balance and fetch_positions answer the
        same figures (every change of a balance, an order, a position or a mark bumps the revision), so a caller
        that marked the account at this version need not ask again."""
        return self.account.revision, self.clock()

    async def fetch_balance(self) -> Balance:
        if not self._lock.try_acquire():
            await self._lock.acquire()
        try:
            await self._catch_up(self.account.active_symbols())
            revision, ts = self.account.revision, self.clock()
            cached = self._balance
            if cached is None or cached[0] != revision or cached[1] != ts:  # else: nothing could have moved
                cached = self._balance = (revision, ts, self.account.ledger.balance(ts))
            return cached[2]
        finally:
            self._lock.release()

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]:
        """Open perpetual positions (spot holdings are balances, as on a real exchange)."""
        if not self._lock.try_acquire():
            await self._lock.acquire()
        try:
            await self._catch_up(self.account.active_symbols())
            markets = {symbol: await self.feed.market(symbol) for symbol in self.account.positions}
            key = (self.account.revision, tuple(markets.values()))
            cached = self._positions
            if cached is None or cached[0] != key:  # the views move only with the account (and its markets)
                cached = self._positions = (key, self.account.position_views(markets))
            if symbols is None:
                return list(cached[1])
            return [position for position in cached[1] if position.symbol in symbols]  # one symbol's, all's views
        finally:
            self._lock.release()

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        async with self._lock:
            self.account.set_leverage(await self.feed.market(symbol), leverage)
            await self._save()

    async def create_order(self, request: OrderRequest) -> Order:
        """Idempotent: a known client_order_id returns the order already placed with it."""
        if not self._lock.try_acquire():
            await self._lock.acquire()
        try:
            existing = self.account.find_by_client_id(request.client_order_id)
            if existing is not None:
                if existing.symbol != request.symbol:
                    raise InvalidOrder(
                        f"Client order id {request.client_order_id} was already used for {existing.symbol}."
                    )
                return existing.to_domain()
            market = await self.feed.market(request.symbol)
            await self._sync([request.symbol])
            book = None
            if request.type in (OrderType.MARKET, OrderType.LIMIT):
                book = await self.feed.fetch_order_book(request.symbol, self.account.config.book_depth)
            try:
                order = self.account.place(request, market, book, self.clock())
            finally:
                await self._save()
            return order.to_domain()
        finally:
            self._lock.release()

    async def cancel_order(self, order_id: str, symbol: str) -> Order:
        """Never blocked by the feed: if it cannot be reached, the cancel happens without a last look."""
        async with self._lock:
            try:
                await self._sync([symbol])
            except ExchangeError:
                pass
            order = self.account.cancel(order_id, symbol, self.clock())
            await self._save()
            return order.to_domain()

    async def fetch_order(self, order_id: str, symbol: str) -> Order:
        async with self._lock:
            await self._sync([symbol])
            await self._save()
            return self.account.get(order_id, symbol).to_domain()

    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order | None:
        if not self._lock.try_acquire():
            await self._lock.acquire()
        try:
            await self._catch_up([symbol])
            order = self.account.find_by_client_id(client_order_id)
            return order.to_domain() if order is not None and order.symbol == symbol else None
        finally:
            self._lock.release()

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        async with self._lock:
            await self._sync([symbol] if symbol else self.account.active_symbols())
            await self._save()
            return [order.to_domain() for order in self.account.open_orders(symbol)]

    # --- internals -----------------------------------------------------------------------------------------

    async def _catch_up(self, symbols: list[str]) -> list[Order]:
        """_sync(symbols) then _save(), each awaited only when there is something to do (the calls of a backtest
        cycle usually have neither: no symbol open, the account unchanged)."""
        changed = await self._sync(symbols) if symbols else []
        if self.account.revision != self._saved_revision:
            await self._save()
        return changed

    async def _sync(self, symbols: list[str]) -> list[Order]:
        changed = []
        for symbol in symbols:
            changed.extend(await self._sync_symbol(await self.feed.market(symbol)))
        return [order.to_domain() for order in changed]

    async def _sync_symbol(self, market: MarketInfo) -> list:
        symbol = market.symbol
        now = self.clock()
        looked = self._looked.get(symbol)
        if looked is not None and looked[0] == now and looked[1] == self.account.revision:
            # the very ticker object of the last look (a replay feed answers one per time) at the same time, and
            # the account unchanged since: the same look again would change nothing (a feed that builds a new
            # ticker per call, live or scripted, is always looked at again)
            if await self.feed.fetch_ticker(symbol) is looked[2]:
                return []
        changed, ticker = await self._look(market)
        self._looked[symbol] = (now, self.account.revision, ticker)
        return changed

    async def _look(self, market: MarketInfo) -> tuple[list, Ticker]:
        """Walk the prices since the last look (closed candles, then the ticker) and settle funding."""
        symbol = market.symbol
        mark = self.account.marks.get(symbol)
        path: list[tuple[Decimal, int]] = []
        candle_ts = None
        timeframe = self.account.config.candle_timeframe
        if not self.account.holds(symbol):
            # nothing rests and nothing is held: no price on the way can fire anything and no funding is due, so
            # the look only moves the mark to the ticker, and every candle closed by now counts as seen (what a
            # walk over them leaves, without fetching them)
            ticker = await self.feed.fetch_ticker(symbol)
            if timeframe and mark is not None:
                step = timeframe_ms(timeframe)
                last_closed = (self.clock() // step - 1) * step
                if last_closed >= _since(mark, step):
                    candle_ts = last_closed
            return self.account.advance(market, [(ticker.last, ticker.ts)], None, candle_ts), ticker
        if timeframe and mark is not None:
            step = timeframe_ms(timeframe)
            since = _since(mark, step)
            for candle in await self.feed.fetch_ohlcv(symbol, timeframe, since=since):
                closes = candle.ts + step
                if candle.ts < since or closes > self.clock():
                    continue
                path.extend((price, closes) for price in candle_path(candle))
                candle_ts = candle.ts
        ticker = await self.feed.fetch_ticker(symbol)
        path.append((ticker.last, ticker.ts))
        book = None  # only a resting stop or take-profit that fires on this path reads the book
        if self.account.needs_book(symbol) and self.account.fires_on(market, path):
            book = await self.feed.fetch_order_book(symbol, self.account.config.book_depth)
        changed = self.account.advance(market, path, book, candle_ts)
        if market.type is MarketType.PERPETUAL and mark is not None and symbol in self.account.positions:
            times = funding_times(mark.ts, ticker.ts, self.account.config.funding_interval_ms)
            if times:
                rate = (await self.feed.fetch_funding_rate(symbol)).rate
                for ts in times:
                    changed.extend(self.account.pay_funding(market, rate, ticker.last, ts))
        return changed, ticker

    async def _save(self) -> None:
        if self.account.revision != self._saved_revision:
            if self._follows:
                cast(FollowingStateStore, self.store).follow(self.state)  # not a dict on every change
            else:
                await self.store.save(account_to_state(self.account))
            self._saved_revision = self.account.revision


def _since(mark: Mark, step: int) -> int:
    """The open time of the first candle a look walks: only candles that opened after the last look (earlier
    ones may predate orders placed since) and after the last candle walked."""
    since = -(-mark.ts // step) * step
    return since if mark.candle_ts is None else max(since, mark.candle_ts + step)
