from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.news.feed_server import FeedServer


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = await FeedServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
