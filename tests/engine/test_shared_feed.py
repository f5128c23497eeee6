"""The paper accounts' shared feed: one request per (symbol, arguments, time slot), however many accounts ask,
at once or one after another; a failure reaches every waiter and is not remembered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.shared_feed import SharedMarketData


class CountingFeed:
    exchange_id = "counting"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = False

    async def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        self.calls.append(("ticker", symbol))
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("exchange down")
        return {"symbol": symbol, "n": len(self.calls)}

    async def fetch_ohlcv(self, symbol: str, timeframe: str, since: int | None = None, limit: int = 10) -> list:
        self.calls.append(("ohlcv", symbol, timeframe, since, limit))
        return [1, 2, 3]


async def test_shared_feed_when_many_accounts_ask_in_one_slot_then_one_request_per_question() -> None:
    inner, now = CountingFeed(), [0]
    feed = SharedMarketData(inner, lambda: now[0], slot_ms=5_000)  # type: ignore[arg-type]
    answers = await asyncio.gather(*(feed.fetch_ticker("BTC/USDT") for _ in range(500)))
    assert len({id(a) for a in answers}) == 1 and inner.calls == [("ticker", "BTC/USDT")]
    await feed.fetch_ticker("ETH/USDT")
    await feed.fetch_ticker("BTC/USDT")
    assert len(inner.calls) == 2
    first = await feed.fetch_ohlcv("BTC/USDT", "1h", since=100)
    first.append(99)  # an account trimming or growing its copy
    assert await feed.fetch_ohlcv("BTC/USDT", "1h", since=100) == [1, 2, 3]
    await feed.fetch_ohlcv("BTC/USDT", "1h", since=200)
    assert len(inner.calls) == 4 and feed.fetches == 4
    now[0] = 5_000  # the next slot: fresh answers
    assert (await feed.fetch_ticker("BTC/USDT"))["n"] == 5


async def test_shared_feed_when_the_request_fails_then_every_waiter_gets_the_error_and_the_next_ask_retries() -> None:
    inner = CountingFeed()
    inner.fail = True
    feed = SharedMarketData(inner, lambda: 0)  # type: ignore[arg-type]
    results = await asyncio.gather(*(feed.fetch_ticker("BTC/USDT") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and len(inner.calls) == 1
    inner.fail = False
    assert (await feed.fetch_ticker("BTC/USDT"))["symbol"] == "BTC/USDT"
    with pytest.raises(AttributeError):
        feed.no_such_method  # noqa: B018 - delegated to the inner client, which has none
