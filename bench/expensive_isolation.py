"""Authorize latency alone, and while many heavy Simulate calls hammer the same sidecar.

Each variant is an ``iamgate serve`` process on the embedded bundle: the working tree, and with
``--before REF`` also the sidecar as it was at a git revision (exported with ``git archive``), so
both are measured side by side in one run. The hammer is a separate process (its client threads
would otherwise share this process's GIL with the Authorize being timed) running ``--heavy``
threads, each sending Simulate calls back to back (``--scale`` actions x as many resources over a
policy with conditions; a refused call is retried after a short pause).

    .venv/bin/python bench/expensive_isolation.py --before HEAD~1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUTHORIZE = {"principal": "sarah-developer", "action": "ec2:DescribeInstances", "resource": "*"}


def _policy(statements: int) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"S{i}",
                    "Effect": "Allow" if i % 3 else "Deny",
                    "Action": [f"s3:Get*{i}", "s3:Put*", "ec2:*Instances"],
                    "Resource": [f"arn:aws:s3:::bucket-{i}/*", "arn:aws:s3:::data/*"],
                    "Condition": {"StringLike": {"aws:PrincipalTag/team": [f"team-{i}-*"]}},
                }
                for i in range(statements)
            ],
        }
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pythonpath(tree: Path) -> str:
    return os.pathsep.join(str(tree / part) for part in ("server", "client"))


def _export(ref: str, into: Path) -> Path:
    archive = into / "tree.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "server", "client"], check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def _start(tree: Path) -> tuple[subprocess.Popen, str]:
    address = f"127.0.0.1:{_free_port()}"
    env = dict(os.environ, PYTHONPATH=_pythonpath(tree))
    process = subprocess.Popen(
        [sys.executable, "-m", "iamgate", "serve", "--address", address, "--metrics-address", "off"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import grpc

    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
    from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

    deadline = time.monotonic() + 60
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.AuthorizerStub(channel)
        while time.monotonic() < deadline:
            try:
                stub.Authorize(pb.AuthorizeRequest(**AUTHORIZE), timeout=1)
                return process, address
            except grpc.RpcError:
                time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the sidecar at {address} did not answer within 60 s")


def _hammer(address: str, threads: int, scale: int, statements: int, stop: multiprocessing.Event) -> None:
    import grpc

    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
    from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

    request = pb.SimulateRequest(
        policy_input_list=[_policy(statements)],
        action_names=[f"s3:GetObject{i}" for i in range(scale)],
        resource_arns=[f"arn:aws:s3:::data/{i}" for i in range(scale)],
    )

    def loop() -> None:
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            while not stop.is_set():
                try:
                    stub.Simulate(request, timeout=120)
                except grpc.RpcError:
                    time.sleep(0.01)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    stop.wait()


def _latencies(address: str, seconds: float, samples: int) -> list[float]:
    import grpc

    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
    from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

    request = pb.AuthorizeRequest(**AUTHORIZE)
    times: list[float] = []
    end = time.monotonic() + seconds
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.AuthorizerStub(channel)
        while len(times) < samples and time.monotonic() < end:
            started = time.perf_counter()
            stub.Authorize(request, timeout=120)
            times.append(time.perf_counter() - started)
            time.sleep(0.005)
    return times


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) * 1000:8.1f} ms   p99 {p99 * 1000:8.1f} ms   (n={len(times)})"


def measure(name: str, tree: Path, args: argparse.Namespace) -> list[str]:
    process, address = _start(tree)
    try:
        _latencies(address, 1.0, 20)  # warm up the channel and the decision path
        alone = _latencies(address, args.seconds, args.samples)
        stop = multiprocessing.get_context("spawn").Event()
        hammer = multiprocessing.get_context("spawn").Process(
            target=_hammer, args=(address, args.heavy, args.scale, args.statements, stop), daemon=True
        )
        hammer.start()
        time.sleep(args.warmup)
        loaded = _latencies(address, args.seconds, args.samples)
        stop.set()
        hammer.join(5)
        if hammer.is_alive():
            hammer.kill()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return [
        f"{name:<10} Authorize alone:                     {_summary(alone)}",
        f"{name:<10} Authorize with {args.heavy} heavy Simulates:     {_summary(loaded)}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", metavar="REF", help="also measure the sidecar at this git revision")
    parser.add_argument("--heavy", type=int, default=16, help="concurrent Simulate callers (default 16)")
    parser.add_argument("--scale", type=int, default=100, help="actions and resources per Simulate (100)")
    parser.add_argument("--statements", type=int, default=30, help="statements in the Simulate policy (30)")
    parser.add_argument("--samples", type=int, default=200, help="Authorize calls per phase (200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="at most this long per phase (30)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of hammering before timing (2)")
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        if args.before:
            lines += measure(f"{args.before}", _export(args.before, Path(scratch)), args)
        lines += measure("this tree", ROOT, args)
    print(f"{args.heavy} callers x Simulate({args.scale} x {args.scale}, {args.statements} statements)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
