"""Server CPU per batch item: this tree against an older revision, side by side.

    .venv/bin/python bench/batch_cpu.py [REVISION] [RUNS] [--batches N]            (in-process)
    .venv/bin/python bench/batch_cpu.py [REVISION] [RUNS] [--batches N] --server   (over gRPC)
    .venv/bin/python bench/batch_cpu.py [REVISION] [RUNS] [--batches N] --server --unary

(``--unary`` also sends batches x 10 unary Authorize calls, 64 in flight, and reports the server's
CPU per call.)

(default: HEAD, 5 runs). ``--server`` starts ``iamgate serve`` of each side (cache on, and off)
and the empty-handler server (``bench/empty_server.py``: the floor) as processes of their own,
sends a fixed number of batches of 100 (one in flight, from this process) and reads each
server's CPU time (user + system, ``/proc``) around them: the server's whole cost per item,
gRPC included. Without it:

What a sidecar process spends on one item of ``AuthorizeBatch`` and ``AuthorizeMany`` (100 items
per call), and on one unary ``Authorize``, without the transport: each call is the request's
bytes parsed (``FromString``), the servicer's handler on the embedded default bundle (metrics on,
decision log off) and the response serialized (``SerializeToString``) — what grpcio's handler
thread does around the network; for a servicer with bytes entry points (``AuthorizeBatchWire``
...), the entry point on the request's bytes, as the server registers it. The floor is the empty
handler of ``bench/empty_server.py`` (parse, one constant answer per item, serialize). CPU time
is ``time.process_time`` around a fixed number of calls (after a warm-up); each run is one
process per side, alternating which goes first; reported: the median over runs of µs of CPU per
item, and old/new ratios. Every item's answer is checked against the embedded bundle's expected
decision before anything is timed, cache on and off.

The items are the embedded bundle's test requests (``bench/service_requests.py``), as
``make bench-service`` sends them; ``AuthorizeMany`` asks for the actions and resources of the
tests of the principal with the most context-free tests.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100


class _Context:
    """The few ServicerContext calls a batch handler may make."""

    def abort(self, code, message):
        raise RuntimeError(f"aborted: {code} {message}")

    def invocation_metadata(self):
        return ()


def _many_request(pb, tests):
    by_principal: dict[str, list] = {}
    for test in tests:
        if not test.context and not test.session_policy and not test.session_tags and test.now is None:
            by_principal.setdefault(test.principal, []).append(test)
    principal, chosen = max(by_principal.items(), key=lambda item: len(item[1]))
    items = [pb.ActionOnResource(action=t.action, resource=t.resource) for t in chosen]
    expected = [t.expected for t in chosen]
    request = pb.AuthorizeManyRequest(
        principal=principal, items=[items[i % len(items)] for i in range(BATCH)]
    )
    return request, [expected[i % len(expected)] for i in range(BATCH)]


def child(batches: int) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.service_requests import embedded_requests
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.engine.result import Decision
    from iamgate.service.bundles import default_source
    from iamgate.service.config import ServiceConfig
    from iamgate.service.metrics import ServiceMetrics
    from iamgate.service.servicer import AuthorizerServicer
    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

    codes = {
        Decision.ALLOWED: pb.DECISION_ALLOWED,
        Decision.EXPLICIT_DENY: pb.DECISION_EXPLICIT_DENY,
        Decision.IMPLICIT_DENY: pb.DECISION_IMPLICIT_DENY,
    }
    requests, expected = embedded_requests()
    batch = pb.AuthorizeBatchRequest(requests=[requests[i % len(requests)] for i in range(BATCH)])
    batch_expected = [expected[i % len(expected)] for i in range(BATCH)]
    unary = [requests[i % len(requests)].SerializeToString() for i in range(BATCH)]
    many, many_expected = _many_request(pb, load_default_snapshot(cache_size=0).tests)
    many_expected = [codes[d] for d in many_expected]
    context = _Context()
    figures: dict[str, float] = {}

    floor_answer = pb.AuthorizeResponse(decision=pb.DECISION_ALLOWED, revision="empty")
    floor_response = pb.AuthorizeBatchResponse(
        results=[pb.AuthorizeBatchResult(response=floor_answer)] * BATCH
    )
    batch_bytes, many_bytes = batch.SerializeToString(), many.SerializeToString()

    def floor() -> None:
        pb.AuthorizeBatchRequest.FromString(batch_bytes)
        floor_response.SerializeToString()

    def timed(call) -> float:
        for _ in range(max(5, batches // 10)):
            call()
        started = time.process_time()
        for _ in range(batches):
            call()
        return (time.process_time() - started) / (batches * BATCH) * 1e6

    figures["floor (empty handler)"] = timed(floor)
    for cache_size, label in ((100_000, "cache on"), (0, "cache off")):
        source = default_source(cache_size=cache_size)
        source.start()
        servicer = AuthorizerServicer(source, metrics=ServiceMetrics(), config=ServiceConfig())

        def one_batch(servicer=servicer) -> list:
            return [r.response.decision for r in batch_call(servicer).results]

        def batch_call(servicer) -> pb.AuthorizeBatchResponse:
            return pb.AuthorizeBatchResponse.FromString(batch_wire(servicer))

        def batch_wire(servicer) -> bytes:
            # what grpcio's handler thread runs: the registered handler on the request's bytes
            on_bytes = getattr(servicer, "AuthorizeBatchWire", None)
            if on_bytes is not None:
                return on_bytes(batch_bytes, context)
            request = pb.AuthorizeBatchRequest.FromString(batch_bytes)
            return servicer.AuthorizeBatch(request, context).SerializeToString()

        def one_many(servicer=servicer) -> list:
            return [
                r.response.decision for r in pb.AuthorizeBatchResponse.FromString(many_wire(servicer)).results
            ]

        def many_wire(servicer) -> bytes:
            on_bytes = getattr(servicer, "AuthorizeManyWire", None)
            if on_bytes is not None:
                return on_bytes(many_bytes, context)
            request = pb.AuthorizeManyRequest.FromString(many_bytes)
            return servicer.AuthorizeMany(request, context).SerializeToString()

        for _ in range(2):
            if one_batch() != batch_expected or one_many() != many_expected:
                raise SystemExit(f"{label}: wrong answers")
        figures[f"AuthorizeBatch, {label}"] = timed(lambda servicer=servicer: batch_wire(servicer))
        if hasattr(servicer, "AuthorizeMany"):
            figures[f"AuthorizeMany, {label}"] = timed(lambda servicer=servicer: many_wire(servicer))

        def one_unary(servicer=servicer) -> None:
            # BATCH calls, so that ``timed``'s figure is per call
            on_bytes = getattr(servicer, "AuthorizeWire", None)
            for data in unary:
                if on_bytes is not None:
                    on_bytes(data, context)
                else:
                    servicer.Authorize(pb.AuthorizeRequest.FromString(data), context).SerializeToString()

        got = (
            [pb.AuthorizeResponse.FromString(servicer.AuthorizeWire(d, context)).decision for d in unary]
            if hasattr(servicer, "AuthorizeWire")
            else [servicer.Authorize(pb.AuthorizeRequest.FromString(d), context).decision for d in unary]
        )
        if got != batch_expected:
            raise SystemExit(f"{label}: wrong unary answers")
        figures[f"Authorize (per call), {label}"] = timed(one_unary)
        source.stop() if hasattr(source, "stop") else None
    print(json.dumps(figures))


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_child(batches: int, command: list[str], env: dict[str, str], label: str) -> dict[str, float]:
    """CPU µs per item of one server process answering ``batches`` batches (and AuthorizeMany)."""
    import re
    import signal

    import grpc

    sys.path.insert(0, str(ROOT))
    from bench.service_requests import embedded_requests
    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
    from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        address = None
        for line in process.stderr:  # type: ignore[union-attr]
            found = re.search(r"listening on (\S+)", line)
            if found:
                address = found.group(1)
                break
        if address is None:
            raise SystemExit(f"{label}: did not start")
        requests, expected = embedded_requests()
        batch = pb.AuthorizeBatchRequest(requests=[requests[i % len(requests)] for i in range(BATCH)])
        from iamgate.bundle.default import load_default_snapshot

        many, _ = _many_request(pb, load_default_snapshot(cache_size=0).tests)
        figures = {}
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            shapes = [("AuthorizeBatch", stub.AuthorizeBatch, batch)]
            if "empty" not in label:
                shapes.append(("AuthorizeMany", stub.AuthorizeMany, many))
                answers = [r.response.decision for r in stub.AuthorizeBatch(batch, timeout=30).results]
                if answers != [expected[i % len(expected)] for i in range(BATCH)]:
                    raise SystemExit(f"{label}: wrong answers")
            for name, call, message in shapes:
                for _ in range(max(10, batches // 10)):
                    call(message, timeout=30)
                started = _server_cpu(process.pid)
                for _ in range(batches):
                    call(message, timeout=30)
                figures[f"{name}, {label}"] = (_server_cpu(process.pid) - started) / (batches * BATCH) * 1e6
            if "--unary" in sys.argv:  # unary Authorize, 64 calls kept in flight: server CPU per call
                unary_requests = [requests[i % len(requests)] for i in range(batches * BATCH // 10)]
                if "empty" not in label:
                    got = [stub.Authorize(r, timeout=30).decision for r in requests]
                    if got != list(expected):
                        raise SystemExit(f"{label}: wrong unary answers")
                _in_flight(stub.Authorize, unary_requests[: len(unary_requests) // 10])
                started = _server_cpu(process.pid)
                _in_flight(stub.Authorize, unary_requests)
                spent = _server_cpu(process.pid) - started
                figures[f"Authorize x64 (per call), {label}"] = spent / len(unary_requests) * 1e6
        return figures
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _in_flight(call, requests: list, width: int = 64) -> None:
    """Every request once, ``width`` calls outstanding at a time."""
    import threading

    slots = threading.Semaphore(width)
    done = threading.Event()
    remaining = [len(requests)]
    lock = threading.Lock()

    def finished(_future) -> None:
        slots.release()
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set()

    for request in requests:
        slots.acquire()
        call.future(request, timeout=30).add_done_callback(finished)
    done.wait(300)


def server_sides(old: str) -> list[tuple[str, list[str], dict[str, str]]]:
    serve = ["-c", "import sys; from iamgate.cli import main; sys.exit(main())", "serve"]
    serve += ["--address", "127.0.0.1:0", "--metrics-address", "off"]
    sides = []
    for side, path in (("old", f"{old}/server"), ("new", str(ROOT / "server"))):
        env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{ROOT}"}
        sides.append((f"{side}, cache on", [sys.executable, *serve], env))
        sides.append((f"{side}, cache off", [sys.executable, *serve, "--no-cache"], env))
    return sides


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    batches = 200
    if "--batches" in sys.argv:
        batches = int(sys.argv[sys.argv.index("--batches") + 1])
        args.remove(str(batches))
    revision = args[0] if args else "HEAD"
    runs = int(args[1]) if len(args) > 1 else 5
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "archive", revision, "server"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        sides = {"old": f"{old}/server{os.pathsep}{ROOT}", "new": f"{ROOT / 'server'}{os.pathsep}{ROOT}"}
        results: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
        if "--server" in sys.argv:
            floor = (
                "empty handler (floor)",
                [sys.executable, str(ROOT / "bench" / "empty_server.py")],
                dict(os.environ),
            )
            figures: dict[str, list[float]] = {}
            for run in range(runs):
                every = [floor, *server_sides(old)]
                for label, command, env in every if run % 2 == 0 else reversed(every):
                    for name, value in server_child(batches, command, env, label).items():
                        figures.setdefault(name, []).append(value)
            print(
                f"server CPU per item over gRPC, µs, median of {runs} alternating runs ({batches} x {BATCH}):"
            )
            print(f"  old = {revision}, new = this tree")
            for name, values in figures.items():
                print(f"  {name}: {statistics.median(values):.1f}")
            return
        for run in range(runs):
            for side in sides if run % 2 == 0 else reversed(sides):
                env = {**os.environ, "PYTHONPATH": sides[side]}
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(batches)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                for name, value in json.loads(out).items():
                    results[side].setdefault(name, []).append(value)
    print(f"server CPU per item, in-process, µs, median of {runs} alternating runs ({batches} x {BATCH}):")
    print(f"  {revision} -> this tree")
    for name in results["new"]:
        after = statistics.median(results["new"][name])
        before = statistics.median(results["old"].get(name, [float("nan")]))
        print(f"  {name}: {before:.1f} -> {after:.1f} ({before / after:.2f}x)")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child(int(sys.argv[sys.argv.index("--child") + 1]))
    else:
        main()
