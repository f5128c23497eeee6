"""The Prometheus metrics of one Quorum process, recorded at the boundaries of the trading loop.

Recorded where something already happens once and at a human pace, never inside a cycle's computation: the
database store counts claimed candles (cycles) and order status changes, the manager times each live step that
ran a cycle, the ensemble each consultation (its votes carry each analyst's latency), the ccxt adapter counts
each failed request, the engine's notifier counts events, the outbox counts alerts. A backtest wires none of
these and pays nothing for them. Gauges of the running engines (alive, open positions) are read from the
runtime when /metrics is scraped.

One Metrics instance per process (telemetry.METRICS) in a registry of its own, not prometheus_client's global
one: /metrics shows exactly Quorum's families (and the process collectors), and tests can build a fresh Metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from loguru import logger
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.trading import OrderStatus
from domain.vote import ConsensusResult

disable_created_metrics()  # no *_created series beside every counter and histogram: they only add noise here

# From a fast offline analyst (well under a millisecond) to an LLM at its overall deadline (45 s by default).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0)
NOT_AN_ERROR = frozenset({"insufficient_data"})  # an analyst without enough history abstains by design
BREAKER_EVENTS = {"breaker_tripped": "tripped", "breaker_resumed": "resumed"}
UNDELIVERED = ("deferred", "dropped")


@dataclass(frozen=True, slots=True)
class RuntimeFigures:
    """The running engines as /metrics reports them at the moment of a scrape."""

    engines: int = 0  # engines the manager holds (runnable pairs)
    engines_alive: int = 0  # of those, the ones whose task is running
    open_positions: int = 0


RuntimeSource = Callable[[], RuntimeFigures]


class _RuntimeCollector(Collector):
    def __init__(self) -> None:
        self.source: RuntimeSource | None = None

    def collect(self) -> Iterator[Metric]:
        figures = RuntimeFigures()
        if self.source is not None:
            try:
                figures = self.source()
            except Exception:  # noqa: BLE001 - a scrape never fails on a figure
                logger.exception("could not read the runtime's figures")
        yield GaugeMetricFamily("quorum_engines", "Engines the manager holds (runnable pairs)", value=figures.engines)
        yield GaugeMetricFamily(
            "quorum_engines_alive", "Engines whose supervised task is running", value=figures.engines_alive
        )
        yield GaugeMetricFamily("quorum_open_positions", "Pairs holding an open position", value=figures.open_positions)

    def describe(self) -> Iterator[Metric]:
        return self.collect()


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        """process: also the standard process, platform and garbage-collector families (CPU, memory, fds)."""
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.cycles = Counter("quorum_cycles", "Trading cycles run (candles claimed on the database)", registry=r)
        self.cycle_seconds = Histogram(
            "quorum_cycle_duration_seconds", "Duration of an engine step that ran a trading cycle",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.decision_seconds = Histogram(
            "quorum_decision_duration_seconds", "Duration of one ensemble consultation (every analyst, consensus)",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.provider_seconds = Histogram(
            "quorum_provider_latency_seconds", "Latency of one analyst's answer", ["provider"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.provider_errors = Counter(
            "quorum_provider_errors", "Analyst answers that failed (timeout, HTTP error, unusable answer)",
            ["provider", "kind"], registry=r,
        )  # fmt: skip
        self.exchange_errors = Counter(
            "quorum_exchange_errors", "Failed exchange requests, retried or not", ["exchange", "kind"], registry=r
        )
        self.breaker_events = Counter(
            "quorum_breaker_events", "Circuit breaker trips and resumptions", ["event"], registry=r
        )
        self.engine_events = Counter("quorum_engine_events", "Events the engines reported", ["kind"], registry=r)
        self.orders = Counter("quorum_orders", "Orders that reached each status", ["status"], registry=r)
        self.alerts_queued = Counter("quorum_alerts_queued", "Alerts written to the outbox", registry=r)
        self.alerts_sent = Counter("quorum_alerts_sent", "Alerts Telegram (or the console) accepted", registry=r)
        self.alerts_undelivered = Counter(
            "quorum_alerts_undelivered", "Delivery attempts that failed: deferred (retried) or dropped",
            ["outcome"], registry=r,
        )  # fmt: skip
        self._runtime = _RuntimeCollector()
        r.register(self._runtime)
        for event in BREAKER_EVENTS.values():  # stable label sets from the start, so rate() sees the first one
            self.breaker_events.labels(event)
        for status in OrderStatus:
            self.orders.labels(status.value)
        for outcome in UNDELIVERED:
            self.alerts_undelivered.labels(outcome)
        if process:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)

    # --- the runtime's gauges --------------------------------------------------------------------------------

    def watch(self, source: RuntimeSource | None) -> None:
        """Read the engine gauges from `source` at each scrape (None: report zeros)."""
        self._runtime.source = source

    # --- recording -------------------------------------------------------------------------------------------

    def consultation(self, result: ConsensusResult, seconds: float) -> None:
        """One ensemble consultation: its duration, each analyst's latency, the analysts that failed."""
        self.decision_seconds.observe(seconds)
        for vote in result.votes:
            if vote.abstain_reason is None:
                self.provider_seconds.labels(vote.provider).observe(vote.latency_ms / 1000)
                continue
            if vote.latency_ms > 0:  # an analyst cut off at the deadline has no latency of its own
                self.provider_seconds.labels(vote.provider).observe(vote.latency_ms / 1000)
            kind = error_kind(vote.abstain_reason)
            if kind not in NOT_AN_ERROR:
                self.provider_errors.labels(vote.provider, kind).inc()

    def exchange_error(self, exchange: str, kind: str) -> None:
        self.exchange_errors.labels(exchange, kind).inc()

    def event(self, kind: str) -> None:
        """An engine event, by its kind's value (engine.events.EventKind)."""
        self.engine_events.labels(kind).inc()
        breaker = BREAKER_EVENTS.get(kind)
        if breaker is not None:
            self.breaker_events.labels(breaker).inc()

    def order_status(self, status: str) -> None:
        self.orders.labels(status).inc()

    def alert_queued(self) -> None:
        self.alerts_queued.inc()

    def alert_sent(self) -> None:
        self.alerts_sent.inc()

    def alert_undelivered(self, outcome: str) -> None:
        self.alerts_undelivered.labels(outcome).inc()

    # --- reading (tests, the admin CLI) ---------------------------------------------------------------------

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when it has none yet), e.g. value("quorum_orders_total", status="filled")."""
        return self.registry.get_sample_value(name, labels) or 0.0


def error_kind(reason: str) -> str:
    """A bounded label for an abstention reason: "http_503", "timeout", "error: ValueError" -> "error"."""
    return reason.split(":", 1)[0].strip() or "unknown"
