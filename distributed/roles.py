"""The two roles' wiring: a worker (engines only, any number of them) and the gateway's scheduler and sweeper.

Both roles read the same settings; both refuse SQLite (procrastinate keeps its jobs in PostgreSQL). A worker's
runtime is LiveRuntime, or on replayed candles the replay runtime in stepped mode, its clock moved to each job's
tick. The notifier is given by the caller (bot: the alert outbox in the database, which the gateway drains), so
this package never imports a transport.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from adapters.ai.factory import build_ensemble
from adapters.ai.shared import SharedEnsemble
from config.settings import Settings
from db.database import Database
from db.encryption import SecretBox
from db.vote_recorder import DbVoteRecorder
from distributed.app import apply_schema, build_app, require_postgres
from distributed.claims import ClaimedEnsemble, ConsultationClaims
from distributed.node import WorkerNode, count_queries
from distributed.scheduler import CycleScheduler, Sweeper
from distributed.tasks import QUEUE
from distributed.unit import UnitDatabase
from domain.market import MarketType
from engine.live import LiveRuntime
from engine.market_hub import MarketHub
from engine.notifier import Notifier

STATS_PREFIX = "quorum-worker-stats "


@dataclass(slots=True)
class NodeOptions:
    replay: Path | None = None  # trade the replay of this candle file (as `quorum run --replay`), stepped per job
    symbol: str = "BTC/USDT"
    concurrency: int = 8  # jobs one worker runs at once (they mostly wait: on the database, the exchange, LLMs)
    name: str | None = None
    heartbeat_s: float = 2.0  # procrastinate worker heartbeat
    stalled_after_s: float = 10.0  # no heartbeat for this long: the worker is taken for dead


@dataclass(slots=True)
class Worker:
    node: WorkerNode
    app: Any
    database: UnitDatabase
    detached: Database
    ensemble: SharedEnsemble

    async def run(self, options: NodeOptions) -> None:
        """Run jobs until SIGTERM / SIGINT (procrastinate's handlers: the jobs in progress finish first)."""
        name = options.name or f"{socket.gethostname()}-{os.getpid()}"
        async with self.app.open_async():
            logger.info("worker {} running jobs of queue {} (concurrency {})", name, QUEUE, options.concurrency)
            await self.app.run_worker_async(
                queues=[QUEUE], name=name, concurrency=options.concurrency, additional_context={"node": self.node},
                update_heartbeat_interval=options.heartbeat_s, stalled_worker_timeout=options.stalled_after_s,
                delete_jobs="successful", install_signal_handlers=True,
            )  # fmt: skip
        claims = self.node.claims
        figures = self.node.counters.as_dict() | {
            "claimed": claims.claimed, "waited": claims.waited, "taken_over": claims.taken_over,
            "timed_out": claims.timed_out, "job_queries": self.app.connector.queries,
            "hub": asdict(self._hub().counters),
        }  # fmt: skip
        print(STATS_PREFIX + json.dumps(figures), flush=True)  # for bench/bench_distributed.py

    def _hub(self) -> MarketHub:
        """The hub of the default exchange's perpetual market (the one a replay trades)."""
        runtime = self.node.runtime
        return runtime.hub_for(runtime.settings.default_exchange, MarketType.PERPETUAL)

    async def close(self) -> None:
        await self.node.runtime.stop()
        await self.ensemble.close()
        await self.database.dispose()
        await self.detached.dispose()


async def build_worker(
    settings: Settings, options: NodeOptions, notifier_for: Callable[[Database], Notifier], box: SecretBox | None
) -> Worker:
    url = settings.database_url
    require_postgres(url)
    await apply_schema(url)
    database = UnitDatabase(url, pool_size=options.concurrency + 2, max_overflow=4)
    detached = Database(url, pool_size=2, max_overflow=2)  # claims and votes: visible to the others at once
    claims = ConsultationClaims(detached, stalled_after_s=options.stalled_after_s)
    ensemble = SharedEnsemble(ClaimedEnsemble(build_ensemble(settings), claims, DbVoteRecorder(detached)))
    notifier = notifier_for(database)
    advance: Callable[[int], Any] | None = None
    runtime: LiveRuntime
    if options.replay is not None:
        from engine.replay_runtime import build_replay_runtime

        world = build_replay_runtime(
            database, settings, notifier, ensemble, data=options.replay, symbol=options.symbol, stepped=True
        )
        runtime, clock = world.runtime, world.feed.clock

        def advance(ts: int) -> None:
            clock.advance_to(max(ts, clock.now_ms()))  # a replay's clock never runs back

    else:
        runtime = LiveRuntime(database, settings, notifier, ensemble, box=box, stepped=True)
    node = WorkerNode(runtime, database, claims, advance=advance)
    count_queries(database, node.counters)
    count_queries(detached, node.counters)
    app = build_app(url, max_size=3)
    return Worker(node, app, database, detached, ensemble)


@dataclass(slots=True)
class Scheduling:
    """The gateway's part: the procrastinate app, the scheduler (and its sweeper) running in a task."""

    app: Any
    scheduler: CycleScheduler
    task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.app.close_async()


async def start_scheduling(
    database: Database,
    runtime: LiveRuntime,
    *,
    wait_for_jobs: bool = False,
    stalled_after_s: float = 10.0,
    start: bool = True,
) -> Scheduling:
    """The scheduler on the runtime's clock and ticks (the gateway's runtime runs no engine itself)."""
    require_postgres(database.url)
    await apply_schema(database.url)
    app = build_app(database.url, max_size=3)
    await app.open_async()
    scheduler = CycleScheduler(
        app, database, runtime.clock, tick_ms=runtime.manager.tick_ms, cycle_ms=runtime.cycle_ms,
        sweeper=Sweeper(app, stalled_after_s), wait_for_jobs=wait_for_jobs,
    )  # fmt: skip
    scheduling = Scheduling(app, scheduler)
    if start:
        scheduling.task = asyncio.create_task(scheduler.run(), name="cycle scheduler")
    return scheduling
