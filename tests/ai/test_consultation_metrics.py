"""The ensemble's figures in /metrics: each consultation's duration, each analyst's latency, and the analysts that
failed by kind. Real openai SDK clients against the local LLM stand-in over HTTP, beside an offline analyst."""

from __future__ import annotations

from adapters.ai.ensemble import Ensemble, EnsembleConfig
from adapters.ai.offline import offline_analyst
from adapters.ai.openai_provider import OpenAIChatProvider
from adapters.ai.recorder import InMemoryVoteRecorder
from adapters.ai.shared import SharedEnsemble
from telemetry import METRICS
from tests.ai.fake_llm import FakeLLMServer, Reply, decision_json
from tests.ai.market_data import history_snapshot

SNAPSHOT = history_snapshot(5000)
NAMES = ("metrics-good", "metrics-down", "metrics-slow", "trend")


def figures() -> dict[str, float]:
    out = {"decisions": METRICS.value("quorum_decision_duration_seconds_count")}
    for name in NAMES:
        out[f"{name} latency"] = METRICS.value("quorum_provider_latency_seconds_count", provider=name)
        out[f"{name} latency sum"] = METRICS.value("quorum_provider_latency_seconds_sum", provider=name)
    out["good errors"] = sum(  # every kind
        sample.value
        for family in METRICS.registry.collect()
        if family.name == "quorum_provider_errors"
        for sample in family.samples
        if sample.labels.get("provider") == "metrics-good"
    )
    out["down http_503"] = METRICS.value("quorum_provider_errors_total", provider="metrics-down", kind="http_503")
    out["slow timeout"] = METRICS.value("quorum_provider_errors_total", provider="metrics-slow", kind="timeout")
    return out


def llm(server: FakeLLMServer, name: str) -> OpenAIChatProvider:
    return OpenAIChatProvider(name=name, model=name, api_key="sk-test", base_url=f"{server.url}/v1", timeout_s=5.0)


async def test_consultation_metrics_when_one_analyst_fails_and_one_hangs_then_latency_and_errors_by_provider(
    llm_server: FakeLLMServer,
) -> None:
    price = SNAPSHOT.price
    llm_server.replies["metrics-good"] = Reply(content=decision_json("BUY", 0.8, str(price - 300), str(price + 600)))
    llm_server.replies["metrics-down"] = Reply(status=503)
    llm_server.replies["metrics-slow"] = Reply(hang=True)
    analysts = [llm(llm_server, name) for name in NAMES[:3]] + [offline_analyst("trend")]
    config = EnsembleConfig(min_consensus=1, min_responders=1, provider_timeout_s=1.0, overall_deadline_s=4.0)
    shared = SharedEnsemble(Ensemble(analysts, config), InMemoryVoteRecorder(), observer=METRICS.consultation)
    before = figures()
    try:
        await shared.decide(SNAPSHOT)
        await shared.decide(SNAPSHOT)  # the cached answer: not a consultation
    finally:
        await shared.close()

    after = figures()
    change = {name: after[name] - before[name] for name in after}
    assert change["decisions"] == 1
    for name in NAMES:
        assert change[f"{name} latency"] == 1, name  # every analyst answered (or was cut off) once
    assert change["metrics-slow latency sum"] >= 1.0  # cut off at its own timeout
    assert change["down http_503"] == 1 and change["slow timeout"] == 1
    assert change["good errors"] == 0  # the analyst that answered


async def test_consultation_metrics_when_no_observer_then_nothing_is_timed() -> None:
    shared = SharedEnsemble(Ensemble([offline_analyst("trend")], EnsembleConfig(1, 1)))
    before = METRICS.value("quorum_decision_duration_seconds_count")

    await shared.decide(SNAPSHOT)  # a backtest's ensemble: synchronous analysts, no recorder, no observer

    assert METRICS.value("quorum_decision_duration_seconds_count") == before
