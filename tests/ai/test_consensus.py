from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from adapters.ai.consensus import _vote_sort_key, consensus, verdict
from adapters.ai.parsing import AnswerRejected, parse_decision
from domain.decision import Action, Decision
from domain.trading import PositionSide
from domain.vote import ConsensusReason, Vote
from tests.ai.votes import vote

BUY, SELL, HOLD, CLOSE = Action.BUY, Action.SELL, Action.HOLD, Action.CLOSE


def test_consensus_when_two_of_three_agree_then_acts_with_their_levels():
    result = consensus([vote("a", BUY, "0.8", "90", "120"), vote("b", BUY, "0.6", "94", "130"), vote("c", SELL)])
    assert result.reason == ConsensusReason.CONSENSUS
    assert result.decision.action is BUY
    assert result.agreeing == ("a", "b")
    # levels weighted by confidence: (90*0.8 + 94*0.6) / 1.4, (120*0.8 + 130*0.6) / 1.4
    assert result.decision.stop_loss == Decimal("92")
    assert result.decision.take_profit == Decimal("124")
    assert result.decision.confidence == Decimal("0.7")


def test_consensus_when_provider_weights_given_then_levels_lean_to_heavier_provider():
    votes = [vote("a", BUY, "0.5", "90", "120"), vote("b", BUY, "0.5", "100", "140")]
    result = consensus(votes, weights={"a": 3.0, "b": 1.0})
    assert result.decision.stop_loss == Decimal("92")
    assert result.decision.take_profit == Decimal("125")


def test_consensus_when_tie_then_hold():
    result = consensus([vote("a", BUY), vote("b", BUY), vote("c", SELL), vote("d", SELL)])
    assert result.decision.action is HOLD and result.reason == ConsensusReason.TIE
    assert result.agreeing == ()


def test_consensus_when_too_few_responders_then_hold_even_if_they_agree():
    result = consensus([vote("a", BUY), vote("b", None), vote("c", None)], min_consensus=1, min_responders=2)
    assert result.decision.action is HOLD and result.reason == ConsensusReason.TOO_FEW_RESPONDERS


def test_consensus_when_abstentions_outnumber_answers_then_abstentions_never_count():
    result = consensus([vote("a", SELL), vote("b", SELL), vote("c", None), vote("d", None), vote("e", None)])
    assert result.decision.action is SELL
    assert len(result.responders) == 2


def test_consensus_when_leader_below_min_consensus_then_no_agreement():
    result = consensus([vote("a", BUY), vote("b", SELL), vote("c", HOLD)], min_consensus=2)
    assert result.decision.action is HOLD and result.reason == ConsensusReason.NO_AGREEMENT


def test_consensus_when_majority_is_hold_then_hold_by_consensus():
    result = consensus([vote("a", HOLD), vote("b", HOLD), vote("c", BUY)])
    assert result.decision.action is HOLD and result.reason == ConsensusReason.CONSENSUS


def test_consensus_when_agreeing_holds_carry_levels_then_their_levels_are_averaged_too():
    """A HOLD or CLOSE vote has no levels once parsed; one built with levels still has them averaged."""
    votes = [
        Vote("a", "m", Decision(HOLD, Decimal("0.8"), Decimal("90"), None)),
        Vote("b", "m", Decision(HOLD, Decimal("0.6"), Decimal("94"), Decimal("130"))),
        Vote("c", "m", Decision(HOLD, Decimal("0.5"))),
    ]
    decision = consensus(votes).decision
    assert (decision.stop_loss, decision.take_profit) == (Decimal("92"), Decimal("130"))
    assert consensus([vote("a", HOLD), vote("b", HOLD)]).decision.stop_loss is None


def test_consensus_when_levels_finer_than_the_arithmetic_carries_then_rounded_not_raised():
    fine = Decimal("11002.7600000000000000000000000001")  # 33 digits, more than the 28 of the context
    votes = [
        Vote("a", "m", Decision(BUY, Decimal("0.8"), Decimal("10900.5"), fine)),
        Vote("b", "m", Decision(BUY, Decimal("0.8"), Decimal("1e-40"), Decimal("11002.76"))),
    ]
    result = consensus(votes)
    assert result.reason == ConsensusReason.CONSENSUS
    assert result.decision.take_profit == Decimal("11002.76000000000000000000000")
    assert Decimal("0") < result.decision.stop_loss < Decimal("10900.5")


