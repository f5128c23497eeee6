"""Build votes from what an analyst said, or from why it could not say anything."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from loguru import logger

from adapters.ai.parsing import AnswerRejected, parse_decision
from adapters.ai.prompt import PROMPT_VERSION
from domain.snapshot import MarketSnapshot
from domain.vote import Vote


class Stopwatch:
    """Milliseconds since creation, for vote latency."""

    __slots__ = ("_start",)

    def __init__(self) -> None:
        self._start = time.perf_counter()

    @property
    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self._start) * 1000)


def abstention(
    provider: str,
    model: str,
    reason: str,
    *,
    raw_answer: str = "",
    latency_ms: int = 0,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    prompt_version: str = "",
) -> Vote:
    logger.bind(provider=provider, model=model).info("analyst abstained: {}", reason)
    return Vote(
        provider=provider,
        model=model,
        decision=None,
        abstain_reason=reason,
        raw_answer=raw_answer,
        latency_ms=latency_ms,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        prompt_version=prompt_version,
    )


def vote_from_answer(
    provider: str,
    model: str,
    answer: str | dict[str, Any],
    snapshot: MarketSnapshot,
    *,
    raw_answer: str,
    latency_ms: int,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    prompt_version: str,
) -> Vote:
    """Parse the answer into a decision vote, or an abstention naming what was wrong with it."""
    try:
        decision = parse_decision(answer, snapshot.price, snapshot.position_side)
    except AnswerRejected as rejected:
        return abstention(
            provider,
            model,
            rejected.reason,
            raw_answer=raw_answer,
            latency_ms=latency_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            prompt_version=prompt_version,
        )
    return Vote(
        provider=provider,
        model=model,
        decision=decision,
        raw_answer=raw_answer,
        latency_ms=latency_ms,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        prompt_version=prompt_version,
    )


class LLMAbstentions:
    """For SDK-backed providers: abstentions stamped with the provider, model and prompt version."""

    name: str
    model: str

    def _abstain(
        self,
        reason: str,
        latency_ms: int,
        raw: str = "",
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> Vote:
        return abstention(
            self.name,
            self.model,
            reason,
            raw_answer=raw,
            latency_ms=latency_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            prompt_version=PROMPT_VERSION,
        )


def sdk_error_reason(exc: Exception, sdk: ModuleType) -> str:
    """A short, secret-free reason for an openai or anthropic SDK error (both SDKs share these classes' names).

    The SDK's message can echo request details, so it is never used.
    """
    if isinstance(exc, sdk.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, sdk.APIStatusError):
        return f"http_{exc.status_code}"
    if isinstance(exc, sdk.APIConnectionError):
        return "connection_error"
    return f"error: {type(exc).__name__}"
