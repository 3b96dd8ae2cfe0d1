"""The bench-service load generator checks a real sidecar's answers, then measures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

ROOT = Path(__file__).resolve().parents[2]


def _loadgen(address: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "loadgen.py"), "--address", address, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_load_generator_checks_answers_and_reports_a_measurement():
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), default_source())
    try:
        address = f"127.0.0.1:{sidecar.port}"
        for shape in ("unary", "batch"):
            done = _loadgen(address, "--shape", shape, "--in-flight", "2", "--seconds", "0.2", "--check")
            assert done.returncode == 0, done.stdout + done.stderr
            result = json.loads(done.stdout.strip().splitlines()[-1])
            assert result["errors"] == 0 and result["calls"] > 0
            assert result["decisions"] == result["calls"] * (100 if shape == "batch" else 1)
    finally:
        sidecar.stop(0)


def test_the_load_generator_refuses_to_time_a_server_that_answers_wrongly():
    import re

    empty = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "empty_server.py")], stderr=subprocess.PIPE, text=True
    )
    try:
        address = re.search(r"listening on (\S+)", empty.stderr.readline()).group(1)
        done = _loadgen(address, "--shape", "unary", "--seconds", "0.2", "--check")
        assert done.returncode == 1
        assert "wrong answers" in done.stdout
    finally:
        empty.terminate()
        empty.wait(10)