@pytest.mark.parametrize("weight", [float("inf"), float("-inf"), float("nan"), -2.0, Decimal("sNaN")])
def test_consensus_when_a_weight_is_not_finite_or_negative_then_default_weight_not_raised(weight):
    votes = [vote("a", BUY, "0.8", "90", "120"), vote("b", BUY, "0.6", "94", "130")]
    assert consensus(votes, weights={"a": weight}) == consensus(votes)


actions = st.sampled_from([BUY, SELL, HOLD, CLOSE, None])
vote_lists = st.lists(st.tuples(actions, st.sampled_from(["0.3", "0.55", "0.7", "0.91"])), min_size=0, max_size=8).map(
    lambda items: [vote(f"p{index}", action, confidence) for index, (action, confidence) in enumerate(items)]
)


@settings(max_examples=150, deadline=None)
@given(votes=vote_lists, data=st.data(), min_consensus=st.integers(1, 4), min_responders=st.integers(1, 4))
def test_consensus_when_votes_permuted_then_result_identical(votes, data, min_consensus, min_responders):
    shuffled = data.draw(st.permutations(votes))
    first = consensus(votes, min_consensus=min_consensus, min_responders=min_responders)
    second = consensus(shuffled, min_consensus=min_consensus, min_responders=min_responders)
    assert first == second


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(
        st.tuples(st.sampled_from(["p0", "p1", "p2"]), actions, st.sampled_from(["0.3", "0.55", "0.7"])), max_size=6
    ),
    data=st.data(),
)
def test_consensus_when_providers_answer_more_than_once_then_votes_in_whole_key_order(items, data):
    votes = [vote(provider, action, confidence) for provider, action, confidence in items]
    shuffled = data.draw(st.permutations(votes))
    result = consensus(shuffled, min_consensus=1, min_responders=1)
    assert [_vote_sort_key(v) for v in result.votes] == sorted(_vote_sort_key(v) for v in votes)
    assert result == consensus(votes, min_consensus=1, min_responders=1)


@settings(max_examples=150, deadline=None)
@given(votes=vote_lists, extra_abstentions=st.integers(0, 5))
def test_consensus_when_abstentions_added_then_decision_unchanged(votes, extra_abstentions):
    padded = votes + [vote(f"z{index}", None) for index in range(extra_abstentions)]
    assert consensus(padded).decision == consensus(votes).decision


@settings(max_examples=150, deadline=None)
@given(votes=vote_lists, min_consensus=st.integers(1, 4))
def test_consensus_when_acting_then_enough_responders_agree(votes, min_consensus):
    result = consensus(votes, min_consensus=min_consensus, min_responders=1)
    counts = {a: sum(1 for v in votes if v.action is a) for a in Action}
    if result.reason == ConsensusReason.CONSENSUS:
        assert counts[result.decision.action] >= min_consensus
        assert all(n < counts[result.decision.action] for a, n in counts.items() if a is not result.decision.action)
    else:
        assert result.decision.action is HOLD and result.agreeing == ()


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 4), action_a=st.sampled_from([BUY, SELL]), action_b=st.sampled_from([BUY, SELL]))
def test_consensus_when_equal_counts_for_two_actions_then_hold(n, action_a, action_b):
    if action_a is action_b:
        action_b = HOLD
    votes = [vote(f"a{i}", action_a) for i in range(n)] + [vote(f"b{i}", action_b) for i in range(n)]
    result = consensus(votes, min_consensus=1, min_responders=1)
    assert result.decision.action is HOLD and result.reason == ConsensusReason.TIE


PRICE = Decimal("11227.31")
fractions = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.5"), places=4)
offsets = st.integers(-60, 3).map(lambda exponent: Decimal(1).scaleb(exponent))  # 1e-60 (over-precise) .. 1000
wild = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(-60, 60).map(lambda exponent: Decimal(1).scaleb(exponent)),
    st.integers(-(10**40), 10**40).map(Decimal),
)


