"""ccxt's unified dicts -> typed domain objects, and an OrderRequest -> ccxt's create_order arguments.

No SDK-shaped dict gets past the adapter into the rest of Quorum.

ccxt hands numbers over as floats; each goes through to_decimal (via repr) so 0.1 stays Decimal('0.1').
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from domain.market import (
    BookLevel,
    Candle,
    FundingRate,
    MarketInfo,
    MarketType,
    OrderBook,
    Ticker,
)
from domain.money import ZERO, datetime_to_ms, optional_decimal, to_decimal, utc_now
from domain.trading import (
    Balance,
    CurrencyBalance,
    Fill,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
)

# Leverage ceiling assumed for a perpetual whose market data does not state one (ccxt leaves it empty for
# binance without keys). Conservative on purpose: the risk manager caps leverage far lower anyway.
DEFAULT_PERPETUAL_MAX_LEVERAGE = 20
# Binance keeps perpetual stop / take-profit orders in a separate "algo" service with its own id space; their
# domain ids carry this prefix so a later fetch or cancel goes to the right service.
CONDITIONAL_ID_PREFIX = "algo:"
_CONDITIONAL_PARAM = {OrderType.STOP_MARKET: "stopLossPrice", OrderType.TAKE_PROFIT_MARKET: "takeProfitPrice"}


def now_ms() -> int:
    return datetime_to_ms(utc_now())


def domain_symbol(ccxt_symbol: str) -> str:
    """'BTC/USDT:USDT' (a ccxt linear swap) -> 'BTC/USDT'; the market type lives in MarketInfo.type."""
    return ccxt_symbol.split(":", 1)[0]


def precision_step(value: Any, precision_mode: int) -> Decimal:
    """A precision entry as a Decimal step. Zero means 'unknown: do not round' (significant-digit exchanges)."""
    if value is None:
        return ZERO
    number = to_decimal(value)
    if precision_mode == TICK_SIZE:
        return number
    if precision_mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(number))
    return ZERO


def _limit(market: dict[str, Any], kind: str, bound: str) -> Decimal | None:
    return optional_decimal(((market.get("limits") or {}).get(kind) or {}).get(bound))


def wanted(market: dict[str, Any], market_type: MarketType) -> bool:
    """Whether a ccxt market is of the adapter's type: spot, or a linear (USDT-margined) perpetual swap."""
    if market_type is MarketType.SPOT:
        return bool(market.get("spot"))
    return bool(market.get("swap")) and bool(market.get("linear"))


def market_info(market: dict[str, Any], market_type: MarketType, precision_mode: int, exchange_id: str) -> MarketInfo:
    precision = market.get("precision") or {}
    max_leverage = _limit(market, "leverage", "max")
    if max_leverage is None:
        max_leverage = Decimal(1 if market_type is MarketType.SPOT else DEFAULT_PERPETUAL_MAX_LEVERAGE)
    taker = optional_decimal(market.get("taker"))
    maker = optional_decimal(market.get("maker"))
    return MarketInfo(
        symbol=domain_symbol(market["symbol"]),
        base=market["base"],
        quote=market["quote"],
        type=market_type,
        amount_step=precision_step(precision.get("amount"), precision_mode),
        price_step=precision_step(precision.get("price"), precision_mode),
        min_amount=_limit(market, "amount", "min") or ZERO,
        min_notional=_limit(market, "cost", "min") or ZERO,
        max_leverage=int(max_leverage),
        contract_size=optional_decimal(market.get("contractSize")) or Decimal(1),
        taker_fee=taker if taker is not None else Decimal("0.001"),
        maker_fee=maker if maker is not None else Decimal("0.001"),
        active=market.get("active") is not False,
        exchange_id=exchange_id,
    )


def ticker(raw: dict[str, Any], symbol: str) -> Ticker:
    last = optional_decimal(raw.get("last"))
    if last is None:
        last = to_decimal(raw["close"])
    return Ticker(
        symbol=symbol,
        ts=int(raw.get("timestamp") or now_ms()),
        last=last,
        bid=optional_decimal(raw.get("bid")),
        ask=optional_decimal(raw.get("ask")),
        base_volume=optional_decimal(raw.get("baseVolume")),
        quote_volume=optional_decimal(raw.get("quoteVolume")),
    )


def candles(rows: list[list[Any]]) -> list[Candle]:
    result = [
        Candle(
            ts=int(row[0]),
            open=to_decimal(row[1]),
            high=to_decimal(row[2]),
            low=to_decimal(row[3]),
            close=to_decimal(row[4]),
            volume=optional_decimal(row[5]) or ZERO,
        )
        for row in rows
    ]
    result.sort(key=lambda candle: candle.ts)
    return result


def order_book(raw: dict[str, Any], symbol: str, limit: int) -> OrderBook:
    def levels(rows: list[list[Any]]) -> tuple[BookLevel, ...]:
        return tuple(BookLevel(price=to_decimal(row[0]), amount=to_decimal(row[1])) for row in rows[:limit])

    return OrderBook(
        symbol=symbol,
        ts=int(raw.get("timestamp") or now_ms()),
        bids=levels(raw.get("bids") or []),
        asks=levels(raw.get("asks") or []),
    )


