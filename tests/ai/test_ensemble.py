import asyncio
import sys
import time
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loguru import logger

from adapters.ai.consensus import consensus
from adapters.ai.ensemble import CANCELLED_DEADLINE, Ensemble, EnsembleConfig, _info_wanted
from adapters.ai.offline import offline_analyst
from adapters.ai.openai_provider import OpenAIChatProvider
from adapters.ai.prompt import PROMPT_VERSION
from adapters.ai.votes import vote_from_answer
from domain.decision import Action
from domain.vote import ConsensusReason, Vote
from tests.ai.fake_llm import Reply, decision_json
from tests.ai.market_data import history_snapshot
from tests.ai.votes import ScriptedProvider, vote

SNAPSHOT = history_snapshot(5000)
BUY, SELL, HOLD, CLOSE = Action.BUY, Action.SELL, Action.HOLD, Action.CLOSE


def by_provider(result):
    return {vote.provider: vote for vote in result.votes}


class InTurn:
    """Answers with a fixed vote once the analyst before it in the arrival order has answered."""

    def __init__(self, answer: Vote, previous: asyncio.Event | None, answered: asyncio.Event) -> None:
        self.name, self.model = answer.provider, answer.model
        self._answer, self._previous, self._answered = answer, previous, answered

    async def analyse(self, snapshot) -> Vote:
        if self._previous is not None:
            await self._previous.wait()
        for _ in range(5):
            await asyncio.sleep(0)  # the ensemble sees each answer on its own before the next one arrives
        self._answered.set()
        return self._answer

    async def close(self) -> None:
        return None


async def decide_in_order(answers: list[Vote], order: list[int], config: EnsembleConfig):
    events = [asyncio.Event() for _ in answers]
    previous: dict[int, asyncio.Event | None] = {}
    for position, index in enumerate(order):
        previous[index] = events[order[position - 1]] if position else None
    analysts = [InTurn(answer, previous[index], events[index]) for index, answer in enumerate(answers)]
    return await Ensemble(analysts, config).decide(SNAPSHOT)


async def test_decide_when_majority_agrees_before_a_slower_agreeing_analyst_then_its_answer_still_counts():
    answers = [vote("a", BUY, "0.55"), vote("b", BUY, "0.60"), vote("late", BUY, "0.90")]
    result = await decide_in_order(answers, [0, 1, 2], EnsembleConfig())
    assert by_provider(result)["late"].action is BUY
    assert result.decision == consensus(answers).decision
    assert result.decision.confidence == Decimal("0.6833")  # (0.55 + 0.60 + 0.90) / 3, not 0.575


abstain_reasons = st.sampled_from(["timeout", "malformed_json", "http_429", "refused"])
answer_specs = st.tuples(
    st.sampled_from([BUY, SELL, HOLD, CLOSE, None]),
    st.sampled_from(["0", "0.3", "0.55", "0.6", "0.9", "1"]),
    st.sampled_from(["85", "89.5", "90", "93.25"]),
    st.sampled_from(["101", "120", "131.7", "150"]),
    abstain_reasons,
)


def built_answer(index: int, spec: tuple) -> Vote:
    action, confidence, low, high, reason = spec
    if action is None:
        return Vote(f"p{index}", "m", None, abstain_reason=reason)
    if action is SELL:
        low, high = str(200 - Decimal(low)), str(200 - Decimal(high))
    return vote(f"p{index}", action, confidence, low, high)


@settings(max_examples=1000, deadline=None)
@given(
    specs=st.lists(answer_specs, min_size=1, max_size=7),
    data=st.data(),
    min_consensus=st.integers(1, 4),
    min_responders=st.integers(1, 4),
    weights=st.dictionaries(st.sampled_from(["p0", "p1", "p2", "p3"]), st.sampled_from([0.0, 0.5, 1.0, 3.0])),
)
def test_decide_when_answers_arrive_in_any_order_then_result_equals_waiting_for_everyone(
    specs, data, min_consensus, min_responders, weights
):
    answers = [built_answer(index, spec) for index, spec in enumerate(specs)]
    order = data.draw(st.permutations(range(len(answers))), label="arrival order")
    rules = {"min_consensus": min_consensus, "min_responders": min_responders}
    config = EnsembleConfig(**rules, weights=weights, provider_timeout_s=30, overall_deadline_s=30)
    result = asyncio.run(decide_in_order(answers, order, config))
    assert result == consensus(answers, **rules, weights=weights)


