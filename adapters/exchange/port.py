"""The one port through which every engine sees a market and places orders.

Live (CCXT), paper and replay implementations all satisfy this protocol, so the same engine code runs live,
on paper, in a backtest and in the offline demo. Results are domain objects; SDK dicts never cross it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.market import Candle, FundingRate, MarketInfo, OrderBook, Ticker
from domain.trading import Balance, Order, OrderRequest, Position


@runtime_checkable
class MarketData(Protocol):
    """Public market data: needs no credentials."""

    exchange_id: str

    async def load_markets(self, reload: bool = False) -> dict[str, MarketInfo]: ...

    async def market(self, symbol: str) -> MarketInfo:
        """Raises InvalidSymbol for an unknown symbol."""
        ...

    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        """Closed and current candles, oldest first; since is UTC ms of the first candle's open time."""
        ...

    async def fetch_order_book(self, symbol: str, limit: int = 20) -> OrderBook: ...

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        """Perpetual swaps only; InvalidSymbol for a spot market."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class ExchangePort(MarketData, Protocol):
    """Market data plus an account: balances, positions and orders."""

    async def fetch_balance(self) -> Balance: ...

    async def fetch_positions(self, symbols: list[str] | None = None) -> list[Position]: ...

    async def set_leverage(self, symbol: str, leverage: int) -> None: ...

    async def create_order(self, request: OrderRequest) -> Order:
        """Place an order idempotently: the same client_order_id never yields two orders.

        When the exchange's answer is lost and it cannot tell whether the order exists (it lists only open
        orders, say), the order is not sent again: it comes back with status UNKNOWN (client_order_id set, id
        usually empty). Record it as unknown and settle it later with fetch_order_by_client_id; never place it
        again with create_order. TransientExchangeError means nothing was placed.
        """
        ...

    async def cancel_order(self, order_id: str, symbol: str) -> Order: ...

    async def fetch_order(self, order_id: str, symbol: str) -> Order: ...

    async def fetch_order_by_client_id(self, client_order_id: str, symbol: str) -> Order | None:
        """The order placed with this client order id, or None when the exchange definitely has none.

        Raises OrderStateUnknown (carrying the client order id) when the exchange cannot tell: not an absence,
        so never a reason to place the order again; ask later.
        """
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...
