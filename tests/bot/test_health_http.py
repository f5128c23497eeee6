"""The one HTTP endpoint of `quorum run` (METRICS_PORT), on 127.0.0.1 over real HTTP: /healthz while the loop
runs, /readyz naming each check (database, Telegram, engines) and answering 503 with the one that fails, and
/metrics in Prometheus' text format following the running engines."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

from adapters.exchange.candle_file import shipped_candle_file
from bot.health_http import HealthServer, NotReady
from bot.readiness import TelegramCheck, database_check, start_health
from bot.router import Actor
from bot.run import Quorum, RunOptions, assemble
from config.settings import Settings
from db.database import Database
from telemetry import Metrics
from tests.bot.scrape import get, get_json, scrape, value
from tests.fakes.telegram_api import FakeTelegram
from tests.local_http import free_port

USERS = (7101, 7102)


@pytest.fixture
async def quorum(tmp_path: Path) -> AsyncIterator[Quorum]:
    settings = Settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'quorum.db'}", metrics_port=0,
        cycle_interval_minutes=60, telegram_bot_token=None, openai_api_key=None, anthropic_api_key=None,
        deepseek_api_key=None, openai_compatible_base_url=None,
    )  # fmt: skip
    running = await assemble(settings, RunOptions(replay=shipped_candle_file(), speed=3600 * 36), None, None)
    try:
        yield running
    finally:
        await running.stop()


async def eventually_scraped(base: str, ready: object, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(base)
        if ready(samples):  # type: ignore[operator]
            return samples
        assert time.monotonic() < deadline, "the metrics did not get there in time"
        await asyncio.sleep(0.2)


async def test_endpoint_when_quorum_runs_on_history_then_ready_and_the_metrics_follow_the_engines(
    quorum: Quorum,
) -> None:
    await quorum.start_http()
    assert quorum.http is not None and quorum.http.port
    base = f"http://127.0.0.1:{quorum.http.port}"
    status, alive = await get_json(base, "/healthz")
    assert status == 200 and alive["status"] == "alive"
    status, body = await get_json(base, "/readyz")
    assert status == 200 and body["ready"] and body["not_ready"] == []
    assert body["checks"]["engines"]["detail"] == "0 of 0 running"  # nothing to run yet: ready all the same
    assert body["checks"]["telegram"]["detail"].startswith("n/a") and body["checks"]["database"]["ready"]
    start = await scrape(base)

    for telegram_id in USERS:
        actor = Actor(telegram_id, username=f"u{telegram_id}", name="User")
        for command in ("/start", "/connect paper 10000", "/addpair BTC/USDT 1000"):
            assert await quorum.router.text(actor, command), command
    cycles, latency = value(start, "quorum_cycles_total"), "quorum_provider_latency_seconds_count"

    def answered(samples: dict, analyst: str) -> bool:  # an offline analyst abstains on a short history, untimed
        return value(samples, latency, provider=analyst) > value(start, latency, provider=analyst)

    analysts = quorum.settings.offline_analysts
    samples = await eventually_scraped(
        base, lambda s: value(s, "quorum_cycles_total") >= cycles + 20 and all(answered(s, a) for a in analysts)
    )

    assert value(samples, "quorum_engines") == value(samples, "quorum_engines_alive") == len(USERS)
    assert 0 <= value(samples, "quorum_open_positions") <= len(USERS)
    assert value(samples, "quorum_cycle_duration_seconds_count") > value(start, "quorum_cycle_duration_seconds_count")
    decisions = value(samples, "quorum_decision_duration_seconds_count")
    assert decisions > value(start, "quorum_decision_duration_seconds_count")
    status, _, text = await get(base, "/metrics")
    assert "# TYPE quorum_cycles_total counter" in text and "process_cpu_seconds_total" in text

    key = next(iter(quorum.runtime.manager.tasks))
    quorum.runtime.manager.tasks[key].cancel()  # one engine's task dies
    await asyncio.sleep(0.05)
    status, body = await get_json(base, "/readyz")
    assert status == 503 and body["not_ready"] == ["engines"]
    assert body["checks"]["engines"]["detail"].startswith("1 of 2 engines not running")
    assert value(await scrape(base), "quorum_engines_alive") == len(USERS) - 1


async def test_endpoint_when_the_port_is_taken_then_quorum_runs_on_without_it(quorum: Quorum) -> None:
    await quorum.start_http()
    assert quorum.http is not None
    second = await start_health(quorum.database, quorum.runtime, quorum.http.port)
    assert second is None  # logged as an error; trading never waits on metrics
    status, _, _ = await get(f"http://127.0.0.1:{quorum.http.port}", "/healthz")
    assert status == 200


async def test_readyz_when_the_database_is_unreachable_or_a_check_hangs_then_503_names_each(tmp_path: Path) -> None:
    unreachable = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere")
    reachable = Database(f"sqlite+aiosqlite:///{tmp_path / 'up.db'}")

    async def hangs() -> str:
        await asyncio.sleep(60)
        return "never"

    async def broken() -> str:
        raise KeyError("a bug in a check")

    async def fine() -> str:
        return "all good"

    # The first use of a Database imports its driver and builds its dialect: on a loaded machine that alone can
    # outlast a short timeout, so each is used once before the timed checks (a refused connection is then fast).
    for database in (unreachable, reachable):
        with contextlib.suppress(NotReady):
            await database_check(database)()
    checks = {"database": database_check(unreachable), "spare": database_check(reachable), "telegram": hangs,
              "engines": broken, "other": fine}  # fmt: skip
    server = HealthServer(checks, Metrics(process=False).registry, host="127.0.0.1", check_timeout_s=2.0)
    port = await server.start()
    try:
        status, body = await get_json(f"http://127.0.0.1:{port}", "/readyz")
        status_metrics, content_type, text = await get(f"http://127.0.0.1:{port}", "/metrics")
    finally:
        await server.stop()
        await unreachable.dispose()
        await reachable.dispose()

    assert status == 503 and sorted(body["not_ready"]) == ["database", "engines", "telegram"]
    assert body["checks"]["database"]["detail"].startswith("unreachable (")
    assert "postgres@" not in str(body)  # no connection details in the answer
    assert body["checks"]["telegram"]["detail"] == "no answer within 2s"
    assert body["checks"]["engines"]["detail"] == "check failed: KeyError"
    assert body["checks"]["spare"] == {"ready": True, "detail": "reachable"}
    assert body["checks"]["other"] == {"ready": True, "detail": "all good"}
    assert status_metrics == 200 and content_type.startswith("text/plain") and "quorum_engines_alive 0.0" in text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_telegram_check_when_getme_answers_then_ready_for_a_while_and_not_ready_once_it_fails() -> None:
    async with FakeTelegram() as telegram:
        bot = Bot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
        await bot.initialize()
        try:
            clock = Clock()
            check = TelegramCheck(bot.get_me, fresh_s=30, clock=clock)
            calls = telegram.calls["getMe"]
            assert await check() == "getMe answered"
            clock.now += 10
            assert (await check()).startswith("getMe answered 10s ago")
            assert telegram.calls["getMe"] == calls + 1  # a probe every few seconds is not a call each
            clock.now += 30
            telegram.fail("getMe", times=1, status=502)
            with pytest.raises(NotReady, match="Bot API unreachable"):
                await check()
            assert await check() == "getMe answered"  # Telegram is back
        finally:
            await bot.shutdown()
