"""`quorum run --replay` on PostgreSQL as a subprocess, driven through the fake Bot API like test_quorum_run: three
users trade while /metrics is scraped, SIGTERM stops it mid-run, a restart resumes every pair where it stopped,
and the database shows every order once, no order left unresolved and no fill lost or counted twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from db.database import Database
from tests.bot.scrape import Samples, get_json, scrape, value
from tests.bot.test_quorum_run import _start
from tests.conftest import PostgresFactory
from tests.fakes.telegram_api import FakeTelegram
from tests.local_http import free_port
from tests.quorum_process import kill_quorum, stop_quorum

USERS = ((8101, "Ann", "/addpair BTC/USDT 1000"), (8102, "Ben", "/addpair BTC/USDT 2000 2"),
         (8103, "Cid", "/addpair btcusdt 1500"))  # fmt: skip
SPEED = 3600 * 24  # a simulated day per second: 24 hourly cycles per pair


@pytest.fixture
def postgres_url(postgres_factory: PostgresFactory) -> str:
    return postgres_factory.new_url()


async def _metrics_until(base: str, ready: Callable[[Samples], bool], what: str, timeout: float = 120) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        try:
            samples = await scrape(base)
        except OSError:  # not listening yet
            samples = {}
        if samples and ready(samples):
            return samples
        assert time.monotonic() < deadline, f"/metrics never showed {what}"
        await asyncio.sleep(0.25)


async def _rows(database: Database, sql: str) -> list[Any]:
    async with database.transaction() as session:
        return list((await session.execute(text(sql))).all())


async def _pairs(database: Database) -> dict[tuple[int, str], tuple[int, int]]:
    """(user, symbol) -> (last candle, cycles in its heartbeat)."""
    rows = await _rows(
        database,
        "SELECT p.user_id, p.symbol, p.last_candle_ts, h.cycles FROM user_pairs p "
        "JOIN engine_heartbeats h ON h.user_id = p.user_id AND h.symbol = p.symbol",
    )
    return {(user, symbol): (int(last or 0), int(cycles)) for user, symbol, last, cycles in rows}


async def _quorum_running(telegram: FakeTelegram, url: str, log: Path, port: int) -> asyncio.subprocess.Process:
    env = {"DATABASE_URL": url, "METRICS_PORT": str(port)}
    return await _start(telegram, log.with_name("unused.db"), log, speed=SPEED, extra_env=env)


async def _stopped(process: asyncio.subprocess.Process, log: Path) -> None:
    try:
        assert await stop_quorum(process) == 0, log.read_text()[-3000:]
    finally:
        await kill_quorum(process)


@pytest.mark.slow
@pytest.mark.postgres
async def test_quorum_run_when_sigterm_mid_run_then_the_restart_resumes_every_pair_with_no_order_lost_or_doubled(
    telegram: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    log = tmp_path / "quorum.log"
    database = Database(postgres_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await _quorum_running(telegram, postgres_url, log, port)
    try:
        await telegram.wait_for_call("getUpdates", timeout=60)
        for telegram_id, name, addpair in USERS:
            user = telegram.user(telegram_id, name)
            for command in ("/start", "/connect paper 10000", addpair):
                await telegram.send_text(user, command)
                await telegram.wait_for_reply(user, timeout=30)
        first = await _metrics_until(
            base, lambda s: value(s, "quorum_engines_alive") == len(USERS) and value(s, "quorum_cycles_total") > 0,
            "every engine alive",
        )  # fmt: skip
        cycles = value(first, "quorum_cycles_total")
        await _metrics_until(base, lambda s: value(s, "quorum_cycles_total") > cycles, "the cycles growing")
        trading = await _metrics_until(  # mid-run: a position is open, its protective orders resting
            base, lambda s: value(s, "quorum_open_positions") >= 1, "an open position"
        )
        assert value(trading, "quorum_decision_duration_seconds_count") > 0
        assert value(trading, "quorum_engine_events_total", kind="position_opened") > 0
        assert value(trading, "quorum_alerts_queued_total") > 0
        status, ready = await get_json(base, "/readyz")
        assert status == 200 and ready["not_ready"] == [], ready
        assert ready["checks"]["telegram"]["detail"].startswith("getMe answered")
    finally:
        await _stopped(process, log)  # SIGTERM mid-run

    stopped = await _pairs(database)
    orders_before = {row[0]: row[1:] for row in await _rows(database, "SELECT id, client_order_id, status FROM orders")}
    assert len(stopped) == len(USERS) and orders_before

    polls = telegram.calls["getUpdates"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    restarted = await _quorum_running(telegram, postgres_url, log, port)
    try:
        await telegram.wait_for_call("getUpdates", count=polls + 1, timeout=60)
        resumed = await _metrics_until(
            base, lambda s: value(s, "quorum_engines_alive") == len(USERS) and value(s, "quorum_cycles_total") >= 30,
            "every engine alive again, cycling",
        )  # fmt: skip
        assert value(resumed, "quorum_engines") == len(USERS)
        await _metrics_until(  # orders placed and filled after the restart, beside the ones resumed
            base, lambda s: value(s, "quorum_orders_total", status="filled") >= 2, "trading again"
        )
        deadline = time.monotonic() + 60
        while not all(now[0] > stopped[key][0] for key, now in (await _pairs(database)).items()):
            assert time.monotonic() < deadline, "a pair did not resume"
            await asyncio.sleep(0.25)
    finally:
        await _stopped(restarted, log)

    try:
        after = await _pairs(database)
        assert after.keys() == stopped.keys()
        for key, (last_candle, cycles) in after.items():  # every pair went on from where it stopped
            assert last_candle > stopped[key][0] and cycles > stopped[key][1], key
        await _assert_every_order_once_and_every_fill_kept(database, orders_before)
    finally:
        await database.dispose()


async def _assert_every_order_once_and_every_fill_kept(database: Database, before: dict[int, tuple]) -> None:
    orders = await _rows(database, "SELECT id, client_order_id, status, purpose, filled FROM orders ORDER BY id")
    by_id = {row[0]: row for row in orders}
    assert len({row[1] for row in orders}) == len(orders), "a client order id was used twice"
    for order_id, (client_id, _status) in before.items():  # the first run's orders, kept as they were recorded
        assert by_id[order_id][1] == client_id
    assert not [row for row in orders if row[2] in ("pending", "unknown")], "an order was left unresolved"
    fills = dict(await _rows(database, "SELECT order_id, SUM(amount) FROM fills GROUP BY order_id"))
    for order_id, _cid, status, _purpose, filled in orders:  # no fill lost, none booked twice
        assert fills.get(order_id, 0) == filled, (order_id, status)
    trades = await _rows(database, "SELECT user_id, symbol, status, entry_order_id, exit_order_id FROM trades")
    entries = [row[3] for row in trades if row[3] is not None]
    exits = [row[4] for row in trades if row[4] is not None]
    assert len(entries) == len(set(entries)) and len(exits) == len(set(exits)), "an order booked in two trades"
    filled_entries = {row[0] for row in orders if row[3] == "entry" and row[4] > 0}
    assert filled_entries == set(entries), "a filled entry without its trade, or a trade without its entry"
    assert all(by_id[exit_id][2] == "filled" for exit_id in exits)
    open_trades = [(row[0], row[1]) for row in trades if row[2] == "open"]
    assert len(open_trades) == len(set(open_trades)), "two open trades on one pair"
    decisions = await _rows(
        database,
        "SELECT user_id, symbol, consultation_key, COUNT(*) FROM trade_decisions "
        "GROUP BY user_id, symbol, consultation_key HAVING COUNT(*) > 1",
    )
    assert decisions == [], "a candle was decided twice"
