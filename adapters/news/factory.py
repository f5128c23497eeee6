"""Build the shared news service from Settings: the configured RSS/Atom feeds, plus CryptoPanic with a token.

The sources (feedparser) and the sentiment model (VADER) are imported when the service is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from adapters.news.port import NewsSource
    from adapters.news.service import NewsService
    from config.settings import Settings


def build_news_sources(settings: Settings, client: httpx.AsyncClient) -> list[NewsSource]:
    from adapters.news.cryptopanic import CryptoPanicSource
    from adapters.news.rss import RssFeedSource

    timeout = settings.news_fetch_timeout_s
    sources: list[NewsSource] = [RssFeedSource(url, client, timeout) for url in settings.news_feeds]
    if settings.cryptopanic_token is not None:
        sources.append(
            CryptoPanicSource(
                settings.cryptopanic_token.get_secret_value(), settings.cryptopanic_base_url, client, timeout
            )
        )
    return sources


def build_news_service(settings: Settings, client: httpx.AsyncClient) -> NewsService:
    """The caller owns the httpx client (one per process) and closes it at shutdown."""
    from adapters.news.service import NewsService

    return NewsService(
        build_news_sources(settings, client),
        ttl_s=settings.news_ttl_s,
        source_timeout_s=settings.news_fetch_timeout_s,
    )
