"""The metric families on a fresh registry: how a consultation's votes become latency and error figures, the
runtime's gauges read at scrape time, the breaker's events, and the label sets present from the first scrape."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from domain.decision import Action, Decision
from domain.vote import ConsensusResult, Vote
from telemetry import Metrics, RuntimeFigures

HOLD = Decision(Action.HOLD, Decimal("0.5"), None, None, "flat")


def _scraped(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_consultation_when_votes_answer_abstain_or_fail_then_latency_and_errors_by_provider() -> None:
    metrics = Metrics(process=False)
    votes = (
        Vote("gpt", "m", HOLD, latency_ms=1200),
        Vote("claude", "m", None, abstain_reason="http_503", latency_ms=80),
        Vote("deepseek", "m", None, abstain_reason="timeout: overall deadline"),  # cut off: no latency of its own
        Vote("trend", "offline", None, abstain_reason="insufficient_data: 20 candles"),  # by design, not an error
        Vote("local", "m", None, abstain_reason="error: ValueError", latency_ms=5),
    )

    metrics.consultation(ConsensusResult(HOLD, votes), 1.5)

    value = metrics.value
    assert value("quorum_decision_duration_seconds_count") == 1 and value("quorum_decision_duration_seconds_sum") == 1.5
    assert value("quorum_provider_latency_seconds_sum", provider="gpt") == 1.2
    assert value("quorum_provider_latency_seconds_count", provider="claude") == 1
    assert value("quorum_provider_latency_seconds_count", provider="deepseek") == 0
    assert value("quorum_provider_errors_total", provider="claude", kind="http_503") == 1
    assert value("quorum_provider_errors_total", provider="deepseek", kind="timeout") == 1
    assert value("quorum_provider_errors_total", provider="local", kind="error") == 1
    errors = {labels for (name, labels) in _scraped(metrics) if name == "quorum_provider_errors_total"}
    assert {dict(labels)["provider"] for labels in errors} == {"claude", "deepseek", "local"}


def test_runtime_gauges_when_scraped_then_read_from_the_source_at_that_moment() -> None:
    metrics = Metrics(process=False)
    figures = RuntimeFigures(engines=3, engines_alive=2, open_positions=1)
    assert _scraped(metrics)[("quorum_engines_alive", ())] == 0  # nothing watched yet

    metrics.watch(lambda: figures)
    first = _scraped(metrics)
    figures = RuntimeFigures(engines=3, engines_alive=3, open_positions=0)
    second = _scraped(metrics)

    assert (first[("quorum_engines", ())], first[("quorum_engines_alive", ())]) == (3, 2)
    assert first[("quorum_open_positions", ())] == 1
    assert (second[("quorum_engines_alive", ())], second[("quorum_open_positions", ())]) == (3, 0)


def test_runtime_gauges_when_the_source_fails_then_the_scrape_still_answers_with_zeros() -> None:
    metrics = Metrics(process=False)

    def broken() -> RuntimeFigures:
        raise RuntimeError("the runtime is gone")

    metrics.watch(broken)
    metrics.cycles.inc()

    scraped = _scraped(metrics)
    assert scraped[("quorum_engines_alive", ())] == 0 and scraped[("quorum_cycles_total", ())] == 1


def test_events_when_the_breaker_trips_and_resumes_then_counted_beside_every_event_kind() -> None:
    metrics = Metrics(process=False)
    for kind in ("breaker_tripped", "position_opened", "breaker_tripped", "breaker_resumed"):
        metrics.event(kind)

    assert metrics.value("quorum_breaker_events_total", event="tripped") == 2
    assert metrics.value("quorum_breaker_events_total", event="resumed") == 1
    assert metrics.value("quorum_engine_events_total", kind="breaker_tripped") == 2
    assert metrics.value("quorum_engine_events_total", kind="position_opened") == 1


def test_label_sets_when_nothing_happened_yet_then_present_at_zero_so_rates_see_the_first_event() -> None:
    scraped = _scraped(Metrics(process=False))

    statuses = {dict(labels)["status"] for (name, labels) in scraped if name == "quorum_orders_total"}
    assert statuses == {"pending", "unknown", "open", "partially_filled", "filled", "canceled", "rejected", "expired"}
    assert scraped[("quorum_breaker_events_total", (("event", "tripped"),))] == 0
    assert scraped[("quorum_alerts_undelivered_total", (("outcome", "dropped"),))] == 0
    assert not any(name.endswith("_created") for name, _ in scraped)


def test_process_collectors_when_enabled_then_cpu_and_memory_are_reported() -> None:
    scraped = _scraped(Metrics())
    assert scraped[("process_resident_memory_bytes", ())] > 0
    assert any(name == "python_info" for name, _ in scraped)
