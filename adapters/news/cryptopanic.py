"""CryptoPanic posts API (used only when a token is configured). The token travels in the query string,
so neither URLs nor exception messages from this module are ever logged."""

from __future__ import annotations

from datetime import datetime

import httpx

from adapters.news.port import FeedError
from domain.money import utc_now
from domain.snapshot import NewsItem


class CryptoPanicSource:
    name = "cryptopanic"

    def __init__(self, token: str, base_url: str, client: httpx.AsyncClient, timeout_s: float = 5.0) -> None:
        self._token = token
        self._url = base_url.rstrip("/") + "/posts/"
        self._client = client
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return "CryptoPanicSource(token=***)"

    async def fetch(self) -> list[NewsItem]:
        params = {"auth_token": self._token, "public": "true", "kind": "news"}
        try:
            response = await self._client.get(self._url, params=params, timeout=self._timeout_s)
        except httpx.TimeoutException:
            raise FeedError(f"cryptopanic: timed out after {self._timeout_s}s") from None
        except httpx.HTTPError as exc:
            raise FeedError(f"cryptopanic: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise FeedError(f"cryptopanic: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            raise FeedError("cryptopanic: the answer is not JSON") from None
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            raise FeedError("cryptopanic: the answer has no results list")
        return [item for item in (_item(post) for post in results if isinstance(post, dict)) if item is not None]


def _item(post: dict) -> NewsItem | None:
    title = " ".join(str(post.get("title") or "").split())
    if not title:
        return None
    source = found if isinstance(found := post.get("source"), dict) else {}
    url = post.get("original_url") or post.get("url") or ""
    if not url and post.get("id") is not None:
        url = f"https://cryptopanic.com/news/{post['id']}/"
    codes = [
        entry.get("code")
        for entry in (post.get("instruments") or post.get("currencies") or [])
        if isinstance(entry, dict) and entry.get("code")
    ]
    return NewsItem(
        title=title,
        url=str(url),
        source=f"cryptopanic:{source.get('domain') or source.get('title') or 'unknown'}",
        published_at=_timestamp(post.get("published_at") or post.get("created_at")),
        symbols=frozenset(str(code).upper() for code in codes),
    )


def _timestamp(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return utc_now()
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=utc_now().tzinfo)
    return utc_now()
