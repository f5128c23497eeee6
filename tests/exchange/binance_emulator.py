"""A local stand-in for the part of Binance's REST API (spot /api/v3 and USDT-M /fapi) that ccxt's binance uses.

It runs as a real aiohttp server on 127.0.0.1, checks signed requests the way Binance does (API key header,
HMAC-SHA256 of the query string, timestamp window, IP allow list) and injects faults on demand, per endpoint and
per count: HTTP 429 with Retry-After, HTTP 5xx, a hanging response, a dropped connection, each either before the
request takes effect or after it (the "order accepted but the response lost" case), or an error in Binance's
own JSON form. Faults work on every emulated endpoint, the signed trade history (myTrades / userTrades) included.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import web

from tests.exchange.binance_account_state import (
    AccountState,
    BinanceApiError,
    EmulatedOrder,
    now_ms,
)
from tests.exchange.binance_market_state import MarketState, SymbolSpec
from tests.exchange.binance_routes import ROUTES
from tests.exchange.emulator_server import ApiKey, EmulatorServer, Fault, RecordedRequest

__all__ = ["ApiKey", "BinanceEmulator", "Fault", "RecordedRequest"]


@dataclass
class BinanceEmulator(EmulatorServer):
    keys: dict[str, ApiKey] = field(default_factory=dict)
    market: MarketState = field(default_factory=MarketState)
    account: AccountState = field(default_factory=AccountState)

    # --- test controls ---
    def stored_orders(self, api: str | None = None) -> list[EmulatedOrder]:
        return [o for o in self.account.orders if api is None or o.api == api]

    # --- plumbing ---
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
        body = await request.text()
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        route = ROUTES.get((request.method, request.path))
        fault = self._record(request, params, private=route is not None and route[1])
        if fault is not None and not fault.after_processing:
            return await self._apply_fault(request, fault)
        if route is None:
            self.unhandled.append(f"{request.method} {request.path}")
            return web.json_response({"code": -1, "msg": f"not emulated: {request.path}"}, status=404)
        handler, signed = route
        try:
            if signed:
                self._authenticate(request, raw_query if request.method in {"GET", "DELETE"} else body, params)
            payload = handler(self, params)
        except BinanceApiError as error:
            if fault is not None:  # a refusal's answer is lost all the same
                return await self._apply_fault(request, fault)
            return web.json_response({"code": error.code, "msg": error.msg}, status=error.status)
        if fault is not None:
            return await self._apply_fault(request, fault)
        return web.json_response(payload)

    def _gateway_timeout(self) -> web.StreamResponse:
        return web.json_response(
            {"code": -1007, "msg": "Timeout waiting for response from backend server."}, status=504
        )

    def _rate_limited(self, headers: dict[str, str]) -> web.StreamResponse:
        body = {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."}
        return web.json_response(body, status=429, headers=headers)

    def _authenticate(self, request: web.Request, signed_text: str, params: dict[str, str]) -> None:
        key = self.keys.get(request.headers.get("X-MBX-APIKEY", ""))
        if "X-MBX-APIKEY" not in request.headers:
            raise BinanceApiError(401, -2014, "API-key format invalid.")
        if key is None:
            raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        remote = request.remote or ""
        if key.allowed_ips is not None and remote not in key.allowed_ips:
            raise BinanceApiError(401, -2015, f"Invalid API-key, IP, or permissions for action, request ip: {remote}")
        payload, _, signature = signed_text.rpartition("&signature=")
        expected = hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature, expected):
            raise BinanceApiError(400, -1022, "Signature for this request is not valid.")
        window = int(params.get("recvWindow", "5000"))
        if abs(now_ms() - int(params.get("timestamp", "0"))) > window:
            raise BinanceApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def spec(self, api: str, params: dict[str, str]) -> SymbolSpec:
        """The symbol a request names, or Binance's -1121 for an unknown one."""
        symbols = self.market.spot if api == "spot" else self.market.futures
        spec = symbols.get(params.get("symbol", ""))
        if spec is None:
            raise BinanceApiError(400, -1121, "Invalid symbol.")
        return spec
