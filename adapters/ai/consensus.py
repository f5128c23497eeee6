"""Consensus over votes: a pure function, independent of the order answers arrived in.

Abstentions never count. Fewer than min_responders answers, a tie for the most votes, or a leader with fewer
than min_consensus votes all mean HOLD. Levels and confidence of an agreed decision are averages over the
agreeing votes, weighted by provider weight x confidence (confidence by provider weight).

Every vote can move the result: an agreeing one shifts the averages, any answer changes the tally. So there is
no point before the last answer at which the decision is known, and the ensemble waits for every analyst.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, getcontext
from operator import attrgetter, mul

from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.vote import DEFAULT_WEIGHT, ConsensusReason, ConsensusResult, Vote, is_valid_weight

Verdict = tuple[Action, str]
_CONFIDENCE_STEP = Decimal("0.0001")
_ZERO = Decimal(0)
_provider = attrgetter("provider")
_NO_PROVIDER = object()  # what no provider equals: the one before the first vote
_CONSENSUS = ConsensusReason.CONSENSUS


class ProviderWeights:
    """Configured provider weights as the Decimals the averages use, converted once per set of agreeing providers
    with their total (an ensemble keeps one over its read-only configured weights instead of converting them at
    every consultation), and the providers' names as the agreed reasoning lists them."""

    __slots__ = ("_configured", "_sets")

    def __init__(self, configured: Mapping[str, float]) -> None:
        self._configured = configured
        self._sets: dict[tuple[str, ...], tuple[tuple[Decimal, ...], Decimal, str]] = {}

    def each(self, providers: tuple[str, ...]) -> tuple[tuple[Decimal, ...], Decimal]:
        """(the weight of each provider, their sum): an ensemble's agreeing sets are few and repeat every hour."""
        weights, total, _ = self._weighed(providers)
        return weights, total

    def _weighed(self, providers: tuple[str, ...]) -> tuple[tuple[Decimal, ...], Decimal, str]:
        """(weights, their sum, the names joined by ", "), kept per set of providers."""
        weighed = self._sets.get(providers)
        if weighed is None:
            weights = tuple([_provider_weight(self._configured, provider) for provider in providers])
            weighed = self._sets[providers] = weights, sum(weights, _ZERO), ", ".join(providers)
        return weighed


def consensus(
    votes: Iterable[Vote],
    *,
    min_consensus: int = 2,
    min_responders: int = 2,
    weights: Mapping[str, float] | ProviderWeights | None = None,
) -> ConsensusResult:
    # The votes sorted by _vote_sort_key: by provider alone when no two votes share one, which is the same order
    # (the key starts with the provider) without writing out the rest of every key. Votes sharing a provider sit
    # next to each other once sorted by it (the tally's loop notices them) and are sorted again by the whole key:
    # a stable sort, so ties end up as sorting by the whole key at once leaves them.
    ordered = sorted(votes, key=_provider)
    counts: dict[Action, int] = {}  # a plain dict: what Counter would hold, without its costlier construction
    previous: object = _NO_PROVIDER
    shared = False
    for vote in ordered:
        provider = vote.provider
        if provider == previous:
            shared = True
        previous = provider
        decision = vote.decision
        if decision is not None:
            counts[decision.action] = counts.get(decision.action, 0) + 1
    if shared:
        ordered.sort(key=_vote_sort_key)  # the tally does not depend on the order: a count per action
    cast = tuple(ordered)
    action, reason = _verdict(counts, min_consensus, min_responders)
    if reason is not _CONSENSUS:
        return ConsensusResult(
            Decision(Action.HOLD, _ZERO, None, None, _hold_reasoning(reason, counts)), cast, (), reason
        )
    agreeing: list[str] = []
    decisions: list[Decision] = []
    for vote in cast:
        decision = vote.decision
        if decision is not None and decision.action is action:
            agreeing.append(vote.provider)
            decisions.append(decision)
    providers = tuple(agreeing)
    if not isinstance(weights, ProviderWeights):
        weights = ProviderWeights(weights or {})
    return ConsensusResult(_combined(action, providers, decisions, weights), cast, providers, reason)


