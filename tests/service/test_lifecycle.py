"""The bundle lifecycle in a running sidecar: watch, reject, poll with ETags, persist, shadow, roll back.

Every test starts a real sidecar on ephemeral loopback ports with ``ManagedBundles`` (the source
``iamgate serve`` uses), polling every 50 ms, and talks to it through the SDK; every wait is
bounded. ``serving`` checks that no poller, reporter or health thread is left behind.
"""

from __future__ import annotations

import logging
import shutil
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import iamgate_client as sdk
from iamgate.bundle.commands import build_command

from .bundle_helpers import (
    FAILING_TEST,
    MALFORMED,
    OBJECT,
    BundleServer,
    ConfigMapVolume,
    bundle_files,
    lifecycle_threads,
    revision_becomes,
    serving,
    tarball,
    wait_until,
    write_tree,
)

WRITE = ("alice", "s3:PutObject", OBJECT)
READ = ("alice", "s3:GetObject", OBJECT)


def _health(sidecar) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
        request = health_pb2.HealthCheckRequest(service="iamgate.v1.Authorizer")
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def _sample(sidecar, name: str, labels: dict[str, str] | None = None) -> float:
    return sidecar.metrics.registry.get_sample_value(name, labels or {}) or 0.0


# -- local sources --------------------------------------------------------------------------------


def test_a_changed_file_in_a_watched_directory_activates_a_new_revision(tmp_path):
    root = write_tree(tmp_path / "bundle", bundle_files())
    with serving(bundle=str(root)) as (_, client):
        first = client.status().active.revision
        assert client.authorize(*WRITE).outcome is sdk.Outcome.IMPLICIT_DENY
        write_tree(root, bundle_files(write=True))
        second = revision_becomes(client, lambda revision: revision != first)
        answer = client.authorize(*WRITE)
        assert (answer.outcome, answer.revision) == (sdk.Outcome.ALLOWED, second)
        assert client.status().previous.revision == first


def test_a_configmap_data_symlink_swap_activates_the_new_revision(tmp_path):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with serving(bundle=str(volume.root)) as (_, client):
        assert client.status().active.revision == "A"
        volume.publish(bundle_files(write=True, revision="B"))
        revision_becomes(client, "B")
        assert client.authorize(*WRITE).allowed


@pytest.mark.parametrize(
    ("broken", "step"),
    [(MALFORMED, "validate"), (FAILING_TEST, "test")],
    ids=["malformed-json", "failing-test"],
)
def test_a_broken_bundle_is_rejected_and_the_old_revision_keeps_answering(tmp_path, broken, step):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with serving(bundle=str(volume.root)) as (sidecar, client):
        volume.publish(bundle_files(revision="A", extra=broken))
        status = wait_until(lambda: (s := client.status()).last_error and s)
        assert (status.active.revision, status.last_error_step) == ("A", step)
        assert status.last_error_source == str(volume.root) and status.last_error_at is not None
        assert status.rejections == 1
        answer = client.authorize(*READ)
        assert (answer.outcome, answer.revision) == (sdk.Outcome.ALLOWED, "A")
        assert _health(sidecar) == health_pb2.HealthCheckResponse.SERVING
        # the counter is raised by the rejection's event, just after the status records it
        wait_until(lambda: _sample(sidecar, "iamgate_bundle_activations_total", {"result": "rejected"}) == 1)


def test_a_rejection_is_one_log_line_naming_the_step(tmp_path, caplog):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with (
        caplog.at_level(logging.INFO, logger="iamgate.service.bundles"),
        serving(bundle=str(volume.root)) as (_, client),
    ):
        volume.publish(bundle_files(revision="A", extra=FAILING_TEST))
        wait_until(lambda: client.status().last_error)
    rejected = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected bundle")]
    assert len(rejected) == 1 and "\n" not in rejected[0]
    assert "at step test:" in rejected[0] and "alice may delete" in rejected[0]
    assert rejected[0].endswith("still serving revision A")


