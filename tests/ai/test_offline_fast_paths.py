"""The offline analysts' fast paths give exactly what the general ones give: the synchronous ensemble and
shared ensemble against the task path, the raw answer against json.dumps, the check without the schema against
parse_decision, the cached confidence against the formula."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.ai.ensemble import Ensemble, EnsembleConfig
from adapters.ai.offline import offline_analyst
from adapters.ai.offline.analyst import (
    CONFIDENCE_STEP,
    KnownHolds,
    OfflineAnalyst,
    answer_of,
    answer_text,
    checked,
    confidence,
)
from adapters.ai.parsing import SCHEMA_WHITESPACE, AnswerRejected, parse_decision
from adapters.ai.shared import SharedEnsemble
from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.trading import PositionSide
from domain.vote import Vote
from tests.ai.market_data import history_snapshot

NAMES = ("trend", "mean_reversion", "breakout")


class AsyncOnly:
    """An offline analyst seen only through analyse(): the ensemble has to take its task path."""

    def __init__(self, name: str) -> None:
        self._inner = offline_analyst(name)
        self.name, self.model = self._inner.name, self._inner.model

    async def analyse(self, snapshot):
        return await self._inner.analyse(snapshot)

    async def close(self) -> None:
        return None


class Broken:
    """Synchronous, but breaks the never-raise rule."""

    name, model = "broken", "v0"

    def vote_now(self, snapshot):
        raise RuntimeError("boom")

    async def analyse(self, snapshot):
        return self.vote_now(snapshot)

    async def close(self) -> None:
        return None


def without_latency(result):
    """Votes compared without their latency (wall time, not a result)."""
    return result.decision, result.reason, result.agreeing, [(v.provider, v.decision, v.abstain_reason, v.raw_answer)
                                                             for v in result.votes]  # fmt: skip


SNAPSHOTS = [
    (end, side)
    for end in (150, 240, 982, 1467, 1564, 1661, 5000, 7093, 12000)
    for side in (PositionSide.FLAT, PositionSide.LONG, PositionSide.SHORT)
]


@pytest.mark.parametrize(("end", "side"), SNAPSHOTS)
async def test_decide_when_every_analyst_is_synchronous_then_same_result_as_the_task_path(end, side) -> None:
    entry = None if side is PositionSide.FLAT else Decimal("11000")
    snapshot = history_snapshot(end, hours=250, position_side=side, entry_price=entry)
    config = EnsembleConfig(min_consensus=2, min_responders=2, weights={"trend": 1.5})
    fast = Ensemble([offline_analyst(name) for name in NAMES], config)
    slow = Ensemble([AsyncOnly(name) for name in NAMES], config)
    assert fast.synchronous and not slow.synchronous

    assert without_latency(await fast.decide(snapshot)) == without_latency(await slow.decide(snapshot))
    assert without_latency(fast.decide_now(snapshot)) == without_latency(await slow.decide(snapshot))


async def test_decide_now_when_an_analyst_raises_then_it_abstains_like_on_the_task_path() -> None:
    snapshot = history_snapshot(982, hours=250)
    fast = Ensemble([Broken(), *(offline_analyst(name) for name in NAMES)])

    result = fast.decide_now(snapshot)

    [broken] = [vote for vote in result.votes if vote.provider == "broken"]
    assert broken.decision is None and broken.abstain_reason == "error: RuntimeError"


def test_decide_now_when_an_analyst_is_not_synchronous_then_refused() -> None:
    with pytest.raises(TypeError):
        Ensemble([AsyncOnly("trend")]).decide_now(history_snapshot(982, hours=250))


async def test_shared_decide_when_synchronous_without_recorder_then_one_call_per_key_and_cached() -> None:
    shared = SharedEnsemble(Ensemble([offline_analyst(name) for name in NAMES]))
    flat, later = history_snapshot(5000), history_snapshot(5001)

    first = await shared.decide(flat)
    again = await shared.decide(flat)
    other = await shared.decide(later)

    assert first is again and shared.calls == 2
    assert without_latency(first) == without_latency(await Ensemble([AsyncOnly(n) for n in NAMES]).decide(flat))
    assert without_latency(other) == without_latency(await Ensemble([AsyncOnly(n) for n in NAMES]).decide(later))


levels = st.none() | st.decimals(min_value=1, max_value=10**6, places=2)
numbers = st.decimals(min_value=-1, max_value=2) | st.decimals(allow_nan=True, allow_infinity=True)
decisions = st.builds(
    Decision,
    st.sampled_from(list(Action)),
    st.decimals(min_value=0, max_value=1, places=2) | numbers,
    levels | numbers,
    levels | numbers,
    st.text()
    | st.sampled_from([f"{char} held {char}" for char in SCHEMA_WHITESPACE + "\x1c\x1f"])
    | st.text(min_size=600),
)


@given(decisions)
@example(Decision(Action.HOLD, Decimal("0.50"), None, None, 'a "q"\n€'))
def test_answer_text_when_any_decision_then_it_is_json_dumps_of_its_answer(decision: Decision) -> None:
    assert answer_text(decision) == json.dumps(answer_of(decision))


@given(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([-0.0, 0.0, 0.95, 1e-300, -1e-300]))
def test_confidence_when_any_conviction_then_the_formula_digit_for_digit(value: float) -> None:
    expected = to_decimal(min(max(value, 0.0), 0.95)).quantize(CONFIDENCE_STEP, rounding=ROUND_HALF_EVEN)
    assert str(confidence(value)) == str(expected)
    assert str(confidence(value)) == str(expected)  # and again, from the cache


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2)
sides = st.sampled_from(list(PositionSide))


def _outcome(check) -> object:  # type: ignore[no-untyped-def]
    """The decision field by field (exponents included), or the reason it was refused."""
    try:
        decision = check()
    except AnswerRejected as exc:
        return exc.reason
    return decision, [str(number) for number in (decision.confidence, decision.stop_loss, decision.take_profit)]


@given(decisions, prices, sides)
@example(Decision(Action.CLOSE, Decimal("0.60"), None, None, "x"), Decimal(100), PositionSide.FLAT)
@example(Decision(Action.HOLD, Decimal("0.60"), None, None, "\x1c kept \u3000"), Decimal(100), PositionSide.FLAT)
@example(Decision(Action.BUY, Decimal("NaN"), Decimal(90), Decimal(110), ""), Decimal(100), PositionSide.FLAT)
def test_checked_when_any_decision_price_and_side_then_what_parse_decision_gives_on_its_answer(
    decision: Decision, price: Decimal, side: PositionSide
) -> None:
    """The offline analysts' check skips the schema: it decides exactly as the schema and parse_decision do."""
    assert _outcome(lambda: checked(decision, price, side)) == _outcome(
        lambda: parse_decision(answer_of(decision), price, side)
    )


