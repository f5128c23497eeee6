"""Start an aiohttp application on 127.0.0.1 on a free port: the base of every local stand-in server."""

from __future__ import annotations

import socket

from aiohttp import web


async def serve(app: web.Application, shutdown_timeout: float = 0.1) -> tuple[web.AppRunner, str]:
    """The running app's runner (clean it up to stop) and its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def free_port() -> int:
    """A local port free right now, for a server in another process that must be told its port in advance."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