def test_health_is_not_serving_until_a_first_bundle_activates(tmp_path):
    root = write_tree(tmp_path / "bundle", bundle_files(extra=FAILING_TEST))
    with serving(bundle=str(root)) as (sidecar, client):
        assert _health(sidecar) == health_pb2.HealthCheckResponse.NOT_SERVING
        denied = client.authorize(*READ)  # UNAVAILABLE: the SDK fails closed (docs/sdk.md)
        assert not denied.allowed and denied.fail_closed and denied.error.code == "UNAVAILABLE"
        status = client.status()
        assert status.active is None and status.last_error_step == "test"
        write_tree(root, bundle_files())
        wait_until(lambda: _health(sidecar) == health_pb2.HealthCheckResponse.SERVING)
        assert client.authorize(*READ).allowed


def test_a_signed_bundle_is_verified_and_an_unsigned_one_refused_before_parsing(tmp_path):
    secret = tmp_path / "bundle.secret"
    secret.write_text("a-shared-secret-of-at-least-16-bytes\n")
    source = write_tree(tmp_path / "source", bundle_files())
    signed = tmp_path / "signed.tar.gz"
    assert build_command(source, signed, revision="signed-1", sign_key=secret).exit_code == 0
    served = tmp_path / "served.tar.gz"
    shutil.copy(signed, served)
    with serving(bundle=str(served), hmac_secret_file=str(secret)) as (_, client):
        assert client.status().active.revision == "signed-1"
        served.write_bytes(tarball(bundle_files(write=True, revision="unsigned")))
        status = wait_until(lambda: (s := client.status()).last_error and s)
        assert status.last_error_step == "verify" and "unsigned" in status.last_error
        assert client.authorize(*WRITE).revision == "signed-1"


# -- HTTP -------------------------------------------------------------------------------------------


def test_an_http_bundle_is_polled_with_etags_and_a_new_body_activates(tmp_path):
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        with serving(bundle=server.url) as (_, client):
            assert client.status().active.revision == "A"
            wait_until(lambda: server.answers.count(304) >= 3)
            assert server.answers.count(200) == 1  # every later poll was a conditional GET -> 304
            server.body = tarball(bundle_files(write=True, revision="B"))
            revision_becomes(client, "B")
            assert client.authorize(*WRITE).allowed
            assert server.answers.count(200) == 2
            assert server.conditional == len(server.answers) - 1
    finally:
        server.close()


def test_an_unreachable_http_source_is_a_fetch_error_in_status_while_the_bundle_keeps_serving(tmp_path):
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        with serving(bundle=server.url) as (sidecar, client):
            server.close()
            status = wait_until(lambda: (s := client.status()).last_error and s)
            assert (status.last_error_step, status.active.revision) == ("fetch", "A")
            assert client.authorize(*READ).allowed
            assert _sample(sidecar, "iamgate_bundle_activations_total", {"result": "fetch-failed"}) >= 1
    finally:
        server.close()


def test_a_restart_with_the_source_gone_serves_the_persisted_revision(tmp_path):
    persist = tmp_path / "state"
    server = BundleServer(tarball(bundle_files(write=True, revision="B")))
    try:
        with serving(bundle=server.url, persist_dir=str(persist)) as (_, client):
            assert client.status().active.revision == "B"
    finally:
        server.close()
    assert (persist / "last-good.bundle.json").exists()
    with serving(bundle=server.url, persist_dir=str(persist)) as (sidecar, client):
        assert _health(sidecar) == health_pb2.HealthCheckResponse.SERVING
        status = client.status()
        assert status.active.revision == "B" and status.active.source.endswith("(persisted)")
        # the first poll runs in the background once a bundle is restored
        assert wait_until(lambda: client.status().last_error_step == "fetch")
        answer = client.authorize(*WRITE)
        assert (answer.outcome, answer.revision) == (sdk.Outcome.ALLOWED, "B")
        assert _sample(sidecar, "iamgate_bundle_activations_total", {"result": "restored"}) == 1