def mostly(plain: st.SearchStrategy, *odd: st.SearchStrategy) -> st.SearchStrategy:
    """plain three times in four, otherwise one of the odd strategies."""
    return st.integers(0, 3).flatmap(lambda pick: st.one_of(*odd) if pick == 0 else plain)


below = mostly(fractions.map(lambda f: PRICE - PRICE * f), offsets.map(lambda p: PRICE - p), wild, st.none())
above = mostly(fractions.map(lambda f: PRICE + PRICE * f), offsets.map(lambda p: PRICE + p), wild, st.none())
confidences = mostly(
    st.decimals(min_value=0, max_value=1, places=2), st.decimals(min_value=0, max_value=1, allow_nan=False), wild
)


@st.composite
def answers(draw, leaning: str) -> dict:
    """Answers that look valid: levels mostly on the correct side, numbers of any precision and size."""
    action = draw(st.sampled_from([leaning, leaning, leaning, "BUY", "SELL", "HOLD", "CLOSE"]))
    low, high = draw(below), draw(above)
    stop_loss, take_profit = (high, low) if action == "SELL" else (low, high)
    return {"action": action, "confidence": draw(confidences), "stop_loss": stop_loss, "take_profit": take_profit}


finite_weights = st.one_of(st.floats(min_value=0, allow_infinity=False), st.sampled_from([0.0, 1e-300, 1e300]))


def parsed_vote(provider: str, answer: dict) -> Vote:
    try:
        return Vote(provider, "m", parse_decision(answer, PRICE, PositionSide.LONG))
    except AnswerRejected as rejected:
        return Vote(provider, "m", None, abstain_reason=rejected.reason)


@settings(max_examples=500, deadline=None)
@given(
    items=st.sampled_from(["BUY", "SELL"]).flatmap(lambda leaning: st.lists(answers(leaning), min_size=1, max_size=5)),
    weights=st.dictionaries(st.sampled_from(["p0", "p1", "p2"]), finite_weights),
    min_consensus=st.integers(1, 3),
)
def test_consensus_when_answers_carry_arbitrary_finite_numbers_then_never_raises_and_levels_stay_sane(
    items, weights, min_consensus
):
    votes = [parsed_vote(f"p{index}", answer) for index, answer in enumerate(items)]
    decision = consensus(votes, min_consensus=min_consensus, min_responders=1, weights=weights).decision
    event(f"decision {decision.action}")
    assert Decimal(0) <= decision.confidence <= Decimal(1)
    if decision.action is BUY:
        assert decision.stop_loss < PRICE < decision.take_profit
    if decision.action is Action.SELL:
        assert decision.take_profit < PRICE < decision.stop_loss


def _verdict_by_most_common(counts: Counter, min_consensus: int, min_responders: int) -> tuple[Action, str]:
    """verdict() as it was written over a Counter: the reference its dict tally must match."""
    responders = sum(counts.values())
    if responders < max(min_responders, 1):
        return HOLD, ConsensusReason.TOO_FEW_RESPONDERS
    ranked = counts.most_common()
    top_action, top_count = ranked[0]
    if top_count < min_consensus:
        return HOLD, ConsensusReason.NO_AGREEMENT
    if len(ranked) > 1 and ranked[1][1] == top_count:
        return HOLD, ConsensusReason.TIE
    return top_action, ConsensusReason.CONSENSUS


@settings(max_examples=300, deadline=None)
@given(
    actions=st.lists(st.sampled_from([BUY, SELL, HOLD, CLOSE]), max_size=9),
    min_consensus=st.integers(0, 5),
    min_responders=st.integers(0, 5),
)
def test_verdict_when_votes_are_tallied_in_a_dict_then_the_same_as_counter_most_common(
    actions, min_consensus, min_responders
):
    counts = Counter(actions)
    expected = _verdict_by_most_common(counts, min_consensus, min_responders)
    assert verdict(dict(counts), min_consensus=min_consensus, min_responders=min_responders) == expected
    event(expected[1])
