"""Prometheus metrics of the sidecar, on a registry of their own (never the global REGISTRY).

Children for the label values the hot path uses are bound once, at construction: a decision costs
one counter increment and one histogram observation, with no label lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

DECISIONS = ("allowed", "explicitDeny", "implicitDeny")
METHODS = ("Authorize", "AuthorizeBatch", "Explain", "Simulate", "GetStatus", "Rollback")

# Decisions take microseconds when cached and rarely more than a millisecond otherwise.
_DECISION_BUCKETS = (
    0.000005,
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.5,
    1.0,
)


class ServiceMetrics:
    """Every metric the service exports, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.decisions = Counter(
            "iamgate_decisions", "Decisions made, by outcome.", ["decision"], registry=self.registry
        )
        self.decision_seconds = Histogram(
            "iamgate_decision_seconds",
            "Time to decide one request, from receipt to answer (excluding the network).",
            buckets=_DECISION_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "iamgate_requests",
            "RPCs handled, by method and gRPC status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.decision_logs_dropped = Counter(
            "iamgate_decision_logs_dropped",
            "Decision log events dropped, by reason (queue_full, write_error).",
            ["reason"],
            registry=self.registry,
        )
        self.internal_errors = Counter(
            "iamgate_internal_errors",
            "Unexpected failures while deciding (each answered INTERNAL, never allowed).",
            ["method"],
            registry=self.registry,
        )
        self._decision_children = {name: self.decisions.labels(name) for name in DECISIONS}
        self._ok_children = {method: self.requests.labels(method, "OK") for method in METHODS}
        for reason in ("queue_full", "write_error"):
            self.decision_logs_dropped.labels(reason)

    def count_decision(self, decision: str, seconds: float) -> None:
        self._decision_children[decision].inc()
        self.decision_seconds.observe(seconds)

    def count_request(self, method: str, code: str = "OK") -> None:
        child = self._ok_children.get(method) if code == "OK" else None
        (child or self.requests.labels(method, code)).inc()

    def count_dropped_log(self, reason: str, count: int = 1) -> None:
        self.decision_logs_dropped.labels(reason).inc(count)

    def watch_bundles(self, current: Callable[[], Any | None]) -> None:
        """Export the active bundle's revision and size, read from ``current()`` at each scrape."""
        self.registry.register(_BundleCollector(current))


class _BundleCollector(Collector):
    """Bundle gauges computed at scrape time, so activation needs no metrics hook."""

    def __init__(self, current: Callable[[], Any | None]) -> None:
        self._current = current

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snapshot = self._current()
        info = InfoMetricFamily("iamgate_bundle", "The active bundle.")
        active = GaugeMetricFamily("iamgate_bundle_active", "1 when a bundle is active, else 0.")
        active.add_metric([], 0 if snapshot is None else 1)
        yield active
        if snapshot is None:
            return
        info.add_metric(
            [], {"name": snapshot.name, "revision": snapshot.revision, "source": str(snapshot.source)}
        )
        yield info
        counts = snapshot.counts
        for what in ("principals", "policies", "statements"):
            gauge = GaugeMetricFamily(f"iamgate_bundle_{what}", f"{what.capitalize()} in the active bundle.")
            gauge.add_metric([], float(getattr(counts, what, 0)))
            yield gauge
        activated = getattr(snapshot, "activated_at", None)
        if activated is not None:
            gauge = GaugeMetricFamily(
                "iamgate_bundle_activated_timestamp_seconds", "When the active bundle was activated."
            )
            gauge.add_metric([], activated.timestamp())
            yield gauge
