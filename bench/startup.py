"""Start-up of ``iamgate serve``: from spawning the process to grpc health reporting SERVING.

The clock starts just before the process is spawned, so the figure includes interpreter start,
imports, loading and compiling the bundle and binding the port — what an orchestrator waits for.
Health is polled every few milliseconds on an ephemeral port; the process is stopped after each run.

Python's bytecode: an installed wheel has its modules compiled (pip compiles them at install), but
an editable install run under ``PYTHONDONTWRITEBYTECODE=1`` (as in this project's sessions and the
Dockerfile) compiles every iamgate module from source at every start, ~0.3 s more on this machine.
``measure_startup`` therefore compiles the iamgate and iamgate_client packages first, as pip does
(``bytecode="compiled"``); ``bytecode="source"`` removes their caches instead and measures that.
The process's CPU time up to SERVING (Linux) is reported beside the wall time: it moves less with
the machine's load.

Side by side, alternating (e.g. against a worktree of an older revision with its own venv)::

    python bench/startup.py --runs 9 .venv/bin/iamgate /tmp/old/.venv/bin/iamgate
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
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
    bytecode: str = "compiled"
    """``compiled`` (as installed from a wheel) or ``source`` (iamgate's own modules without bytecode)."""
    median_cpu_seconds: float | None = None
    """CPU time (user + system) of the server process up to SERVING; ``None`` off Linux."""


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
    return _start_once(iamgate, bundle=bundle)[0]


def _start_once(iamgate: Path, *, bundle: str | None = None) -> tuple[float, float | None]:
    """(wall seconds, CPU seconds or None) from spawn to SERVING for one start of the sidecar."""
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
        return elapsed, _cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def package_dirs(iamgate: Path) -> list[Path]:
    """Where the iamgate and iamgate_client packages that ``iamgate`` runs live."""
    python = iamgate.parent / "python"
    code = "import iamgate as a, iamgate_client as b; print(a.__path__[0]); print(b.__path__[0])"
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return [Path(line) for line in found.stdout.splitlines() if line]


def prepare_bytecode(iamgate: Path, bytecode: str) -> None:
    """``compiled``: compile the packages as pip does at install; ``source``: remove their caches."""
    dirs = package_dirs(iamgate)
    if bytecode == "compiled":
        subprocess.run(
            [str(iamgate.parent / "python"), "-m", "compileall", "-q", *map(str, dirs)],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )
    elif bytecode == "source":
        for directory in dirs:
            for cache in directory.rglob("__pycache__"):
                shutil.rmtree(cache, ignore_errors=True)
    else:
        raise ValueError(f"bytecode: compiled or source, not {bytecode!r}")


def measure_startup(
    iamgate: Path, *, runs: int = 5, bundle: str | None = None, bytecode: str = "compiled"
) -> Startup:
    if not os.access(iamgate, os.X_OK):
        raise FileNotFoundError(f"{iamgate} is not an executable (install the project: make venv)")
    prepare_bytecode(iamgate, bytecode)
    starts = [_start_once(iamgate, bundle=bundle) for _ in range(runs)]
    return _summary(starts, bundle, bytecode)


def _summary(starts: list[tuple[float, float | None]], bundle: str | None, bytecode: str) -> Startup:
    times = tuple(wall for wall, _ in starts)
    cpu = [seconds for _, seconds in starts if seconds is not None]
    return Startup(
        statistics.median(times),
        times,
        bundle or "embedded",
        bytecode,
        statistics.median(cpu) if len(cpu) == len(starts) else None,
    )


def compare(executables: list[Path], *, runs: int, bytecode: str) -> list[Startup]:
    """Start each executable once per round, alternating, so they share the machine's load."""
    for iamgate in executables:
        prepare_bytecode(iamgate, bytecode)
    starts: list[list[tuple[float, float | None]]] = [[] for _ in executables]
    for _ in range(runs):
        for index, iamgate in enumerate(executables):
            starts[index].append(_start_once(iamgate))
    return [_summary(each, None, bytecode) for each in starts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="`iamgate serve` to SERVING, alternating executables")
    parser.add_argument("executables", nargs="+", type=Path, help="iamgate scripts (each in its own venv)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bytecode", choices=("compiled", "source"), default="compiled")
    args = parser.parse_args(argv)
    before = os.getloadavg()
    results = compare(args.executables, runs=args.runs, bytecode=args.bytecode)
    after = os.getloadavg()
    print(f"bytecode: {args.bytecode}; load average {before[0]:.1f} before, {after[0]:.1f} after")
    for iamgate, result in zip(args.executables, results, strict=True):
        cpu = f"{result.median_cpu_seconds:.3f} s" if result.median_cpu_seconds is not None else "n/a"
        runs = " ".join(f"{t:.2f}" for t in result.runs)
        print(f"{iamgate}: median {result.median_seconds:.3f} s (CPU {cpu}); runs {runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
