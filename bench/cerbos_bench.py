"""Cerbos beside iamgate in ``make bench-service``: its server, its load generator, the comparison.

Cerbos 0.55 (the Go policy decision point the issue measured iamgate against) comes from npm, which
carries its statically linked release binary: ``make bench-cerbos`` installs it into
bench/cerbos/node_modules (git-ignored) and Cerbos's gRPC stubs (the ``cerbos`` SDK) with the
``bench`` extra. bench/service.py adds a Cerbos server to its run when both are there.

The server (``python bench/cerbos_bench.py serve``) writes the policies of bench/cerbos_policies.py
into a temporary directory and runs ``cerbos server`` on them: gRPC on a free loopback port, the
HTTP API on a Unix socket in the same directory (it cannot be switched off), the disk store
without watching for changes, audit and telemetry off, ``--log-level=error`` (iamgate runs with
decision logs off in the bench), the engine's and cache's defaults, and ``maxResourcesPerRequest``
raised from 50 to 100 for the batches. Once Cerbos answers it prints ``listening on cerbos:HOST:PORT``
like ``iamgate serve`` and waits, so bench/service.py reads the CPU of it and its child alike.

The load generator (bench/loadgen.py hands an address starting ``cerbos:`` to :func:`run_loadgen`)
keeps the calls in flight the same way as for iamgate and prints the same JSON. Unary: one
CheckResources with one resource and one action per call, cycling over the mix. Batch: one
CheckResources with 100 resource entries of one action each, counted as 100 decisions; Cerbos takes
one principal per request, so each batch is one principal's requests of the mix, repeated to 100,
and the batches rotate over the principals (iamgate's batches mix principals, which costs it a
principal lookup per item: the comparison favours Cerbos there). With ``--check`` every request
and every batch is asked once first and compared with iamgate's expected decision.

    .venv/bin/python bench/cerbos_bench.py serve
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BINARY = ROOT / "bench" / "cerbos" / "node_modules" / "@cerbos" / "cerbos-linux-x64" / "cerbos-linux-x64"
SCHEME = "cerbos:"
NAME = "Cerbos 0.55 (Go)"
BATCH = 100


def missing() -> str | None:
    """Why Cerbos cannot be measured here (``None``: it can)."""
    if not BINARY.exists():
        return f"Cerbos is not installed ({BINARY} missing; `make bench-cerbos`)"
    try:
        import cerbos.svc.v1.svc_pb2_grpc  # noqa: F401
    except ImportError:
        return "Cerbos's gRPC stubs are not installed (the `cerbos` package of the bench extra)"
    return None


def servers(skip: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(name, command) of the Cerbos server for bench/service.py, or none with a message why."""
    if skip:
        return []
    reason = missing()
    if reason:
        print(f"{reason}: Cerbos skipped", file=sys.stderr, flush=True)
        return []
    return [(NAME, (sys.executable, str(Path(__file__).resolve()), "serve"))]


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def config(directory: Path, port: int) -> str:
    """Cerbos's configuration (JSON text, which YAML reads as is)."""
    return json.dumps(
        {
            "server": {
                "grpcListenAddr": f"127.0.0.1:{port}",
                "httpListenAddr": f"unix:{directory / 'http.sock'}",
                "requestLimits": {"maxActionsPerResource": 50, "maxResourcesPerRequest": BATCH},
            },
            "storage": {
                "driver": "disk",
                "disk": {"directory": str(directory / "policies"), "watchForChanges": False},
            },
            "audit": {"enabled": False},
            "telemetry": {"disabled": True},
        },
        indent=1,
    )


def serve() -> int:
    from bench.cerbos_policies import write_policies

    with tempfile.TemporaryDirectory(prefix="iamgate-bench-cerbos-") as name:
        directory = Path(name)
        write_policies(directory / "policies")
        port = _free_port()
        (directory / "config.yaml").write_text(config(directory, port))
        command = [str(BINARY), "server", f"--config={directory / 'config.yaml'}", "--log-level=error"]
        child = subprocess.Popen(command, env={**os.environ, "CERBOS_NO_TELEMETRY": "1"})

        def forward(signum: int, _frame: Any) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        try:
            grpc.channel_ready_future(channel).result(timeout=60)
        except grpc.FutureTimeoutError:
            child.kill()
            print("Cerbos did not start", file=sys.stderr, flush=True)
            return 1
        finally:
            channel.close()
        print(f"listening on {SCHEME}127.0.0.1:{port}", file=sys.stderr, flush=True)
        return child.wait()


# --- requests ---------------------------------------------------------------------------------


def _principal(check: Any) -> Any:
    from cerbos.engine.v1 import engine_pb2

    attr = {key: _value(value) for key, value in check.principal_attr.items()}
    return engine_pb2.Principal(id=check.principal_id, roles=check.roles, attr=attr, policy_version="default")


def _value(value: Any) -> Any:
    from google.protobuf import struct_pb2

    holder = struct_pb2.Struct()
    holder.update({"v": value})
    return holder.fields["v"]


