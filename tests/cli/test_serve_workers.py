"""`iamgate serve --workers N`: several processes on one port, answering as one sidecar would.

Each test runs the real `iamgate serve` process; the kernel spreads connections over the workers
(SO_REUSEPORT), so a test opens several channels to reach each of them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.service_requests import embedded_requests
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

IAMGATE = str(Path(sys.executable).parent / "iamgate")
WORKERS = 2
CHANNELS = 24
"""Enough fresh connections that every one of two workers gets some (each misses with 2**-24)."""


def _start(*args: str) -> tuple[subprocess.Popen, str, str | None, list[str]]:
    """`iamgate serve ARGS`; waits for the parent's "listening" line (all workers up)."""
    process = subprocess.Popen(
        [IAMGATE, "serve", "--address", "127.0.0.1:0", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    several = "--workers" in args and args[args.index("--workers") + 1] != "1"
    listening = r"listening on (\S+) \(\d+ worker processes\)" if several else r"listening on (\S+)"
    deadline = time.monotonic() + 60
    lines: list[str] = []
    metrics = None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"metrics \(summed over workers\) on (\S+)", line)
        if found:
            metrics = found.group(1)
        found = re.search(listening, line)
        if found:
            return process, found.group(1), metrics, lines
    _stop(process)
    raise AssertionError("iamgate serve did not report its address:\n" + "".join(lines))


def _stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, rest = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, rest = process.communicate()
    return process.returncode, rest


@pytest.fixture(scope="module")
def workers():
    process, address, metrics, _ = _start("--workers", str(WORKERS), "--metrics-address", "127.0.0.1:0")
    try:
        yield address, metrics
    finally:
        _stop(process)


def _on_fresh_channels(address: str, call):
    """``call(stub)`` on CHANNELS new connections; the answers in order."""
    answers = []
    for _ in range(CHANNELS):
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            answers.append(call(pb_grpc.AuthorizerStub(channel)))
    return answers


def _requests() -> list[pb.AuthorizeRequest]:
    """The embedded bundle's own test questions (those that need no fixed clock)."""
    return embedded_requests()[0]


def test_every_worker_answers_on_the_one_port_and_status_names_it(workers):
    address, _ = workers
    statuses = _on_fresh_channels(address, lambda stub: stub.GetStatus(pb.GetStatusRequest(), timeout=10))
    assert {s.worker.index for s in statuses} == set(range(WORKERS))
    assert {s.worker.count for s in statuses} == {WORKERS}
    assert len({s.worker.pid for s in statuses}) == WORKERS
    assert len({s.active.revision for s in statuses}) == 1  # every worker serves the same revision


def test_workers_decide_exactly_as_one_process_does(workers):
    address, _ = workers
    requests = _requests()
    assert len(requests) > 20
    single, single_address, _, _ = _start("--workers", "1", "--metrics-address", "off")
    try:
        with grpc.insecure_channel(single_address) as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            expected = [stub.Authorize(r, timeout=10).decision for r in requests]
    finally:
        _stop(single)
    seen_workers = set()
    for _ in range(CHANNELS // 4):
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            seen_workers.add(stub.GetStatus(pb.GetStatusRequest(), timeout=10).worker.index)
            assert [stub.Authorize(r, timeout=10).decision for r in requests] == expected
            batch = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests), timeout=10)
            assert [item.response.decision for item in batch.results] == expected
    assert pb.DECISION_ALLOWED in expected and pb.DECISION_EXPLICIT_DENY in expected


