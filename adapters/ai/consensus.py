"""Consensus over votes: a pure function, independent of the order answers arrived in.

Abstentions never count. Fewer than min_responders answers, a tie for the most votes, or a leader with fewer
than min_consensus votes all mean HOLD. Levels and confidence of an agreed decision are averages over the
agreeing votes, weighted by provider weight x confidence (confidence by provider weight).

Every vote can move the result: an agreeing one shifts the averages, any answer changes the tally. So there is
no point before the last answer at which the decision is known, and the ensemble waits for every analyst.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, getcontext

from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.vote import DEFAULT_WEIGHT, ConsensusReason, ConsensusResult, Vote, is_valid_weight

Verdict = tuple[Action, str]
_CONFIDENCE_STEP = Decimal("0.0001")


class ProviderWeights:
    """Configured provider weights as the Decimals the averages use, each converted once (an ensemble keeps one
    over its read-only configured weights instead of converting them at every consultation)."""

    __slots__ = ("_configured", "_decimals")

    def __init__(self, configured: Mapping[str, float]) -> None:
        self._configured = configured
        self._decimals: dict[str, Decimal] = {}

    def of(self, provider: str) -> Decimal:
        weight = self._decimals.get(provider)
        if weight is None:
            weight = self._decimals[provider] = _provider_weight(self._configured, provider)
        return weight


def consensus(
    votes: Iterable[Vote],
    *,
    min_consensus: int = 2,
    min_responders: int = 2,
    weights: Mapping[str, float] | ProviderWeights | None = None,
) -> ConsensusResult:
    ordered = _ordered(votes)
    counts: dict[Action, int] = {}  # a plain dict: what Counter would hold, without its costlier construction
    for vote in ordered:
        if vote.decision is not None:
            counts[vote.decision.action] = counts.get(vote.decision.action, 0) + 1
    action, reason = verdict(counts, min_consensus=min_consensus, min_responders=min_responders)
    if reason != ConsensusReason.CONSENSUS:
        return ConsensusResult(
            decision=Decision(Action.HOLD, Decimal(0), None, None, _hold_reasoning(reason, counts)),
            votes=ordered,
            agreeing=(),
            reason=reason,
        )
    agreeing = [vote for vote in ordered if vote.decision is not None and vote.decision.action is action]
    return ConsensusResult(
        decision=_combined(
            action, agreeing, weights if isinstance(weights, ProviderWeights) else ProviderWeights(weights or {})
        ),
        votes=ordered,
        agreeing=tuple(vote.provider for vote in agreeing),
        reason=reason,
    )


def verdict(counts: Mapping[Action, int], *, min_consensus: int, min_responders: int) -> Verdict:
    """(action, reason) from the number of votes per action; abstentions are not in counts.

    The leader is the first action counted with the most votes (Counter.most_common's order); another with as
    many is a tie."""
    top_action, top_count, tied, responders = Action.HOLD, 0, False, 0
    for action, count in counts.items():
        responders += count
        if count > top_count:
            top_action, top_count, tied = action, count, False
        elif count == top_count:
            tied = True
    if responders < max(min_responders, 1):
        return Action.HOLD, ConsensusReason.TOO_FEW_RESPONDERS
    if top_count < min_consensus:
        return Action.HOLD, ConsensusReason.NO_AGREEMENT
    if tied:
        return Action.HOLD, ConsensusReason.TIE
    return top_action, ConsensusReason.CONSENSUS


def _combined(action: Action, agreeing: list[Vote], weights: ProviderWeights) -> Decision:
    provider_weights = [weights.of(vote.provider) for vote in agreeing]
    decisions = [vote.decision for vote in agreeing if vote.decision is not None]
    confidence = _weighted_mean([d.confidence for d in decisions], provider_weights)
    level_weights = [w * d.confidence for w, d in zip(provider_weights, decisions, strict=True)]
    stop_loss = _weighted_level([d.stop_loss for d in decisions], level_weights)
    take_profit = _weighted_level([d.take_profit for d in decisions], level_weights)
    names = ", ".join([vote.provider for vote in agreeing])
    first_reason = ""
    for decision in decisions:
        if decision.reasoning:
            first_reason = decision.reasoning
            break
    reasoning = f"{len(agreeing)} analysts agree on {action.value} ({names})"
    if first_reason:
        reasoning += f": {first_reason}"
    return Decision(action, confidence.quantize(_CONFIDENCE_STEP), stop_loss, take_profit, reasoning)


def _provider_weight(weights: Mapping[str, float], provider: str) -> Decimal:
    """The configured weight; one that cannot weigh anything (infinite, NaN, negative) counts as the default.

    Settings and EnsembleConfig refuse such weights; this keeps a directly built one from failing a consultation.
    """
    weight = weights.get(provider, DEFAULT_WEIGHT)
    return to_decimal(weight if is_valid_weight(weight) else DEFAULT_WEIGHT)


def _weighted_mean(values: list[Decimal], weights: list[Decimal]) -> Decimal:
    total = sum(weights, Decimal(0))
    if total <= 0:
        return sum(values, Decimal(0)) / len(values)
    return sum([v * w for v, w in zip(values, weights, strict=True)], Decimal(0)) / total


def _weighted_level(levels: list[Decimal | None], weights: list[Decimal]) -> Decimal | None:
    """The weighted mean, rounded to the finest step among the levels, as far as the arithmetic carries digits.

    An over-precise level (11002.7600000000000000000000000001) would otherwise ask quantize for more digits
    than the context holds, and raise.
    """
    pairs = [(level, weight) for level, weight in zip(levels, weights, strict=True) if level is not None]
    if not pairs:
        return None
    mean = _weighted_mean([level for level, _ in pairs], [weight for _, weight in pairs])
    finest = min(int(level.as_tuple().exponent) for level, _ in pairs)
    carried = mean.adjusted() - getcontext().prec + 1
    return mean.quantize(Decimal(1).scaleb(max(finest, carried)))


def _hold_reasoning(reason: str, counts: Mapping[Action, int]) -> str:
    tally = ", ".join(f"{action.value} {count}" for action, count in sorted(counts.items())) or "no answers"
    return f"no consensus ({reason}): {tally}"


def _ordered(votes: Iterable[Vote]) -> tuple[Vote, ...]:
    """The votes sorted by _vote_sort_key: by provider alone when no two votes share one, which is the same order
    (the key starts with the provider) without writing out the rest of every key."""
    ordered = list(votes)
    if len({vote.provider for vote in ordered}) == len(ordered):
        ordered.sort(key=_provider)
    else:
        ordered.sort(key=_vote_sort_key)
    return tuple(ordered)


def _provider(vote: Vote) -> str:
    return vote.provider


def _vote_sort_key(vote: Vote) -> tuple:
    decision = vote.decision
    return (
        vote.provider,
        vote.model,
        vote.abstain_reason or "",
        "" if decision is None else decision.action.value,
        "" if decision is None else str(decision.confidence),
        "" if decision is None or decision.stop_loss is None else str(decision.stop_loss),
        "" if decision is None or decision.take_profit is None else str(decision.take_profit),
        "" if decision is None else decision.reasoning,
        vote.raw_answer,
        vote.latency_ms,
    )
