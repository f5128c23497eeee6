"""The single-pass consensus gives exactly what the consensus it replaced gives (tests/ai/reference_consensus.py):
the same results, every Decimal written the same, or the same error, for any votes, rules, weights and context."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.ai.consensus import ProviderWeights, consensus
from domain.decision import Action, Decision
from domain.vote import Vote
from tests.ai import reference_consensus

HOLD = Action.HOLD


def _written(result) -> object:  # type: ignore[no-untyped-def]
    """A consensus result as it is compared and as it prints: equal fields, and every Decimal's str."""
    decision = result.decision
    return result, [str(number) for number in (decision.confidence, decision.stop_loss, decision.take_profit)]


def _outcome(run) -> object:  # type: ignore[no-untyped-def]
    try:
        return _written(run())
    except (ArithmeticError, ValueError, TypeError) as exc:  # the same failure, if any
        return type(exc)


numbers = st.one_of(
    st.decimals(min_value=0, max_value=1, places=2),
    st.sampled_from(["0.5", "0.50", "0", "1", "1E+2", "0.333333333333333333333333333333", "1e-30"]).map(Decimal),
    st.decimals(allow_nan=False, allow_infinity=False),
)
levels = st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2) | numbers
providers = st.sampled_from(["a", "b", "c", "trend", "breakout", "mean_reversion"])
votes = st.builds(
    Vote,
    providers,
    st.sampled_from(["m", "n"]),
    st.builds(Decision, st.sampled_from(list(Action)), numbers, levels, levels, st.sampled_from(["", "why", "x"])),
    st.none(),
    st.sampled_from(["", "raw"]),
    st.integers(0, 3),
) | st.builds(
    lambda provider, reason: Vote(provider, "m", None, abstain_reason=reason),
    providers,
    st.sampled_from(["timeout", "error"]),
)
weights = st.none() | st.dictionaries(
    providers, st.sampled_from([0.0, 0.5, 1.0, 2.5, 1e-300, 1e300, float("nan"), -1.0, float("inf")])
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(votes, max_size=7),
    st.integers(0, 4),
    st.integers(0, 4),
    weights,
    st.sampled_from([None, 5, 28, 60]),
    st.booleans(),
)
@example([], 2, 2, None, None, False)
@example(
    [Vote("a", "m", Decision(HOLD, Decimal("0.5"), None, None, "")), Vote("a", "n", Decision(HOLD, Decimal("0.50")))],
    1,
    1,
    None,
    None,
    False,
)
def test_consensus_when_any_votes_rules_weights_and_context_then_what_the_former_consensus_gives(
    items, min_consensus, min_responders, configured, precision, kept_weights
) -> None:
    rules = {"min_consensus": min_consensus, "min_responders": min_responders}
    with localcontext() as context:
        if precision is not None:
            context.prec = precision
        if kept_weights and configured is not None:  # an ensemble's converted weights, as consensus takes them
            fast = _outcome(lambda: consensus(items, **rules, weights=ProviderWeights(configured)))
            kept = reference_consensus.ProviderWeights(configured)
            slow = _outcome(lambda: reference_consensus.consensus(items, **rules, weights=kept))
        else:
            fast = _outcome(lambda: consensus(items, **rules, weights=configured))
            slow = _outcome(lambda: reference_consensus.consensus(items, **rules, weights=configured))
    assert fast == slow


def test_provider_weights_when_asked_twice_then_the_same_weights_and_total() -> None:
    kept = ProviderWeights({"a": 2.0})
    assert kept.each(("a", "b")) == ((Decimal("2.0"), Decimal("1.0")), Decimal("3.0")) == kept.each(("a", "b"))
