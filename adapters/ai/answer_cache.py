"""LLM answers stored by consultation key, so a backtest that asks again reuses them: no prompt is ever paid
for twice, and an LLM backtest is repeatable.

A JSON-lines file holds one answer per line: provider, model, prompt version, the snapshot's consultation key,
and the vote. Only answers the provider actually gave are stored (timeouts and transport errors are asked
again next time); the offline analysts are never cached, they cost nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.ai.offline.analyst import OfflineAnalyst
from adapters.ai.port import AIProvider
from adapters.ai.prompt import PROMPT_VERSION
from adapters.ai.shared import SharedEnsemble
from domain.decision import Action, Decision
from domain.snapshot import MarketSnapshot
from domain.vote import Vote


def vote_to_dict(vote: Vote) -> dict[str, Any]:
    decision = vote.decision
    return {
        "provider": vote.provider,
        "model": vote.model,
        "abstain_reason": vote.abstain_reason,
        "raw_answer": vote.raw_answer,
        "latency_ms": vote.latency_ms,
        "prompt_tokens": vote.prompt_tokens,
        "completion_tokens": vote.completion_tokens,
        "prompt_version": vote.prompt_version,
        "decision": None
        if decision is None
        else {
            "action": decision.action.value,
            "confidence": str(decision.confidence),
            "stop_loss": None if decision.stop_loss is None else str(decision.stop_loss),
            "take_profit": None if decision.take_profit is None else str(decision.take_profit),
            "reasoning": decision.reasoning,
        },
    }


def vote_from_dict(data: dict[str, Any]) -> Vote:
    raw = data.get("decision")
    decision = None
    if raw is not None:
        decision = Decision(
            Action(raw["action"]),
            Decimal(raw["confidence"]),
            None if raw["stop_loss"] is None else Decimal(raw["stop_loss"]),
            None if raw["take_profit"] is None else Decimal(raw["take_profit"]),
            raw["reasoning"],
        )
    return Vote(
        provider=data["provider"],
        model=data["model"],
        decision=decision,
        abstain_reason=data.get("abstain_reason"),
        raw_answer=data.get("raw_answer", ""),
        latency_ms=int(data.get("latency_ms", 0)),
        prompt_tokens=data.get("prompt_tokens"),
        completion_tokens=data.get("completion_tokens"),
        prompt_version=data.get("prompt_version", ""),
    )


def answer_key(provider: AIProvider, snapshot: MarketSnapshot) -> str:
    key = snapshot.key
    where = f"{key.exchange}:{key.symbol}:{key.candle_ts}:{key.position_side.value}"
    return f"{provider.name}/{provider.model}/{PROMPT_VERSION}/{where}"


class AnswerCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[str, Vote] = {}
        self.hits = 0
        self.misses = 0
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.answers[entry["key"]] = vote_from_dict(entry["vote"])

    def get(self, key: str) -> Vote | None:
        return self.answers.get(key)

    def put(self, key: str, vote: Vote) -> None:
        self.answers[key] = vote
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps({"key": key, "vote": vote_to_dict(vote)}) + "\n")


def _paid_for(vote: Vote) -> bool:
    """An answer the provider gave (a decision, or a reply it could not parse); not a timeout or a dead link."""
    return bool(vote.raw_answer) or vote.decision is not None


class CachedProvider:
    """An LLM analyst behind the cache: a stored answer is returned as it was, a new one is stored."""

    def __init__(self, provider: AIProvider, cache: AnswerCache) -> None:
        self.provider = provider
        self.cache = cache
        self.name = provider.name
        self.model = provider.model

    async def analyse(self, snapshot: MarketSnapshot) -> Vote:
        key = answer_key(self.provider, snapshot)
        stored = self.cache.get(key)
        if stored is not None:
            self.cache.hits += 1
            return stored
        self.cache.misses += 1
        vote = await self.provider.analyse(snapshot)
        if _paid_for(vote):
            self.cache.put(key, vote)
        return vote

    async def close(self) -> None:
        await self.provider.close()


def cache_llm_answers(shared: SharedEnsemble, path: Path) -> AnswerCache:
    """Put every LLM analyst of the ensemble behind one answer cache file (the offline analysts stay as they are)."""
    cache = AnswerCache(path)
    ensemble = shared.ensemble
    ensemble.providers = tuple(
        p if isinstance(p, OfflineAnalyst) else CachedProvider(p, cache)  # type: ignore[misc]
        for p in ensemble.providers
    )
    return cache
