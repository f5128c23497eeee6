"""Per-cycle cost of the replay feed over the shipped 2017-2019 BTC/USD hourly candles, one decision per hour.

Each simulated hour the clock moves to the next candle close and the engine's reads are timed: ticker, order
book (20 levels), funding rate and OHLCV 1h/4h/1d (limit 300); then the paper exchange's account-call reads
(ohlcv since the last look, ticker, book again at the same time). The budget for the engine's reads is ~60 us
per simulated hour.

Run: python bench/bench_replay.py [--hours N]  (default: the whole history; no network, no database server)
Timings on a shared machine move with its load: compare against the previous code run right before or after,
e.g. `git archive <commit> | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python bench/bench_replay.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.replay import ReplayFeed
from domain.market import MarketType

SYMBOL = "BTC/USDT"
HOUR = 3_600_000


async def sweep(hours: int | None) -> None:
    start = time.perf_counter()
    feed = ReplayFeed.from_file(shipped_candle_file(), symbol=SYMBOL, market_type=MarketType.PERPETUAL)
    loaded = time.perf_counter() - start
    times = list(feed.close_times(SYMBOL, "1h"))[: hours or None]

    engine: dict[str, Callable[[], Awaitable[object]]] = {
        "fetch_ticker": lambda: feed.fetch_ticker(SYMBOL),
        "fetch_order_book(20)": lambda: feed.fetch_order_book(SYMBOL, 20),
        "fetch_funding_rate": lambda: feed.fetch_funding_rate(SYMBOL),
        "fetch_ohlcv 1h limit 300": lambda: feed.fetch_ohlcv(SYMBOL, "1h", limit=300),
        "fetch_ohlcv 4h limit 300": lambda: feed.fetch_ohlcv(SYMBOL, "4h", limit=300),
        "fetch_ohlcv 1d limit 300": lambda: feed.fetch_ohlcv(SYMBOL, "1d", limit=300),
    }
    since = {"ms": 0}
    paper: dict[str, Callable[[], Awaitable[object]]] = {
        "paper: fetch_ohlcv 1h since last look": lambda: feed.fetch_ohlcv(SYMBOL, "1h", since=since["ms"]),
        "paper: fetch_ticker again": lambda: feed.fetch_ticker(SYMBOL),
        "paper: fetch_order_book(20) again": lambda: feed.fetch_order_book(SYMBOL, 20),
    }
    samples: dict[str, list[int]] = {label: [] for label in (*engine, *paper)}
    per_hour: list[int] = []
    clock = time.perf_counter_ns
    first_cycle = 0.0
    cpu_start = time.process_time()
    sweep_start = time.perf_counter()
    for index, ts in enumerate(times):
        feed.clock.advance_to(ts)
        since["ms"] = ts - 2 * HOUR
        hour_ns = 0
        for label, call in engine.items():
            t0 = clock()
            await call()
            elapsed = clock() - t0
            samples[label].append(elapsed)
            hour_ns += elapsed
        per_hour.append(hour_ns)
        for label, call in paper.items():
            t0 = clock()
            await call()
            samples[label].append(clock() - t0)
        if index == 0:
            first_cycle = time.perf_counter() - sweep_start
    wall = time.perf_counter() - sweep_start
    cpu = time.process_time() - cpu_start

    print(f"replay of {len(times)} simulated hours ({len(feed.series(SYMBOL).candles)} base candles)")
    print(f"{'load the shipped file (from_file)':<44} {loaded * 1000:9.1f} ms")
    print(f"{'first cycle (lazy set-up included)':<44} {first_cycle * 1000:9.2f} ms")
    for label, values in samples.items():
        mean = statistics.fmean(values) / 1000
        median = statistics.median(values) / 1000
        p99 = sorted(values)[int(len(values) * 0.99) - 1] / 1000
        print(f"{label:<44} mean {mean:8.2f} us   median {median:8.2f} us   p99 {p99:8.2f} us")
    mean_hour, median_hour = statistics.fmean(per_hour) / 1000, statistics.median(per_hour) / 1000
    print(
        f"{'engine reads per simulated hour (6 calls)':<44} mean {mean_hour:8.2f} us   median {median_hour:8.2f} us"
        "   (budget 60 us)"
    )
    print(f"{'whole sweep (all 9 calls, bench loop)':<44} wall {wall:6.2f} s   cpu {cpu:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=None, help="simulate only the first N hours")
    asyncio.run(sweep(parser.parse_args().hours))


if __name__ == "__main__":
    main()
