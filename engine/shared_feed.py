"""One public market-data client shared by every paper account on it: each read (ticker, order book, funding,
candles) is fetched once per (symbol, arguments, time slot) and served to every account from memory; accounts
asking at once wait for the one request. 10,000 paper users on 5 symbols then cost a handful of requests per
slot, not tens of thousands (bench/bench_scale.py measured ~31,000 reads per tick without it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.exchange.port import MarketData
from domain.market import MarketInfo

SLOT_MS = 5_000  # answers are shared within 5 s: the engines of one tick all step inside it, give or take


class SharedMarketData:
    def __init__(self, inner: MarketData, clock: Callable[[], int], slot_ms: int = SLOT_MS) -> None:
        self.inner, self._clock, self._slot_ms = inner, clock, slot_ms
        self.exchange_id = getattr(inner, "exchange_id", "")
        self.fetches = 0  # requests that reached the inner client (for tests and benchmarks)
        self._slot = -1
        self._answers: dict[tuple[Any, ...], Any] = {}
        self._in_flight: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        self._markets: dict[str, MarketInfo] | None = None

    async def _shared(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[Any]]) -> Any:
        slot = self._clock() // self._slot_ms
        if slot != self._slot:  # a new slot: every earlier answer is stale
            self._slot, self._answers = slot, {}
        if key in self._answers:
            return self._answers[key]
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            self.fetches += 1
            answer = await fetch()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody is warned about an unretrieved one
            raise
        finally:
            self._in_flight.pop(key, None)
        if self._slot == slot:
            self._answers[key] = answer
        future.set_result(answer)
        return answer

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        if self._markets is None or reload:
            self._markets = dict(await self.inner.load_markets(reload))
        return self._markets

    async def market(self, symbol: str) -> MarketInfo:
        return await self.inner.market(symbol)

    async def fetch_ticker(self, symbol: str) -> Any:
        return await self._shared(("ticker", symbol), lambda: self.inner.fetch_ticker(symbol))

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> Any:
        return await self._shared(("book", symbol, limit), lambda: self.inner.fetch_order_book(symbol, limit))

    async def fetch_funding_rate(self, symbol: str) -> Any:
        return await self._shared(("funding", symbol), lambda: self.inner.fetch_funding_rate(symbol))

    async def fetch_ohlcv(self, symbol: str, timeframe: str, *args: Any, **kwargs: Any) -> Any:
        key = ("ohlcv", symbol, timeframe, args, tuple(sorted(kwargs.items())))
        candles = await self._shared(key, lambda: self.inner.fetch_ohlcv(symbol, timeframe, *args, **kwargs))
        return list(candles)  # each account its own list: one that trims its copy leaves the others' alone

    async def close(self) -> None:
        """The inner client belongs to the runtime, which closes it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
