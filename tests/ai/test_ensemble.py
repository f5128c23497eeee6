import asyncio
import time

import pytest

from adapters.ai.ensemble import CANCELLED_DEADLINE, CANCELLED_DECIDED, Ensemble, EnsembleConfig
from adapters.ai.offline import offline_analyst
from adapters.ai.openai_provider import OpenAIChatProvider
from domain.decision import Action
from domain.vote import ConsensusReason
from tests.ai.fake_llm import Reply, decision_json
from tests.ai.market_data import history_snapshot
from tests.ai.votes import ScriptedProvider

SNAPSHOT = history_snapshot(5000)
BUY, SELL, HOLD = Action.BUY, Action.SELL, Action.HOLD


def by_provider(result):
    return {vote.provider: vote for vote in result.votes}


async def test_decide_when_outcome_settled_then_returns_early_and_cancels_the_rest():
    slow = ScriptedProvider("slow", SELL, hang=True)
    ensemble = Ensemble(
        [ScriptedProvider("a", BUY), ScriptedProvider("b", BUY), ScriptedProvider("c", BUY), slow],
        EnsembleConfig(provider_timeout_s=30, overall_deadline_s=30),
    )
    started = time.perf_counter()
    result = await ensemble.decide(SNAPSHOT)
    assert time.perf_counter() - started < 2
    assert result.decision.action is BUY and result.reason == ConsensusReason.CONSENSUS
    assert by_provider(result)["slow"].abstain_reason == CANCELLED_DECIDED
    assert slow.cancelled


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
    # two BUYs and one pending cannot be outvoted: settled before the timeout even fires
    assert result.decision.action is BUY


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
    # Two offline HOLDs leave the outcome open until "good" answers (two pending votes could still tie it),
    # so "good" is never cancelled as "outcome decided" however the answers race.
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
    with pytest.raises(ValueError, match="negative for: openai"):
        EnsembleConfig(weights={"openai": -1.0})


def test_fingerprint_when_models_or_rules_differ_then_differs():
    base = Ensemble([ScriptedProvider("a", BUY)])
    assert base.fingerprint == Ensemble([ScriptedProvider("a", SELL)]).fingerprint
    assert base.fingerprint != Ensemble([ScriptedProvider("b", BUY)]).fingerprint
    assert base.fingerprint != Ensemble([ScriptedProvider("a", BUY)], EnsembleConfig(min_consensus=3)).fingerprint
