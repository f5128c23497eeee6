"""One analyst's vote and the ensemble's verdict over all votes.

A vote keeps everything needed to audit it later (raw answer, latency, tokens, prompt version), because every
vote is stored in ai_decisions whether or not it counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from domain.decision import Action, Decision
from domain.fast_init import fast_init

DEFAULT_WEIGHT = 1.0


@fast_init
@dataclass(frozen=True, slots=True)
class Vote:
    """What one provider answered. decision is None when it abstained; abstain_reason says why."""

    provider: str
    model: str
    decision: Decision | None
    abstain_reason: str | None = None
    raw_answer: str = ""
    latency_ms: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_version: str = ""

    def __post_init__(self) -> None:
        if (self.decision is None) == (self.abstain_reason is None):
            raise ValueError("a vote has either a decision or an abstain_reason, not both and not neither")

    @property
    def abstained(self) -> bool:
        return self.decision is None

    @property
    def action(self) -> Action | None:
        return self.decision.action if self.decision else None


class ConsensusReason:
    """Why the ensemble decided what it did (strings, so they store and print as they are)."""

    CONSENSUS = "consensus"
    TIE = "tie"
    TOO_FEW_RESPONDERS = "too_few_responders"
    NO_AGREEMENT = "no_agreement"


@fast_init
@dataclass(frozen=True, slots=True)
class ConsensusResult:
    """The combined decision, every vote behind it and which providers agreed with the outcome."""

    decision: Decision
    votes: tuple[Vote, ...]
    agreeing: tuple[str, ...] = field(default=())
    reason: str = ConsensusReason.CONSENSUS

    @property
    def responders(self) -> tuple[Vote, ...]:
        return tuple(vote for vote in self.votes if not vote.abstained)


def is_valid_weight(weight: object) -> bool:
    """A provider weight scales that provider's share of the averages: only a finite number >= 0 can."""
    if isinstance(weight, Decimal):
        return weight.is_finite() and weight >= 0
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        return False
    return math.isfinite(weight) and weight >= 0


def check_weights(weights: Mapping[str, object]) -> None:
    """Raise ValueError naming every provider whose weight is not a finite number >= 0."""
    invalid = sorted(f"{name}={weight!r}" for name, weight in weights.items() if not is_valid_weight(weight))
    if invalid:
        raise ValueError(f"provider weights must be finite numbers >= 0; invalid for: {', '.join(invalid)}")
