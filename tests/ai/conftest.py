from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.ai.fake_llm import FakeLLMServer


@pytest.fixture
async def llm_server() -> AsyncIterator[FakeLLMServer]:
    server = await FakeLLMServer().start()
    yield server
    await server.stop()
