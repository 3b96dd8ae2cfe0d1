"""The parts of ``--workers`` that need no process: counting cores, naming files, merging metrics."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from iamgate.service import ConfigError, ServiceConfig
from iamgate.service.workers import (
    WorkerMetricsCollector,
    available_cores,
    check_workers,
    merge_families,
    parse_workers,
    worker_log_path,
)


def test_auto_is_the_cores_this_process_may_use():
    assert parse_workers("auto") == available_cores() >= 1
    assert parse_workers(" AUTO ") == available_cores()


@pytest.mark.parametrize("text", ["0", "-2", "two", "", "1.5"])
def test_a_worker_count_must_be_a_positive_number(text):
    with pytest.raises(ConfigError, match="workers"):
        parse_workers(text)


def test_a_unix_socket_is_served_by_one_process():
    config = ServiceConfig(address="unix:/tmp/iamgate.sock", metrics_address=None)
    check_workers(config, 1)
    with pytest.raises(ConfigError, match="cannot share the Unix socket"):
        check_workers(config, 2)


def test_each_worker_gets_a_decision_log_file_of_its_own():
    assert worker_log_path("/var/log/decisions.jsonl", 1, 4) == "/var/log/decisions.worker1.jsonl"
    assert worker_log_path("decisions", 0, 2) == "decisions.worker0"
    assert worker_log_path("/var/log/decisions.jsonl", 0, 1) == "/var/log/decisions.jsonl"
    assert worker_log_path("-", 3, 4) == "-" and worker_log_path(None, 0, 2) is None


def test_a_worker_index_must_be_below_the_worker_count():
    with pytest.raises(ConfigError, match="worker_index"):
        ServiceConfig(metrics_address=None, worker_index=2, worker_count=2)


WORKER = """# HELP iamgate_decisions_total Decisions made, by outcome.
# TYPE iamgate_decisions_total counter
iamgate_decisions_total{{decision="allowed"}} {allowed}
# HELP iamgate_decision_seconds Time to decide.
# TYPE iamgate_decision_seconds histogram
iamgate_decision_seconds_bucket{{le="0.001"}} {fast}
iamgate_decision_seconds_bucket{{le="+Inf"}} {all}
iamgate_decision_seconds_count {all}
iamgate_decision_seconds_sum 0.5
# HELP iamgate_bundle_active 1 when a bundle is active.
# TYPE iamgate_bundle_active gauge
iamgate_bundle_active 1.0
# HELP iamgate_decision_cache_entries Decisions cached.
# TYPE iamgate_decision_cache_entries gauge
iamgate_decision_cache_entries {entries}
# HELP iamgate_bundle_info The active bundle.
# TYPE iamgate_bundle_info gauge
iamgate_bundle_info{{revision="{revision}"}} 1.0
"""


def _samples(families) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_counters_and_histograms_are_summed_and_gauges_kept_per_worker():
    def worker(index: int, **values) -> tuple[int, list]:
        return index, list(text_string_to_metric_families(WORKER.format(**values)))

    scraped = [
        worker(0, allowed=3, fast=2, all=3, entries=5, revision="A"),
        worker(1, allowed=4, fast=1, all=4, entries=7, revision="B"),
    ]
    merged = _samples(merge_families(scraped))
    assert merged[("iamgate_decisions_total", (("decision", "allowed"),))] == 7
    assert merged[("iamgate_decision_seconds_bucket", (("le", "0.001"),))] == 3
    assert merged[("iamgate_decision_seconds_count", ())] == 7
    assert merged[("iamgate_decision_seconds_sum", ())] == 1.0
    assert merged[("iamgate_decision_cache_entries", ())] == 12
    assert merged[("iamgate_bundle_active", (("worker", "0"),))] == 1
    assert merged[("iamgate_bundle_active", (("worker", "1"),))] == 1
    assert merged[("iamgate_bundle_info", (("revision", "A"), ("worker", "0")))] == 1
    assert merged[("iamgate_bundle_info", (("revision", "B"), ("worker", "1")))] == 1


class FakePool:
    """The parent's view of its workers: which pid holds each index, and their metrics text."""

    count = 2
    restarts = 0

    def __init__(self) -> None:
        self.texts: dict[int, str | None] = {}
        self.workers: dict[int, int] = {}

    def run(self, index: int, pid: int, **values) -> None:
        if index in self.workers and self.workers[index] != pid:
            self.restarts += 1
        self.workers[index] = pid
        self.texts[pid] = WORKER.format(fast=0, all=0, entries=1, revision="A", **values)

    def metrics_ports(self) -> list[tuple[int, int, int]]:
        return [(index, pid, pid) for index, pid in self.workers.items()]

    def pids(self) -> set[int]:
        return set(self.workers.values())

    def fetch(self, port: int) -> str:
        text = self.texts[port]
        if text is None:
            raise OSError("connection refused")
        return text


def _allowed(collector: WorkerMetricsCollector) -> float:
    return _samples(collector.collect())[("iamgate_decisions_total", (("decision", "allowed"),))]


def test_a_replaced_workers_counts_stay_in_the_sum():
    pool = FakePool()
    collector = WorkerMetricsCollector(pool, fetch=pool.fetch)  # type: ignore[arg-type]
    pool.run(0, 100, allowed=3)
    pool.run(1, 101, allowed=4)
    assert _allowed(collector) == 7
    pool.run(0, 102, allowed=1)  # worker 0 died and its successor counted from zero
    assert _allowed(collector) == 8
    pool.run(0, 102, allowed=2)
    assert _allowed(collector) == 9
    assert _samples(collector.collect())[("iamgate_worker_restarts_total", ())] == 1


def test_a_worker_that_misses_a_scrape_counts_with_its_last_values():
    pool = FakePool()
    collector = WorkerMetricsCollector(pool, fetch=pool.fetch)  # type: ignore[arg-type]
    pool.run(0, 100, allowed=3)
    pool.run(1, 101, allowed=4)
    assert _allowed(collector) == 7
    pool.texts[101] = None
    merged = _samples(collector.collect())
    assert merged[("iamgate_decisions_total", (("decision", "allowed"),))] == 7
    assert merged[("iamgate_workers_up", ())] == 1
    assert ("iamgate_bundle_active", (("worker", "1"),)) not in merged  # gauges: live answers only
    assert merged[("iamgate_decision_cache_entries", ())] == 1
