"""Figures for the parts of one trading cycle built so far, on the shipped real BTC/USD hourly candles.

Run: python bench/bench_cycle_parts.py  (prints one line per measurement; no network, no database server)
"""

from __future__ import annotations

import asyncio
import statistics
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal

from loguru import logger

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.paper import PaperExchange
from adapters.exchange.replay import ReplayFeed
from analysis.indicators import compute_indicators
from analysis.snapshot import build_snapshot
from config.settings import Settings
from domain.decision import Action, Decision
from domain.trading import OrderRequest, OrderSide, OrderType
from risk import AccountState, DailyLossState, LossStreakState, MarketConditions, PairContext, RiskLimits, RiskManager


def _timed(label: str, runs: int, work) -> None:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    print(
        f"{label:<58} median {statistics.median(samples):8.2f} ms   p95 {sorted(samples)[int(runs * 0.95) - 1]:8.2f} ms"
    )


async def main() -> None:
    logger.remove()  # figures only
    start = time.perf_counter()
    candles = read_candles(shipped_candle_file())
    label = f"read shipped BTC/USD 1h file ({len(candles)} candles)"
    print(f"{label:<58} {1000 * (time.perf_counter() - start):8.2f} ms")
    window = candles[5000:5300]
    _timed("indicators on 300 candles, one timeframe", 30, lambda: compute_indicators(window))

    feed = ReplayFeed.from_file(shipped_candle_file(), symbol="BTC/USDT")
    feed.clock.advance_to(candles[5300].ts)
    ohlcv = {tf: await feed.fetch_ohlcv("BTC/USDT", tf, limit=300) for tf in ("1h", "4h", "1d")}
    ticker = await feed.fetch_ticker("BTC/USDT")
    book = await feed.fetch_order_book("BTC/USDT", 20)
    _timed(
        "snapshot (3 timeframes, indicators uncached)",
        20,
        lambda: build_snapshot(exchange="replay", symbol="BTC/USDT", candles=ohlcv, ticker=ticker, order_book=book),
    )

    settings = Settings(_env_file=None)
    snapshot = build_snapshot(exchange="replay", symbol="BTC/USDT", candles=ohlcv, ticker=ticker, order_book=book)
    shared = build_shared_ensemble(settings)
    t0 = time.perf_counter()
    await shared.decide(snapshot)
    first = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    await asyncio.gather(*(shared.decide(snapshot) for _ in range(1000)))
    shared_ms = (time.perf_counter() - t0) * 1000
    await shared.close()
    print(f"{'offline ensemble decision (3 analysts), first call':<58} {first:8.2f} ms")
    print(
        f"{'1000 engines asking the same candle (shared answer)':<58} {shared_ms:8.2f} ms total, {shared.calls} call(s)"
    )

    paper = await PaperExchange.open(
        feed, None, starting_balances={"USDT": Decimal(10_000_000)}, clock=feed.clock.now_ms
    )
    t0 = time.perf_counter()
    for i in range(200):  # buys only: a spot buy pays its fee in BTC, so a sell of the same amount would fall short
        await paper.create_order(
            OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), f"bench-{i}")
        )
    print(
        f"{'paper market order (book walk, fees, in-memory state)':<58} {(time.perf_counter() - t0) * 5:8.2f} ms each"
    )

    manager = RiskManager(RiskLimits.from_settings(settings))
    market = await feed.market("BTC/USDT")
    price = ticker.last
    decision = Decision(Action.BUY, Decimal("0.8"), price * Decimal("0.98"), price * Decimal("1.05"))
    conditions = MarketConditions(
        price=price, atr_fraction=Decimal("0.01"), quote_volume=Decimal(10**9), spread_fraction=Decimal("0.0002")
    )
    account = AccountState(equity=Decimal(10_000), peak_equity=Decimal(10_000), day_start_equity=Decimal(10_000))
    pair = PairContext(budget=Decimal(2_000))
    now = datetime.fromtimestamp(ticker.ts / 1000, UTC)
    _timed(
        "risk check (breakers, validator, sizer)",
        2000,
        lambda: manager.check(
            decision,
            market=market,
            conditions=conditions,
            account=account,
            pair=pair,
            pair_breaker=LossStreakState(),
            daily_breaker=DailyLossState(),
            now=now,
        ),
    )

    tracemalloc.start()
    read_candles(shipped_candle_file())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'peak memory reading the 20k-candle file':<58} {peak / 2**20:8.2f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