def test_health_is_serving_on_every_worker(workers):
    address, _ = workers
    for _ in range(CHANNELS // 4):
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _sample(text: str, pattern: str) -> float:
    found = re.search(rf"^{pattern} (\S+)$", text, re.MULTILINE)
    assert found, f"no sample {pattern} in:\n{text}"
    return float(found.group(1))


def test_metrics_are_summed_over_workers_and_bundle_gauges_say_which_worker(workers):
    address, metrics = workers
    before = _sample(_scrape(metrics), r'iamgate_requests_total\{code="OK",method="Authorize"\}')
    question = pb.AuthorizeRequest(principal="lisa-finance", action="ec2:RunInstances", resource="*")
    decisions = _on_fresh_channels(address, lambda stub: stub.Authorize(question, timeout=10).decision)
    assert set(decisions) == {pb.DECISION_IMPLICIT_DENY}
    text = _scrape(metrics)
    after = _sample(text, r'iamgate_requests_total\{code="OK",method="Authorize"\}')
    assert after - before == CHANNELS
    assert _sample(text, "iamgate_workers_up") == WORKERS
    for index in range(WORKERS):
        assert _sample(text, rf'iamgate_bundle_active\{{worker="{index}"\}}') == 1
        assert re.search(
            rf'^iamgate_bundle_info\{{.*revision="default-.*worker="{index}"', text, re.MULTILINE
        )


def test_rollback_is_refused_with_several_workers():
    process, address, _, _ = _start("--workers", str(WORKERS), "--metrics-address", "off", "--enable-admin")
    try:
        with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as refused:
            pb_grpc.AuthorizerStub(channel).Rollback(pb.RollbackRequest(), timeout=10)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "worker processes" in refused.value.details()
    finally:
        _stop(process)


def test_sigterm_stops_every_worker_and_the_parent_exits_cleanly():
    process, address, _, _ = _start("--workers", str(WORKERS), "--metrics-address", "off")
    pids = {
        s.worker.pid
        for s in _on_fresh_channels(address, lambda stub: stub.GetStatus(pb.GetStatusRequest(), timeout=10))
    }
    assert len(pids) == WORKERS
    code, log = _stop(process)
    assert code == 0
    assert "stopping 2 workers" in log
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_a_unix_socket_refuses_several_workers(tmp_path):
    result = subprocess.run(
        [
            IAMGATE,
            "serve",
            "--address",
            f"unix:{tmp_path}/s.sock",
            "--workers",
            "2",
            "--metrics-address",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot share the Unix socket" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_workers_must_be_a_positive_count_or_auto(value):
    result = subprocess.run(
        [IAMGATE, "serve", "--workers", value, "--metrics-address", "off"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--workers" in result.stderr


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering():
    process, address, _, _ = _start("--workers", str(WORKERS), "--metrics-address", "off")
    try:
        status = _on_fresh_channels(address, lambda stub: stub.GetStatus(pb.GetStatusRequest(), timeout=10))
        victim = next(s.worker for s in status if s.worker.index == 0)
        os.kill(victim.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            # Connections the kernel had queued on the dead worker's socket are reset; a client
            # retries (as gRPC's wait_for_ready does) and lands on a live worker.
            with contextlib.suppress(grpc.RpcError):
                pids = {
                    s.worker.index: s.worker.pid
                    for s in _on_fresh_channels(
                        address, lambda stub: stub.GetStatus(pb.GetStatusRequest(), timeout=10)
                    )
                }
                if pids.get(0) not in (None, victim.pid):
                    break
            assert time.monotonic() < deadline, "worker 0 was not replaced"
            time.sleep(0.2)
    finally:
        code, log = _stop(process)
    assert code == 0
    assert f"worker 0 (pid {victim.pid}) exited" in log


def test_each_worker_writes_a_decision_log_file_of_its_own(tmp_path):
    log = tmp_path / "decisions.jsonl"
    process, address, _, _ = _start(
        "--workers", str(WORKERS), "--metrics-address", "off", "--decision-log", str(log)
    )
    question = pb.AuthorizeRequest(principal="lisa-finance", action="ec2:RunInstances", resource="*")
    try:
        _on_fresh_channels(address, lambda stub: stub.Authorize(question, timeout=10))
    finally:
        _stop(process)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == [f"decisions.worker{i}.jsonl" for i in range(WORKERS)]
    lines = sum(len((tmp_path / name).read_text().splitlines()) for name in files)
    assert lines == CHANNELS