def test_a_persisted_directory_bundle_is_restored_when_the_directory_is_gone(tmp_path):
    root = write_tree(tmp_path / "bundle", bundle_files(revision="A"))
    persist = tmp_path / "state"
    with serving(bundle=str(root), persist_dir=str(persist)):
        pass
    shutil.rmtree(root)
    with serving(bundle=str(root), persist_dir=str(persist)) as (_, client):
        assert client.authorize(*READ).revision == "A"


# -- shadow -----------------------------------------------------------------------------------------


def test_a_shadow_bundle_counts_its_disagreements_in_status_metrics_and_logs(tmp_path, caplog):
    active = write_tree(tmp_path / "a", bundle_files(revision="A"))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    with (
        caplog.at_level(logging.WARNING, logger="iamgate.service.shadow"),
        serving(bundle=str(active), shadow_bundle=str(candidate)) as (sidecar, client),
    ):
        for question in (WRITE, READ, WRITE, READ, WRITE):
            assert client.authorize(*question).revision == "A"  # the caller always gets the active answer
        status = client.status(disagreements=2)
        assert (status.shadow.revision, status.shadow.source) == ("B", str(candidate))
        stats = status.shadow_stats
        assert (stats.evaluated, stats.agreed, stats.disagreed, stats.errors) == (5, 2, 3, 0)
        assert len(stats.recent) == 2
        latest = stats.recent[-1]
        assert (latest.principal, latest.action, latest.resource) == WRITE
        assert latest.active.decision.outcome is sdk.Outcome.IMPLICIT_DENY
        assert latest.shadow.decision.outcome is sdk.Outcome.ALLOWED
        assert latest.shadow.decision.determining[0].sid == "ObjectAccess"
        assert latest.active.policies and latest.shadow.policies  # both full explanations
        assert _sample(sidecar, "iamgate_shadow_disagreements_total", {"revision": "B"}) == 3
        assert _sample(sidecar, "iamgate_shadow_evaluations_total", {"revision": "B"}) == 5
        lines = wait_until(lambda: len(_shadow_lines(caplog)) == 3 and _shadow_lines(caplog))
    assert "active revision A says implicitDeny" in lines[0]
    assert "shadow revision B says allowed (determined by identity-based policy" in lines[0]
    assert "ObjectAccess" in lines[0]


def test_a_shadow_bundle_can_be_judged_against_the_embedded_bundle(tmp_path):
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    with serving(shadow_bundle=str(candidate)) as (_, client):
        answer = client.authorize(*WRITE)  # the embedded bundle does not know alice
        assert answer.outcome is sdk.Outcome.IMPLICIT_DENY and "unknown" in answer.message
        status = client.status()
        assert status.active.source == "embedded:default"
        assert (status.shadow.revision, status.shadow_stats.disagreed) == ("B", 1)


def _shadow_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("shadow disagreement")]


def test_status_without_a_shadow_has_no_shadow_stats(tmp_path):
    with serving(bundle=str(write_tree(tmp_path / "a", bundle_files(revision="A")))) as (_, client):
        status = client.status(disagreements=5)
        assert status.shadow is None and status.shadow_stats is None


# -- rollback ---------------------------------------------------------------------------------------


def test_rollback_is_refused_unless_admin_is_enabled(tmp_path):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with serving(bundle=str(volume.root)) as (_, client):
        volume.publish(bundle_files(write=True, revision="B"))
        revision_becomes(client, "B")
        with pytest.raises(sdk.PermissionDeniedError):
            client.rollback()
        assert client.status().active.revision == "B"


def test_rollback_with_admin_returns_to_the_previous_revision(tmp_path):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with serving(bundle=str(volume.root), enable_admin=True) as (sidecar, client):
        with pytest.raises(sdk.FailedPreconditionError):
            client.rollback()  # nothing to return to yet
        volume.publish(bundle_files(write=True, revision="B"))
        revision_becomes(client, "B")
        with pytest.raises(sdk.FailedPreconditionError):
            client.rollback(expected_revision="A")  # A is not what is active
        assert client.rollback(expected_revision="B") == ("A", "B")
        answer = client.authorize(*WRITE)
        assert (answer.outcome, answer.revision) == (sdk.Outcome.IMPLICIT_DENY, "A")
        status = client.status()
        assert (status.active.revision, status.previous.revision) == ("A", "B")
        assert _sample(sidecar, "iamgate_bundle_activations_total", {"result": "rolled-back"}) == 1


