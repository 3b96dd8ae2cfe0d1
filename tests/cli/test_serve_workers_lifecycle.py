"""`iamgate serve --workers 2` over time: a worker replaced, a bundle changed, status naming the worker.

Real `iamgate serve` processes (see test_serve_workers.py for the helpers). Summed counters must
never go down when a worker dies and a new one starts from zero (Prometheus would see a reset),
and every worker must converge on a changed bundle, GetStatus and the metrics saying which.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.cli.test_serve_workers import (
    CHANNELS,
    IAMGATE,
    WORKERS,
    _on_fresh_channels,
    _sample,
    _scrape,
    _start,
    _stop,
)
from tests.service.bundle_helpers import OBJECT, ConfigMapVolume, bundle_files

AUTHORIZED = r'iamgate_requests_total\{code="OK",method="Authorize"\}'
QUESTION = pb.AuthorizeRequest(principal="lisa-finance", action="ec2:RunInstances", resource="*")


def _statuses(address: str) -> list[pb.GetStatusResponse]:
    return _on_fresh_channels(address, lambda stub: stub.GetStatus(pb.GetStatusRequest(), timeout=10))


def test_summed_counters_never_go_down_when_a_worker_is_replaced():
    process, address, metrics, _ = _start("--workers", str(WORKERS), "--metrics-address", "127.0.0.1:0")
    try:
        _on_fresh_channels(address, lambda stub: stub.Authorize(QUESTION, timeout=10))
        victim = next(s.worker for s in _statuses(address) if s.worker.index == 0)
        seen = [_sample(_scrape(metrics), AUTHORIZED)]
        assert seen[0] >= CHANNELS
        os.kill(victim.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            text = _scrape(metrics)
            seen.append(_sample(text, AUTHORIZED))
            if _sample(text, "iamgate_workers_up") == WORKERS and _replaced(address, victim.pid):
                break
            assert time.monotonic() < deadline, "worker 0 was not replaced"
            time.sleep(0.1)
        with contextlib.suppress(grpc.RpcError):  # a connection queued on the dead worker is reset
            _on_fresh_channels(address, lambda stub: stub.Authorize(QUESTION, timeout=10))
        text = _scrape(metrics)
        seen.append(_sample(text, AUTHORIZED))
    finally:
        _stop(process)
    assert seen == sorted(seen), f"the summed counter went down: {seen}"
    assert seen[-1] > seen[0]
    assert _sample(text, "iamgate_worker_restarts_total") == 1


def _replaced(address: str, pid: int) -> bool:
    with contextlib.suppress(grpc.RpcError):
        return all(s.worker.pid != pid for s in _statuses(address) if s.worker.index == 0)
    return False


def _revision_of_every_worker(address: str) -> dict[int, str]:
    revisions: dict[int, str] = {}
    with contextlib.suppress(grpc.RpcError):
        for status in _statuses(address):
            revisions[status.worker.index] = status.active.revision
    return revisions


def test_every_worker_converges_on_a_changed_bundle_and_says_which(tmp_path: Path):
    volume = ConfigMapVolume(tmp_path / "bundle")
    volume.publish(bundle_files(revision="rev-a"))
    process, address, metrics, _ = _start(
        "--workers",
        str(WORKERS),
        "--metrics-address",
        "127.0.0.1:0",
        "--bundle",
        str(volume.root),
        "--poll-interval",
        "0.2",
    )
    try:
        assert _revision_of_every_worker(address) == {i: "rev-a" for i in range(WORKERS)}
        volume.publish(bundle_files(write=True, revision="rev-b"))
        deadline = time.monotonic() + 30
        while _revision_of_every_worker(address) != {i: "rev-b" for i in range(WORKERS)}:
            assert time.monotonic() < deadline, (
                f"workers did not converge: {_revision_of_every_worker(address)}"
            )
            time.sleep(0.2)
        text = _scrape(metrics)
        writes = _on_fresh_channels(
            address,
            lambda stub: stub.Authorize(
                pb.AuthorizeRequest(principal="alice", action="s3:PutObject", resource=OBJECT), timeout=10
            ),
        )
    finally:
        _stop(process)
    for index in range(WORKERS):
        assert re.search(rf'^iamgate_bundle_info\{{.*revision="rev-b".*worker="{index}"', text, re.MULTILINE)
    assert "rev-a" not in text
    assert {answer.decision for answer in writes} == {pb.DECISION_ALLOWED}
    assert {answer.revision for answer in writes} == {"rev-b"}


@pytest.fixture(scope="module")
def workers():
    process, address, _, _ = _start("--workers", str(WORKERS), "--metrics-address", "off")
    try:
        yield address
    finally:
        _stop(process)


def test_status_prints_which_worker_answered(workers):
    address = workers
    text = subprocess.run(
        [IAMGATE, "status", "--address", address], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert re.search(rf"^worker: +[01] of {WORKERS} worker processes \(pid \d+\)", text, re.MULTILINE)
    data = json.loads(
        subprocess.run(
            [IAMGATE, "status", "--address", address, "--output", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert data["worker"]["count"] == WORKERS and data["worker"]["index"] in range(WORKERS)
    assert data["worker"]["pid"] > 0
