"""Issue 11: PostgreSQL restarted in the middle of a `quorum run --replay`: the engines wait for it and go on by
themselves (no crash loop, no pair in `error`, the process does not exit), no record is lost (the books equal an
uninterrupted run's), and each user is told once about the outage, not once per cycle; the log says it once too.

The server is a private one (tests/faults/private_postgres.py), so the shared server stays up for other tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest

from db.database import Database
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.replay_books import USERS, books, differences, eventually, progress, scalar, set_up, start_replay
from tests.quorum_process import kill_quorum

END = "2017-07-06"  # ~110 hourly candles from the file's start, 3 pairs
DOWN_S = 4.0
TOLD = "could not reach its database"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        server = PrivatePostgres()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def reference_url(postgres_factory: Any) -> str:
    return postgres_factory.new_url()


@pytest.mark.slow
async def test_quorum_run_when_postgres_restarts_mid_run_then_engines_wait_resume_and_tell_each_user_once(
    private_postgres: PrivatePostgres, reference_url: str, tmp_path: Path
) -> None:
    url = private_postgres.create_database("quorum")
    for each in (reference_url, url):
        await set_up(each)
    reference_run = await start_replay(reference_url, tmp_path / "reference.log", END)
    try:
        assert await reference_run.wait() == 0
    finally:
        await kill_quorum(reference_run)

    log = tmp_path / "quorum.log"
    process = await start_replay(url, log, END)
    database = Database(url)
    try:
        first = 1_498_914_000_000  # 2017-07-01 13:00, the second candle: then 40 more
        assert await eventually(lambda: _past(database, first + 40 * 3_600_000), timeout_s=120)
        await database.dispose()
        await asyncio.to_thread(private_postgres.stop)  # mid-run: the engines meet a closed server
        await asyncio.sleep(DOWN_S)
        assert process.returncode is None, log.read_text()[-3000:]
        await asyncio.to_thread(private_postgres.start)
        assert await asyncio.wait_for(process.wait(), timeout=180) == 0, log.read_text()[-3000:]
        actual = await books(database)
        errors = await scalar(database, "SELECT count(*) FROM user_pairs WHERE status <> 'active'")
        told = await _told(database)
    finally:
        await kill_quorum(process)
        await database.dispose()
    reference = Database(reference_url)
    try:
        expected = await books(reference)
    finally:
        await reference.dispose()

    assert errors == 0, "a pair left trading"
    lost_or_extra = differences(expected, actual)
    decisions = lost_or_extra.pop("decisions", {"lost": [], "extra": []})
    assert not lost_or_extra, pformat(lost_or_extra, width=150)
    assert not decisions["extra"], pformat(decisions, width=150)
    assert all(row[3] == "executed" for row in decisions["lost"]), pformat(decisions, width=150)
    assert told == {telegram_id: 1 for telegram_id, *_ in USERS}, told
    text = log.read_text()
    assert text.count("database unavailable") == 1 and text.count("database back after") == 1, text[-3000:]


async def _past(database: Database, candle_ms: int) -> bool:
    try:
        return await progress(database) >= candle_ms
    except Exception:  # noqa: BLE001 - not migrated yet
        return False


async def _told(database: Database) -> dict[int, int]:
    async with database.transaction() as session:
        from sqlalchemy import text

        rows = await session.execute(
            text(
                "SELECT u.telegram_id, count(*) FROM alert_outbox o JOIN users u ON u.id = o.user_id "
                "WHERE o.text LIKE :told GROUP BY 1"
            ),
            {"told": f"%{TOLD}%"},
        )
        return {int(tid): int(n) for tid, n in rows.all()}