class Holding(OfflineAnalyst):
    """HOLDs with the reasoning and confidence it is told, after an optional pause (a slow first vote)."""

    name = "holding"

    def __init__(self) -> None:
        super().__init__()
        self.confidence, self.reasoning, self.pause_s = Decimal("0.50"), "waiting", 0.0

    def assess(self, snapshot):
        time.sleep(self.pause_s)
        return Decision(Action.HOLD, self.confidence, None, None, self.reasoning)


def test_vote_now_when_holds_repeat_then_each_vote_is_what_a_fresh_analyst_gives() -> None:
    """The known HOLD votes (KnownHolds) change nothing: an analyst voting hour after hour, the same hour again
    and positions held, against a new analyst for every vote."""
    snapshots = [
        history_snapshot(end, hours=250, position_side=side, entry_price=None if side is PositionSide.FLAT else entry)
        for end in (5000, 5001, 5002, 5000, 7093, 5001)
        for side, entry in (
            (PositionSide.FLAT, None),
            (PositionSide.LONG, Decimal(11000)),
            (PositionSide.SHORT, Decimal(9000)),
        )
    ]
    for name in NAMES:
        analyst = offline_analyst(name)
        for snapshot in snapshots:
            vote, fresh = analyst.vote_now(snapshot), offline_analyst(name).vote_now(snapshot)
            assert replace(vote, latency_ms=0) == replace(fresh, latency_ms=0)
            assert vote.raw_answer == fresh.raw_answer and str(vote.decision.confidence) == str(
                fresh.decision.confidence
            )


def test_vote_now_when_a_hold_repeats_then_its_known_vote_unless_the_confidence_is_written_apart() -> None:
    analyst = Holding()
    snapshot = history_snapshot(5000, hours=250)
    first = analyst.vote_now(snapshot)
    again = analyst.vote_now(snapshot)  # the known vote: the very decision, the latency this call's own
    assert again.decision is first.decision and replace(again, latency_ms=first.latency_ms) == first
    assert again is first or again.latency_ms != first.latency_ms

    analyst.confidence = Decimal("0.5")  # equal to 0.50, but another answer
    other = analyst.vote_now(snapshot)
    assert other.raw_answer == answer_text(analyst.assess(snapshot)) != first.raw_answer
    assert str(other.decision.confidence) == "0.5"

    analyst.reasoning = " waiting\n"  # stripped as the schema strips it, in the known vote as in the first
    assert analyst.vote_now(snapshot).decision.reasoning == "waiting" == analyst.vote_now(snapshot).decision.reasoning


def test_vote_now_when_a_known_hold_took_longer_then_the_vote_carries_this_latency() -> None:
    analyst = Holding()
    snapshot = history_snapshot(5000, hours=250)
    analyst.pause_s = 0.1
    slow = analyst.vote_now(snapshot)
    analyst.pause_s = 0.0
    fast = analyst.vote_now(snapshot)
    assert slow.latency_ms >= 100 and fast.latency_ms < slow.latency_ms
    assert replace(fast, latency_ms=slow.latency_ms) == slow


def test_known_holds_when_full_then_forgets_all_and_keeps_only_plain_holds() -> None:
    holds = KnownHolds(size=2)
    decisions = [Decision(Action.HOLD, Decimal("0.50"), None, None, f"hold {index}") for index in range(3)]
    votes = [Vote("a", "m", decision) for decision in decisions]
    for decision, vote in zip(decisions, votes, strict=True):
        holds.remember(decision, vote)
    assert [holds.vote_for(decision) for decision in decisions] == [None, None, votes[2]]

    levelled = Decision(Action.HOLD, Decimal("0.50"), Decimal(90), None, "hold 0")
    close = Decision(Action.CLOSE, Decimal("0.50"), None, None, "hold 0")
    for decision in (levelled, close):
        holds.remember(decision, Vote("a", "m", decision))
        assert holds.vote_for(decision) is None
