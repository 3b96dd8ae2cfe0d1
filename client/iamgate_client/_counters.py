"""What an :class:`~iamgate_client.Embedded` answered, counted as plain integers.

The sidecar exports Prometheus metrics from its own process; an embedded engine lives in the
application's, which may not run Prometheus at all. So the counting is plain (a lock and a few
dict increments, cheap enough for the in-process hot path), read with :meth:`Counters.read`, and
offered as a ``prometheus_client`` registry only when asked for and installed: the collector
reads the same integers at scrape time, under the sidecar's metric names.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from iamgate_client._errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class EmbeddedStats:
    """A consistent reading of an Embedded's counters since it was made."""

    decisions: Mapping[str, int] = field(default_factory=dict)
    """Decisions made, by outcome (``allowed``, ``explicitDeny``, ``implicitDeny``); batch items included."""
    requests: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """Calls by (method, status code name): ``("Authorize", "OK")``, ``("Explain", "INVALID_ARGUMENT")``."""
    fail_closed: int = 0
    """Denials made without a decision because no bundle was active (``on_unreachable="deny"``)."""
    memo_hits: int = 0
    """Authorize calls answered from the per-revision, per-second answer memo."""
    decision_logs_dropped: Mapping[str, int] = field(default_factory=dict)
    """Decision-log events dropped, by reason (``queue_full``, ``write_error``), as a sidecar counts them."""
    decision_log_truncations: int = 0
    """Decision-log lines that had to be cut to their bounds."""


def _value(counter: itertools.count[int]) -> int:
    """How often ``next`` was called on ``counter`` (its repr is ``count(N)``)."""
    return int(repr(counter)[6:-1])


class Counters:
    """Thread-safe counters; every method is O(1) and never raises.

    Authorize outcomes are counted on the in-process hot path: each with one ``next`` on an
    ``itertools.count``, a single C call that needs no lock (a lock's acquire and release would
    cost an embedded decision a tenth of its time). The rest takes a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.authorized = {word: itertools.count() for word in ("allowed", "explicitDeny", "implicitDeny")}
        """Authorize decisions by outcome: ``next(counters.authorized[word])`` counts one."""
        self.memo_hits = itertools.count()
        self._batch: dict[str, int] = {}
        self._requests: dict[tuple[str, str], int] = {}
        self._fail_closed = 0
        self._dropped: dict[str, int] = {}
        self._truncated = 0

    def batch_decided(self, outcomes: list[str]) -> None:
        with self._lock:
            for outcome in outcomes:
                self._batch[outcome] = self._batch.get(outcome, 0) + 1

    def request(self, method: str, code: str) -> None:
        """One call answered ``code`` (an Authorize answered OK is counted by its outcome instead)."""
        with self._lock:
            key = (method, code)
            self._requests[key] = self._requests.get(key, 0) + 1

    def failed_closed(self) -> None:
        with self._lock:
            self._fail_closed += 1

    def log_dropped(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + count

    def log_truncated(self, count: int = 1) -> None:
        with self._lock:
            self._truncated += count

    def read(self) -> EmbeddedStats:
        with self._lock:
            authorized = {word: _value(count) for word, count in self.authorized.items()}
            decisions = {word: count + self._batch.get(word, 0) for word, count in authorized.items()}
            requests = dict(self._requests)
            if sum(authorized.values()):
                requests[("Authorize", "OK")] = requests.get(("Authorize", "OK"), 0) + sum(
                    authorized.values()
                )
            return EmbeddedStats(
                decisions=MappingProxyType(decisions),
                requests=MappingProxyType(requests),
                fail_closed=self._fail_closed,
                memo_hits=_value(self.memo_hits),
                decision_logs_dropped=MappingProxyType(dict(self._dropped)),
                decision_log_truncations=self._truncated,
            )

    def prometheus_registry(self) -> Any:
        """A ``prometheus_client.CollectorRegistry`` exporting these counters (read at scrape time)."""
        try:
            from prometheus_client import CollectorRegistry
            from prometheus_client.core import CounterMetricFamily
        except ImportError:
            raise ConfigurationError(
                "Embedded.prometheus_registry needs prometheus-client (pip install prometheus-client)"
            ) from None
        counters = self

        class _Collector:
            def collect(self) -> Iterator[Any]:
                stats = counters.read()
                decisions = CounterMetricFamily(
                    "iamgate_decisions", "Decisions made, by outcome.", labels=["decision"]
                )
                for outcome, count in stats.decisions.items():
                    decisions.add_metric([outcome], count)
                yield decisions
                requests = CounterMetricFamily(
                    "iamgate_requests",
                    "Calls answered, by method and status code.",
                    labels=["method", "code"],
                )
                for (method, code), count in sorted(stats.requests.items()):
                    requests.add_metric([method, code], count)
                yield requests
                yield CounterMetricFamily(
                    "iamgate_fail_closed",
                    "Denials made without a decision because no bundle was active.",
                    value=stats.fail_closed,
                )
                yield CounterMetricFamily(
                    "iamgate_embedded_memo_hits",
                    "Authorize calls answered from the embedded answer memo.",
                    value=stats.memo_hits,
                )
                dropped = CounterMetricFamily(
                    "iamgate_decision_logs_dropped",
                    "Decision-log events dropped, by reason.",
                    labels=["reason"],
                )
                for reason, count in sorted(stats.decision_logs_dropped.items()):
                    dropped.add_metric([reason], count)
                yield dropped
                yield CounterMetricFamily(
                    "iamgate_decision_log_truncations",
                    "Decision-log lines cut to their bounds.",
                    value=stats.decision_log_truncations,
                )

        registry = CollectorRegistry()
        registry.register(_Collector())  # type: ignore[arg-type]
        return registry
