"""The process's one HTTP endpoint (METRICS_PORT): /healthz, /readyz and Prometheus /metrics, on aiohttp.

- /healthz: 200 while the event loop runs (a liveness probe: restart the process when it stops answering).
- /readyz: every readiness check at once, each within its timeout; 200 when all pass, else 503. The JSON body
  names each check with its detail, so the reason a probe fails is readable from the probe itself.
- /metrics: the registry in Prometheus' text format (telemetry.METRICS unless told otherwise).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

CHECK_TIMEOUT_S = 3.0


class NotReady(Exception):
    """A readiness check failed; str() says what is wrong (no secret in it)."""


Check = Callable[[], Awaitable[str]]  # the detail when ready; raises NotReady (or anything) when not


@dataclass(frozen=True, slots=True)
class Outcome:
    ready: bool
    detail: str


class HealthServer:
    def __init__(
        self,
        checks: Mapping[str, Check],
        registry: CollectorRegistry,
        *,
        host: str = "0.0.0.0",
        port: int = 0,
        check_timeout_s: float = CHECK_TIMEOUT_S,
    ) -> None:
        """port 0 picks a free port (see .port once started)."""
        self.checks, self.registry = dict(checks), registry
        self.host, self.port, self.check_timeout_s = host, port, check_timeout_s
        self.started_at = time.monotonic()
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the bound port."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def readiness(self) -> dict[str, Outcome]:
        names = list(self.checks)
        outcomes = await asyncio.gather(*(self._run(self.checks[name]) for name in names))
        return dict(zip(names, outcomes, strict=True))

    async def _run(self, check: Check) -> Outcome:
        try:
            async with asyncio.timeout(self.check_timeout_s):
                return Outcome(True, await check())
        except TimeoutError:
            return Outcome(False, f"no answer within {self.check_timeout_s:g}s")
        except NotReady as not_ready:
            return Outcome(False, str(not_ready))
        except Exception as exc:  # noqa: BLE001 - a broken check means not ready, never a 500
            return Outcome(False, f"check failed: {type(exc).__name__}")

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "uptime_s": round(time.monotonic() - self.started_at, 1)})

    async def _readyz(self, request: web.Request) -> web.Response:
        outcomes = await self.readiness()
        ready = all(outcome.ready for outcome in outcomes.values())
        body = {
            "ready": ready,
            "checks": {name: {"ready": o.ready, "detail": o.detail} for name, o in outcomes.items()},
            "not_ready": [name for name, outcome in outcomes.items() if not outcome.ready],
        }
        if not ready:
            logger.warning("not ready: {}", "; ".join(f"{n}: {o.detail}" for n, o in outcomes.items() if not o.ready))
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
