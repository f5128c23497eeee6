"""A MarketData wrapper that counts every call by method: what the hub and the paper accounts ask of the feed.

Live, every one of these (bar market/load_markets, answered from the loaded markets) is a request to the
exchange's public API, so the counts say how market-data traffic grows with users and with symbols.
"""

from __future__ import annotations

from collections import Counter

from adapters.exchange.port import MarketData
from domain.market import Candle, FundingRate, MarketInfo, OrderBook, Ticker

NETWORK = ("fetch_ticker", "fetch_ohlcv", "fetch_order_book", "fetch_funding_rate")


class CountingFeed:
    def __init__(self, feed: MarketData) -> None:
        self.inner = feed
        self.exchange_id = feed.exchange_id
        self.calls: Counter[str] = Counter()

    def network_calls(self) -> int:
        return sum(self.calls[name] for name in NETWORK)

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]:
        self.calls["load_markets"] += 1
        return await self.inner.load_markets(reload)

    async def market(self, symbol: str) -> MarketInfo:
        self.calls["market"] += 1
        return await self.inner.market(symbol)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        self.calls["fetch_ticker"] += 1
        return await self.inner.fetch_ticker(symbol)

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        self.calls["fetch_ohlcv"] += 1
        return await self.inner.fetch_ohlcv(symbol, timeframe, since, limit)

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        self.calls["fetch_order_book"] += 1
        return await self.inner.fetch_order_book(symbol, limit)

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        self.calls["fetch_funding_rate"] += 1
        return await self.inner.fetch_funding_rate(symbol)

    async def close(self) -> None:
        await self.inner.close()
