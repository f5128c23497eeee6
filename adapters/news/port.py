"""The news ports: a source of headlines, and the shared feed engines read from."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.snapshot import NewsItem


class FeedError(Exception):
    """A source could not deliver: unreachable, HTTP error or unparseable. The message holds no secrets."""


@runtime_checkable
class NewsSource(Protocol):
    """One feed. name identifies it in logs and in the stale cache; fetch raises FeedError on failure."""

    name: str

    async def fetch(self) -> list[NewsItem]: ...


@runtime_checkable
class NewsFeed(Protocol):
    """What an engine asks for: recent scored headlines about one symbol."""

    async def headlines(self, symbol: str, limit: int = 10) -> tuple[NewsItem, ...]: ...
