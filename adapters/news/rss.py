"""RSS 2.0 and Atom feeds: fetched with httpx under a timeout, parsed by feedparser from the bytes.

feedparser never touches the network here; a feed that is down, slow or not XML raises FeedError.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import feedparser
import httpx

from adapters.news.port import FeedError
from domain.money import utc_now
from domain.snapshot import NewsItem

USER_AGENT = "QuorumBot/0.1 (+https://github.com/quorum-bot)"


class RssFeedSource:
    def __init__(self, url: str, client: httpx.AsyncClient, timeout_s: float = 5.0) -> None:
        self.url = url
        self.name = url  # unique: it keys this source's stale cache
        self.label = httpx.URL(url).host or url  # what headlines show as their source
        self._client = client
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"RssFeedSource({self.url!r})"

    async def fetch(self) -> list[NewsItem]:
        try:
            response = await self._client.get(
                self.url, timeout=self._timeout_s, headers={"User-Agent": USER_AGENT}, follow_redirects=True
            )
        except httpx.TimeoutException:
            raise FeedError(f"{self.label}: timed out after {self._timeout_s}s") from None
        except httpx.HTTPError as exc:
            raise FeedError(f"{self.label}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise FeedError(f"{self.label}: HTTP {response.status_code}")
        return parse_feed(response.content, self.label)


def parse_feed(content: bytes, source: str) -> list[NewsItem]:
    """Items of an RSS or Atom document; FeedError when it is not a feed at all."""
    parsed = feedparser.parse(content)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise FeedError(f"{source}: not a valid RSS/Atom feed")
    fetched_at = utc_now()
    items = []
    for entry in parsed.entries:
        title = " ".join(str(entry.get("title", "")).split())
        if not title:
            continue
        items.append(
            NewsItem(
                title=title,
                url=str(entry.get("link", "")),
                source=source,
                published_at=_published(entry) or fetched_at,
            )
        )
    return items


def _published(entry: feedparser.FeedParserDict) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if not stamp:
        return None
    return datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
