"""A local stand-in for the part of Bybit's v5 REST API (unified account, spot and linear) that ccxt's bybit uses.

It runs as a real aiohttp server on 127.0.0.1 and checks signed requests the way Bybit does: X-BAPI-API-KEY,
X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW and X-BAPI-SIGN = hex HMAC-SHA256 of timestamp + apiKey + recvWindow +
(query string for GET, JSON body for POST); an unknown key is retCode 10003, a bad signature 10004, a stale
timestamp 10002. Errors come as Bybit sends them: HTTP 200 with {retCode, retMsg}. Faults are injected per
endpoint and per count as in the Binance emulator: an HTTP status (429 / 5xx, or Bybit's JSON with a retCode),
a hanging response, a dropped connection, each either before the request takes effect or after it (the "order
accepted but the response lost" case).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.exchange.emulator_server import ApiKey, EmulatorServer


def now_ms() -> int:
    return int(time.time() * 1000)


class BybitApiError(Exception):
    """A Bybit error answer: HTTP 200 with a non-zero retCode."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg = code, msg


@dataclass(frozen=True)
class Instrument:
    """One instrument: spot or linear (USDT perpetual), BTCUSDT style id."""

    symbol: str
    category: str  # "spot" | "linear"
    base: str
    quote: str
    price: Decimal
    qty_step: Decimal
    tick: Decimal
    min_qty: Decimal
    min_notional: Decimal
    max_leverage: int = 100

    def info(self) -> dict[str, Any]:
        common = {"symbol": self.symbol, "baseCoin": self.base, "quoteCoin": self.quote, "status": "Trading"}
        if self.category == "spot":
            lot = {
                "basePrecision": str(self.qty_step),
                "quotePrecision": "0.00000001",
                "minOrderQty": str(self.min_qty),
                "maxOrderQty": "9000",
                "minOrderAmt": str(self.min_notional),
                "maxOrderAmt": "2000000",
            }
            return common | {"innovation": "0", "marginTrading": "both", "lotSizeFilter": lot,
                             "priceFilter": {"tickSize": str(self.tick)}}  # fmt: skip
        return common | {
            "contractType": "LinearPerpetual",
            "settleCoin": self.quote,
            "launchTime": "1584230400000",
            "deliveryTime": "0",
            "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": f"{self.max_leverage}.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": str(self.tick), "maxPrice": "1999999.80", "tickSize": str(self.tick)},
            "lotSizeFilter": {
                "maxOrderQty": "1190",
                "minOrderQty": str(self.min_qty),
                "qtyStep": str(self.qty_step),
                "minNotionalValue": str(self.min_notional),
            },
            "unifiedMarginTrade": True,
            "fundingInterval": 480,
        }

    def best_bid_ask(self) -> tuple[Decimal, Decimal]:
        return self.price, self.price + self.tick


def default_instruments() -> dict[tuple[str, str], Instrument]:
    spot = Instrument("BTCUSDT", "spot", "BTC", "USDT", Decimal(30000), Decimal("0.000001"), Decimal("0.01"),
                      Decimal("0.000048"), Decimal(1))  # fmt: skip
    eth = Instrument("ETHUSDT", "spot", "ETH", "USDT", Decimal(2000), Decimal("0.00001"), Decimal("0.01"),
                     Decimal("0.00062"), Decimal(1))  # fmt: skip
    perp = Instrument("BTCUSDT", "linear", "BTC", "USDT", Decimal(30000), Decimal("0.001"), Decimal("0.10"),
                      Decimal("0.001"), Decimal(5))  # fmt: skip
    return {(i.category, i.symbol): i for i in (spot, eth, perp)}


@dataclass
class BybitOrder:
    order_id: str
    order_link_id: str
    category: str
    symbol: str
    side: str  # "Buy" | "Sell"
    order_type: str  # "Market" | "Limit"
    qty: Decimal
    price: Decimal  # 0 for market orders
    status: str = "New"
    cum_qty: Decimal = Decimal(0)
    cum_value: Decimal = Decimal(0)
    cum_fee: Decimal = Decimal(0)
    fee_coin: str = ""
    reduce_only: bool = False
    created: int = field(default_factory=now_ms)
    updated: int = field(default_factory=now_ms)

    def row(self) -> dict[str, Any]:
        average = self.cum_value / self.cum_qty if self.cum_qty else Decimal(0)
        return {
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "symbol": self.symbol,
            "price": str(self.price),
            "qty": str(self.qty),
            "side": self.side,
            "orderStatus": self.status,
            "avgPrice": str(average) if self.cum_qty else "",
            "leavesQty": str(self.qty - self.cum_qty if self.status in {"New", "PartiallyFilled"} else 0),
            "cumExecQty": str(self.cum_qty),
            "cumExecValue": str(self.cum_value),
            "cumExecFee": str(self.cum_fee),
            "cumFeeDetail": {self.fee_coin: str(self.cum_fee)} if self.cum_fee else {},
            "timeInForce": "IOC" if self.order_type == "Market" else "GTC",
            "orderType": self.order_type,
            "reduceOnly": self.reduce_only,
            "triggerPrice": "0",
            "takeProfit": "0",
            "stopLoss": "0",
            "createdTime": str(self.created),
            "updatedTime": str(self.updated),
            "marketUnit": "baseCoin" if self.category == "spot" and self.order_type == "Market" else "",
            "positionIdx": 0,
        }


