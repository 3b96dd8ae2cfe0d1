"""Prometheus metrics of the sidecar, on a registry of their own (never the global REGISTRY).

Children for the label values the hot path uses are bound once, at construction: a decision costs
one counter increment and one histogram observation, with no label lookup. Everything about the
bundle (revision, size, decision cache, shadow comparison) is read at scrape time by collectors,
so neither a request nor an activation pays for it; activation outcomes are counted from the
lifecycle manager's events, on the poller's thread.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from iamgate.service.redact import redact

DECISIONS = ("allowed", "explicitDeny", "implicitDeny")
METHODS = ("Authorize", "AuthorizeBatch", "AuthorizeMany", "Explain", "Simulate", "GetStatus", "Rollback")
ACTIVATION_RESULTS = (
    "activated",
    "rejected",
    "unchanged",
    "rolled-back",
    "restored",
    "fetch-failed",
    "shadowed",
    "shadow-rejected",
    "shadow-fetch-failed",
)
"""``iamgate_bundle_activations_total{result}``: the manager's event results; those about the
shadow bundle are prefixed ``shadow-`` (``shadowed`` is a shadow bundle loaded)."""

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
        self.decision_log_truncations = Counter(
            "iamgate_decision_log_truncations",
            "Decision log lines whose request was cut to fit the line limits.",
            registry=self.registry,
        )
        self.internal_errors = Counter(
            "iamgate_internal_errors",
            "Unexpected failures while deciding (each answered INTERNAL, never allowed).",
            ["method"],
            registry=self.registry,
        )
        self.bundle_activations = Counter(
            "iamgate_bundle_activations",
            "Bundle lifecycle events by result: activated, rejected (any activation step failed), "
            "unchanged, rolled-back, restored (from --persist-dir), fetch-failed, and for the shadow "
            "bundle shadowed, shadow-rejected, shadow-fetch-failed.",
            ["result"],
            registry=self.registry,
        )
        for result in ACTIVATION_RESULTS:
            self.bundle_activations.labels(result)
        self._decision_children = {name: self.decisions.labels(name) for name in DECISIONS}
        self._ok_children = {method: self.requests.labels(method, "OK") for method in METHODS}
        for reason in ("queue_full", "write_error"):
            self.decision_logs_dropped.labels(reason)

    def count_decision(self, decision: str, seconds: float) -> None:
        self._decision_children[decision].inc()
        self.decision_seconds.observe(seconds)

    def count_decisions(self, tally: dict[str, int]) -> None:
        """A batch's decisions, counted once per outcome (their times are observed one by one)."""
        for decision, count in tally.items():
            if count:
                self._decision_children[decision].inc(count)

    def observe_decisions(self, seconds: list[float]) -> None:
        """A batch's decision times, observed at once: the same buckets and sum as calling
        ``decision_seconds.observe`` for each, with one increment per bucket touched instead of
        two locked ones per decision (a batch item costs a few microseconds)."""
        histogram = self.decision_seconds
        buckets = getattr(histogram, "_buckets", None)
        bounds = getattr(histogram, "_upper_bounds", None)
        total = getattr(histogram, "_sum", None)
        if buckets is None or bounds is None or total is None:  # another prometheus_client
            for value in seconds:
                histogram.observe(value)
            return
        if not seconds:
            return
        # observe's bucket for a value is the first bound >= it: bucket i holds the values in
        # (bound[i-1], bound[i]], counted from the sorted values with one bisection per bound
        ordered = sorted(seconds)
        below = 0
        for index, bound in enumerate(bounds):
            upto = bisect_right(ordered, bound)
            if upto > below:
                buckets[index].inc(upto - below)
                below = upto
            if below == len(ordered):
                break
        total.inc(sum(seconds))

    def observe_equal_decisions(self, seconds: float, count: int) -> None:
        """``count`` decisions of ``seconds`` each (the items of a batch answered together):
        what ``observe_decisions([seconds] * count)`` gives, in one bucket increment."""
        histogram = self.decision_seconds
        buckets = getattr(histogram, "_buckets", None)
        bounds = getattr(histogram, "_upper_bounds", None)
        total = getattr(histogram, "_sum", None)
        if buckets is None or bounds is None or total is None:  # another prometheus_client
            for _ in range(count):
                histogram.observe(seconds)
            return
        if count <= 0:
            return
        buckets[bisect_left(bounds, seconds)].inc(count)  # observe's: the first bound >= it
        total.inc(seconds * count)

    def count_request(self, method: str, code: str = "OK") -> None:
        child = self._ok_children.get(method) if code == "OK" else None
        (child or self.requests.labels(method, code)).inc()

    def count_dropped_log(self, reason: str, count: int = 1) -> None:
        self.decision_logs_dropped.labels(reason).inc(count)

    def count_truncated_log(self, count: int = 1) -> None:
        self.decision_log_truncations.inc(count)

    def count_activation(self, event: Any, shadow: bool = False) -> None:
        """Count one lifecycle event (an ``ActivationEvent``) of the active or the shadow bundle."""
        result = str(event.result)
        if shadow and result != "shadowed":
            result = f"shadow-{result}"
        self.bundle_activations.labels(result).inc()

    def watch_bundles(self, current: Callable[[], Any | None]) -> None:
        """Export the active bundle's revision and size, read from ``current()`` at each scrape."""
        self.registry.register(_BundleCollector(current))

    def watch_cache(self, current: Callable[[], Any | None]) -> None:
        """Export the active snapshot's decision cache (hits, misses, entries) at each scrape."""
        self.registry.register(_CacheCollector(current))

    def watch_shadow(self, shadow: Callable[[], Any | None]) -> None:
        """Export the shadow comparison (``ShadowStatus`` from ``shadow()``) at each scrape."""
        self.registry.register(_ShadowCollector(shadow))

    def watch_source(self, source: Any) -> None:
        """Everything above for one snapshot source, and its activation events when it has them."""
        self.watch_bundles(source.current)
        self.watch_cache(source.current)
        self.watch_shadow(lambda: getattr(source.status(), "shadow", None))
        add_listener = getattr(source, "add_listener", None)
        if add_listener is not None:
            add_listener(self.count_activation)


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
            [], {"name": snapshot.name, "revision": snapshot.revision, "source": redact(str(snapshot.source))}
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


