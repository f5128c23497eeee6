from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ai.consensus import consensus, outcome_settled
from domain.decision import Action
from domain.vote import ConsensusReason
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


def test_outcome_settled_when_remaining_answers_could_tie_then_not_settled():
    assert not outcome_settled([vote("a", BUY), vote("b", BUY)], 2, min_consensus=2, min_responders=2)


def test_outcome_settled_when_majority_unreachable_by_others_then_settled():
    assert outcome_settled([vote("a", BUY), vote("b", BUY), vote("c", BUY)], 1, min_consensus=2, min_responders=2)


def test_outcome_settled_when_nothing_pending_then_settled():
    assert outcome_settled([], 0, min_consensus=2, min_responders=2)


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


@settings(max_examples=150, deadline=None)
@given(done=vote_lists, pending=st.integers(0, 3), future=st.lists(actions, min_size=3, max_size=3))
def test_outcome_settled_when_true_then_any_remaining_answers_keep_the_verdict(done, pending, future):
    if outcome_settled(done, pending, min_consensus=2, min_responders=2):
        settled = consensus(done + [vote(f"late{i}", None) for i in range(pending)])
        completed = consensus(done + [vote(f"late{i}", action) for i, action in enumerate(future[:pending])])
        assert (completed.decision.action, completed.reason) == (settled.decision.action, settled.reason)
