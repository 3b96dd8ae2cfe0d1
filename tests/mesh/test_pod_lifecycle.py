"""The sidecar in a pod: alive without a bundle (never restarted for it), ready only with one,
and a SIGTERM that loses no call in flight.

Kubernetes probes: liveness asks health service ``liveness``, readiness asks ``""``
(deploy/kubernetes/deployment.yaml).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import iamgate_client as sdk
from iamgate.bundle.load import load_snapshot
from iamgate.service import ServiceConfig, StaticSnapshots, start_sidecar
from iamgate.service.health import LIVENESS_SERVICE

IAMGATE = str(Path(sys.executable).parent / "iamgate")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
QUESTION = ("lisa-finance", "ec2:RunInstances", "*")


def _health(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def _default_snapshot():
    from importlib import resources

    return load_snapshot(str(resources.files("iamgate.bundle.default").joinpath("bundle")))


def test_a_sidecar_without_a_bundle_is_alive_but_not_ready():
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), StaticSnapshots())
    try:
        address = f"127.0.0.1:{sidecar.port}"
        assert _health(address, LIVENESS_SERVICE) == SERVING
        assert _health(address, "") == NOT_SERVING
        assert _health(address, "iamgate.v1.Authorizer") == NOT_SERVING
    finally:
        sidecar.stop(0)


def test_the_serve_process_with_a_bad_first_bundle_stays_alive_and_unready(tmp_path):
    empty = tmp_path / "bundle"
    (empty / "accounts/123456789012").mkdir(parents=True)
    (empty / "accounts/123456789012/users.json").write_text('{"Users": [')
    process = subprocess.Popen(
        [IAMGATE, "serve", "--address", "127.0.0.1:0", "--metrics-address", "off", "--bundle", str(empty)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = _address(process)
        time.sleep(0.5)  # a few health polls: it must neither exit nor turn ready
        assert process.poll() is None
        assert _health(address, LIVENESS_SERVICE) == SERVING
        assert _health(address, "") == NOT_SERVING
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)


def _address(process: subprocess.Popen) -> str:
    import re

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(r"listening on (\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("iamgate serve did not report its address")


class SlowSnapshots(StaticSnapshots):
    """Answers after ``delay`` seconds and counts the calls inside ``authorize``."""

    def __init__(self, snapshot, delay: float) -> None:
        super().__init__(snapshot)
        self.delay = delay
        self.inside = threading.Semaphore(0)

    def authorize(self, query, *, explain=False):
        self.inside.release()
        time.sleep(self.delay)
        return super().authorize(query, explain=explain)


def test_stopping_finishes_every_call_in_flight():
    source = SlowSnapshots(_default_snapshot(), delay=0.5)
    config = ServiceConfig(
        address="127.0.0.1:0", metrics_address=None, max_workers=16, shutdown_grace_seconds=5
    )
    sidecar = start_sidecar(config, source)
    calls = 12
    with (
        sdk.Client(f"127.0.0.1:{sidecar.port}", timeout=10) as client,
        futures.ThreadPoolExecutor(calls) as pool,
    ):
        pending = [pool.submit(client.authorize, *QUESTION) for _ in range(calls)]
        for _ in range(calls):
            assert source.inside.acquire(timeout=10)  # every call is being decided
        sidecar.drain(0)
        sidecar.stop()
        outcomes = [future.result() for future in pending]
    assert [outcome.outcome for outcome in outcomes] == [sdk.Outcome.IMPLICIT_DENY] * calls


def test_while_draining_readiness_fails_but_calls_are_still_answered():
    sidecar = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None), StaticSnapshots(_default_snapshot())
    )
    address = f"127.0.0.1:{sidecar.port}"
    drainer = threading.Thread(target=sidecar.drain, args=(1.0,))
    drainer.start()
    try:
        time.sleep(0.2)
        assert _health(address, "") == NOT_SERVING
        with sdk.Client(address, timeout=5) as client:
            assert client.authorize(*QUESTION).outcome is sdk.Outcome.IMPLICIT_DENY
    finally:
        drainer.join()
        sidecar.stop(0)


def test_sigterm_drains_then_exits_zero_without_failing_a_call(tmp_path):
    process = subprocess.Popen(
        [IAMGATE, "serve", "--address", "127.0.0.1:0", "--metrics-address", "off", "--drain-seconds", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    address = _address(process)
    failures: list[BaseException] = []
    answered = 0
    with sdk.Client(address, timeout=5) as client:
        assert client.authorize(*QUESTION).outcome is sdk.Outcome.IMPLICIT_DENY
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 0.7  # well inside the drain
        while time.monotonic() < deadline:
            try:
                client.authorize(*QUESTION)
                answered += 1
            except sdk.IamgateClientError as error:
                failures.append(error)
    _, log = process.communicate(timeout=15)
    assert failures == [] and answered > 0
    assert process.returncode == 0, log
