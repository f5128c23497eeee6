"""Ask every analyst in parallel and reach a consensus over all their answers.

Each provider gets its own timeout, the whole call an overall deadline: those two bound the latency. There is
no earlier stop, because any answer still outstanding could change the decision (see consensus). Analysts still
running at the deadline are cancelled and recorded as abstentions ("timeout: overall deadline").

An ensemble of synchronous analysts only (the offline ones: CPU work with nothing to wait for, which no
timeout could interrupt anyway) asks them one after the other in the caller's task (decide_now): the same
votes, the same consensus, without a task, a timeout or a trip through the event loop per analyst.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, cast, runtime_checkable

from loguru import logger

from adapters.ai.consensus import ProviderWeights, consensus
from adapters.ai.port import AIProvider
from adapters.ai.prompt import PROMPT_VERSION
from adapters.ai.votes import Stopwatch, abstention
from domain.snapshot import MarketSnapshot
from domain.vote import ConsensusResult, Vote, check_weights

CANCELLED_DEADLINE = "timeout: overall deadline"
_INFO = logger.level("INFO").no


@dataclass(frozen=True, slots=True)
class EnsembleConfig:
    min_consensus: int = 2
    min_responders: int = 2
    provider_timeout_s: float = 20.0
    overall_deadline_s: float = 45.0
    weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_consensus < 1 or self.min_responders < 1:
            raise ValueError("min_consensus and min_responders must be at least 1")
        if self.provider_timeout_s <= 0 or self.overall_deadline_s <= 0:
            raise ValueError("provider timeout and overall deadline must be positive")
        check_weights(self.weights)
        # a read-only copy, so the caller's dict cannot slip in an invalid weight after the check
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))


@runtime_checkable
class SynchronousAnalyst(Protocol):
    """An analyst whose vote is plain computation: vote_now(snapshot) is what analyse(snapshot) returns."""

    def vote_now(self, snapshot: MarketSnapshot) -> Vote: ...


class Ensemble:
    """A fixed set of analysts and the rules to combine them."""

    def __init__(self, providers: Sequence[AIProvider], config: EnsembleConfig | None = None) -> None:
        if not providers:
            raise ValueError("an ensemble needs at least one analyst")
        self.providers = tuple(providers)
        self.config = config or EnsembleConfig()
        self.fingerprint = _fingerprint(self.providers, self.config)
        self._weights = ProviderWeights(self.config.weights)  # read-only: converted to Decimal once
        # every analyst synchronous: decide_now answers without the event loop, calling vote_now bound once here
        self.synchronous = all(isinstance(provider, SynchronousAnalyst) for provider in self.providers)
        self._voters = (
            tuple((provider, cast(SynchronousAnalyst, provider).vote_now) for provider in self.providers)
            if self.synchronous
            else ()
        )

    def __repr__(self) -> str:
        names = ", ".join(f"{p.name}/{p.model}" for p in self.providers)
        return f"Ensemble([{names}], fingerprint={self.fingerprint})"

    async def decide(self, snapshot: MarketSnapshot) -> ConsensusResult:
        if self.synchronous:
            return self.decide_now(snapshot)
        config = self.config
        tasks = {asyncio.create_task(self._ask(provider, snapshot)): provider for provider in self.providers}
        pending: set[asyncio.Task[Vote]] = set(tasks)
        try:
            done, pending = await asyncio.wait(tasks, timeout=config.overall_deadline_s)
            votes = [task.result() for task in tasks if task in done]  # in the analysts' order: repeatable
            if pending:
                votes.extend(await _cancel(pending, tasks, CANCELLED_DEADLINE))
        except asyncio.CancelledError:
            await _cancel(pending, tasks, "cancelled")
            raise
        return self._combine(votes, snapshot)

    def decide_now(self, snapshot: MarketSnapshot) -> ConsensusResult:
        """decide() for an ensemble of synchronous analysts, in the analysts' order, as decide() collects them."""
        if not self.synchronous:
            raise TypeError("decide_now needs every analyst to be synchronous (SynchronousAnalyst)")
        votes = []
        for provider, vote_now in self._voters:  # _ask's rule: an analyst that raises still abstains
            started = time.perf_counter()  # what a Stopwatch would hold, without the object (three a consultation)
            try:
                votes.append(vote_now(snapshot))
            except Exception as exc:
                latency_ms = int((time.perf_counter() - started) * 1000)
                votes.append(
                    abstention(provider.name, provider.model, f"error: {type(exc).__name__}", latency_ms=latency_ms)
                )
        return self._combine(votes, snapshot)

    def _combine(self, votes: list[Vote], snapshot: MarketSnapshot) -> ConsensusResult:
        config = self.config
        result = consensus(
            votes, min_consensus=config.min_consensus, min_responders=config.min_responders, weights=self._weights
        )
        if _info_wanted():
            # keyword arguments go to the record's extra, as bind() would put them, without a new logger per call
            logger.info(
                "ensemble: {} ({}) from {}/{} responders",
                result.decision.action.value,
                result.reason,
                len(result.responders),
                len(result.votes),
                symbol=snapshot.symbol,
                candle=snapshot.candle_ts,
            )
        return result

    async def close(self) -> None:
        await asyncio.gather(*(provider.close() for provider in self.providers), return_exceptions=True)

    async def _ask(self, provider: AIProvider, snapshot: MarketSnapshot) -> Vote:
        """The provider's vote within its timeout; a provider that breaks the never-raise rule still abstains."""
        watch = Stopwatch()
        try:
            async with asyncio.timeout(self.config.provider_timeout_s):
                return await provider.analyse(snapshot)
        except TimeoutError:
            return abstention(provider.name, provider.model, "timeout", latency_ms=watch.elapsed_ms)
        except Exception as exc:
            return abstention(
                provider.name, provider.model, f"error: {type(exc).__name__}", latency_ms=watch.elapsed_ms
            )


async def _cancel(pending: set[asyncio.Task], tasks: Mapping[asyncio.Task, AIProvider], reason: str) -> list[Vote]:
    ordered = list(pending)
    for task in ordered:
        task.cancel()
    outcomes = await asyncio.gather(*ordered, return_exceptions=True)
    return [
        outcome if isinstance(outcome, Vote) else abstention(tasks[task].name, tasks[task].model, reason)
        for task, outcome in zip(ordered, outcomes, strict=True)
    ]


def _info_wanted() -> bool:
    """Whether a sink takes an INFO record. loguru has no isEnabledFor: its core keeps the lowest level of its sinks
    (min_level, which add and remove recompute) and drops a record under it first thing, but only once the call's
    arguments are computed (the responders' tuple among them), at every consultation of a backtest logging at
    WARNING. Without that attribute (another loguru), every record goes to loguru as before."""
    return _INFO >= getattr(getattr(logger, "_core", None), "min_level", _INFO)


def _fingerprint(providers: Sequence[AIProvider], config: EnsembleConfig) -> str:
    """Identifies what could change an answer: analysts, models, prompt version and consensus rules."""
    description = {
        "providers": sorted(f"{p.name}/{p.model}" for p in providers),
        "prompt": PROMPT_VERSION,
        "min_consensus": config.min_consensus,
        "min_responders": config.min_responders,
        "weights": sorted(config.weights.items()),
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:16]
