"""Finding an order by its client order id, and an order's trades, the way each exchange allows it.

Both exist so that nothing is ever re-sent blindly or lost: an order whose answer was lost is found again by the
id Quorum gave it, and a found order that carries no fills gets them from the trade history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ccxt

from domain.market import MarketType

Retrying = Callable[..., Awaitable[Any]]  # CcxtExchange._retrying: (ccxt method name, *args) -> result

# Order lists searched, in order, where ccxt offers no query by client order id.
_ORDER_LISTS = (
    ("fetch_open_orders", "fetchOpenOrders"),
    ("fetch_closed_orders", "fetchClosedOrders"),
    ("fetch_canceled_orders", "fetchCanceledOrders"),
)


@dataclass(frozen=True, slots=True)
class LookupContext:
    exchange_id: str
    market_type: MarketType
    has: Mapping[str, Any]  # the ccxt client's capabilities
    retrying: Retrying


async def order_by_client_id(ctx: LookupContext, client_order_id: str, ccxt_symbol: str) -> dict[str, Any] | None:
    """The raw ccxt order placed with this client order id, or None when the exchange has none."""
    if ctx.exchange_id == "binance":
        return await _binance(ctx, client_order_id, ccxt_symbol)
    if ctx.exchange_id == "bybit":
        return await _bybit(ctx, client_order_id, ccxt_symbol)
    return await _scan(ctx, client_order_id, ccxt_symbol)


async def order_trades(
    ctx: LookupContext, order_id: str, ccxt_symbol: str, since: int | None
) -> list[dict[str, Any]] | None:
    """One order's trades: fetchOrderTrades, else fetchMyTrades filtered by order id; None when neither exists."""
    if ctx.has.get("fetchOrderTrades"):
        try:
            return await ctx.retrying("fetch_order_trades", order_id, ccxt_symbol)
        except ccxt.NotSupported:  # ccxt's binance: spot only
            pass
    if not ctx.has.get("fetchMyTrades"):
        return None
    # Binance filters by order id itself (GET /fapi/v1/userTrades?orderId=), and then takes no startTime.
    params = {"orderId": order_id} if ctx.exchange_id == "binance" else {}
    trades = await ctx.retrying("fetch_my_trades", ccxt_symbol, None if params else since, None, params)
    return [trade for trade in trades if str(trade.get("order")) == order_id]


async def _binance(ctx: LookupContext, client_order_id: str, ccxt_symbol: str) -> dict[str, Any] | None:
    queries: list[dict[str, Any]] = [{"clientOrderId": client_order_id}]
    if ctx.market_type is MarketType.PERPETUAL:
        queries.append({"clientOrderId": client_order_id, "trigger": True})  # binance algo (stop) orders
    for params in queries:
        try:
            return await ctx.retrying("fetch_order", "", ccxt_symbol, params)
        except ccxt.OrderNotFound:
            continue
    return None


async def _bybit(ctx: LookupContext, client_order_id: str, ccxt_symbol: str) -> dict[str, Any] | None:
    """Bybit filters by orderLinkId itself: the live order list (which on a unified account also holds recent
    closed orders when asked for one id), then the order history of any status.

    The generic scan would read only the first page (20) of the Filled and the Cancelled history and miss a
    partially filled order that was then cancelled (status PartiallyFilledCanceled).
    """
    for method in ("fetch_open_orders", "fetch_canceled_and_closed_orders"):
        rows = await ctx.retrying(method, ccxt_symbol, None, None, {"orderLinkId": client_order_id})
        if (found := _with_client_id(rows, client_order_id)) is not None:
            return found
    return None


async def _scan(ctx: LookupContext, client_order_id: str, ccxt_symbol: str) -> dict[str, Any] | None:
    """For exchanges without a query by client id in ccxt: search open, then closed and cancelled orders."""
    for method, capability in _ORDER_LISTS:
        if ctx.has.get(capability):
            rows = await ctx.retrying(method, ccxt_symbol)
            if (found := _with_client_id(rows, client_order_id)) is not None:
                return found
    return None


def _with_client_id(rows: list[dict[str, Any]], client_order_id: str) -> dict[str, Any] | None:
    return next((row for row in rows if row.get("clientOrderId") == client_order_id), None)
