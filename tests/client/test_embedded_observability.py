"""Embedded mode's decision log is the sidecar's (same module, same lines, same redaction and
bounds), and its counters count what it answered."""

from __future__ import annotations

import json

import pytest
from service.bundle_helpers import OBJECT, bundle_files, write_tree

import iamgate_client as sdk
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar
from iamgate_client import _embedded

QUESTIONS = [
    ("alice", "s3:GetObject", OBJECT, None, "plain"),
    ("alice", "s3:PutObject", OBJECT, {"secret": "hunter2", "team": "blue"}, "with-context"),
    ("mallory", "s3:GetObject", OBJECT, None, ""),
]
VARYING = ("decision_id", "timestamp", "latency_ms")


@pytest.fixture
def bundle(tmp_path):
    return str(write_tree(tmp_path / "bundle", bundle_files(revision="A")))


def _lines(path):
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in event.items() if k not in VARYING} for event in events]


def _ask(iamgate):
    for principal, action, resource, context, request_id in QUESTIONS:
        iamgate.authorize(principal, action, resource, context, request_id=request_id)
        iamgate.authorize(principal, action, resource, context, request_id=request_id)  # memoised


def test_embedded_writes_the_sidecars_decision_log_lines(bundle, tmp_path):
    remote_log, embedded_log = tmp_path / "sidecar.log", tmp_path / "embedded.log"
    config = ServiceConfig(
        address="127.0.0.1:0",
        metrics_address=None,
        decision_log=str(remote_log),
        sensitive_context_keys=frozenset({"Secret"}),
    )
    sidecar = start_sidecar(config, ManagedBundles(BundleSettings(bundle=bundle)))
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as client:
            _ask(client)
        assert sidecar.decision_log is not None and sidecar.decision_log.flush()
    finally:
        sidecar.stop(0)
    with sdk.Embedded(bundle, decision_log=str(embedded_log), sensitive_context_keys=["Secret"]) as embedded:
        _ask(embedded)
        assert embedded.flush_decision_log()
    expected = _lines(remote_log)
    assert len(expected) == 2 * len(QUESTIONS)
    assert _lines(embedded_log) == expected
    assert expected[2]["request"]["context"]["secret"] == "**REDACTED**"


def test_the_decision_log_bounds_apply_in_process(bundle, tmp_path):
    log = tmp_path / "embedded.log"
    options = {"decision_log_max_field_chars": 16}
    with sdk.Embedded(bundle, decision_log=str(log), service_options=options) as embedded:
        embedded.authorize("alice", "s3:GetObject", OBJECT, request_id="r" * 100)
        assert embedded.flush_decision_log()
        assert embedded.stats().decision_log_truncations == 1
    (event,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert event["request"]["request_id"].startswith("r" * 16 + "…[truncated 84 chars]")
    assert "request.request_id" in event["truncated"]


def test_a_decision_log_that_cannot_be_opened_is_a_configuration_error(bundle, tmp_path):
    with pytest.raises(sdk.ConfigurationError, match="decision_log"):
        sdk.Embedded(bundle, decision_log=str(tmp_path / "missing" / "dir" / "log"))


def test_an_unknown_service_option_is_a_configuration_error(bundle):
    with pytest.raises(sdk.ConfigurationError, match="service_options"):
        sdk.Embedded(bundle, service_options={"max_request_byte": 1})


def test_a_bad_limit_is_a_configuration_error_naming_it(bundle):
    with pytest.raises(sdk.ConfigurationError, match="max_request_bytes"):
        sdk.Embedded(bundle, service_options={"max_request_bytes": 0})


def test_stats_count_decisions_requests_and_memo_hits(bundle, monkeypatch):
    monkeypatch.setattr(_embedded, "_time", lambda: 1_900_000_000.5)  # no second boundary mid-test
    with sdk.Embedded(bundle) as embedded:
        _ask(embedded)
        with pytest.raises(sdk.InvalidRequestError):
            embedded.authorize("alice", "nocolon", OBJECT)
        embedded.authorize_batch([sdk.Check("alice", "s3:GetObject", OBJECT)])
        embedded.explain("alice", "s3:GetObject", OBJECT)
        stats = embedded.stats()
    assert dict(stats.decisions) == {"allowed": 3, "explicitDeny": 0, "implicitDeny": 4}
    assert stats.requests[("Authorize", "OK")] == 6
    assert stats.requests[("Authorize", "INVALID_ARGUMENT")] == 1
    assert stats.requests[("AuthorizeBatch", "OK")] == 1 and stats.requests[("Explain", "OK")] == 1
    assert stats.memo_hits == 3 and stats.fail_closed == 0


def test_the_prometheus_registry_exports_the_counters_under_the_sidecars_names(bundle):
    from prometheus_client import generate_latest

    with sdk.Embedded(bundle) as embedded:
        embedded.authorize("alice", "s3:GetObject", OBJECT)
        text = generate_latest(embedded.prometheus_registry()).decode()
    assert 'iamgate_decisions_total{decision="allowed"} 1.0' in text
    assert 'iamgate_requests_total{code="OK",method="Authorize"} 1.0' in text
    assert "iamgate_fail_closed_total 0.0" in text