def verdict(counts: Mapping[Action, int], *, min_consensus: int, min_responders: int) -> Verdict:
    """(action, reason) from the number of votes per action; abstentions are not in counts.

    The leader is the first action counted with the most votes (Counter.most_common's order); another with as
    many is a tie."""
    return _verdict(counts, min_consensus, min_responders)


def _verdict(counts: Mapping[Action, int], min_consensus: int, min_responders: int) -> Verdict:
    """verdict() with positional arguments, as consensus calls it (a keyword call costs more)."""
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
    return top_action, _CONSENSUS


def _combined(
    action: Action, providers: tuple[str, ...], decisions: list[Decision], weights: ProviderWeights
) -> Decision:
    provider_weights, total, names = weights._weighed(providers)
    confidence = _weighted_mean([decision.confidence for decision in decisions], provider_weights, total)
    stop_loss = take_profit = None
    first_reason = ""
    levelled = False
    for decision in decisions:  # one pass: whether any carries a level, and the first reasoning given
        if decision.stop_loss is not None or decision.take_profit is not None:
            levelled = True
        if not first_reason:
            first_reason = decision.reasoning
    if levelled:
        # HOLD and CLOSE carry no levels (the usual consultation): no level weights to compute for them
        level_weights = [weight * d.confidence for weight, d in zip(provider_weights, decisions, strict=True)]
        stop_loss = _weighted_level([d.stop_loss for d in decisions], level_weights)
        take_profit = _weighted_level([d.take_profit for d in decisions], level_weights)
    reasoning = f"{len(providers)} analysts agree on {action.value} ({names})"
    if first_reason:
        reasoning = f"{reasoning}: {first_reason}"
    return Decision(action, confidence.quantize(_CONFIDENCE_STEP), stop_loss, take_profit, reasoning)


def _provider_weight(weights: Mapping[str, float], provider: str) -> Decimal:
    """The configured weight; one that cannot weigh anything (infinite, NaN, negative) counts as the default.

    Settings and EnsembleConfig refuse such weights; this keeps a directly built one from failing a consultation.
    """
    weight = weights.get(provider, DEFAULT_WEIGHT)
    return to_decimal(weight if is_valid_weight(weight) else DEFAULT_WEIGHT)


def _weighted_mean(values: list[Decimal], weights: Sequence[Decimal], total: Decimal) -> Decimal:
    """The mean of values weighted by weights, whose sum is total; the plain mean when they weigh nothing."""
    if total <= 0:
        return sum(values, _ZERO) / len(values)
    return sum(map(mul, values, weights), _ZERO) / total


def _weighted_level(levels: list[Decimal | None], weights: list[Decimal]) -> Decimal | None:
    """The weighted mean, rounded to the finest step among the levels, as far as the arithmetic carries digits.

    An over-precise level (11002.7600000000000000000000000001) would otherwise ask quantize for more digits
    than the context holds, and raise.
    """
    pairs = [(level, weight) for level, weight in zip(levels, weights, strict=True) if level is not None]
    if not pairs:
        return None
    kept = [weight for _, weight in pairs]
    mean = _weighted_mean([level for level, _ in pairs], kept, sum(kept, _ZERO))
    finest = min(int(level.as_tuple().exponent) for level, _ in pairs)
    carried = mean.adjusted() - getcontext().prec + 1
    return mean.quantize(Decimal(1).scaleb(max(finest, carried)))


def _hold_reasoning(reason: str, counts: Mapping[Action, int]) -> str:
    tally = ", ".join(f"{action.value} {count}" for action, count in sorted(counts.items())) or "no answers"
    return f"no consensus ({reason}): {tally}"


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