async def test_decide_when_an_analyst_hangs_then_overall_deadline_bounds_latency():
    slow = ScriptedProvider("slow", SELL, hang=True)
    ensemble = Ensemble(
        [ScriptedProvider("a", BUY), ScriptedProvider("b", BUY), ScriptedProvider("c", BUY), slow],
        EnsembleConfig(provider_timeout_s=30, overall_deadline_s=0.3),
    )
    started = time.perf_counter()
    result = await ensemble.decide(SNAPSHOT)
    assert time.perf_counter() - started < 2
    assert result.decision.action is BUY and result.reason == ConsensusReason.CONSENSUS
    assert by_provider(result)["slow"].abstain_reason == CANCELLED_DEADLINE
    assert slow.cancelled


class AnsweringAnalyst:
    """Parses a fixed answer text the way every LLM provider does."""

    def __init__(self, name: str, text: str) -> None:
        self.name, self.model, self._text = name, "text", text

    async def analyse(self, snapshot) -> Vote:
        return vote_from_answer(
            self.name,
            self.model,
            self._text,
            snapshot,
            raw_answer=self._text,
            latency_ms=0,
            prompt_tokens=None,
            completion_tokens=None,
            prompt_version=PROMPT_VERSION,
        )

    async def close(self) -> None:
        return None


def over_precise(level: Decimal) -> Decimal:
    with localcontext() as exact:
        exact.prec = 60
        return level + Decimal("0.0000000000000000000000000001")


PRICE = SNAPSHOT.price


@pytest.mark.parametrize(
    ("stop_loss", "take_profit"),
    [
        (over_precise(PRICE - 100), PRICE + 300),
        (PRICE - 100, Decimal("1e40")),
        (Decimal("1e-40"), PRICE + 300),
    ],
)
async def test_decide_when_one_answer_has_absurd_levels_then_that_analyst_abstains_and_the_rest_decide(
    stop_loss, take_profit
):
    absurd = f'{{"action": "BUY", "confidence": 0.9, "stop_loss": {stop_loss}, "take_profit": {take_profit}}}'
    sane = decision_json("BUY", 0.7, float(PRICE - 100), float(PRICE + 300))
    analysts = [AnsweringAnalyst("absurd", absurd), AnsweringAnalyst("x", sane), AnsweringAnalyst("y", sane)]
    result = await Ensemble(analysts).decide(SNAPSHOT)
    assert by_provider(result)["absurd"].abstain_reason == "out_of_range"
    assert result.decision.action is BUY and result.agreeing == ("x", "y")


async def test_decide_when_remaining_answer_could_tie_then_waits_for_it():
    late = ScriptedProvider("late", SELL, delay_s=0.2)
    ensemble = Ensemble([ScriptedProvider("a", BUY), ScriptedProvider("b", SELL), ScriptedProvider("c", BUY), late])
    result = await ensemble.decide(SNAPSHOT)
    assert by_provider(result)["late"].action is SELL
    assert result.decision.action is HOLD and result.reason == ConsensusReason.TIE


async def test_decide_when_provider_exceeds_its_timeout_then_it_abstains_and_others_count():
    ensemble = Ensemble(
        [ScriptedProvider("a", BUY), ScriptedProvider("b", BUY), ScriptedProvider("stuck", SELL, hang=True)],
        EnsembleConfig(min_consensus=2, min_responders=2, provider_timeout_s=0.2, overall_deadline_s=5),
    )
    result = await ensemble.decide(SNAPSHOT)
    assert by_provider(result)["stuck"].abstain_reason == "timeout"
    assert result.decision.action is BUY and result.agreeing == ("a", "b")


async def test_decide_when_all_hang_then_overall_deadline_gives_hold_too_few_responders():
    ensemble = Ensemble(
        [ScriptedProvider("a", BUY, hang=True), ScriptedProvider("b", BUY, hang=True)],
        EnsembleConfig(provider_timeout_s=10, overall_deadline_s=0.3),
    )
    started = time.perf_counter()
    result = await ensemble.decide(SNAPSHOT)
    assert time.perf_counter() - started < 2
    assert result.reason == ConsensusReason.TOO_FEW_RESPONDERS and result.decision.action is HOLD
    assert {vote.abstain_reason for vote in result.votes} == {CANCELLED_DEADLINE}


async def test_decide_when_per_provider_timeout_shorter_than_deadline_then_reason_timeout():
    ensemble = Ensemble(
        [ScriptedProvider("a", BUY), ScriptedProvider("b", SELL), ScriptedProvider("stuck", BUY, hang=True)],
        EnsembleConfig(provider_timeout_s=0.2, overall_deadline_s=5),
    )
    result = await ensemble.decide(SNAPSHOT)
    assert by_provider(result)["stuck"].abstain_reason == "timeout"
    assert result.decision.action is HOLD and result.reason == ConsensusReason.NO_AGREEMENT


