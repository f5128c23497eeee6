"""The news every engine reads: fetched from all sources at most once per TTL, shared, scored and matched.

Sources are fetched in parallel, each under its own timeout. A source that fails or hangs contributes its
last good items (its stale cache) instead, so a dead feed never blocks or empties a cycle. Concurrent callers
during a refresh share that one refresh.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from loguru import logger

from adapters.news.dedup import deduplicate
from adapters.news.port import FeedError, NewsSource
from adapters.news.sentiment import CryptoSentiment
from adapters.news.symbols import ALIASES, base_currency, match_symbols
from domain.money import utc_now
from domain.snapshot import NewsItem

DEFAULT_MAX_AGE = timedelta(hours=24)
MAX_ITEMS = 500


class NewsService:
    def __init__(
        self,
        sources: Sequence[NewsSource],
        *,
        ttl_s: float = 600.0,
        source_timeout_s: float = 5.0,
        max_age: timedelta = DEFAULT_MAX_AGE,
        sentiment: CryptoSentiment | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sources = tuple(sources)
        self._ttl_s = ttl_s
        self._source_timeout_s = source_timeout_s
        self._max_age = max_age
        self._sentiment = sentiment or CryptoSentiment()
        self._clock = clock
        self._items: tuple[NewsItem, ...] = ()
        self._fetched_at: float | None = None
        self._last_good: dict[str, list[NewsItem]] = {}
        self._refreshing: asyncio.Task[tuple[NewsItem, ...]] | None = None
        self.refreshes = 0

    async def headlines(self, symbol: str, limit: int = 10) -> tuple[NewsItem, ...]:
        """Newest first, only items about symbol's base currency."""
        base = base_currency(symbol)
        items = await self.items()
        unknown_base = base not in ALIASES
        matching = (
            item
            for item in items
            if base in item.symbols or (unknown_base and base in match_symbols(item.title, [base]))
        )
        return tuple(matching)[:limit]

    async def items(self) -> tuple[NewsItem, ...]:
        """Every current item, newest first, refreshed when the TTL has passed."""
        loop = asyncio.get_running_loop()
        if self._fetched_at is not None and loop.time() - self._fetched_at < self._ttl_s:
            return self._items
        return await self.refresh()

    async def refresh(self) -> tuple[NewsItem, ...]:
        """Fetch now, whatever the TTL (the scheduler's news job), sharing a refresh already under way."""
        if self._refreshing is None:
            self._refreshing = asyncio.create_task(self._refresh(), name="news refresh")
        return await asyncio.shield(self._refreshing)

    async def _refresh(self) -> tuple[NewsItem, ...]:
        try:
            self.refreshes += 1
            batches = await asyncio.gather(*(self._fetch(source) for source in self._sources))
            now = self._clock()
            fresh = [item for batch in batches for item in batch if now - item.published_at <= self._max_age]
            unique = deduplicate(fresh)
            scored = [self._enrich(item) for item in unique]
            self._items = tuple(sorted(scored, key=lambda item: item.published_at, reverse=True)[:MAX_ITEMS])
            self._fetched_at = asyncio.get_running_loop().time()
            return self._items
        finally:
            self._refreshing = None

    async def _fetch(self, source: NewsSource) -> list[NewsItem]:
        try:
            async with asyncio.timeout(self._source_timeout_s):
                items = await source.fetch()
        except TimeoutError:
            problem = f"{source.name}: no answer within {self._source_timeout_s}s"
        except FeedError as exc:
            problem = str(exc)
        except Exception as exc:  # a broken source must not break the others
            problem = f"{source.name}: {type(exc).__name__}"
        else:
            self._last_good[source.name] = items
            return items
        stale = self._last_good.get(source.name, [])
        logger.bind(source=source.name).warning("news source failed ({}); serving {} stale items", problem, len(stale))
        return stale

    def _enrich(self, item: NewsItem) -> NewsItem:
        return dataclasses.replace(
            item,
            symbols=item.symbols | match_symbols(item.title),
            sentiment=self._sentiment.score(item.title),
        )
