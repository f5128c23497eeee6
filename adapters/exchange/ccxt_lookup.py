"""Finding an order by its client order id, and an order's trades, the way each exchange allows it.

Both exist so that nothing is ever re-sent blindly or lost: an order whose answer was lost is found again by the
id Quorum gave it, and a found order that carries no fills gets them from the trade history.

A search by client id has three answers: found, absent, or cannot tell. "Absent" needs lists that together hold
orders of every state (open, closed, cancelled), each read to its end. Where ccxt lists only open orders
(bitstamp, gemini, ...), or a list has more pages than a search reads, the answer is "cannot tell", never "absent":
an order that filled at once is no longer open, and taking "not seen" for "not there" would send it twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import ccxt
from loguru import logger

from adapters.exchange import ccxt_mapping as mapping
from domain.market import MarketType
from domain.trading import Order

Retrying = Callable[..., Awaitable[Any]]  # CcxtExchange._retrying: (ccxt method name, *args) -> result

_OPEN, _CLOSED, _CANCELED = "open", "closed", "canceled"
_EVERY_STATE = frozenset({_OPEN, _CLOSED, _CANCELED})
_PAST = frozenset({_CLOSED, _CANCELED})


class Verdict(StrEnum):
    FOUND = "found"
    ABSENT = "absent"  # the exchange has no order with this client id
    UNKNOWN = "unknown"  # it may have one: its lists through ccxt cannot show every order


@dataclass(frozen=True, slots=True)
class LookupResult:
    verdict: Verdict
    order: dict[str, Any] | None = None  # the raw ccxt order, when found
    reason: str = ""  # when unknown: what could not be read, for the user


ABSENT = LookupResult(Verdict.ABSENT)


class FillsUnreadable(Exception):
    """The order filled, and its trades cannot be read right now (a network failure after every retry)."""


@dataclass(frozen=True, slots=True)
class LookupLimits:
    """How much a scan reads before it says "cannot tell": pages per order list (each at most page_size rows, or
    less where ccxt knows the exchange's cap) and single orders read to learn the client id behind a trade."""

    page_size: int = 50
    max_pages: int = 10
    max_order_reads: int = 10


@dataclass(frozen=True, slots=True)
class LookupContext:
    exchange_id: str
    market_type: MarketType
    has: Mapping[str, Any]  # the ccxt client's capabilities
    retrying: Retrying
    features: Mapping[str, Any] = field(default_factory=dict)  # ccxt's features for the market type: page caps
    limits: LookupLimits = LookupLimits()
    order_params: Mapping[str, Any] = field(default_factory=dict)  # extra params of fetch_order


async def order_by_client_id(
    ctx: LookupContext, client_order_id: str, ccxt_symbol: str, since: int | None = None
) -> LookupResult:
    """The raw ccxt order placed with this client order id, or that there is none, or that the exchange cannot tell.

    since (UTC ms) bounds the search where the exchange only lists: no order before it can be the one sought.
    """
    if ctx.exchange_id == "binance" and ctx.has.get("fetchOrder"):
        return await _binance(ctx, client_order_id, ccxt_symbol)
    if ctx.exchange_id == "bybit" and ctx.has.get("fetchOpenOrders") and ctx.has.get("fetchCanceledAndClosedOrders"):
        return await _bybit(ctx, client_order_id, ccxt_symbol)
    return await _scan(ctx, client_order_id, ccxt_symbol, since)


async def with_trades(
    ctx: LookupContext,
    order: Order,
    ccxt_symbol: str,
    since: int | None,
    describe: Callable[[BaseException], str],
    strict: bool = False,
) -> Order:
    """The order with its fills from the trade history, when it reports a fill but carries none.

    Binance's order query, and its USDT-M order and cancel answers, carry neither fills nor fee. Reading the
    trades is best effort: if it fails the order is returned as found (no fills), never lost and never re-sent.
    strict: a network failure (after every retry) raises FillsUnreadable instead, for a caller that would
    otherwise book the fill without its price and fee. describe words an error for the logs (no credential in it).
    """
    if order.filled <= 0 or order.fills or order.id.startswith(mapping.CONDITIONAL_ID_PREFIX):
        return order
    try:
        trades = await order_trades(ctx, order.id, ccxt_symbol, since)
    except Exception as error:  # an outage or a surprise in the trades must not cost the order itself
        detail = f"{type(error).__name__}: {describe(error)}"
        logger.warning("{} could not read the trades of order {}: {}", ctx.exchange_id, order.id, detail)
        if strict and isinstance(error, ccxt.NetworkError):
            raise FillsUnreadable(f"the trades of its fill cannot be read right now ({type(error).__name__})") from None
        return order
    if trades is None:
        return order
    completed = mapping.with_trades(order, trades)
    if (covered := sum(fill.amount for fill in completed.fills)) != order.filled:
        logger.warning("{} order {}: trades cover {} of {}", ctx.exchange_id, order.id, covered, order.filled)
    return completed


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


async def _binance(ctx: LookupContext, client_order_id: str, ccxt_symbol: str) -> LookupResult:
    """Binance answers a query by client order id (origClientOrderId) for an order of any state."""
    queries: list[dict[str, Any]] = [{"clientOrderId": client_order_id}]
    if ctx.market_type is MarketType.PERPETUAL:
        queries.append({"clientOrderId": client_order_id, "trigger": True})  # binance algo (stop) orders
    for params in queries:
        try:
            return LookupResult(Verdict.FOUND, await ctx.retrying("fetch_order", "", ccxt_symbol, params))
        except ccxt.OrderNotFound:
            continue
    return ABSENT


async def _bybit(ctx: LookupContext, client_order_id: str, ccxt_symbol: str) -> LookupResult:
    """Bybit filters by orderLinkId itself: the live order list (which on a unified account also holds recent
    closed orders when asked for one id), then the order history of any status.

    The generic scan would page through every order of the account, and the history lists newest first, which
    date paging cannot walk; filtered by id, one page is all there is.
    """
    for method in ("fetch_open_orders", "fetch_canceled_and_closed_orders"):
        rows = await ctx.retrying(method, ccxt_symbol, None, None, {"orderLinkId": client_order_id})
        if (found := _with_client_id(rows, client_order_id)) is not None:
            return LookupResult(Verdict.FOUND, found)
    return ABSENT


def _listings(has: Mapping[str, Any]) -> list[tuple[str, str, frozenset[str], str]]:
    """The order lists ccxt offers, widest first: (ccxt method, capability, the order states it holds, name).

    ccxt adds a cancelled list where the exchange's closed list leaves cancelled orders out; where it has none,
    the closed list is the exchange's whole order history (kraken, kucoin, gate: filled or cancelled).
    """
    separate = has.get("fetchCanceledOrders") or has.get("fetchCanceledAndClosedOrders")
    closed = frozenset({_CLOSED}) if separate else _PAST
    candidates = [
        ("fetch_orders", "fetchOrders", _EVERY_STATE, "orders"),
        ("fetch_open_orders", "fetchOpenOrders", frozenset({_OPEN}), "open orders"),
        ("fetch_canceled_and_closed_orders", "fetchCanceledAndClosedOrders", _PAST, "past orders"),
        ("fetch_closed_orders", "fetchClosedOrders", closed, "closed orders"),
        ("fetch_canceled_orders", "fetchCanceledOrders", frozenset({_CANCELED}), "cancelled orders"),
    ]
    return [candidate for candidate in candidates if has.get(candidate[1])]


async def _scan(ctx: LookupContext, client_order_id: str, ccxt_symbol: str, since: int | None) -> LookupResult:
    """For exchanges without a query by client id in ccxt: every order list it offers, then its trades.

    A list whose rows carry no client order id at all cannot show ours; where some do, the others were placed
    without one (by hand), which no order of Quorum's is.
    """
    covered: set[str] = set()  # states whose lists were read to their end
    offered: set[str] = set()
    listed: set[str] = set()  # ids of the orders read: none of them is the one sought
    gaps: list[str] = []
    for method, capability, states, name in _listings(ctx.has):
        if states <= covered:
            continue
        try:
            rows, complete = await _read(ctx, method, capability, ccxt_symbol, since, client_order_id)
        except (ccxt.NotSupported, ccxt.ArgumentsRequired):  # claimed in `has`, refused for this market
            continue
        if (found := _with_client_id(rows, client_order_id)) is not None:
            return LookupResult(Verdict.FOUND, found)
        offered |= states
        if rows and not any(row.get("clientOrderId") for row in rows):
            gaps.append(f"its {name} do not show client order ids")  # ours could be any of them
            continue
        listed.update(str(row.get("id")) for row in rows)
        if complete:
            covered |= states
        else:
            gaps.append(f"it has more {name} than one search reads")
    if covered >= _EVERY_STATE:
        return ABSENT
    via_trade = await _via_trades(ctx, client_order_id, ccxt_symbol, since, listed)
    if via_trade is not None:
        return via_trade
    unlisted = " or ".join(sorted(_EVERY_STATE - offered)).replace(_CANCELED, "cancelled")
    reasons = [f"it does not list its {unlisted} orders"] if unlisted else []
    return LookupResult(Verdict.UNKNOWN, reason="; ".join(reasons + gaps))


async def _via_trades(
    ctx: LookupContext, client_order_id: str, ccxt_symbol: str, since: int | None, listed: set[str]
) -> LookupResult | None:
    """The order behind one of the account's trades: a trade naming the client id, else the orders of trades not
    listed already, read one by one (newest first, up to a bound). Trades only ever find: an unfilled order has none.
    """
    if not ctx.has.get("fetchMyTrades"):
        return None
    try:
        trades, _ = await _read(ctx, "fetch_my_trades", "fetchMyTrades", ccxt_symbol, since)
    except (ccxt.NotSupported, ccxt.ArgumentsRequired):
        return None
    trades.sort(key=lambda trade: trade.get("timestamp") or 0, reverse=True)
    named = next((str(t["order"]) for t in trades if t.get("order") and _names(t, client_order_id)), None)
    if named is None:
        unread = (str(t["order"]) for t in trades if t.get("order") and str(t["order"]) not in listed)
        candidates = list(dict.fromkeys(unread))[: ctx.limits.max_order_reads]
    else:
        candidates = [named]
    if not ctx.has.get("fetchOrder"):
        return None if named is None else LookupResult(Verdict.UNKNOWN, reason=f"its order {named} cannot be read")
    for order_id in candidates:
        try:
            raw = await ctx.retrying("fetch_order", order_id, ccxt_symbol, dict(ctx.order_params))
        except ccxt.OrderNotFound:
            continue
        if order_id == named or raw.get("clientOrderId") == client_order_id:
            return LookupResult(Verdict.FOUND, raw)
    return None


async def _read(
    ctx: LookupContext, method: str, capability: str, ccxt_symbol: str, since: int | None, client_order_id: str = ""
) -> tuple[list[dict[str, Any]], bool]:
    """Every row of one list from `since` on, and whether its end was reached within the page bound; it stops
    early at a row with client_order_id.

    ccxt's date paging: each page starts at the newest time seen so far (inclusive; rows already seen are
    dropped), and a page shorter than asked is the last. Without a start only one page can be read: a full one
    leaves older rows out of reach.
    """
    size = _page_size(ctx, capability)
    rows: dict[str, dict[str, Any]] = {}
    cursor = since
    for _ in range(ctx.limits.max_pages):
        page = await ctx.retrying(method, ccxt_symbol, cursor, size)
        fresh = {_key(row): row for row in page if _key(row) not in rows}
        rows.update(fresh)
        if len(page) < size or (client_order_id and _with_client_id(list(fresh.values()), client_order_id)):
            return list(rows.values()), True
        newest = max((row["timestamp"] for row in page if row.get("timestamp") is not None), default=None)
        if cursor is None or not fresh or newest is None:
            break  # no start, or no way forward: more than a page of rows share one millisecond
        cursor = newest
    return list(rows.values()), False


def _page_size(ctx: LookupContext, capability: str) -> int:
    cap = (ctx.features.get(capability) or {}).get("limit")
    return min(ctx.limits.page_size, cap) if isinstance(cap, int) and cap > 0 else ctx.limits.page_size


def _key(row: dict[str, Any]) -> str:
    return str(row["id"]) if row.get("id") is not None else f"row-{id(row)}"


def _names(trade: dict[str, Any], client_order_id: str) -> bool:
    """Whether a trade carries the client order id (Bybit's orderLinkId, Gemini's client_order_id, ...)."""
    info = trade.get("info")
    return trade.get("clientOrderId") == client_order_id or (
        isinstance(info, dict) and client_order_id in info.values()
    )


def _with_client_id(rows: list[dict[str, Any]], client_order_id: str) -> dict[str, Any] | None:
    return next((row for row in rows if row.get("clientOrderId") == client_order_id), None)
