"""The installed `iamgate` script end to end: `serve` in a process, `check` and `status` against it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from service.bundle_helpers import bundle_files, tarball, write_tree

IAMGATE = str(Path(sys.executable).parent / "iamgate")
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def _start(*args: str) -> tuple[subprocess.Popen, str, list[str]]:
    """Start `iamgate serve ARGS` on an ephemeral port; returns the process, address and log so far."""
    process = subprocess.Popen(
        [IAMGATE, "serve", "--address", "127.0.0.1:0", "--metrics-address", "off", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"listening on (\S+)", line)
        if found:
            return process, found.group(1), lines
    _stop(process)
    raise AssertionError("iamgate serve did not report its address:\n" + "".join(lines))


def _stop(process: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM; returns the exit code and the rest of the log."""
    process.send_signal(signal.SIGTERM)
    try:
        _, rest = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, rest = process.communicate()
    return process.returncode, rest


@pytest.fixture(scope="module")
def served_address():
    process, address, _ = _start()
    try:
        yield address
    finally:
        _stop(process)


def _run(command: str, address: str, *args: str, output: str = "json") -> tuple[int, str]:
    result = subprocess.run(
        [IAMGATE, command, *args, "--address", address, "--output", output],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout


def _check(address: str, *args: str) -> tuple[int, dict]:
    code, out = _run("check", address, *args)
    return code, json.loads(out) if out else {}


@pytest.mark.parametrize(
    ("environment", "decision"), [("production", "explicitDeny"), ("staging", "allowed")]
)
def test_sarah_terminating_an_instance_depends_on_its_environment_tag(served_address, environment, decision):
    code, answer = _check(
        served_address,
        "sarah-developer",
        "ec2:TerminateInstances",
        INSTANCE,
        "--context",
        f"ec2:ResourceTag/Environment={environment}",
    )
    assert code == 0
    assert (answer["decision"], answer["allowed"]) == (decision, decision == "allowed")


def test_lisa_from_finance_cannot_run_instances(served_address):
    code, answer = _check(served_address, "lisa-finance", "ec2:RunInstances", "*")
    assert (code, answer["decision"], answer["allowed"]) == (0, "implicitDeny", False)


def test_sigterm_stops_the_sidecar_promptly():
    process, _, _ = _start()
    started = time.monotonic()
    code, log = _stop(process)
    assert code == 0 and time.monotonic() - started < 10
    assert "received SIGTERM; shutting down" in log


def test_serve_watches_a_bundle_and_reports_shadow_disagreements_off_the_request_path(tmp_path):
    active = write_tree(tmp_path / "a", bundle_files(revision="A"))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    process, address, _ = _start(
        "--bundle", str(active), "--shadow-bundle", str(candidate), "--poll-interval", "0.1", "--no-cache"
    )
    try:
        code, answer = _check(address, "alice", "s3:PutObject", "arn:aws:s3:::data/x")
        assert (code, answer["decision"], answer["revision"]) == (0, "implicitDeny", "A")
        code, text = _run("status", address, output="text")
        assert code == 0 and "shadow:     alice (revision B)" in text and "1 disagreed" in text
        assert "    shadow (revision B): allowed:" in text
        write_tree(active, bundle_files(write=True, revision="A2"))
        deadline = time.monotonic() + 10
        while _check(address, "alice", "s3:GetObject", "arn:aws:s3:::data/x")[1]["revision"] != "A2":
            assert time.monotonic() < deadline, "the changed bundle was not activated"
            time.sleep(0.05)
    finally:
        code, log = _stop(process)
    assert code == 0
    shadow_lines = [line for line in log.splitlines() if "shadow disagreement on alice s3:PutObject" in line]
    assert len(shadow_lines) == 1 and "shadow revision B says allowed" in shadow_lines[0]
    assert "iamgate.bundle.shadow" not in log  # the per-request line of the bundle layer is quiet
    assert "activated bundle revision A2" in log


def test_serve_stays_not_serving_on_a_bundle_signed_with_an_untrusted_key(tmp_path):
    (tmp_path / "signing.key").write_text("one-secret-of-at-least-16-bytes\n")
    (tmp_path / "other.key").write_text("another-secret-of-at-least-16-bytes\n")
    source = write_tree(tmp_path / "source", bundle_files())
    built = tmp_path / "bundle.tar.gz"
    result = subprocess.run(
        [
            IAMGATE,
            "bundle",
            "build",
            str(source),
            "-o",
            str(built),
            "--sign-key",
            str(tmp_path / "signing.key"),
        ],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0
    process, address, log = _start("--bundle", str(built), "--hmac-secret-file", str(tmp_path / "other.key"))
    try:
        rejected = [line for line in log if "rejected bundle" in line]
        assert len(rejected) == 1 and "at step verify" in rejected[0]
        assert "untrusted key" in rejected[0] and "[untrusted-key]" in rejected[0]
        assert any("NOT_SERVING until" in line for line in log)
        code, out = _run("status", address)
        status = json.loads(out)
        assert (code, status["active"], status["lastErrorStep"]) == (0, None, "verify")
        code, _ = _check(address, "alice", "s3:GetObject", "*")
        assert code == 2  # UNAVAILABLE: no bundle is active
    finally:
        code, _ = _stop(process)
    assert code == 0


def test_serve_restarted_with_its_http_source_down_serves_the_persisted_bundle(tmp_path):
    from service.bundle_helpers import BundleServer

    server = BundleServer(tarball(bundle_files(write=True, revision="B")))
    persist = tmp_path / "state"
    try:
        process, address, _ = _start("--bundle", server.url, "--persist-dir", str(persist))
        try:
            assert _check(address, "alice", "s3:PutObject", "*")[1]["revision"] == "B"
        finally:
            _stop(process)
    finally:
        server.close()
    process, address, log = _start("--bundle", server.url, "--persist-dir", str(persist))
    try:
        assert any("restored the last good bundle, revision B" in line for line in log)
        code, answer = _check(address, "alice", "s3:PutObject", "*")
        assert (code, answer["decision"], answer["revision"]) == (0, "allowed", "B")
    finally:
        _stop(process)