def test_the_embedded_bundle_is_managed_like_any_other():
    with serving(enable_admin=True) as (sidecar, client):
        status = client.status()
        assert status.active.source == "embedded:default" and status.activations == 1
        with pytest.raises(sdk.FailedPreconditionError):
            client.rollback()
        assert _sample(sidecar, "iamgate_bundle_activations_total", {"result": "activated"}) == 1


# -- decision cache ---------------------------------------------------------------------------------

QUESTIONS = [
    ("sarah-developer", "ec2:StopInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc", {}),
    (
        "sarah-developer",
        "ec2:TerminateInstances",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
        {"ec2:ResourceTag/Environment": "production"},
    ),
    (
        "sarah-developer",
        "ec2:TerminateInstances",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
        {"ec2:ResourceTag/Environment": "staging"},
    ),
    ("lisa-finance", "ec2:RunInstances", "*", {}),
    ("mike-devops", "s3:PutObject", "arn:aws:s3:::my-app-uploads/x", {"aws:SecureTransport": "false"}),
    ("mike-devops", "s3:PutObject", "arn:aws:s3:::my-app-uploads/x", {"aws:SecureTransport": "true"}),
    ("eve", "s3:GetObject", "*", {}),
]


def _answers(client) -> list[tuple]:
    return [
        (d.outcome, d.message, tuple(d.determining), d.revision)
        for d in (client.authorize(p, a, r, c) for p, a, r, c in QUESTIONS * 3)
    ]


def test_no_cache_serves_the_same_decisions_as_the_cache():
    with (
        serving(metrics=True) as (cached_sidecar, cached),
        serving(cache_size=0, metrics=True) as (
            uncached_sidecar,
            uncached,
        ),
    ):
        assert _answers(cached) == _answers(uncached)
        assert _sample(cached_sidecar, "iamgate_decision_cache_hits_total") > 0
        assert _sample(cached_sidecar, "iamgate_decision_cache_entries") > 0
        assert _sample(uncached_sidecar, "iamgate_decision_cache_enabled") == 0
        assert _sample(uncached_sidecar, "iamgate_decision_cache_hits_total") == 0
        url = f"http://127.0.0.1:{cached_sidecar.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    for name in (
        "iamgate_decision_cache_hits_total",
        "iamgate_decision_cache_misses_total",
        'iamgate_bundle_activations_total{result="activated"} 1.0',
        "iamgate_shadow_bundle_active 0.0",
    ):
        assert name in text


def test_cache_counters_never_go_down_when_a_new_revision_activates(tmp_path):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with serving(bundle=str(volume.root)) as (sidecar, client):
        for _ in range(3):
            client.authorize(*READ)
        before = _sample(sidecar, "iamgate_decision_cache_hits_total")
        assert before == 2
        volume.publish(bundle_files(write=True, revision="B"))
        revision_becomes(client, "B")
        assert _sample(sidecar, "iamgate_decision_cache_hits_total") == before
        client.authorize(*READ)
        client.authorize(*READ)
        assert _sample(sidecar, "iamgate_decision_cache_hits_total") == before + 1


# -- shutdown ---------------------------------------------------------------------------------------


def test_stopping_the_sidecar_stops_its_pollers(tmp_path):
    server = BundleServer(tarball(bundle_files(revision="A")))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    try:
        with serving(bundle=server.url, shadow_bundle=str(candidate)) as (_, client):
            names = lifecycle_threads()
            assert sum(name.startswith("bundle-poller") for name in names) == 2
            assert "iamgate-shadow-log" in names
            assert client.status().active.revision == "A"
        requests = len(server.answers)
        time.sleep(0.3)  # six poll intervals
        assert len(server.answers) == requests  # nobody polls any more
    finally:
        server.close()