class _CacheCollector(Collector):
    """The decision cache of the active snapshot, as monotonic counters.

    Each activated revision has a cache of its own whose counts start at zero; this collector adds
    up what each cache counted since the previous scrape (the cache active then included), so
    ``iamgate_decision_cache_hits_total`` never goes down when a revision is swapped in.
    """

    def __init__(self, current: Callable[[], Any | None]) -> None:
        self._current = current
        self._lock = threading.Lock()
        self._seen: weakref.WeakKeyDictionary[Any, tuple[int, int, int]] = weakref.WeakKeyDictionary()
        self._last: Any | None = None
        self._totals = [0, 0, 0]

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        snapshot = self._current()
        cache = getattr(snapshot, "decision_cache", None)
        with self._lock:
            for counted in {id(c): c for c in (self._last, cache) if c is not None}.values():
                now = (counted.hits, counted.misses, counted.uncacheable)
                before = self._seen.get(counted, (0, 0, 0))
                for i in range(3):
                    self._totals[i] += max(0, now[i] - before[i])
                self._seen[counted] = now
            self._last = cache
            hits, misses, uncacheable = self._totals
        for name, value, text in (
            ("hits", hits, "Decisions answered from the decision cache."),
            ("misses", misses, "Cacheable decisions evaluated afresh (then cached)."),
            ("uncacheable", uncacheable, "Decisions that depend on something the cache cannot key on."),
        ):
            counter = CounterMetricFamily(f"iamgate_decision_cache_{name}", text)
            counter.add_metric([], float(value))
            yield counter
        entries = GaugeMetricFamily(
            "iamgate_decision_cache_entries", "Decisions cached for the active revision."
        )
        entries.add_metric([], float(cache.size) if cache is not None else 0.0)
        yield entries
        enabled = GaugeMetricFamily(
            "iamgate_decision_cache_enabled",
            "1 when the active revision has a decision cache (0 with --no-cache).",
        )
        enabled.add_metric([], 1.0 if cache is not None else 0.0)
        yield enabled


class _ShadowCollector(Collector):
    """The shadow bundle's comparison with the active one, labelled by the shadow's revision."""

    def __init__(self, shadow: Callable[[], Any | None]) -> None:
        self._shadow = shadow

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        shadow = self._shadow()
        loaded = GaugeMetricFamily("iamgate_shadow_bundle_active", "1 when a shadow bundle is loaded.")
        loaded.add_metric([], 0.0 if shadow is None else 1.0)
        yield loaded
        if shadow is None:
            return
        info = InfoMetricFamily("iamgate_shadow_bundle", "The shadow (candidate) bundle.")
        info.add_metric(
            [], {"name": shadow.name, "revision": shadow.revision, "source": redact(str(shadow.source))}
        )
        yield info
        for name, value, text in (
            ("evaluations", shadow.evaluated, "Requests evaluated on the shadow bundle too."),
            ("disagreements", shadow.disagreed, "Requests the shadow bundle decided differently."),
            ("errors", shadow.errors, "Requests the shadow bundle failed to evaluate."),
        ):
            counter = CounterMetricFamily(f"iamgate_shadow_{name}", text, labels=["revision"])
            counter.add_metric([shadow.revision], float(value))
            yield counter