def funding_rate(raw: dict[str, Any], symbol: str) -> FundingRate:
    next_ts = raw.get("nextFundingTimestamp") or raw.get("fundingTimestamp")
    return FundingRate(
        symbol=symbol,
        rate=to_decimal(raw["fundingRate"]),
        ts=int(raw.get("timestamp") or now_ms()),
        next_funding_ts=int(next_ts) if next_ts else None,
        mark_price=optional_decimal(raw.get("markPrice")),
    )


_BALANCE_KEYS = {"info", "free", "used", "total", "debt", "timestamp", "datetime"}


def balance(raw: dict[str, Any]) -> Balance:
    """Every currency with a non-zero balance. used is derived from total when the exchange omits it."""
    currencies: dict[str, CurrencyBalance] = {}
    for code, entry in raw.items():
        if code in _BALANCE_KEYS or not isinstance(entry, dict):
            continue
        free = optional_decimal(entry.get("free"))
        used = optional_decimal(entry.get("used"))
        total = optional_decimal(entry.get("total"))
        if free is None:
            free = (total or ZERO) - (used or ZERO)
        if used is None:
            used = max((total or ZERO) - free, ZERO)
        if free == 0 and used == 0:
            continue
        currencies[code] = CurrencyBalance(currency=code, free=free, used=used)
    return Balance(currencies=currencies, ts=int(raw.get("timestamp") or now_ms()))


def position(raw: dict[str, Any]) -> Position | None:
    """A domain position, or None for an empty one."""
    amount = abs(optional_decimal(raw.get("contracts")) or ZERO)
    if amount == 0:
        return None
    side = PositionSide.LONG if raw.get("side") == "long" else PositionSide.SHORT
    margin = optional_decimal(raw.get("initialMargin")) or optional_decimal(raw.get("collateral")) or ZERO
    notional = abs(optional_decimal(raw.get("notional")) or ZERO)
    leverage = optional_decimal(raw.get("leverage"))
    if leverage is None:
        leverage = (notional / margin) if margin > 0 and notional > 0 else Decimal(1)
    return Position(
        symbol=domain_symbol(raw["symbol"]),
        side=side,
        amount=amount,
        entry_price=optional_decimal(raw.get("entryPrice")) or ZERO,
        leverage=max(1, int(leverage.to_integral_value())),
        margin=margin,
        unrealized_pnl=optional_decimal(raw.get("unrealizedPnl")) or ZERO,
        liquidation_price=optional_decimal(raw.get("liquidationPrice")) or None,
        mark_price=optional_decimal(raw.get("markPrice")),
        stop_loss=optional_decimal(raw.get("stopLossPrice")),
        take_profit=optional_decimal(raw.get("takeProfitPrice")),
    )


def create_order_arguments(
    request: OrderRequest, market_type: MarketType
) -> tuple[str, str, float, float | None, dict[str, Any]]:
    """ccxt create_order's (type, side, amount, price, params) for a request; the ccxt symbol goes before them."""
    params: dict[str, Any] = {"clientOrderId": request.client_order_id}
    if request.reduce_only and market_type is MarketType.PERPETUAL:
        params["reduceOnly"] = True
    if request.type in _CONDITIONAL_PARAM:
        params[_CONDITIONAL_PARAM[request.type]] = float(request.stop_price)  # type: ignore[arg-type]
    order_type = "limit" if request.type is OrderType.LIMIT else "market"
    price = float(request.price) if request.price is not None else None
    return order_type, request.side.value, float(request.amount), price, params


def order_reference(order_id: str) -> tuple[str, dict[str, Any]]:
    """ccxt id and params for a domain order id (conditional orders live in a separate service)."""
    if order_id.startswith(CONDITIONAL_ID_PREFIX):
        return order_id.removeprefix(CONDITIONAL_ID_PREFIX), {"trigger": True}
    return order_id, {}


def order_type(raw: dict[str, Any]) -> OrderType:
    """ccxt reports stop orders as type 'market' plus a trigger price; the venue's own type says more."""
    info = found if isinstance(found := raw.get("info"), dict) else {}
    venue_type = str(info.get("type") or info.get("orderType") or "").lower()
    kind = (raw.get("type") or "").lower()
    if "take_profit" in venue_type or raw.get("takeProfitPrice"):
        return OrderType.TAKE_PROFIT_MARKET
    if "stop" in venue_type or "stop" in kind or raw.get("stopLossPrice") or raw.get("triggerPrice"):
        return OrderType.STOP_MARKET
    if kind == "market":
        return OrderType.MARKET
    if kind:
        return OrderType.LIMIT
    price = optional_decimal(raw.get("price"))
    return OrderType.LIMIT if price is not None and price > 0 else OrderType.MARKET


