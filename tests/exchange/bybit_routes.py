"""Bybit v5 REST endpoints served by the emulator: (method, path) -> (handler, signed).

Each handler takes the emulator and the request parameters and returns the "result" part of Bybit's answer, or
raises BybitApiError with Bybit's retCode. Orders fill at once against the top of the book when they cross it
(market orders always), otherwise rest as New; the unified wallet and linear positions follow the fills.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.exchange.bybit_emulator import BybitApiError, BybitOrder, Execution, Instrument, now_ms

if TYPE_CHECKING:
    from tests.exchange.bybit_emulator import BybitEmulator

FEE_RATE = Decimal("0.001")
OPEN = {"New", "PartiallyFilled"}
INTERVAL_MS = {"1": 60_000, "5": 300_000, "15": 900_000, "60": 3_600_000, "240": 14_400_000, "D": 86_400_000}


# --- public market data ---
def _instruments(emu: BybitEmulator, params: dict[str, str]) -> dict:
    category = params.get("category", "")
    if category not in {"spot", "linear", "inverse", "option"}:
        raise BybitApiError(10001, "params error: category invalid")
    rows = [i.info() for i in emu.instruments.values() if i.category == category]
    if "symbol" in params:
        rows = [row for row in rows if row["symbol"] == params["symbol"]]
    return {"category": category, "list": rows, "nextPageCursor": ""}


def _time(emu: BybitEmulator, params: dict[str, str]) -> dict:
    now = now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def _tickers(emu: BybitEmulator, params: dict[str, str]) -> dict:
    spec = emu.instrument(params)
    bid, ask = spec.best_bid_ask()
    row = {
        "symbol": spec.symbol,
        "lastPrice": str(spec.price),
        "bid1Price": str(bid),
        "bid1Size": "0.5",
        "ask1Price": str(ask),
        "ask1Size": "0.4",
        "prevPrice24h": str(spec.price - 100),
        "price24hPcnt": "0.0033",
        "highPrice24h": str(spec.price + 200),
        "lowPrice24h": str(spec.price - 300),
        "turnover24h": str(spec.price * Decimal("1234.5")),
        "volume24h": "1234.5",
    }
    if spec.category == "linear":
        row |= {"markPrice": str(spec.price), "indexPrice": str(spec.price), "fundingRate": "0.0001",
                "nextFundingTime": str(now_ms() + 3_600_000), "openInterest": "5000"}  # fmt: skip
    return {"category": spec.category, "list": [row]}


def _kline(emu: BybitEmulator, params: dict[str, str]) -> dict:
    spec = emu.instrument(params)
    step = INTERVAL_MS.get(params.get("interval", ""))
    if step is None:
        raise BybitApiError(10001, "params error: interval invalid")
    limit = min(int(params.get("limit", "200")), 1000)
    last = (int(params["end"]) if "end" in params else now_ms()) // step * step
    first = int(params["start"]) // step * step if "start" in params else last - (limit - 1) * step
    starts = [t for t in range(first, last + 1, step)][:limit]
    rows = []
    for index, start in enumerate(starts):
        open_ = spec.price + index
        rows.append([str(start), str(open_), str(open_ + 50), str(open_ - 50), str(open_ + 1), "10.5", "315000"])
    return {"category": spec.category, "symbol": spec.symbol, "list": rows[::-1]}  # Bybit: newest first


def _orderbook(emu: BybitEmulator, params: dict[str, str]) -> dict:
    spec = emu.instrument(params)
    depth = min(int(params.get("limit", "25")), 200)
    bid, ask = spec.best_bid_ask()
    bids = [[str(bid - spec.tick * n), str(Decimal("0.5") + n)] for n in range(depth)]
    asks = [[str(ask + spec.tick * n), str(Decimal("0.4") + n)] for n in range(depth)]
    return {"s": spec.symbol, "b": bids, "a": asks, "ts": now_ms(), "u": 18521288, "seq": 7961638724, "cts": now_ms()}


# --- account ---
def _query_api(emu: BybitEmulator, params: dict[str, str]) -> dict:
    return {"id": "13770661", "readOnly": 0, "permissions": {"Spot": ["SpotTrade"], "ContractTrade": ["Order"]},
            "unified": 0, "uta": 1, "isMaster": True}  # fmt: skip


def _account_info(emu: BybitEmulator, params: dict[str, str]) -> dict:
    return {"marginMode": "REGULAR_MARGIN", "unifiedMarginStatus": 6, "updatedTime": str(now_ms())}


def _locked(emu: BybitEmulator, coin: str) -> Decimal:
    """Funds held by open spot orders (quote for buys, base for sells) and the margin of open linear orders."""
    total = Decimal(0)
    for order in emu.orders:
        if order.status not in OPEN:
            continue
        spec = emu.instruments[(order.category, order.symbol)]
        rest = order.qty - order.cum_qty
        if order.category == "linear" and coin == spec.quote:
            total += rest * order.price / emu.leverage[order.symbol]
        elif order.category == "spot" and order.side == "Buy" and coin == spec.quote:
            total += rest * order.price
        elif order.category == "spot" and order.side == "Sell" and coin == spec.base:
            total += rest
    return total


def _position_margin(emu: BybitEmulator) -> Decimal:
    return sum((abs(size) * entry / emu.leverage[s] for s, (size, entry) in emu.positions.items()), Decimal(0))


def _wallet_balance(emu: BybitEmulator, params: dict[str, str]) -> dict:
    if params.get("accountType") != "UNIFIED":
        raise BybitApiError(10001, "accountType only support UNIFIED.")
    coins = []
    for coin, amount in emu.wallet.items():
        position_im = _position_margin(emu) if coin == "USDT" else Decimal(0)
        coins.append({"coin": coin, "walletBalance": str(amount), "equity": str(amount),
                      "locked": str(_locked(emu, coin)), "totalPositionIM": str(position_im), "totalOrderIM": "0",
                      "borrowAmount": "0", "accruedInterest": "0", "availableToWithdraw": ""})  # fmt: skip
    return {"list": [{"accountType": "UNIFIED", "totalEquity": str(emu.wallet.get("USDT", 0)), "coin": coins}]}


def _available(emu: BybitEmulator, coin: str) -> Decimal:
    margin = _position_margin(emu) if coin == "USDT" else Decimal(0)
    return emu.wallet.get(coin, Decimal(0)) - _locked(emu, coin) - margin


def _positions(emu: BybitEmulator, params: dict[str, str]) -> dict:
    if params.get("category") != "linear":
        raise BybitApiError(10001, "params error: category invalid")
    if "symbol" not in params and "settleCoin" not in params:
        raise BybitApiError(10001, "params error: symbol or settleCoin is required")
    rows = []
    for symbol, (size, entry) in emu.positions.items():
        if params.get("symbol", symbol) != symbol or size == 0:
            continue
        price = emu.instruments[("linear", symbol)].price
        rows.append({"positionIdx": 0, "symbol": symbol, "side": "Buy" if size > 0 else "Sell", "size": str(abs(size)),
                     "avgPrice": str(entry), "positionValue": str(abs(size) * entry), "tradeMode": 0,
                     "leverage": str(emu.leverage[symbol]), "markPrice": str(price), "liqPrice": "",
                     "positionIM": str(abs(size) * entry / emu.leverage[symbol]), "positionMM": "0",
                     "unrealisedPnl": str((price - entry) * size), "cumRealisedPnl": "0", "positionStatus": "Normal",
                     "createdTime": str(now_ms()), "updatedTime": str(now_ms())})  # fmt: skip
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


def _set_leverage(emu: BybitEmulator, params: dict[str, str]) -> dict:
    spec = emu.instrument(params)
    leverage = Decimal(params.get("buyLeverage", "0"))
    if leverage != Decimal(params.get("sellLeverage", "0")) or not 1 <= leverage <= spec.max_leverage:
        raise BybitApiError(10001, "leverage invalid")
    if int(leverage) == emu.leverage[spec.symbol]:
        raise BybitApiError(110043, "Set leverage not modified")
    emu.leverage[spec.symbol] = int(leverage)
    return {}


# --- orders ---
def _create(emu: BybitEmulator, params: dict[str, str]) -> dict:
    spec = emu.instrument(params)
    link_id = params.get("orderLinkId", "")
    if link_id and any(o.order_link_id == link_id for o in emu.orders):
        raise BybitApiError(110072, "OrderLinkedID is duplicate")
    kind, side = params.get("orderType"), params.get("side")
    if kind not in {"Market", "Limit"} or side not in {"Buy", "Sell"}:
        raise BybitApiError(10001, "params error: orderType or side invalid")
    if params.get("marketUnit", "baseCoin") != "baseCoin":
        raise BybitApiError(10001, "the emulator takes spot market quantities in the base coin only")
    qty = Decimal(params["qty"])
    price = Decimal(params["price"]) if kind == "Limit" else Decimal(0)
    _check_rules(spec, qty, price or spec.price, params.get("reduceOnly") == "True")
    bid, ask = spec.best_bid_ask()
    fill_price = ask if side == "Buy" else bid
    crosses = kind == "Market" or (side == "Buy" and price >= ask) or (side == "Sell" and price <= bid)
    _check_funds(emu, spec, side, qty, price if kind == "Limit" else fill_price)
    order = BybitOrder(emu.next_id(), link_id, spec.category, spec.symbol, side, kind, qty, price,
                       reduce_only=params.get("reduceOnly") == "True")  # fmt: skip
    emu.orders.append(order)
    if crosses:
        _fill(emu, spec, order, fill_price, emu.market_liquidity if kind == "Market" else None)
    return {"orderId": order.order_id, "orderLinkId": order.order_link_id}


def _check_rules(spec: Instrument, qty: Decimal, price: Decimal, reduce_only: bool) -> None:
    spot = spec.category == "spot"
    if qty < spec.min_qty or qty % spec.qty_step:
        raise BybitApiError(170136 if spot else 10001, "Order quantity lower than the minimum or off its step.")
    if price % spec.tick:
        raise BybitApiError(170134 if spot else 10001, "Order price decimal too long.")
    if qty * price < spec.min_notional and not reduce_only:
        raise BybitApiError(170140 if spot else 110094, "Order value lower than the minimum.")


def _check_funds(emu: BybitEmulator, spec: Instrument, side: str, qty: Decimal, price: Decimal) -> None:
    if spec.category == "spot":
        coin, need = (spec.quote, qty * price) if side == "Buy" else (spec.base, qty)
        if need > _available(emu, coin):
            raise BybitApiError(170131, "Insufficient balance.")
        return
    size, _ = emu.positions.get(spec.symbol, (Decimal(0), Decimal(0)))
    opening = qty if (size >= 0) == (side == "Buy") else max(qty - abs(size), Decimal(0))
    if opening * price / emu.leverage[spec.symbol] > _available(emu, spec.quote):
        raise BybitApiError(110007, "ab not enough for new order")


def _fill(emu: BybitEmulator, spec: Instrument, order: BybitOrder, price: Decimal, most: Decimal | None) -> None:
    """Fill the order at price; with `most` set, a market order fills that much and Bybit cancels the rest."""
    qty = order.qty - order.cum_qty if most is None else min(most, order.qty - order.cum_qty)
    buy = order.side == "Buy"
    if spec.category == "spot":
        fee_coin = spec.base if buy else spec.quote
        fee = qty * FEE_RATE if buy else qty * price * FEE_RATE
        emu.wallet[spec.base] = emu.wallet.get(spec.base, Decimal(0)) + (qty - fee if buy else -qty)
        emu.wallet[spec.quote] = emu.wallet.get(spec.quote, Decimal(0)) + (-qty * price if buy else qty * price - fee)
    else:
        fee_coin, fee = spec.quote, qty * price * FEE_RATE
        emu.wallet[spec.quote] -= fee
        size, entry = emu.positions.get(spec.symbol, (Decimal(0), Decimal(0)))
        new_size = size + (qty if buy else -qty)
        if size == 0 or (size > 0) == buy:
            entry = (abs(size) * entry + qty * price) / abs(new_size)
        else:
            emu.wallet[spec.quote] += (price - entry) * min(qty, abs(size)) * (1 if size > 0 else -1)
            entry = price if new_size and (new_size > 0) != (size > 0) else entry
        emu.positions[spec.symbol] = (new_size, entry)
    order.cum_qty += qty
    order.cum_value += qty * price
    order.cum_fee += fee
    order.fee_coin = fee_coin
    order.status = "Filled" if order.cum_qty == order.qty else "PartiallyFilledCanceled"
    order.updated = now_ms()
    emu.executions.append(Execution(f"exec-{emu.next_id()}", order, price, qty, fee, fee_coin))


def _matching(emu: BybitEmulator, params: dict[str, str]) -> list[BybitOrder]:
    orders = [o for o in emu.orders if o.category == params.get("category")]
    for key, attribute in (("symbol", "symbol"), ("orderId", "order_id"), ("orderLinkId", "order_link_id")):
        if key in params:
            orders = [o for o in orders if getattr(o, attribute) == params[key]]
    return orders[::-1]  # newest first


def _realtime(emu: BybitEmulator, params: dict[str, str]) -> dict:
    """Open orders; with an orderId or orderLinkId also a recent closed one, as Bybit's unified account does."""
    orders = _matching(emu, params)
    if "orderId" not in params and "orderLinkId" not in params:
        orders = [o for o in orders if o.status in OPEN]
    limit = min(int(params.get("limit", "20")), 50)
    return {"category": params.get("category"), "list": [o.row() for o in orders[:limit]], "nextPageCursor": ""}


