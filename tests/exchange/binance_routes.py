"""Binance REST endpoints served by the emulator: (method, path) -> (handler, signed).

Each handler takes the emulator and the request parameters and returns Binance's JSON body, or raises
BinanceApiError with Binance's error code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from tests.exchange.binance_account_state import BinanceApiError, EmulatedOrder, now_ms

if TYPE_CHECKING:
    from tests.exchange.binance_emulator import BinanceEmulator


# --- public endpoints ---
def _exchange_info(api: str):
    def handler(emu: BinanceEmulator, params: dict[str, str]) -> dict:
        symbols = emu.market.spot if api == "spot" else emu.market.futures
        infos = [s.spot_info() if api == "spot" else s.futures_info() for s in symbols.values()]
        return {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": [], "exchangeFilters": [], "symbols": infos}

    return handler


def _time(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    return {"serverTime": now_ms()}


def _klines(api: str):
    def handler(emu: BinanceEmulator, params: dict[str, str]) -> list:
        emu.spec(api, params)
        max_limit = 1000 if api == "spot" else 1500
        limit = min(int(params.get("limit", "500")), max_limit)
        start = int(params["startTime"]) if "startTime" in params else None
        end = int(params["endTime"]) if "endTime" in params else None
        return emu.market.klines(params["interval"], start, end, limit)

    return handler


def _depth(api: str):
    def handler(emu: BinanceEmulator, params: dict[str, str]) -> dict:
        spec = emu.spec(api, params)
        bids, asks = emu.market.depth(spec, int(params.get("limit", "100")))
        book = {"lastUpdateId": 1027024, "bids": bids, "asks": asks}
        if api == "futures":
            book.update({"E": now_ms(), "T": now_ms()})
        return book

    return handler


def _ticker_24hr(api: str):
    def handler(emu: BinanceEmulator, params: dict[str, str]) -> dict:
        spec = emu.spec(api, params)
        price = spec.price
        ticker = {
            "symbol": spec.symbol,
            "priceChange": "100.00",
            "priceChangePercent": "0.334",
            "weightedAvgPrice": str(price),
            "lastPrice": str(price),
            "lastQty": "0.010",
            "openPrice": str(price - 100),
            "highPrice": str(price + 200),
            "lowPrice": str(price - 300),
            "volume": "1234.500",
            "quoteVolume": str(price * Decimal("1234.5")),
            "openTime": now_ms() - 86_400_000,
            "closeTime": now_ms(),
            "firstId": 1,
            "lastId": 1000,
            "count": 1000,
        }
        if api == "spot":
            bid, ask = emu.market.best_bid_ask(spec)
            ticker.update(
                {
                    "bidPrice": str(bid),
                    "bidQty": "0.5",
                    "askPrice": str(ask),
                    "askQty": "0.4",
                    "prevClosePrice": str(price - 100),
                }
            )
        return ticker

    return handler


def _premium_index(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    spec = emu.spec("futures", params)
    return {
        "symbol": spec.symbol,
        "markPrice": str(spec.price),
        "indexPrice": str(spec.price),
        "estimatedSettlePrice": str(spec.price),
        "lastFundingRate": str(emu.market.funding_rate),
        "interestRate": "0.00010000",
        "nextFundingTime": emu.market.next_funding_ms,
        "time": now_ms(),
    }


# --- spot account and orders ---
def _spot_account(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    balances = [
        {"asset": asset, "free": format(free, "f"), "locked": format(locked, "f")}
        for asset, (free, locked) in emu.account.spot_balances.items()
    ]
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "updateTime": now_ms(),
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
    }


def _spot_order_lookup(emu: BinanceEmulator, params: dict[str, str]) -> EmulatedOrder:
    spec = emu.spec("spot", params)
    return emu.account.find("spot", spec.symbol, params.get("orderId"), params.get("origClientOrderId"))


def _spot_create(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    spec = emu.spec("spot", params)
    bid, ask = emu.market.best_bid_ask(spec)
    order = emu.account.place_spot(params, spec, bid, ask)
    body = order.spot_json()
    body.update({"transactTime": order.time, "fills": [execution.fill_json() for execution in order.fills]})
    return body


def _spot_query(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    return _spot_order_lookup(emu, params).spot_json()


def _spot_cancel(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    order = _spot_order_lookup(emu, params)
    emu.account.cancel_spot(order, emu.spec("spot", params))
    body = order.spot_json()
    body.update(
        {
            "origClientOrderId": order.client_order_id,
            "clientOrderId": "cancel" + str(order.order_id),
            "transactTime": now_ms(),
        }
    )
    return body


def _spot_open_orders(emu: BinanceEmulator, params: dict[str, str]) -> list:
    symbol = emu.spec("spot", params).symbol if "symbol" in params else None
    return _listed(emu, [o.spot_json() for o in emu.account.open_orders("spot", symbol)])


def _listed(emu: BinanceEmulator, rows: list[dict]) -> list[dict]:
    if emu.account.lists_show_client_ids:
        return rows
    return [{key: value for key, value in row.items() if key != "clientOrderId"} for row in rows]


def _all_orders(api: str):
    """GET /api/v3/allOrders, GET /fapi/v1/allOrders: one symbol's orders of every status, oldest first.

    Binance's rules: orderId gives the orders from that id on; startTime / endTime a window of at most 24 hours
    (7 days on futures); neither, the most recent ones. limit 1..1000, default 500.
    """

    def handler(emu: BinanceEmulator, params: dict[str, str]) -> list:
        spec = emu.spec(api, params)
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= 1000:
            raise BinanceApiError(400, -1130, "Invalid data sent for a parameter.")
        start, end = params.get("startTime"), params.get("endTime")
        span = 86_400_000 if api == "spot" else 7 * 86_400_000
        if start is not None and end is not None and int(end) - int(start) > span:
            raise BinanceApiError(400, -1127, "More than 24 hours between startTime and endTime.")
        orders = sorted(
            (o for o in emu.account.orders if o.api == api and o.symbol == spec.symbol),
            key=lambda o: o.order_id,
        )
        if "orderId" in params:
            orders = [o for o in orders if o.order_id >= int(params["orderId"])][:limit]
        elif start is not None or end is not None:
            low = int(start) if start is not None else int(end or 0) - span
            high = int(end) if end is not None else low + span
            orders = [o for o in orders if low <= o.time <= high][:limit]
        else:
            orders = orders[-limit:]
        return _listed(emu, [o.spot_json() if api == "spot" else o.futures_json() for o in orders])

    return handler


# --- futures account, positions, leverage and orders ---
def _futures_account(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    specs = emu.market.futures
    unrealized = emu.account.unrealized(specs)
    available = emu.account.available_futures(specs)
    margin_balance = emu.account.futures_wallet + unrealized
    used = margin_balance - available
    asset = {
        "asset": "USDT",
        "walletBalance": str(emu.account.futures_wallet),
        "unrealizedProfit": str(unrealized),
        "marginBalance": str(margin_balance),
        "maintMargin": "0",
        "initialMargin": str(used),
        "positionInitialMargin": str(used),
        "openOrderInitialMargin": "0",
        "crossWalletBalance": str(emu.account.futures_wallet),
        "crossUnPnl": str(unrealized),
        "availableBalance": str(available),
        "maxWithdrawAmount": str(available),
        "updateTime": now_ms(),
    }
    return {
        "totalInitialMargin": str(used),
        "totalMaintMargin": "0",
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": str(unrealized),
        "totalMarginBalance": str(margin_balance),
        "availableBalance": str(available),
        "maxWithdrawAmount": str(available),
        "assets": [asset],
        "positions": [],
    }


def _position_risk(emu: BinanceEmulator, params: dict[str, str]) -> list:
    rows = []
    for symbol, spec in emu.market.futures.items():
        position = emu.account.positions.get(symbol)
        amount = position.amount if position else Decimal(0)
        entry = position.entry_price if position else Decimal(0)
        leverage = emu.account.leverage.get(symbol, 20)
        notional = amount * spec.price
        initial = abs(notional) / leverage
        liquidation = Decimal(0)
        if amount:
            liquidation = entry * (1 - Decimal(1) / leverage) if amount > 0 else entry * (1 + Decimal(1) / leverage)
        rows.append(
            {
                "symbol": symbol,
                "positionSide": "BOTH",
                "positionAmt": format(amount, "f"),
                "entryPrice": format(entry, "f"),
                "breakEvenPrice": format(entry, "f"),
                "markPrice": str(spec.price),
                "unRealizedProfit": format((spec.price - entry) * amount, "f"),
                "liquidationPrice": format(liquidation.quantize(Decimal("0.01")), "f"),
                "isolatedMargin": "0",
                "notional": format(notional, "f"),
                "marginAsset": "USDT",
                "isolatedWallet": "0",
                "initialMargin": format(initial, "f"),
                "maintMargin": format(abs(notional) * Decimal("0.004"), "f"),
                "positionInitialMargin": format(initial, "f"),
                "openOrderInitialMargin": "0",
                "adl": 0,
                "bidNotional": "0",
                "askNotional": "0",
                "updateTime": now_ms() if amount else 0,
            }
        )
    return rows


def _leverage_bracket(emu: BinanceEmulator, params: dict[str, str]) -> list:
    return [
        {
            "symbol": symbol,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": spec.max_leverage,
                    "notionalCap": 50000,
                    "notionalFloor": 0,
                    "maintMarginRatio": 0.004,
                    "cum": 0.0,
                },
            ],
        }
        for symbol, spec in emu.market.futures.items()
    ]


def _set_leverage(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    spec = emu.spec("futures", params)
    leverage = int(params["leverage"])
    if not 1 <= leverage <= spec.max_leverage:
        raise BinanceApiError(400, -4028, f"Leverage {leverage} is not valid")
    emu.account.leverage[spec.symbol] = leverage
    return {"leverage": leverage, "maxNotionalValue": "1000000", "symbol": spec.symbol}


def _futures_order_lookup(emu: BinanceEmulator, params: dict[str, str]) -> EmulatedOrder:
    spec = emu.spec("futures", params)
    return emu.account.find("futures", spec.symbol, params.get("orderId"), params.get("origClientOrderId"))


def _futures_create(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    spec = emu.spec("futures", params)
    bid, ask = emu.market.best_bid_ask(spec)
    return emu.account.place_futures(params, spec, emu.market.futures, bid, ask).futures_json()


def _futures_query(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    return _futures_order_lookup(emu, params).futures_json()


def _futures_cancel(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    order = _futures_order_lookup(emu, params)
    emu.account.cancel_futures(order)
    return order.futures_json()


def _algo_lookup(emu: BinanceEmulator, params: dict[str, str]) -> EmulatedOrder:
    spec = emu.spec("futures", params)
    return emu.account.find("futures_algo", spec.symbol, params.get("algoId"), params.get("clientAlgoId"))


def _algo_create(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    return emu.account.place_futures_algo(params, emu.spec("futures", params)).algo_json()


def _algo_query(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    return _algo_lookup(emu, params).algo_json()


def _algo_cancel(emu: BinanceEmulator, params: dict[str, str]) -> dict:
    order = _algo_lookup(emu, params)
    emu.account.cancel_futures(order)
    return {"algoId": order.order_id, "clientAlgoId": order.client_order_id, "code": "200", "msg": "success"}


def _algo_open_orders(emu: BinanceEmulator, params: dict[str, str]) -> list:
    symbol = emu.spec("futures", params).symbol if "symbol" in params else None
    return [o.algo_json() for o in emu.account.open_orders("futures_algo", symbol)]


def _futures_open_orders(emu: BinanceEmulator, params: dict[str, str]) -> list:
    symbol = emu.spec("futures", params).symbol if "symbol" in params else None
    return [o.futures_json() for o in emu.account.open_orders("futures", symbol)]


# --- trade history: an account's executions ---
def _trade_history(api: str):
    """GET /api/v3/myTrades, GET /fapi/v1/userTrades: one symbol's executions, oldest first.

    Binance's parameter rules: orderId goes with symbol alone (spot also allows orderId + fromId), fromId never
    with startTime / endTime, limit 1..1000 (default 500; the most recent ones unless fromId is given).
    """

    def handler(emu: BinanceEmulator, params: dict[str, str]) -> list:
        spec = emu.spec(api, params)
        order_id, from_id = params.get("orderId"), params.get("fromId")
        window = "startTime" in params or "endTime" in params
        if (order_id is not None and (window or (from_id is not None and api == "futures"))) or (
            from_id is not None and window
        ):
            raise BinanceApiError(400, -1128, "Combination of optional parameters invalid.")
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= 1000:
            raise BinanceApiError(400, -1130, "Invalid data sent for a parameter.")
        start, end = int(params.get("startTime", "0")), int(params.get("endTime", str(2**63)))
        executions = sorted(
            (
                execution
                for order in emu.account.orders
                if order.api == api and order.symbol == spec.symbol and order_id in (None, str(order.order_id))
                for execution in order.fills
                if start <= execution.time <= end and execution.trade_id >= int(from_id or 0)
            ),
            key=lambda execution: execution.trade_id,
        )
        executions = executions[:limit] if from_id is not None else executions[-limit:]
        return [execution.spot_json() if api == "spot" else execution.futures_json() for execution in executions]

    return handler


ROUTES = {
    ("GET", "/api/v3/exchangeInfo"): (_exchange_info("spot"), False),
    ("GET", "/fapi/v1/exchangeInfo"): (_exchange_info("futures"), False),
    ("GET", "/api/v3/time"): (_time, False),
    ("GET", "/fapi/v1/time"): (_time, False),
    ("GET", "/api/v3/klines"): (_klines("spot"), False),
    ("GET", "/fapi/v1/klines"): (_klines("futures"), False),
    ("GET", "/api/v3/depth"): (_depth("spot"), False),
    ("GET", "/fapi/v1/depth"): (_depth("futures"), False),
    ("GET", "/api/v3/ticker/24hr"): (_ticker_24hr("spot"), False),
    ("GET", "/fapi/v1/ticker/24hr"): (_ticker_24hr("futures"), False),
    ("GET", "/fapi/v1/premiumIndex"): (_premium_index, False),
    ("GET", "/api/v3/account"): (_spot_account, True),
    ("POST", "/api/v3/order"): (_spot_create, True),
    ("GET", "/api/v3/order"): (_spot_query, True),
    ("DELETE", "/api/v3/order"): (_spot_cancel, True),
    ("GET", "/api/v3/openOrders"): (_spot_open_orders, True),
    ("GET", "/api/v3/allOrders"): (_all_orders("spot"), True),
    ("GET", "/api/v3/myTrades"): (_trade_history("spot"), True),
    ("GET", "/fapi/v2/account"): (_futures_account, True),
    ("GET", "/fapi/v3/account"): (_futures_account, True),
    ("GET", "/fapi/v2/positionRisk"): (_position_risk, True),
    ("GET", "/fapi/v3/positionRisk"): (_position_risk, True),
    ("GET", "/fapi/v1/leverageBracket"): (_leverage_bracket, True),
    ("POST", "/fapi/v1/leverage"): (_set_leverage, True),
    ("POST", "/fapi/v1/order"): (_futures_create, True),
    ("GET", "/fapi/v1/order"): (_futures_query, True),
    ("DELETE", "/fapi/v1/order"): (_futures_cancel, True),
    ("GET", "/fapi/v1/openOrders"): (_futures_open_orders, True),
    ("GET", "/fapi/v1/allOrders"): (_all_orders("futures"), True),
    ("GET", "/fapi/v1/userTrades"): (_trade_history("futures"), True),
    ("POST", "/fapi/v1/algoOrder"): (_algo_create, True),
    ("GET", "/fapi/v1/algoOrder"): (_algo_query, True),
    ("DELETE", "/fapi/v1/algoOrder"): (_algo_cancel, True),
    ("GET", "/fapi/v1/openAlgoOrders"): (_algo_open_orders, True),
}
