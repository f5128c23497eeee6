"""A local HTTP server serving real RSS 2.0 and Atom documents, a broken feed, a failing one and a hanging one."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

from domain.money import utc_now
from tests.local_http import serve


def rss_document(items: list[tuple[str, str, datetime]]) -> str:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid>{escape(link)}</guid><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{escape(title)}</description></item>"
        for title, link, when in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Coin News</title>'
        f"<link>https://coinnews.example</link><description>crypto</description>{entries}</channel></rss>"
    )


def atom_document(items: list[tuple[str, str, datetime]]) -> str:
    entries = "".join(
        f'<entry><title>{escape(title)}</title><link href="{escape(link)}"/><id>{escape(link)}</id>'
        f"<updated>{when.isoformat()}</updated></entry>"
        for title, link, when in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Chain Daily</title><id>urn:chain-daily</id><updated>{utc_now().isoformat()}</updated>"
        f"{entries}</feed>"
    )


def hours_ago(hours: float) -> datetime:
    return utc_now() - timedelta(hours=hours)


@dataclass
class FeedServer:
    """Serves whatever is in routes: path -> (status, content type, body) or the string "hang"."""

    routes: dict[str, tuple[int, str, str] | str] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    queries: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        self._runner, self.url = await serve(app)
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def feed_url(self, path: str) -> str:
        return f"{self.url}/{path}"

    async def _serve(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.hits[path] += 1
        self.queries.append(dict(request.query))
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404)
        if route == "hang":
            await self._release.wait()
            return web.Response(status=200)
        status, content_type, body = route
        return web.Response(status=status, body=body.encode(), content_type=content_type)