def _history(emu: BybitEmulator, params: dict[str, str]) -> dict:
    orders = _matching(emu, params)
    if "orderStatus" in params:
        orders = [o for o in orders if o.status == params["orderStatus"]]
    limit = min(int(params.get("limit", "20")), 50)  # Bybit pages 20 orders at a time unless told otherwise
    return {"category": params.get("category"), "list": [o.row() for o in orders[:limit]], "nextPageCursor": ""}


def _cancel(emu: BybitEmulator, params: dict[str, str]) -> dict:
    spec = emu.instrument(params)
    if "orderId" not in params and "orderLinkId" not in params:
        raise BybitApiError(10001, "params error: orderId or orderLinkId is required")
    live = [o for o in _matching(emu, params) if o.status in OPEN]
    if not live:
        raise BybitApiError(170213 if spec.category == "spot" else 110001, "Order does not exist.")
    order = live[0]
    order.status = "PartiallyFilledCanceled" if order.cum_qty else "Cancelled"
    order.updated = now_ms()
    return {"orderId": order.order_id, "orderLinkId": order.order_link_id}


def _executions(emu: BybitEmulator, params: dict[str, str]) -> dict:
    rows = [
        e.row()
        for e in emu.executions[::-1]
        if e.order.category == params.get("category")
        and params.get("symbol", e.order.symbol) == e.order.symbol
        and params.get("orderId", e.order.order_id) == e.order.order_id
    ]
    return {"category": params.get("category"), "list": rows[: int(params.get("limit", "50"))], "nextPageCursor": ""}


ROUTES: dict[tuple[str, str], tuple[Any, bool]] = {
    ("GET", "/v5/market/instruments-info"): (_instruments, False),
    ("GET", "/v5/market/time"): (_time, False),
    ("GET", "/v5/market/tickers"): (_tickers, False),
    ("GET", "/v5/market/kline"): (_kline, False),
    ("GET", "/v5/market/orderbook"): (_orderbook, False),
    ("GET", "/v5/user/query-api"): (_query_api, True),
    ("GET", "/v5/account/info"): (_account_info, True),
    ("GET", "/v5/account/wallet-balance"): (_wallet_balance, True),
    ("GET", "/v5/position/list"): (_positions, True),
    ("POST", "/v5/position/set-leverage"): (_set_leverage, True),
    ("POST", "/v5/order/create"): (_create, True),
    ("GET", "/v5/order/realtime"): (_realtime, True),
    ("GET", "/v5/order/history"): (_history, True),
    ("POST", "/v5/order/cancel"): (_cancel, True),
    ("GET", "/v5/execution/list"): (_executions, True),
}
