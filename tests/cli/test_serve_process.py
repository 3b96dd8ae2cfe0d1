"""The installed `iamgate` script end to end: `serve` in a process, `check --output json` against it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

IAMGATE = str(Path(sys.executable).parent / "iamgate")
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@pytest.fixture(scope="module")
def served_address():
    process = subprocess.Popen(
        [IAMGATE, "serve", "--address", "127.0.0.1:0", "--metrics-address", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        address = None
        while address is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            found = re.search(r"listening on (\S+)", line)
            address = found.group(1) if found else None
        assert address, "iamgate serve did not report its address"
        yield address
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def _check(address: str, *args: str) -> tuple[int, dict]:
    result = subprocess.run(
        [IAMGATE, "check", *args, "--address", address, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


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
    process = subprocess.Popen(
        [IAMGATE, "serve", "--address", "127.0.0.1:0", "--metrics-address", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on" in process.stderr.readline() or "listening on" in process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