def order_status(raw_status: str | None, filled: Decimal, amount: Decimal | None = None) -> OrderStatus:
    match raw_status:
        case "closed":
            # ccxt reports Bybit's PartiallyFilledCanceled as "closed": the rest will never fill, so it is a
            # cancellation with a partial fill, not a filled order.
            return OrderStatus.CANCELED if amount is not None and filled < amount else OrderStatus.FILLED
        case "canceled" | "cancelled":
            return OrderStatus.CANCELED
        case "rejected":
            return OrderStatus.REJECTED
        case "expired":
            return OrderStatus.EXPIRED
        case _:
            return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN


def _fees(raw: dict[str, Any]) -> tuple[Decimal, str]:
    entries = [fee for fee in (raw.get("fees") or ([raw["fee"]] if raw.get("fee") else [])) if fee]
    return _fee_total([(fee["cost"], fee.get("currency") or "") for fee in entries if fee.get("cost") is not None])


def _fee_total(entries: list[tuple[Any, str]]) -> tuple[Decimal, str]:
    """Total fee in the first fee currency named, from (cost, currency) pairs.

    Exchanges charge one currency per order in practice. When there are several (a BNB fee discount whose balance
    ran out part way through an order), Order.fee is the total in the first currency only and Order.fee_currency
    names it; each Fill keeps its own fee and currency, so nothing is lost.
    """
    currency = next((code for _, code in entries if code), "")
    return sum((to_decimal(cost) for cost, code in entries if code == currency), ZERO), currency


def fills(
    trades: list[dict[str, Any]], order_id: str, symbol: str, side: OrderSide, order_ts: int | None = None
) -> tuple[Fill, ...]:
    """ccxt trades of one order as domain fills; a trade without a price or an amount is skipped."""
    return tuple(
        Fill(
            order_id=order_id,
            symbol=symbol,
            side=side,
            price=to_decimal(trade["price"]),
            amount=to_decimal(trade["amount"]),
            fee=optional_decimal((trade.get("fee") or {}).get("cost")) or ZERO,
            fee_currency=(trade.get("fee") or {}).get("currency") or "",
            ts=int(trade.get("timestamp") or order_ts or now_ms()),
            trade_id=str(trade.get("id") or ""),
        )
        for trade in trades
        if trade.get("price") is not None and trade.get("amount") is not None
    )


def with_trades(order: Order, trades: list[dict[str, Any]]) -> Order:
    """An order completed with its trades, read separately (Binance's order query reports neither fills nor fee).

    The fee becomes the total of the fills' fees (see _fee_total for an order charged in several currencies),
    unless the order itself reported one.
    """
    found = fills(trades, order.id, order.symbol, order.side, order.ts)
    if not found:
        return order
    if order.fee:
        return replace(order, fills=found)
    fee, fee_currency = _fee_total([(fill.fee, fill.fee_currency) for fill in found])
    return replace(order, fills=found, fee=fee, fee_currency=fee_currency)


def order(raw: dict[str, Any], symbol: str, fallback_client_order_id: str = "") -> Order:
    info = raw.get("info") or {}
    filled = optional_decimal(raw.get("filled")) or ZERO
    amount = optional_decimal(raw.get("amount"))
    price = optional_decimal(raw.get("price"))
    fee, fee_currency = _fees(raw)
    client_order_id = (
        (info.get("origClientOrderId") if isinstance(info, dict) else None)
        or raw.get("clientOrderId")
        or fallback_client_order_id
    )
    side = OrderSide(raw["side"])
    order_id = str(raw["id"])
    if isinstance(info, dict) and "algoId" in info and "orderId" not in info:
        order_id = CONDITIONAL_ID_PREFIX + order_id
    return Order(
        id=order_id,
        client_order_id=str(client_order_id),
        symbol=symbol,
        side=side,
        type=order_type(raw),
        status=order_status(raw.get("status"), filled, amount),
        amount=amount if amount is not None else filled,
        filled=filled,
        ts=int(raw.get("timestamp") or raw.get("lastTradeTimestamp") or now_ms()),
        price=price if price is not None and price > 0 else None,
        average=optional_decimal(raw.get("average")) or None,
        stop_price=optional_decimal(raw.get("triggerPrice") or raw.get("stopPrice")) or None,
        fee=fee,
        fee_currency=fee_currency,
        reduce_only=bool(raw.get("reduceOnly")),
        fills=fills(raw.get("trades") or [], order_id, symbol, side, raw.get("timestamp")),
    )


def unknown_order(request: OrderRequest, symbol: str, order_id: str = "") -> Order:
    """An order that may exist but could not be read: what was asked, nothing filled, status UNKNOWN."""
    return Order(
        id=order_id,
        client_order_id=request.client_order_id,
        symbol=symbol,
        side=request.side,
        type=request.type,
        status=OrderStatus.UNKNOWN,
        amount=request.amount,
        filled=ZERO,
        ts=now_ms(),
        price=request.price,
        stop_price=request.stop_price,
        reduce_only=request.reduce_only,
    )
