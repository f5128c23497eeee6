"""A local stand-in for the part of Binance's REST API (spot /api/v3 and USDT-M /fapi) that ccxt's binance uses.

It runs as a real aiohttp server on 127.0.0.1, checks signed requests the way Binance does (API key header,
HMAC-SHA256 of the query string, timestamp window, IP allow list) and injects faults on demand, per endpoint and
per count: HTTP 429 with Retry-After, HTTP 5xx, a hanging response, a dropped connection, each either before the
request takes effect or after it (the "order accepted but the response lost" case), or an error in Binance's
own JSON form. Faults work on every emulated endpoint, the signed trade history (myTrades / userTrades) included.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Literal
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

FaultKind = Literal["status", "hang", "drop"]


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one request. after_processing=True: the request takes effect, its answer is lost.

    A "status" fault with a Binance error code answers with Binance's JSON body {code, msg} instead of an HTML page.
    """

    kind: FaultKind
    status: int = 503
    retry_after: int | None = None
    after_processing: bool = False
    code: int | None = None
    msg: str = ""


@dataclass(frozen=True)
class ApiKey:
    key: str
    secret: str
    allowed_ips: frozenset[str] | None = None  # None: any IP


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class BinanceEmulator:
    keys: dict[str, ApiKey] = field(default_factory=dict)
    market: MarketState = field(default_factory=MarketState)
    account: AccountState = field(default_factory=AccountState)
    hang_seconds: float = 5.0
    requests: list[RecordedRequest] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    _faults: dict[tuple[str, str], deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _armed: dict[tuple[str, str], list[tuple[str, str, Fault, int]]] = field(default_factory=lambda: defaultdict(list))
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    # --- lifecycle ---
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # aiohttp exposes the bound port only here
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test controls ---
    def inject(self, method: str, path: str, fault: Fault, times: int = 1) -> None:
        """The next `times` requests to (method, path) suffer `fault`."""
        for _ in range(times):
            self._faults[(method.upper(), path)].append(fault)

    def inject_after(self, trigger: tuple[str, str], method: str, path: str, fault: Fault, times: int = 1) -> None:
        """Once a request to trigger (method, path) arrives, the next `times` requests to (method, path) fail."""
        self._armed[(trigger[0].upper(), trigger[1])].append((method, path, fault, times))

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method.upper() and r.path == path)

    def stored_orders(self, api: str | None = None) -> list[EmulatedOrder]:
        return [o for o in self.account.orders if api is None or o.api == api]

    # --- plumbing ---
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
        body = await request.text()
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        self.requests.append(RecordedRequest(request.method, request.path, params))
        queue = self._faults.get((request.method, request.path))
        fault = queue.popleft() if queue else None
        for method, path, armed_fault, times in self._armed.pop((request.method, request.path), []):
            self.inject(method, path, armed_fault, times)
        if fault is not None and not fault.after_processing:
            return await self._apply_fault(request, fault)
        route = ROUTES.get((request.method, request.path))
        if route is None:
            self.unhandled.append(f"{request.method} {request.path}")
            return web.json_response({"code": -1, "msg": f"not emulated: {request.path}"}, status=404)
        handler, signed = route
        try:
            if signed:
                self._authenticate(request, raw_query if request.method in {"GET", "DELETE"} else body, params)
            payload = handler(self, params)
        except BinanceApiError as error:
            return web.json_response({"code": error.code, "msg": error.msg}, status=error.status)
        if fault is not None:
            return await self._apply_fault(request, fault)
        return web.json_response(payload)

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "hang":
            try:
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            except TimeoutError:
                pass
            return web.json_response(
                {"code": -1007, "msg": "Timeout waiting for response from backend server."}, status=504
            )
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.code is not None:
            return web.json_response({"code": fault.code, "msg": fault.msg}, status=fault.status, headers=headers)
        if fault.status == 429:
            body = {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."}
            return web.json_response(body, status=429, headers=headers)
        return web.Response(status=fault.status, text="<html>Service Unavailable</html>", headers=headers)

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
