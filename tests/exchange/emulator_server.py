"""What the Binance and Bybit emulators share: a real aiohttp server on 127.0.0.1, a log of every request, and
faults injected per endpoint and per count, or drawn at random (seeded) for a share of the private requests.
Each exchange's emulator adds its routes, its signature check and the body its errors come in."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from tests.local_http import serve

FaultKind = Literal["status", "hang", "drop"]


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one request. after_processing=True: the request takes effect, its answer is lost.

    A "status" fault with an exchange error code answers with the exchange's JSON error body instead of HTML.
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
    fault: str = ""  # the name of the random fault it suffered, if any


# What a flaky exchange does to a long-running bot, one kind in five each: refused before it takes effect (429,
# 503), or taken effect with the answer lost (500, an answer later than the client waits, a dropped connection).
RANDOM_FAULT_MIX: tuple[tuple[str, Fault], ...] = (
    ("429", Fault("status", status=429, retry_after=1)),
    ("5xx before", Fault("status", status=503)),
    ("5xx after", Fault("status", status=500, after_processing=True)),
    ("timeout", Fault("hang", after_processing=True)),
    ("lost response", Fault("drop", after_processing=True)),
)


@dataclass
class RandomFaults:
    """A seeded draw: each private (signed) request suffers a fault with probability `rate`, its kind picked
    uniformly from `mix`. `counts` tallies the faults dealt by kind; the same seed deals the same sequence."""

    rate: float
    seed: int = 0
    mix: tuple[tuple[str, Fault], ...] = RANDOM_FAULT_MIX
    counts: Counter[str] = field(default_factory=Counter)
    enabled: bool = True
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1 or not self.mix:
            raise ValueError("rate must be within 0..1 and the mix must name at least one fault")
        self._rng = random.Random(self.seed)

    def draw(self) -> tuple[str, Fault] | None:
        if not self.enabled or self._rng.random() >= self.rate:
            return None
        name, fault = self._rng.choice(self.mix)
        self.counts[name] += 1
        return name, fault


@dataclass
class EmulatorServer:
    hang_seconds: float = 5.0
    requests: list[RecordedRequest] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    _faults: dict[tuple[str, str], deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _armed: dict[tuple[str, str], list[tuple[str, str, Fault, int]]] = field(default_factory=lambda: defaultdict(list))
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""
    random_faults: RandomFaults | None = None  # set: private requests fail at random, on top of inject()

    # --- lifecycle ---
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner, self.base_url = await serve(app, shutdown_timeout=0.5)
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
        self._armed[(trigger[0].upper(), trigger[1])].append((method.upper(), path, fault, times))

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method.upper() and r.path == path)

    # --- plumbing for the exchange emulators ---
    def _record(self, request: web.Request, params: dict[str, str], private: bool = False) -> Fault | None:
        """Log the request and take the next fault queued for its endpoint, if any; else, for a private
        request, the random draw's."""
        recorded = RecordedRequest(request.method, request.path, params)
        self.requests.append(recorded)
        queue = self._faults.get((request.method, request.path))
        fault = queue.popleft() if queue else None
        for method, path, armed, times in self._armed.pop((request.method, request.path), []):
            self.inject(method, path, armed, times)
        if fault is None and private and self.random_faults is not None:
            drawn = self.random_faults.draw()
            if drawn is not None:
                recorded.fault, fault = drawn
        return fault

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "hang":
            try:
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            except TimeoutError:
                pass
            return self._gateway_timeout()
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.code is not None:
            return self._error(fault.code, fault.msg, fault.status, headers)
        if fault.status == 429:
            return self._rate_limited(headers)
        return web.Response(status=fault.status, text="<html>Service Unavailable</html>", headers=headers)

    # --- what each exchange answers in its own format ---
    def _gateway_timeout(self) -> web.StreamResponse:
        return web.Response(status=504, text="<html>504 Gateway Time-out</html>")

    def _error(self, code: int, msg: str, status: int, headers: dict[str, str]) -> web.StreamResponse:
        return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)

    def _rate_limited(self, headers: dict[str, str]) -> web.StreamResponse:
        return web.Response(status=429, text="<html>Too Many Requests</html>", headers=headers)
