"""The distributed runs' shared pieces: a fake LLM pair that trades, settings for every process, users set up
through the service, the single-process reference run and the run on worker processes, and the books compared.

Both runs are the live runtime on the shipped replay candles, paper accounts in PostgreSQL, the alert outbox,
and two LLM analysts behind the local fake LLM server (each answer 200 ms late): the reference steps one
process's manager tick by tick; the distributed run has the gateway's scheduler (in this process) defer each
tick's jobs and wait for `quorum run --role worker` processes to run them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.candle_file import shipped_candle_file
from bot.outbox import OutboxNotifier, OutboxSender
from config.settings import Settings
from db.database import Database
from db.models import AlertOutbox, FillRow, OrderRow, TradeDecision, TradeRow, User
from db.vote_recorder import DbVoteRecorder
from distributed.roles import start_scheduling
from domain.money import datetime_to_ms
from engine.replay_runtime import ReplayRuntime, build_replay_runtime
from engine.service import QuorumService
from tests.ai.fake_llm import FakeLLMServer, Reply, decision_json
from tests.engine.live_support import migrated_database

HOUR = 3_600_000
START = datetime_to_ms(datetime(2018, 1, 1, tzinfo=UTC))
LATENCY_S = 0.2
MODELS = ("fake-a", "fake-b")
FIRST_TELEGRAM_ID = 70_000
QUORUM = Path(sys.executable).parent / "quorum"
_PRICE = re.compile(r"Current price: ([0-9.]+)")
_POSITION = re.compile(r"Position: (\w+)")


def trader_answer(model: str, body: dict[str, Any]) -> Reply:
    """Both models answer alike, from the prompt alone (so every run gets the same answers): flat, they enter
    long or short with levels around the price; in a position they mostly hold and sometimes close."""
    prompt = str(body["messages"][-1]["content"])
    price_match, position_match = _PRICE.search(prompt), _POSITION.search(prompt)
    price = Decimal(price_match.group(1)) if price_match else Decimal(0)
    position = position_match.group(1) if position_match else "flat"
    pick = int(price) % 7
    if position != "flat":
        action = "CLOSE" if pick == 0 else "HOLD"
        return Reply(content=decision_json(action, 0.8, None, None, "position check"), delay_s=LATENCY_S)
    if pick in (1, 2):
        return Reply(content=decision_json("HOLD", 0.5, None, None, "wait"), delay_s=LATENCY_S)
    if pick in (3, 4, 5):
        stop, target = price * Decimal("0.985"), price * Decimal("1.03")
        action = "BUY"
    else:
        stop, target = price * Decimal("1.015"), price * Decimal("0.97")
        action = "SELL"
    content = decision_json(action, 0.8, float(round(stop, 2)), float(round(target, 2)), "fake analyst")
    return Reply(content=content, delay_s=LATENCY_S)


async def start_llm() -> FakeLLMServer:
    return await FakeLLMServer(answer=trader_answer).start()


def settings_values(database_url: str, llm_url: str, cycle_minutes: int = 120) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "openai_api_key": "test-key",
        "openai_base_url": f"{llm_url}/v1",
        "openai_model": MODELS[0],
        "openai_compatible_base_url": f"{llm_url}/v1",
        "openai_compatible_model": MODELS[1],
        "anthropic_api_key": None,
        "deepseek_api_key": None,
        "offline_analysts": [],
        "cycle_interval_minutes": cycle_minutes,  # 120: cycles every other hour, monitoring jobs in between
        "ai_provider_timeout_s": 20.0,
        "log_level": "WARNING",
    }


def settings_of(values: dict[str, Any]) -> Settings:
    return Settings(_env_file=None, **values)


def worker_env(values: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUORUM_", "OPENAI", "ANTHROPIC", "DEEPSEEK"))}
    for key, value in values.items():
        if value is None:
            env.pop(key.upper(), None)
        elif isinstance(value, list):
            env[key.upper()] = "[" + ",".join(f'"{v}"' for v in value) + "]"
        else:
            env[key.upper()] = str(value)
    env["TELEGRAM_BOT_TOKEN"] = ""
    return env


def replay_world(database: Database, settings: Settings, recorder: bool) -> ReplayRuntime:
    ensemble = build_shared_ensemble(settings, DbVoteRecorder(database) if recorder else None)
    return build_replay_runtime(
        database, settings, OutboxNotifier(database), ensemble, data=shipped_candle_file(), start_ms=START, stepped=True
    )


async def add_users(database: Database, settings: Settings, world: ReplayRuntime, count: int) -> None:
    """`count` Telegram users, each with a paper account and a BTC/USDT pair, through the service (no engines);
    several at once (the books are compared by Telegram id, so the order of their database ids does not matter)."""
    service = QuorumService(database, settings, gateway=world.gateway, control=None, clock=world.clock)

    async def add(index: int) -> None:
        telegram_id = FIRST_TELEGRAM_ID + index
        balance = 1000 + 500 * (index % 5)
        await service.accounts.register(telegram_id, f"user{index}")
        await service.accounts.connect_paper(telegram_id, str(balance))
        await service.pairs.add(telegram_id, "btc/usdt", str(balance * 2 // 5), 1 + index % 3)

    for start in range(0, count, 8):
        await asyncio.gather(*(add(index) for index in range(start, min(count, start + 8))))


@dataclass
class Books:
    orders: list[tuple]
    fills: list[tuple]
    trades: list[tuple]
    decisions: list[tuple]  # (user, candle, action, outcome, reason code)
    alerts: list[tuple]  # (user, kind, text)
    consultations: int  # distinct consultation keys the decisions used
    sent_alerts: int = 0
    requests: int = 0  # LLM requests the fake server answered during the run
    prompts: list[str] = field(default_factory=list)  # those requests' bodies (model and messages), in order
    extra: dict[str, Any] = field(default_factory=dict)

    def comparable(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "fills": self.fills,
            "trades": self.trades,
            "decisions": self.decisions,
            "alerts": sorted(self.alerts),
            "consultations": self.consultations,
        }


async def read_books(database: Database) -> Books:
    async with database.transaction() as session:
        orders = await session.execute(
            select(OrderRow.user_id, OrderRow.client_order_id, OrderRow.status, OrderRow.filled, OrderRow.fee,
                   OrderRow.average).order_by(OrderRow.user_id, OrderRow.client_order_id)
        )  # fmt: skip
        fills = await session.execute(
            select(FillRow.user_id, FillRow.price, FillRow.amount, FillRow.fee, FillRow.executed_at)
            .order_by(FillRow.user_id, FillRow.executed_at, FillRow.price, FillRow.amount)
        )  # fmt: skip
        trades = await session.execute(
            select(TradeRow.user_id, TradeRow.side, TradeRow.amount, TradeRow.entry_price, TradeRow.exit_price,
                   TradeRow.realized_pnl, TradeRow.close_reason, TradeRow.opened_at, TradeRow.closed_at)
            .order_by(TradeRow.user_id, TradeRow.opened_at)
        )  # fmt: skip
        decisions = await session.execute(
            select(TradeDecision.user_id, TradeDecision.consultation_key, TradeDecision.action, TradeDecision.outcome,
                   TradeDecision.reason_code).order_by(TradeDecision.user_id, TradeDecision.id)
        )  # fmt: skip
        alerts = await session.execute(select(AlertOutbox.user_id, AlertOutbox.kind, AlertOutbox.text))
        sent = await session.scalar(text("SELECT count(*) FROM alert_outbox WHERE sent_at IS NOT NULL"))
        # every consultation a decision used (ai_decisions would do too, but on PostgreSQL its prompt_version
        # column is narrower than the prompt version the LLM votes carry, so their rows are not stored there)
        keys = await session.scalar(text("SELECT count(DISTINCT consultation_key) FROM trade_decisions"))
        telegram = dict((await session.execute(select(User.id, User.telegram_id))).all())

    def who(row: Any) -> tuple:  # the user as the Telegram id's index, the same in every run
        return (telegram[row[0]] - FIRST_TELEGRAM_ID, *row[1:])

    def cid(order: tuple) -> tuple:  # the client order id without its user part (q<user>-<minute>-<intent>-...)
        return (order[0], "-".join(order[1].split("-")[1:3]), *order[2:])

    return Books(
        orders=sorted(cid(who(r)) for r in orders),
        fills=sorted(who(r) for r in fills),
        trades=sorted(who(r) for r in trades),
        decisions=sorted((telegram[r[0]] - FIRST_TELEGRAM_ID, int(r[1].split(":")[2]), *r[2:]) for r in decisions),
        alerts=[who(r) for r in alerts],
        consultations=int(keys or 0),
        sent_alerts=int(sent or 0),
    )


async def single_process_run(url: str, values: dict[str, Any], users: int, end_ms: int, llm: FakeLLMServer) -> Books:
    settings = settings_of(values)
    async with migrated_database(url) as database:
        world = replay_world(database, settings, recorder=True)
        await add_users(database, settings, world, users)
        before = len(llm.requests)
        await world.runtime.start()
        await world.run_stepped(START, end_ms)
        await world.runtime.stop()
        await world.runtime.ensemble.close()
        books = await read_books(database)
    books.requests, books.prompts = len(llm.requests) - before, bodies(llm, before)
    return books


def bodies(llm: FakeLLMServer, since: int) -> list[str]:
    return [json.dumps(body, sort_keys=True) for _, _, body in llm.requests[since:]]


def start_worker(values: dict[str, Any], index: int, log_dir: Path, concurrency: int = 8) -> subprocess.Popen:
    log = (log_dir / f"worker{index}.log").open("wb")
    command = [
        str(QUORUM), "run", "--role", "worker", "--replay", str(shipped_candle_file()), "--concurrency",
        str(concurrency),
    ]  # fmt: skip
    return subprocess.Popen(command, env=worker_env(values), cwd=log_dir, stdout=log, stderr=subprocess.STDOUT)


async def workers_registered(database: Database, count: int, timeout_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        async with database.transaction() as session:
            found = await session.scalar(text("SELECT to_regclass('procrastinate_workers') IS NOT NULL"))
            live = await session.scalar(text("SELECT count(*) FROM procrastinate_workers")) if found else 0
        if live >= count:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"only {live} of {count} workers registered")
        await asyncio.sleep(0.2)


@dataclass
class Kill:
    """SIGKILL worker `worker` this long after tick number `after_ticks` was deferred (its jobs in flight)."""

    after_ticks: int
    delay_s: float = 0.15
    worker: int = 0
    killed_at: int | None = None
    asked_before: int | None = None  # LLM requests of the run the server had received by the worker's death


async def distributed_run(
    url: str,
    values: dict[str, Any],
    users: int,
    end_ms: int,
    llm: FakeLLMServer,
    log_dir: Path,
    *,
    workers: int = 3,
    kill: Kill | None = None,
    concurrency: int = 8,
) -> Books:
    settings = settings_of(values)
    sent: list[tuple[int, str]] = []

    async def send(chat_id: int, html: str) -> None:
        sent.append((chat_id, html))

    async with migrated_database(url) as database:
        world = replay_world(database, settings, recorder=False)  # the gateway's runtime: its clock and ticks
        await add_users(database, settings, world, users)
        scheduling = await start_scheduling(database, world.runtime, wait_for_jobs=True, start=False)
        procs = [start_worker(values, i, log_dir, concurrency) for i in range(workers)]
        sender = OutboxSender(database, send, idle_s=0.2)
        sending = asyncio.create_task(sender.run())
        scheduler = scheduling.scheduler
        loop = asyncio.get_running_loop()
        before = len(llm.requests)

        def count_asked(kill: Kill) -> None:
            kill.asked_before = len(llm.requests) - before

        def kill_now(kill: Kill) -> None:
            procs[kill.worker].send_signal(signal.SIGKILL)
            # a request the worker wrote just before it died may reach the server a moment later; no other
            # worker can ask again that soon (the sweeper hands a dead worker's jobs on after seconds)
            loop.call_later(0.1, count_asked, kill)

        def on_tick(tick: int) -> None:
            if kill is not None and len(scheduler.reports) == kill.after_ticks:
                kill.killed_at = tick + world.runtime.manager.tick_ms
                loop.call_later(kill.delay_s, kill_now, kill)

        try:
            await workers_registered(database, workers)
            await scheduler.run(START, end_ms, on_tick)
            requests, prompts = len(llm.requests) - before, bodies(llm, before)
            await _drain(database, sender)
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                await asyncio.to_thread(proc.wait, 30)
            await scheduling.close()
            await world.runtime.ensemble.close()
        books = await read_books(database)
        books.extra = {
            "statuses": sum((r.statuses for r in scheduler.reports), Counter()),
            "behind": sum(r.behind for r in scheduler.reports),
            "swept": scheduler.sweeper.retried if scheduler.sweeper else 0,
            "ticks": len(scheduler.reports),
            "seconds": sum(r.seconds for r in scheduler.reports),
            "sent": len(sent),
            "cycle_seconds": [r.seconds for r in scheduler.reports if r.tick_ms % scheduler.cycle_ms == 0],
            "gateway_queries": scheduling.app.connector.queries,
        }
    books.requests, books.prompts = requests, prompts
    return books


async def _drain(database: Database, sender: OutboxSender, timeout_s: float = 30.0) -> None:
    """Until the outbox holds no unsent alert (the sender delivers them as the workers queue them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        async with database.transaction() as session:
            unsent = await session.scalar(text("SELECT count(*) FROM alert_outbox WHERE sent_at IS NULL"))
        if not unsent:
            return
        await sender.deliver_due()
        await asyncio.sleep(0.1)
    raise TimeoutError("alerts left unsent")
