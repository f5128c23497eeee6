"""What the service asks of exchanges outside any engine: which markets exist, and an account's balance.

Both go through the ExchangeGateway port, so tests point it at the exchange emulators or a replay feed. The
balance read is also how a new API key is checked: one read-only call (no order, no transfer permission used).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from adapters.exchange.factory import create_live_exchange
from config.settings import Settings
from domain.credentials import ExchangeCredentials
from domain.market import MarketInfo, MarketType
from domain.trading import Balance


@dataclass(frozen=True, slots=True)
class LiveAccess:
    """One exchange account to read with its keys (repr shows no key: see ExchangeCredentials)."""

    exchange: str
    credentials: ExchangeCredentials
    market_type: MarketType
    testnet: bool = False


@runtime_checkable
class ExchangeGateway(Protocol):
    async def markets(self, exchange: str, market_type: MarketType) -> Mapping[str, MarketInfo]:
        """Every tradable market of that type, by plain symbol ('BTC/USDT'). Raises adapters' ExchangeError."""
        ...

    async def balance(self, access: LiveAccess) -> Balance:
        """The account's balances through a read-only call. Raises AuthenticationFailed for a bad key."""
        ...


class CcxtGateway:
    """The gateway over CCXT: markets from a public client, cached per (exchange, market type) for
    markets_ttl_s; a balance with a private client opened for that one call and closed after it."""

    def __init__(
        self,
        settings: Settings,
        *,
        url_override: str | None = None,
        markets_ttl_s: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._url_override = url_override
        self._ttl = markets_ttl_s
        self._monotonic = monotonic
        self._markets: dict[tuple[str, MarketType], tuple[float, Mapping[str, MarketInfo]]] = {}
        self._lock = asyncio.Lock()

    async def markets(self, exchange: str, market_type: MarketType) -> Mapping[str, MarketInfo]:
        key = (exchange, market_type)
        async with self._lock:
            cached = self._markets.get(key)
            if cached is not None and self._monotonic() - cached[0] < self._ttl:
                return cached[1]
            client = create_live_exchange(
                exchange, None, market_type=market_type, settings=self._settings, url_override=self._url_override
            )
            try:
                markets = await client.load_markets()
            finally:
                await client.close()
            self._markets[key] = (self._monotonic(), markets)
            return markets

    async def balance(self, access: LiveAccess) -> Balance:
        client = create_live_exchange(
            access.exchange,
            access.credentials,
            market_type=access.market_type,
            testnet=access.testnet,
            settings=self._settings,
            url_override=self._url_override,
        )
        try:
            return await client.fetch_balance()
        finally:
            await client.close()


class FeedGateway:
    """The gateway of a run on historical candles (`quorum run --replay`): the feed's markets under every
    exchange id (paper accounts trade on them); live accounts are refused, there is no exchange to ask."""

    def __init__(self, feed: MarketDataFeed) -> None:
        self.feed = feed

    async def markets(self, exchange: str, market_type: MarketType) -> Mapping[str, MarketInfo]:
        return {s: m for s, m in (await self.feed.load_markets()).items() if m.type is market_type}

    async def balance(self, access: LiveAccess) -> Balance:
        from adapters.exchange.errors import ExchangeError

        raise ExchangeError(f"{access.exchange} cannot be reached in a replay: connect a paper account")


class MarketDataFeed(Protocol):
    async def load_markets(self, reload: bool = False) -> Mapping[str, MarketInfo]: ...
