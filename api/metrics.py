"""Prometheus metrics of one service instance (own registry, so several apps can live in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """Request latency per route, inference time, queue depth, batch throughput."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "voc_http_request_seconds", "HTTP request latency by route template", ["route", "method", "status"],
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.inference_seconds = Histogram(
            "voc_inference_seconds", "pipeline time per /v1/classify call", buckets=LATENCY_BUCKETS,
            registry=self.registry)
        self.classified_items = Counter("voc_classified_items", "items classified online", registry=self.registry)
        self.queue_depth = Gauge("voc_batch_queue_depth", "batch jobs waiting (queued)", registry=self.registry)
        self.running_jobs = Gauge("voc_batch_running", "batch jobs running", registry=self.registry)
        self.batch_rows_per_s = Gauge(
            "voc_batch_rows_per_second", "input rows per second over running jobs", registry=self.registry)
        self.webhook_pending = Gauge("voc_webhook_pending", "webhook deliveries waiting", registry=self.registry)
        self.webhook_attempts = Counter(
            "voc_webhook_attempts", "webhook delivery attempts by outcome", ["outcome"], registry=self.registry)
        self.audit_dropped = Counter(
            "voc_audit_dropped", "audit rows dropped because the writer queue was full", registry=self.registry)
        self._refreshers: list[Callable[[], None]] = []

    def on_scrape(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` before each /metrics scrape (gauges read from the database)."""
        self._refreshers.append(fn)

    def refresh(self) -> None:
        for fn in self._refreshers:
            fn()