def _entry(check: Any) -> Any:
    from cerbos.engine.v1 import engine_pb2
    from cerbos.request.v1 import request_pb2

    resource = engine_pb2.Resource(
        kind=check.kind,
        id=check.resource_id,
        policy_version="default",
        attr={key: _value(value) for key, value in check.resource_attr.items()},
    )
    return request_pb2.CheckResourcesRequest.ResourceEntry(actions=[check.action], resource=resource)


def workload() -> tuple[list, list[list[bool]], list, list[list[bool]]]:
    """Unary requests and their expected allows, batch requests and theirs (one list per batch)."""
    from cerbos.request.v1 import request_pb2

    from bench.cerbos_policies import Directory
    from bench.service_requests import embedded_requests
    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

    requests, expected = embedded_requests()
    directory = Directory()
    checks = [directory.to_cerbos(r) for r in requests]
    allowed = [e == pb.DECISION_ALLOWED for e in expected]
    unary = [
        request_pb2.CheckResourcesRequest(principal=_principal(c), resources=[_entry(c)]) for c in checks
    ]
    groups: dict[str, list[int]] = {}
    for index, check in enumerate(checks):
        groups.setdefault(check.principal_id, []).append(index)
    batches, batch_allowed = [], []
    for indexes in groups.values():
        chosen = [indexes[i % len(indexes)] for i in range(BATCH)]
        batches.append(
            request_pb2.CheckResourcesRequest(
                principal=_principal(checks[chosen[0]]), resources=[_entry(checks[i]) for i in chosen]
            )
        )
        batch_allowed.append([allowed[i] for i in chosen])
    return unary, [[a] for a in allowed], batches, batch_allowed


def answers(response: Any) -> list[bool]:
    """Allow per resource entry of a CheckResources answer (each entry asks one action)."""
    from cerbos.effect.v1 import effect_pb2

    return [
        len(result.actions) == 1 and next(iter(result.actions.values())) == effect_pb2.EFFECT_ALLOW
        for result in response.results
    ]


def disagreements(stub: Any) -> list[str]:
    """Every request of the mix (unary and in its batch) whose Cerbos answer is not iamgate's."""
    unary, unary_allowed, batches, batch_allowed = workload()
    wrong = []
    for request, want in [*zip(unary, unary_allowed, strict=True), *zip(batches, batch_allowed, strict=True)]:
        got = answers(stub.CheckResources(request, timeout=30))
        for entry, mine, theirs in zip(request.resources, got, want, strict=False):
            if mine != theirs:
                wrong.append(
                    f"{request.principal.id} {entry.actions[0]} {entry.resource.id}: "
                    f"Cerbos {'allows' if mine else 'denies'}, iamgate {'allows' if theirs else 'denies'}"
                )
        if len(got) != len(want):
            wrong.append(f"{request.principal.id}: {len(got)} answers for {len(want)} entries")
    return wrong


# --- the load generator -----------------------------------------------------------------------


def run_loadgen(args: argparse.Namespace) -> int:
    """bench/loadgen.py's loop and output, on Cerbos's CheckResources."""
    from cerbos.svc.v1 import svc_pb2_grpc

    address = args.address.removeprefix(SCHEME)
    count = args.channels or min(args.in_flight, 8)
    channels = [
        grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(count)
    ]
    stubs = [svc_pb2_grpc.CerbosServiceStub(channel) for channel in channels]
    if args.check:
        for stub in stubs:
            wrong = disagreements(stub)
            if wrong:
                print(json.dumps({"error": "wrong answers", "disagreements": wrong}), flush=True)
                return 1
    unary, _, batches, _ = workload()
    payloads, per_call = (unary, 1) if args.shape == "unary" else (batches, BATCH)
    methods = [stub.CheckResources.future for stub in stubs]
    from bench.loadgen import drive

    return drive(args, channels, methods, payloads, per_call)


# --- the comparison ---------------------------------------------------------------------------


def versus(names: list[str], cells: dict, shapes: tuple) -> str:
    """Throughput of each iamgate server relative to Cerbos's, cell by cell ("" without Cerbos)."""
    if NAME not in names:
        return ""

    def rate(name: str, shape: str, in_flight: int) -> float | None:
        runs = cells[(name, shape, in_flight)]
        return statistics.median([r["decisions"] / r["seconds"] for r in runs]) if runs else None

    lines = [
        f"\n\nThroughput relative to {NAME} (same run; above 1.00x: iamgate is faster):\n",
        "| server | " + " | ".join(f"{s} {n}" for s, n in shapes) + " |",
        "|---" * (len(shapes) + 1) + "|",
    ]
    for name in names:
        if not name.startswith("iamgate"):
            continue
        row = [name]
        for shape, in_flight in shapes:
            mine, theirs = rate(name, shape, in_flight), rate(NAME, shape, in_flight)
            row.append(f"{mine / theirs:.2f}x" if mine and theirs else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("serve",))
    parser.parse_args()
    reason = missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    return serve()


if __name__ == "__main__":
    sys.exit(main())
