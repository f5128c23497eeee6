"""A worker process's side of the jobs: the runtime it builds engines with, and one pair's step per job.

The runtime (LiveRuntime, or the replay runtime on the same candles as the gateway) lives as long as the worker:
its hubs are this worker's market data and indicators, fetched and computed once per (exchange, symbol,
timeframe, candle) whatever the number of pairs. Engines do not outlive their job: the next job of a pair may
run on another machine, so each job builds the engine from the database (PairEngine.start loads the stored state
and reconciles the unresolved orders by client order id), steps it once and drops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger
from sqlalchemy import event

from db.database import Database
from db.repositories.heartbeats import HeartbeatRepository
from db.repositories.pairs import PairRepository
from distributed.claims import ConsultationClaims
from distributed.unit import UnitDatabase
from domain.money import ms_to_datetime
from engine.live import RUNNABLE, LiveRuntime, PairNotRunnable
from engine.pair_engine import PairEngine


@dataclass(slots=True)
class NodeCounters:
    steps: int = 0
    atomic: int = 0  # steps inside one transaction (paper accounts)
    skipped: int = 0  # the pair was removed, stopped or in error since the job was deferred
    queries: int = 0  # SQL statements this worker's engine databases executed (count_queries)
    seconds: float = 0.0  # wall time inside step_pair

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


def count_queries(database: Database, counters: NodeCounters) -> None:
    """Count every statement the database executes (the benchmark's database load)."""

    def executed(*_: Any) -> None:
        counters.queries += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", executed)


class WorkerNode:
    def __init__(
        self,
        runtime: LiveRuntime,
        database: UnitDatabase,
        claims: ConsultationClaims,
        *,
        advance: Callable[[int], Any] | None = None,
    ) -> None:
        """advance(ts): a replay's clock moved to the job's tick, so the worker sees the gateway's candles."""
        self.runtime, self.database, self.claims = runtime, database, claims
        self._advance = advance
        self.counters = NodeCounters()

    async def step_pair(self, user_id: int, symbol: str, ts: int, job: Any = None) -> str:
        """The pair's engine, built from the database, stepped once at `ts` (the manager's step), then dropped."""
        started = time.perf_counter()
        try:
            return await self._step_pair(user_id, symbol, ts, job)
        finally:
            self.counters.seconds += time.perf_counter() - started

    async def _step_pair(self, user_id: int, symbol: str, ts: int, job: Any) -> str:
        self.claims.worker_id = getattr(job, "worker_id", None)
        if self._advance is not None:
            self._advance(ts)
        async with self.database.transaction() as session:
            row = await PairRepository(session).get(user_id, symbol)
        if row is None or row.status not in RUNNABLE:
            self.counters.skipped += 1
            return "skipped"
        try:
            try:
                engine = await self.runtime.build_engine(row)
            except PairNotRunnable as exc:
                await self.runtime.store.set_pair_status(user_id, symbol, "error", f"could not start: {exc}")
                logger.bind(user=user_id, symbol=symbol).warning("pair not runnable: {}", exc)
                return "not runnable"
            if _is_paper(engine):  # the whole step, its ledger included, commits at once or not at all
                self.counters.atomic += 1
                async with self.database.unit():
                    await self._step(engine, ts)
            else:  # orders leave for an exchange: each write commits as it happens (write-ahead), as in one process
                await self._step(engine, ts)
        finally:
            await self.runtime.remove_pair(user_id, symbol)
        self.counters.steps += 1
        return "stepped"

    async def close_position(self, user_id: int, symbol: str, ts: int) -> str:
        """/close from the gateway: the pair's engine, built from the database, closes at market (what the
        single-process control does), then is dropped."""
        if self._advance is not None:
            self._advance(ts)
        try:
            trade = await self.runtime.control().close_position(user_id, symbol)
        finally:
            await self.runtime.remove_pair(user_id, symbol)
        return "closed" if trade is not None else "flat"

    async def resume_breakers(self, user_id: int, ts: int) -> str:
        """A breaker's /resume from the gateway: every runnable pair's engine of the user loaded, their breakers
        reset through the single-process control (each engine stores and announces its own), then dropped."""
        if self._advance is not None:
            self._advance(ts)
        async with self.database.transaction() as session:
            rows = [row for row in await PairRepository(session).list_for_user(user_id) if row.status in RUNNABLE]
        control = self.runtime.control()
        try:
            for row in rows:
                await control.pair_added(user_id, row.symbol)
            events = await control.resume_breaker(user_id)
        finally:
            for row in rows:
                await self.runtime.remove_pair(user_id, row.symbol)
        return f"{len(events)} reopened"

    async def _step(self, engine: PairEngine, ts: int) -> None:
        await engine.step(ts)
        status = "paused" if engine.config.paused else "running"
        async with self.database.transaction() as session:
            await HeartbeatRepository(session).beat(
                engine.user_id, engine.symbol, status, at=ms_to_datetime(ts), total_cycles=engine.state.cycles
            )


def _is_paper(engine: PairEngine) -> bool:
    """A paper account (its state in this database), as the engine itself tells it: it processes its own fills."""
    return getattr(engine.exchange, "process", None) is not None
