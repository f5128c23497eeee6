"""Build the shared news service from Settings: the configured RSS/Atom feeds, plus CryptoPanic with a token."""

from __future__ import annotations

import httpx

from adapters.news.cryptopanic import CryptoPanicSource
from adapters.news.port import NewsSource
from adapters.news.rss import RssFeedSource
from adapters.news.service import NewsService
from config.settings import Settings


def build_news_sources(settings: Settings, client: httpx.AsyncClient) -> list[NewsSource]:
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
    return NewsService(
        build_news_sources(settings, client),
        ttl_s=settings.news_ttl_s,
        source_timeout_s=settings.news_fetch_timeout_s,
    )
