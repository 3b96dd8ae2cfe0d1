"""The pieces of the lifecycle wiring on their own: status mapping, metrics, logs, redaction, batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest

from iamgate.bundle.activation import ActivationEvent, BundleManager, BundleStatus, LoadError
from iamgate.bundle.loader import files_from_bytes
from iamgate.bundle.query import AccessQuery
from iamgate.service import ServiceMetrics, StaticSnapshots
from iamgate.service.bundles import ShadowReporter, log_event
from iamgate.service.convert import MAX_DISAGREEMENTS, status_response
from iamgate.service.redact import redact
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

from .bundle_helpers import MALFORMED, OBJECT, bundle_files, tarball
from .fakes import FakeSnapshot, running_server

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WRITE = AccessQuery("alice", "s3:PutObject", OBJECT)
READ = AccessQuery("alice", "s3:GetObject", OBJECT)


def _files(**kwargs):
    return files_from_bytes(tarball(bundle_files(**kwargs)), "memory")


@pytest.fixture
def shadowed() -> BundleManager:
    """A manager answering from revision A with revision B in shadow, after 2 disagreements."""
    manager = BundleManager()
    manager.activate_files(_files(revision="A"))
    manager.offer_shadow(_files(write=True, revision="B"))
    for query in (WRITE, READ, WRITE):
        manager.authorize(query)
    return manager


# -- GetStatus ------------------------------------------------------------------------------------


def test_status_maps_active_previous_and_the_failed_step(shadowed):
    shadowed.activate_files(_files(write=True, revision="C"))
    shadowed.offer(_files(revision="D", extra=MALFORMED))
    response = status_response(shadowed.status(), admin_enabled=True, server_version="9")
    assert (response.active.revision, response.previous.revision, response.previous_revision) == (
        "C",
        "A",
        "A",
    )
    assert response.previous.counts.principals == 1 and response.previous.activated_at.seconds > 0
    assert (response.last_error.step, response.last_error.source) == ("validate", "memory")
    assert response.last_error.occurred_at.seconds > 0
    assert (response.activations, response.rejections, response.admin_enabled) == (2, 1, True)


def test_status_maps_the_shadow_counters_and_as_many_disagreements_as_asked(shadowed):
    response = status_response(
        shadowed.status(), admin_enabled=False, server_version="9", max_disagreements=1
    )
    assert response.shadow.revision == "B"
    stats = response.shadow_stats
    assert (stats.evaluated, stats.agreed, stats.disagreed, stats.errors) == (3, 1, 2, 0)
    assert len(stats.recent) == 1
    recent = stats.recent[0]
    assert (recent.principal, recent.action, recent.resource) == (
        WRITE.principal,
        WRITE.action,
        WRITE.resource,
    )
    assert recent.active.result.decision == pb.DECISION_IMPLICIT_DENY
    assert recent.shadow.result.decision == pb.DECISION_ALLOWED
    assert recent.shadow.result.revision == "B" and recent.shadow.policies  # the full explanation


@pytest.mark.parametrize(("asked", "returned"), [(0, 0), (-5, 0), (10_000, 2)])
def test_status_returns_at_most_the_disagreements_kept(shadowed, asked, returned):
    response = status_response(
        shadowed.status(), admin_enabled=False, server_version="9", max_disagreements=asked
    )
    assert len(response.shadow_stats.recent) == returned
    assert MAX_DISAGREEMENTS == 100


def test_a_shadow_that_fails_to_load_is_its_own_error(shadowed):
    shadowed.offer_shadow(_files(revision="E", extra=MALFORMED))
    response = status_response(shadowed.status(), admin_enabled=False, server_version="9")
    assert response.shadow_error.step == "validate" and not response.HasField("last_error")


def test_status_never_shows_credentials_of_a_source():
    status = BundleStatus(
        active=FakeSnapshot(source="https://user:token@bundles.example/b.tar.gz"),
        previous=None,
        last_error=LoadError("fetch", "https://user:token@bundles.example/b.tar.gz: HTTP 500", "x", AT),
        last_attempt=None,
        last_success=None,
        activations=1,
        rejections=0,
    )
    response = status_response(status, admin_enabled=False, server_version="9")
    assert "token" not in str(response)
    assert response.active.source == "https://***@bundles.example/b.tar.gz"


def test_redact_hides_the_userinfo_of_any_url():
    assert redact("see ftp://u:p@h/x and https://tok@h/y") == "see ftp://***@h/x and https://***@h/y"
    assert redact("/etc/iamgate/user@host/bundle") == "/etc/iamgate/user@host/bundle"


def test_get_status_over_grpc_reports_the_step_of_a_recorded_error():
    holder = StaticSnapshots(FakeSnapshot(revision="rev-1"))
    holder.activate(FakeSnapshot(revision="rev-2"))
    holder.record_error("verify: unsigned", AT, "b.tar.gz", step="verify")
    with running_server(holder) as (address, _), grpc.insecure_channel(address) as channel:
        status = pb_grpc.AuthorizerStub(channel).GetStatus(pb.GetStatusRequest())
    assert (status.previous.revision, status.last_error.step, status.activations) == ("rev-1", "verify", 2)


# -- AuthorizeBatch sees one revision -------------------------------------------------------------


@dataclass
class _SwappingSource:
    """Answers the first item from the pinned snapshot, then pretends a new revision arrived."""

    pinned: FakeSnapshot
    newer: FakeSnapshot
    calls: int = 0

    def current(self):
        return self.pinned

    def authorize(self, query, *, explain=False):
        self.calls += 1
        return (self.pinned if self.calls == 1 else self.newer).authorize(query, explain=explain)

    def status(self):
        return StaticSnapshots(self.pinned).status()


def test_a_batch_is_answered_from_one_revision_even_if_another_activates_meanwhile():
    source = _SwappingSource(FakeSnapshot(revision="old"), FakeSnapshot(revision="new"))
    item = pb.AuthorizeRequest(principal="sarah", action="ec2:StopInstances", resource="*")
    with running_server(source) as (address, _), grpc.insecure_channel(address) as channel:
        response = pb_grpc.AuthorizerStub(channel).AuthorizeBatch(
            pb.AuthorizeBatchRequest(requests=[item] * 3)
        )
    assert [r.response.revision for r in response.results] == ["old", "old", "old"]


# -- metrics ----------------------------------------------------------------------------------------


def test_activation_events_are_counted_by_result_with_shadow_events_apart():
    metrics = ServiceMetrics()
    metrics.count_activation(ActivationEvent("activated", "s"))
    metrics.count_activation(ActivationEvent("rejected", "s"), False)
    metrics.count_activation(ActivationEvent("rejected", "s"), True)
    metrics.count_activation(ActivationEvent("shadowed", "s"), True)
    sample = metrics.registry.get_sample_value
    for result, count in (("activated", 1), ("rejected", 1), ("shadow-rejected", 1), ("shadowed", 1)):
        assert sample("iamgate_bundle_activations_total", {"result": result}) == count
    assert sample("iamgate_bundle_activations_total", {"result": "unchanged"}) == 0


def test_the_shadow_is_exported_at_scrape_time(shadowed):
    metrics = ServiceMetrics()
    metrics.watch_shadow(lambda: shadowed.status().shadow)
    sample = metrics.registry.get_sample_value
    assert sample("iamgate_shadow_disagreements_total", {"revision": "B"}) == 2
    assert sample("iamgate_shadow_evaluations_total", {"revision": "B"}) == 3
    assert sample("iamgate_shadow_bundle_info", {"name": "alice", "revision": "B", "source": "memory"}) == 1
    shadowed.clear_shadow()
    assert sample("iamgate_shadow_bundle_active") == 0
    assert sample("iamgate_shadow_disagreements_total", {"revision": "B"}) is None


class _Cache:
    def __init__(self) -> None:
        self.hits = self.misses = self.uncacheable = self.size = 0


def test_cache_counters_add_up_across_caches_and_never_decrease():
    metrics = ServiceMetrics()
    snapshot = FakeSnapshot()
    snapshot.decision_cache = first = _Cache()
    metrics.watch_cache(lambda: snapshot)
    sample = metrics.registry.get_sample_value
    first.hits, first.misses = 5, 2
    assert (sample("iamgate_decision_cache_hits_total"), sample("iamgate_decision_cache_misses_total")) == (
        5,
        2,
    )
    first.hits = 7  # counted on the old cache after the last scrape, before the swap
    snapshot.decision_cache = second = _Cache()
    second.hits = 1
    assert sample("iamgate_decision_cache_hits_total") == 8
    snapshot.decision_cache = first  # a rollback brings an old cache back: only its new hits count
    first.hits = 9
    assert sample("iamgate_decision_cache_hits_total") == 10
    snapshot.decision_cache = None
    assert sample("iamgate_decision_cache_hits_total") == 10
    assert sample("iamgate_decision_cache_enabled") == 0


# -- logs -------------------------------------------------------------------------------------------


def test_a_fetch_failure_is_one_line_without_the_source_twice(caplog):
    event = ActivationEvent(
        "fetch-failed",
        "https://u:p@h/b.tar.gz",
        step="fetch",
        message="https://u:p@h/b.tar.gz: HTTP 503 oops",
    )
    with caplog.at_level(logging.WARNING):
        log_event(event, shadow=False, active=FakeSnapshot(revision="A"))
    assert caplog.messages == [
        "cannot fetch bundle from https://***@h/b.tar.gz: HTTP 503 oops; still serving revision A, "
        "retrying with backoff"
    ]


def test_a_multi_line_rejection_is_logged_on_one_line(caplog):
    event = ActivationEvent(
        "rejected",
        "dir",
        step="validate",
        message="validate: dir: 2 error(s) in bundle\n  a.json: x\n  b.json: y",
    )
    with caplog.at_level(logging.WARNING):
        log_event(event, shadow=True, active=None)
    assert caplog.messages == [
        "rejected shadow bundle from dir at step validate: 2 error(s) in bundle a.json: x b.json: y; "
        "no bundle is active"
    ]


def _reported(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "iamgate.service.shadow"]


def test_the_shadow_reporter_logs_each_disagreement_once_with_both_answers(shadowed, caplog):
    reporter = ShadowReporter(lambda: shadowed.status().shadow)
    with caplog.at_level(logging.WARNING, logger="iamgate.service.shadow"):
        assert reporter.report_once() == 2
        assert reporter.report_once() == 0
        shadowed.authorize(WRITE)
        assert reporter.report_once() == 1
    assert len(_reported(caplog)) == 3
    line = _reported(caplog)[-1]
    assert line.startswith(
        f"shadow disagreement on alice s3:PutObject {OBJECT}: active revision A says implicitDeny"
    )
    assert "shadow revision B says allowed (determined by identity-based policy" in line
    assert "[3 of 4 requests disagree]" in line


def test_the_shadow_reporter_starts_over_with_a_new_candidate(shadowed, caplog):
    reporter = ShadowReporter(lambda: shadowed.status().shadow)
    reporter.report_once()
    shadowed.offer_shadow(_files(write=True, revision="B2"))
    shadowed.authorize(WRITE)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="iamgate.service.shadow"):
        assert reporter.report_once() == 1
    assert "shadow revision B2 says allowed" in _reported(caplog)[0]


def test_redact_masks_every_query_value_and_the_fragment_of_any_url():
    presigned = "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=abc;v=1&flag#f"
    assert redact(f"GET {presigned}: HTTP 403") == (
        "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***;v=***&***#***: HTTP 403"
    )
    assert redact(redact(presigned)) == redact(presigned)
