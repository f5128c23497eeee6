"""Issue 11: `quorum run --replay` killed with SIGKILL at 20 random moments, some of them right as an order is
written, and restarted each time until the replay is over, leaves the same orders, fills, trades and decisions in
PostgreSQL as an uninterrupted run on the same candles: nothing doubled, nothing lost (of the decisions, only
the row of a cycle killed between its order's fill and the decision's write may be missing).

Both runs are stepped (`--stepped`: candle by candle, no wall clock in the results), so they are comparable row
by row; a restart resumes where the books stopped (bot/run.py _replayed_until)."""

from __future__ import annotations

import random
import time
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest

from db.database import Database
from tests.faults.replay_books import books, differences, eventually, progress, scalar, set_up, start_replay
from tests.quorum_process import kill_quorum

END = "2017-07-16"  # the shipped file starts 2017-07-01 11:00: ~350 hourly candles, 3 pairs, ~50 orders
KILLS = 20
SEED = 11


@pytest.fixture
def pg_urls(postgres_factory: Any) -> list[str]:
    return [postgres_factory.new_url() for _ in range(2)]


async def _run_to_the_end(url: str, log: Path) -> None:
    process = await start_replay(url, log, END)
    try:
        assert await process.wait() == 0, log.read_text()[-3000:]
    finally:
        await kill_quorum(process)


async def _kill_at_a_random_moment(database: Database, url: str, log: Path, rng: random.Random, mid_order: bool) -> str:
    """One run killed once it is stepping: after a random delay, or the instant a new order row appears."""
    resumed_from = await progress(database)
    orders_before = await scalar(database, "SELECT count(*) FROM orders")
    process = await start_replay(url, log, END)
    try:

        async def stepping() -> bool:
            return process.returncode is not None or await progress(database) > resumed_from

        assert await eventually(stepping, timeout_s=60), "the run never started stepping"
        if mid_order:

            async def new_order() -> bool:
                rows = await scalar(database, "SELECT count(*) FROM orders")
                return process.returncode is not None or rows > orders_before

            await eventually(new_order, timeout_s=30, every_s=0.002)
        else:
            time.sleep(rng.uniform(0.0, 0.8))  # not asyncio: no poll in between, the moment is the RNG's
        if process.returncode is not None:
            assert process.returncode == 0, log.read_text()[-3000:]
            return "finished"
        process.kill()
        await process.wait()
    finally:
        await kill_quorum(process)
    pending = await scalar(database, "SELECT count(*) FROM orders WHERE status = 'pending'")
    return "killed with an order pending" if pending else "killed"


@pytest.mark.slow
async def test_quorum_run_when_killed_20_times_then_the_books_equal_an_uninterrupted_run(
    pg_urls: list[str], tmp_path: Path
) -> None:
    reference_url, killed_url = pg_urls
    for url in pg_urls:
        await set_up(url)
    started = time.monotonic()
    await _run_to_the_end(reference_url, tmp_path / "reference.log")
    reference_s = time.monotonic() - started

    rng = random.Random(SEED)
    log = tmp_path / "killed.log"
    outcomes: list[str] = []
    database = Database(killed_url)
    try:
        for _ in range(KILLS):
            outcome = await _kill_at_a_random_moment(database, killed_url, log, rng, mid_order=rng.random() < 0.35)
            outcomes.append(outcome)
            if outcome == "finished":
                break
        await _run_to_the_end(killed_url, log)  # the last restart runs the replay to its end
        actual = await books(database)
    finally:
        await database.dispose()
    killed_s = time.monotonic() - started - reference_s

    reference = Database(reference_url)
    try:
        expected = await books(reference)
    finally:
        await reference.dispose()
    kills = sum(o.startswith("killed") for o in outcomes)
    print(
        f"\nkill -9: {kills} kills ({outcomes.count('killed with an order pending')} with an order pending), "
        f"reference run {reference_s:.1f} s, killed runs {killed_s:.1f} s; compared {len(expected['orders'])} "
        f"orders, {len(expected['fills'])} fills, {len(expected['trades'])} trades, "
        f"{len(expected['decisions'])} decisions"
    )
    lost_or_extra = differences(expected, actual)
    decisions = lost_or_extra.pop("decisions", {"lost": [], "extra": []})
    assert not lost_or_extra, pformat(lost_or_extra, width=150)  # orders, fills, trades, balances: equal
    assert not decisions["extra"], pformat(decisions, width=150)  # no cycle decided twice
    # a kill after the exchange filled a cycle's order and before its decision was written loses that one row
    # (the order and trade are booked by the restart): no other decision may be missing
    assert all(row[3] == "executed" for row in decisions["lost"]), pformat(decisions, width=150)
    assert kills == KILLS, f"the replay ended after {kills} kills: lengthen it"
    assert len(expected["orders"]) >= 20 and expected["trades"], "too few orders for the comparison to mean much"