async def test_decide_when_real_http_providers_mixed_with_offline_then_every_vote_recorded(llm_server):
    llm_server.replies.update(
        {
            "good": Reply(content=decision_json("HOLD", 0.6, None, None, "chop"), after="limited"),
            "limited": Reply(status=429),
            "slow": Reply(hang=True),
        }
    )
    http = [
        OpenAIChatProvider(name=model, model=model, api_key="k", base_url=f"{llm_server.url}/v1", timeout_s=5)
        for model in ("good", "limited", "slow")
    ]
    analysts = [offline_analyst(name) for name in ("trend", "breakout")]
    ensemble = Ensemble([*http, *analysts], EnsembleConfig(provider_timeout_s=2, overall_deadline_s=4))
    result = await ensemble.decide(SNAPSHOT)
    await ensemble.close()
    votes = by_provider(result)
    assert set(votes) == {"good", "limited", "slow", "trend", "breakout"}
    assert votes["limited"].abstain_reason == "http_429"
    assert votes["slow"].abstained
    assert votes["good"].action is HOLD
    assert result.decision.action is HOLD  # the offline analysts see a range at this candle


async def test_decide_when_caller_cancelled_then_provider_tasks_are_cancelled_too():
    stuck = ScriptedProvider("stuck", BUY, hang=True)
    ensemble = Ensemble([stuck, ScriptedProvider("b", BUY, hang=True)])
    task = asyncio.create_task(ensemble.decide(SNAPSHOT))
    while stuck.calls == 0:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stuck.cancelled


def test_ensemble_when_configuration_invalid_then_clear_error():
    with pytest.raises(ValueError, match="at least one analyst"):
        Ensemble([])


@pytest.mark.parametrize("weight", [-1.0, float("inf"), float("-inf"), float("nan"), 1e999])
def test_ensemble_config_when_weight_not_finite_or_negative_then_clear_error(weight):
    with pytest.raises(ValueError, match="finite numbers >= 0; invalid for: openai"):
        EnsembleConfig(weights={"openai": weight, "trend": 1.0})


def test_ensemble_config_when_weights_changed_after_construction_then_config_keeps_its_checked_copy():
    weights = {"openai": 2.0}
    config = EnsembleConfig(weights=weights)
    weights["openai"] = float("inf")
    assert config.weights == {"openai": 2.0}
    with pytest.raises(TypeError):
        config.weights["openai"] = float("inf")  # type: ignore[index]


def test_fingerprint_when_models_or_rules_differ_then_differs():
    base = Ensemble([ScriptedProvider("a", BUY)])
    assert base.fingerprint == Ensemble([ScriptedProvider("a", SELL)]).fingerprint
    assert base.fingerprint != Ensemble([ScriptedProvider("b", BUY)]).fingerprint
    assert base.fingerprint != Ensemble([ScriptedProvider("a", BUY)], EnsembleConfig(min_consensus=3)).fingerprint


def test_decide_now_when_a_sink_takes_info_then_the_consultation_is_logged_with_its_symbol_and_candle(
    restore_logging: None,
) -> None:
    records = []
    logger.remove()
    logger.add(lambda message: records.append(message.record), level="INFO")
    result = Ensemble([offline_analyst(name) for name in ("trend", "mean_reversion", "breakout")]).decide_now(SNAPSHOT)

    [record] = [record for record in records if record["message"].startswith("ensemble:")]
    responders = f"{len(result.responders)}/{len(result.votes)}"
    assert (
        record["message"] == f"ensemble: {result.decision.action.value} ({result.reason}) from {responders} responders"
    )
    assert (record["extra"]["symbol"], record["extra"]["candle"]) == (SNAPSHOT.symbol, SNAPSHOT.candle_ts)


def test_info_wanted_when_no_sink_takes_info_then_false_and_true_again_once_one_does(restore_logging: None) -> None:
    """What loguru itself checks first (the lowest level of its sinks), so the consultation skips a record that
    loguru would drop; its core must still keep that level where _info_wanted reads it."""
    logger.remove()
    assert not _info_wanted()
    logger.add(sys.stderr, level="WARNING")
    assert not _info_wanted()
    info = logger.add(sys.stderr, level="INFO")
    assert _info_wanted()
    logger.remove(info)
    assert not _info_wanted()
    assert isinstance(logger._core.min_level, int)  # type: ignore[attr-defined]
