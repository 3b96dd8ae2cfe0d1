"""The load generator of ``make bench-service``, run in processes of its own.

Keeps ``--in-flight`` calls outstanding over ``--channels`` connections (separate connections, so
the kernel can spread them over ``--workers`` processes) for ``--seconds``, after a warm-up, and
prints one JSON line: calls, decisions, seconds, p50/p99 latency per call. With ``--check`` it
first asks every request once and compares each decision with the expected one; a wrong answer
exits with status 1 before anything is timed.

One Python process drives at most ~1-2k unary calls a second (grpcio's client costs about as
much CPU per call as its server), so ``bench/service.py`` runs several of these side by side.
With ``--synchronized`` a generator prints ``{"event": "ready"}`` once connected (and checked),
then reads the wall-clock time the timed window starts at from stdin: every generator of a cell
then times the same window, over which the driver reads the server's CPU, and ``--latencies``
adds the raw latencies so that the driver can take percentiles over all of them.

    python bench/loadgen.py --address A --shape unary|batch --in-flight N --seconds S [--check]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.service_requests import embedded_requests  # noqa: E402
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb  # noqa: E402
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc  # noqa: E402

BATCH = 100


def _check(stub: Any, requests: list[pb.AuthorizeRequest], expected: list[int]) -> None:
    got = [stub.Authorize(r, timeout=30).decision for r in requests]
    batch = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests), timeout=30).results
    if got != expected or [item.response.decision for item in batch] != expected:
        print(json.dumps({"error": "wrong answers", "got": got, "expected": expected}), flush=True)
        sys.exit(1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--shape", choices=("unary", "batch"), required=True)
    parser.add_argument("--in-flight", type=int, default=1)
    parser.add_argument("--channels", type=int, default=0, help="default: min(in-flight, 8)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--synchronized", action="store_true", help="read the window's start on stdin")
    parser.add_argument("--latencies", action="store_true", help="print every latency (ms) as well")
    args = parser.parse_args()
    if args.address.startswith("cerbos:"):  # Cerbos beside iamgate: the same loop on its API
        from bench.cerbos_bench import run_loadgen

        return run_loadgen(args)
    requests, expected = embedded_requests()
    count = args.channels or min(args.in_flight, 8)
    channels = [
        grpc.insecure_channel(args.address, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(count)
    ]
    stubs = [pb_grpc.AuthorizerStub(channel) for channel in channels]
    if args.check:
        for stub in stubs:
            _check(stub, requests, expected)
    if args.shape == "unary":
        payloads = requests
        per_call = 1
    else:
        batch = pb.AuthorizeBatchRequest(requests=[requests[i % len(requests)] for i in range(BATCH)])
        payloads = [batch]
        per_call = BATCH
    methods = [
        stub.Authorize.future if args.shape == "unary" else stub.AuthorizeBatch.future for stub in stubs
    ]
    return drive(args, channels, methods, payloads, per_call)


def drive(
    args: argparse.Namespace,
    channels: list[grpc.Channel],
    methods: list[Any],
    payloads: list[Any],
    per_call: int,
) -> int:
    """Keep ``args.in_flight`` calls of ``methods`` (future-returning stubs) outstanding over the
    window and print the result line; ``per_call`` decisions per call. Shared by the Cerbos cells."""
    lock = threading.Lock()
    state = {"timing": False, "stop": False, "calls": 0, "errors": 0, "outstanding": 0}
    latencies: list[float] = []
    drained = threading.Event()

    def issue(slot: int, turn: int) -> None:
        started = time.perf_counter()
        future = methods[slot % len(methods)](payloads[turn % len(payloads)], timeout=30)
        future.add_done_callback(lambda f: finished(f, slot, turn, started))

    def finished(future: Any, slot: int, turn: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        failed = future.exception() is not None
        with lock:
            if state["timing"]:
                state["calls"] += 1
                state["errors"] += failed
                latencies.append(elapsed)
            if state["stop"]:
                state["outstanding"] -= 1
                if state["outstanding"] == 0:
                    drained.set()
                return
        issue(slot, turn + args.in_flight)

    start_at = None
    if args.synchronized:
        print(json.dumps({"event": "ready"}), flush=True)
        start_at = float(sys.stdin.readline())
    state["outstanding"] = args.in_flight
    for slot in range(args.in_flight):
        issue(slot, slot)
    time.sleep(args.warmup if start_at is None else max(0.0, start_at - time.time()))
    print(json.dumps({"event": "timing"}), flush=True)  # the driver samples the server's CPU now
    with lock:
        state["timing"] = True
    started = time.perf_counter()
    time.sleep(args.seconds if start_at is None else max(0.0, start_at + args.seconds - time.time()))
    with lock:
        state["timing"] = False
        state["stop"] = True
    elapsed = time.perf_counter() - started
    print(json.dumps({"event": "stopped"}), flush=True)
    drained.wait(30)
    for channel in channels:
        channel.close()
    latencies.sort()
    result = {
        "calls": state["calls"],
        "errors": state["errors"],
        "decisions": state["calls"] * per_call,
        "seconds": elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }
    if args.latencies:
        result["latencies_ms"] = [round(1000 * latency, 4) for latency in latencies]
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
