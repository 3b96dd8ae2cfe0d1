"""bench/service.py drives one cell from several load generator processes over one common window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.service import run_cell  # noqa: E402


def test_several_load_generators_share_the_calls_and_their_counts_add_up():
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), default_source())
    try:
        address = f"127.0.0.1:{sidecar.port}"
        result = run_cell(address, os.getpid(), "batch", 3, 0.3, True, processes=2)
    finally:
        sidecar.stop(0)
    assert result["loadgens"] == 2 and result["errors"] == 0
    assert result["calls"] > 0 and result["decisions"] == 100 * result["calls"]
    assert result["p50_ms"] <= result["p99_ms"]
    assert result["server_cpu"] > 0
