"""Issue 8, item 8: a caller cannot fill the disk or bloat lines through the decision log.

Before the fix the log file grew without bound (268 MB in 60 s under load) and every line copied
the caller's whole context (14 KB lines, or as much as a request could carry). Each test runs a
real sidecar on the embedded bundle, logging to a file with small caps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import iamgate_client as sdk
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

MAX_BYTES = 64 * 1024
MAX_FILES = 2
MAX_LINE = 8 * 1024
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@pytest.fixture
def log_path(tmp_path) -> Path:
    return tmp_path / "decisions.jsonl"


@pytest.fixture
def sidecar(log_path):
    config = ServiceConfig(
        address="127.0.0.1:0",
        metrics_address=None,
        max_workers=4,
        max_request_bytes=1 << 20,  # the log's own caps are under test, not the request's
        decision_log=str(log_path),
        sensitive_context_keys=frozenset({"X-Api-Token"}),
        decision_log_max_bytes=MAX_BYTES,
        decision_log_max_files=MAX_FILES,
        decision_log_max_line_bytes=MAX_LINE,
    )
    running = start_sidecar(config, default_source())
    try:
        yield running
    finally:
        running.stop(0)


@pytest.fixture
def client(sidecar):
    with sdk.Client(f"127.0.0.1:{sidecar.port}") as connected:
        yield connected


def _ask(client, context: dict) -> None:
    decision = client.authorize("sarah-developer", "ec2:StopInstances", INSTANCE, context)
    assert decision.outcome is sdk.Outcome.ALLOWED


def _lines(log_path: Path) -> list[str]:
    return log_path.read_text().splitlines()


def test_a_flood_of_huge_contexts_keeps_every_log_file_under_the_cap_and_their_number_bounded(
    sidecar, client, log_path
):
    context = {f"app:key{i}": "v" * 2_000 for i in range(40)}  # an 80 KB context per request
    for _ in range(200):
        _ask(client, context)
    assert sidecar.decision_log.flush()
    files = sorted(log_path.parent.iterdir())
    assert [f.name for f in files] == ["decisions.jsonl", "decisions.jsonl.1", "decisions.jsonl.2"]
    assert all(f.stat().st_size <= MAX_BYTES for f in files)
    assert sum(f.stat().st_size for f in files) <= MAX_BYTES * (MAX_FILES + 1)


def test_a_100_kb_context_value_is_logged_cut_and_marked_within_the_line_maximum(sidecar, client, log_path):
    _ask(client, {"app:payload": "p" * 100_000})
    assert sidecar.decision_log.flush()
    [line] = _lines(log_path)
    assert len(line.encode()) <= MAX_LINE
    event = json.loads(line)
    assert event["request"]["context"]["app:payload"] == ["p" * 256 + "…[truncated 99,744 chars]"]
    assert event["truncated"] == ["request.context"]


def test_a_sensitive_key_is_still_redacted_when_the_request_is_cut(sidecar, client, log_path):
    context = {f"app:key{i}": "v" * 5_000 for i in range(10)}
    context["x-api-token"] = "s3cr3t-" * 10_000
    _ask(client, context)
    assert sidecar.decision_log.flush()
    [line] = _lines(log_path)
    assert "s3cr3t" not in line and len(line.encode()) <= MAX_LINE
    event = json.loads(line)
    assert event["request"]["context"]["x-api-token"] == "**REDACTED**"
    assert event["redacted"] == ["x-api-token"]


def test_a_log_file_moved_away_by_logrotate_is_reopened(sidecar, client, log_path):
    _ask(client, {"app:n": "1"})
    assert sidecar.decision_log.flush()
    log_path.rename(log_path.with_name("decisions.jsonl-20261203"))
    _ask(client, {"app:n": "2"})
    assert sidecar.decision_log.flush()
    [line] = _lines(log_path)
    assert json.loads(line)["request"]["context"] == {"app:n": ["2"]}
