"""One ensemble call per (exchange, symbol, candle, position side, ensemble configuration).

However many engines ask at once, the first starts the call and the others await the same future; the answers
of the newest two candles of each (exchange, symbol, position side) answer late askers for the same candle. The
call runs in its own task, so an engine that is cancelled while waiting does not cancel the answer the others are
waiting for. Votes are recorded once.

An ensemble of synchronous analysts with no recorder answers in the caller's task: nothing in that call
awaits, so no other engine can ask meanwhile and no cancellation can land in it; the task would add only cost.

An observer, when given (`quorum run` gives the process's metrics), sees every consultation with its duration:
the cached answers are not consultations. Without one (backtests) nothing is timed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from loguru import logger

from adapters.ai.ensemble import Ensemble
from adapters.ai.port import VoteRecorder
from domain.recent import RecentSlots
from domain.snapshot import MarketSnapshot, SnapshotKey, consultation_key
from domain.vote import ConsensusResult

SharedKey = tuple[SnapshotKey, str]
ConsultationObserver = Callable[[ConsensusResult, float], None]  # (the result, its duration in seconds)


class SharedEnsemble:
    def __init__(
        self,
        ensemble: Ensemble,
        recorder: VoteRecorder | None = None,
        observer: ConsultationObserver | None = None,
    ) -> None:
        self.ensemble = ensemble
        self._recorder = recorder
        self._observer = observer
        self._answers: RecentSlots[ConsensusResult] = RecentSlots()  # by _stream and candle
        self._in_flight: dict[SharedKey, asyncio.Task[ConsensusResult]] = {}
        self.calls = 0

    async def decide(self, snapshot: MarketSnapshot) -> ConsensusResult:
        snapshot_key = snapshot.key  # built on each read
        key = (snapshot_key, self.ensemble.fingerprint)
        cached = self._answers.get(_stream(key), snapshot_key.candle_ts)
        if cached is not None:
            return cached
        if self._recorder is None and self.ensemble.synchronous:
            self.calls += 1
            if self._observer is None:
                result = self.ensemble.decide_now(snapshot)
            else:
                started = time.perf_counter()
                result = self.ensemble.decide_now(snapshot)
                self._observer(result, time.perf_counter() - started)
            self._remember(key, result)
            return result
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._call(key, snapshot), name=f"ensemble {snapshot.symbol} {snapshot.key}")
            self._in_flight[key] = task
        return await asyncio.shield(task)

    async def close(self) -> None:
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.ensemble.close()

    async def _call(self, key: SharedKey, snapshot: MarketSnapshot) -> ConsensusResult:
        try:
            self.calls += 1
            started = time.perf_counter()
            result = await self.ensemble.decide(snapshot)
            if self._observer is not None:
                self._observer(result, time.perf_counter() - started)
            self._remember(key, result)
            await self._record(snapshot.key, result)
            return result
        finally:
            self._in_flight.pop(key, None)

    def _remember(self, key: SharedKey, result: ConsensusResult) -> None:
        self._answers.put(_stream(key), key[0].candle_ts, result)

    async def _record(self, snapshot_key: SnapshotKey, result: ConsensusResult) -> None:
        """A failing recorder is logged, never allowed to withhold a decision from the engines."""
        if self._recorder is None:
            return
        try:
            await self._recorder.record(snapshot_key, result, consultation_key(snapshot_key, self.ensemble.fingerprint))
        except Exception:
            logger.bind(symbol=snapshot_key.symbol).exception("could not record the ensemble's votes")


def _stream(key: SharedKey) -> tuple[str, str, object, str]:
    """(exchange, symbol, position side, ensemble fingerprint): answers of one stream differ by candle alone."""
    snapshot_key, fingerprint = key
    return snapshot_key.exchange, snapshot_key.symbol, snapshot_key.position_side, fingerprint
