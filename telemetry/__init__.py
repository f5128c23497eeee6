"""Prometheus metrics of the process (see telemetry.metrics). Imports only prometheus_client and domain, so every
layer above may record into it."""

from telemetry.metrics import LATENCY_BUCKETS, Metrics, RuntimeFigures, RuntimeSource, error_kind

METRICS = Metrics()  # the process's metrics, served on METRICS_PORT at /metrics

__all__ = ["LATENCY_BUCKETS", "METRICS", "Metrics", "RuntimeFigures", "RuntimeSource", "error_kind"]
