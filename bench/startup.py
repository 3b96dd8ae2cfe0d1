"""Start-up of ``iamgate serve``: from spawning the process to grpc health reporting SERVING.

The clock starts just before the process is spawned, so the figure includes interpreter start,
imports, loading and compiling the bundle and binding the port — what an orchestrator waits for.
Health is polled every few milliseconds on an ephemeral port; the process is stopped after each run.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.005
TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Startup:
    median_seconds: float
    runs: tuple[float, ...]
    bundle: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serving(address: str, deadline: float) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    # A channel whose first connection fails backs off for about a second before retrying; poll
    # with a short reconnect backoff so the figure measures the sidecar, not the client's backoff.
    options = [
        ("grpc.initial_reconnect_backoff_ms", 5),
        ("grpc.min_reconnect_backoff_ms", 5),
        ("grpc.max_reconnect_backoff_ms", 20),
    ]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.perf_counter() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.25)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(POLL_SECONDS)
    return False


def time_startup(iamgate: Path, *, bundle: str | None = None) -> float:
    """Seconds from spawn to SERVING for one start of the sidecar."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    command = [
        str(iamgate),
        "serve",
        "--address",
        address,
        "--metrics-address",
        "off",
        "--log-level",
        "error",
    ]
    if bundle is not None:
        command += ["--bundle", bundle]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ok = _serving(address, started + TIMEOUT_SECONDS)
        elapsed = time.perf_counter() - started
        if not ok:
            raise RuntimeError(f"iamgate serve did not report SERVING within {TIMEOUT_SECONDS:.0f} s")
        return elapsed
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_startup(iamgate: Path, *, runs: int = 5, bundle: str | None = None) -> Startup:
    if not os.access(iamgate, os.X_OK):
        raise FileNotFoundError(f"{iamgate} is not an executable (install the project: make venv)")
    times = tuple(time_startup(iamgate, bundle=bundle) for _ in range(runs))
    return Startup(statistics.median(times), times, bundle or "embedded")
