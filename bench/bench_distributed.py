"""Distributed throughput: the same replayed pairs run by 1, 2 and 4 `quorum run --role worker` processes.

For each worker count: a fresh PostgreSQL database, --pairs paper accounts on BTC/USDT (set up through the
service), two LLM analysts behind the local fake LLM server answering each request 200 ms late, and the
gateway's scheduler (in this process) deferring one run_cycle job per pair every hour of the shipped candles
(every tick is a cycle) and waiting for the workers to finish each tick. It prints:

- cycle throughput: pairs per second over the cycle ticks (pairs / the tick's wall time, from deferring the jobs
  to the last one finished), median and overall;
- database load: SQL statements per cycle per pair, the engines' (SQLAlchemy, counted in each worker) and the
  queue's (procrastinate's fetch / finish / heartbeats in the workers, the gateway's defer and status polls);
- the LLM requests and consultations (one consultation per key across all workers).

Run: python bench/bench_distributed.py [--pairs 100] [--hours 6] [--workers 1,2,4] [--concurrency 8]
Needs PostgreSQL: QUORUM_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names a database
the benchmark connects to in order to create and drop its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/ (the fake LLM server)

from distributed.roles import STATS_PREFIX  # noqa: E402
from tests.distributed.support import HOUR, START, distributed_run, settings_values, start_llm  # noqa: E402

ADMIN_URL = os.environ.get("QUORUM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _worker_stats(log_dir: Path) -> list[dict]:
    stats = []
    for log in sorted(log_dir.glob("worker*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(STATS_PREFIX):
                stats.append(json.loads(line.removeprefix(STATS_PREFIX)))
    return stats


async def one(workers: int, pairs: int, hours: int, concurrency: int) -> dict:
    name = f"quorum_bench_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://").rpartition("/")[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    llm = await start_llm()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            log_dir = Path(tmp)
            end = START + hours * HOUR
            books = await distributed_run(
                url, settings_values(url, llm.url, cycle_minutes=60), pairs, end, llm, log_dir, workers=workers,
                concurrency=concurrency,
            )  # fmt: skip
            stats = _worker_stats(log_dir)
    finally:
        await llm.stop()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ticks = books.extra["cycle_seconds"]
    steps = sum(s["steps"] for s in stats) or 1
    return {
        "workers": workers,
        "median_pairs_per_s": pairs / statistics.median(ticks),
        "pairs_per_s": pairs * len(ticks) / sum(ticks),
        "engine_queries": sum(s["queries"] for s in stats) / steps,
        "queue_queries": (sum(s["job_queries"] for s in stats) + books.extra["gateway_queries"]) / steps,
        "llm_requests": books.requests,
        "consultations": books.consultations,
        "claimed": sum(s["claimed"] for s in stats),
        "waited": sum(s["waited"] for s in stats),
        "stats_found": len(stats),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--hours", type=int, default=6, help="cycle ticks per run (one an hour)")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=8, help="jobs each worker runs at once")
    args = parser.parse_args()
    print(f"{args.pairs} pairs, {args.hours + 1} cycle ticks, LLM latency 200 ms, concurrency {args.concurrency}")
    print("workers  pairs/s (median tick)  pairs/s (all)  SQL per cycle per pair (engine + queue)  LLM requests")
    for workers in (int(w) for w in args.workers.split(",")):
        row = await one(workers, args.pairs, args.hours, args.concurrency)
        print(
            f"{row['workers']:>7}  {row['median_pairs_per_s']:>21.1f}  {row['pairs_per_s']:>13.1f}  "
            f"{row['engine_queries'] + row['queue_queries']:>22.1f} ({row['engine_queries']:.1f} + "
            f"{row['queue_queries']:.1f})  {row['llm_requests']:>12} ({row['consultations']} consultations, "
            f"{row['claimed']} claimed, {row['waited']} waited)"
        )


if __name__ == "__main__":
    asyncio.run(main())