@dataclass
class Execution:
    exec_id: str
    order: BybitOrder
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_coin: str
    time: int = field(default_factory=now_ms)

    def row(self) -> dict[str, Any]:
        return {
            "symbol": self.order.symbol,
            "orderId": self.order.order_id,
            "orderLinkId": self.order.order_link_id,
            "side": self.order.side,
            "orderType": self.order.order_type,
            "execId": self.exec_id,
            "execPrice": str(self.price),
            "execQty": str(self.qty),
            "execValue": str(self.price * self.qty),
            "execFee": str(self.fee),
            "feeCurrency": self.fee_coin,
            "feeRate": "0.001",
            "execType": "Trade",
            "execTime": str(self.time),
            "isMaker": False,
        }


@dataclass
class BybitEmulator(EmulatorServer):
    keys: dict[str, ApiKey] = field(default_factory=dict)
    instruments: dict[tuple[str, str], Instrument] = field(default_factory=default_instruments)
    wallet: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(10000), "BTC": Decimal("0.5")})
    leverage: dict[str, int] = field(default_factory=lambda: defaultdict(lambda: 10))
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # symbol -> (signed size, entry)
    orders: list[BybitOrder] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    market_liquidity: Decimal | None = None  # set: a market order fills at most this much, the rest is cancelled
    refusals: list[int] = field(default_factory=list)  # the retCode of every error answer
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1_700_000_000_000_000_001))

    def next_id(self) -> str:
        return str(next(self._ids))

    def instrument(self, params: dict[str, str]) -> Instrument:
        found = self.instruments.get((params.get("category", ""), params.get("symbol", "")))
        if found is None:
            raise BybitApiError(10001, "params error: symbol invalid")
        return found

    # --- plumbing ---
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        from tests.exchange.bybit_routes import ROUTES  # the routes module imports this one

        raw_query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
        body = await request.text()
        params: dict[str, Any] = dict(parse_qsl(raw_query, keep_blank_values=True))
        if body:
            params.update({key: str(value) for key, value in json.loads(body).items()})
        route = ROUTES.get((request.method, request.path))
        fault = self._record(request, params, private=route is not None and route[1])
        if fault is not None and not fault.after_processing:
            return await self._apply_fault(request, fault)
        if route is None:
            self.unhandled.append(f"{request.method} {request.path}")
            return web.json_response({"retCode": 10001, "retMsg": f"not emulated: {request.path}"}, status=404)
        handler, signed = route
        try:
            if signed:
                self._authenticate(request, raw_query if request.method == "GET" else body)
            result = handler(self, params)
        except BybitApiError as error:
            self.refusals.append(error.code)
            if fault is not None:  # a refusal's answer is lost all the same
                return await self._apply_fault(request, fault)
            return web.json_response(_envelope(error.code, error.msg, {}))
        if fault is not None:
            return await self._apply_fault(request, fault)
        return web.json_response(_envelope(0, "OK", result))

    def _error(self, code: int, msg: str, status: int, headers: dict[str, str]) -> web.StreamResponse:
        return web.json_response(_envelope(code, msg, {}), status=status, headers=headers)

    def _rate_limited(self, headers: dict[str, str]) -> web.StreamResponse:
        return web.json_response(_envelope(10006, "Too many visits!", {}), status=429, headers=headers)

    def _authenticate(self, request: web.Request, signed_text: str) -> None:
        headers = request.headers
        key = self.keys.get(headers.get("X-BAPI-API-KEY", ""))
        if key is None:
            raise BybitApiError(10003, "API key is invalid.")
        if key.allowed_ips is not None and (request.remote or "") not in key.allowed_ips:
            raise BybitApiError(
                10010, f"Unmatched IP, please check your API key's bound IP addresses. {request.remote}"
            )
        timestamp, window = headers.get("X-BAPI-TIMESTAMP", ""), headers.get("X-BAPI-RECV-WINDOW", "5000")
        payload = timestamp + key.key + window + signed_text
        expected = hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("X-BAPI-SIGN", ""), expected):
            raise BybitApiError(10004, "error sign! origin_string[" + payload + "]")
        if not timestamp.isdigit() or abs(now_ms() - int(timestamp)) > int(window):
            raise BybitApiError(10002, "invalid request, please check your server timestamp or recv_window param")


def _envelope(code: int, msg: str, result: Any) -> dict[str, Any]:
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms()}
