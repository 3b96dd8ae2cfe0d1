"""``make bench-service``: the sidecar end to end, beside its floor, in one run.

Starts, each in its own process: the empty-handler servers of the same gRPC stack (the floors,
bench/empty_server.py: the grpcio thread pool iamgate uses, and grpc.aio) and ``iamgate serve``
on the embedded bundle with 1 worker and with ``--workers auto``, each with the decision cache on
and off. The load generators (bench/loadgen.py) run in processes of their own for every cell
(``--loadgens``, 2 by default, sharing the calls in flight and timing one common window): unary
Authorize at 1, 8 and 64 calls in flight, and AuthorizeBatch of 100 at 1 and 8 in flight. Every
server's answers are checked first (a wrong answer stops the run). Cells are run in rounds, every
server once per round, so that the load of a shared machine falls on all of them alike; the
tables give the median over rounds of throughput, p50/p99 latency per call, and the server's CPU
time (all its processes) per decision.

    .venv/bin/python bench/service.py [--seconds 3] [--rounds 3] [--loadgens 2] [--write]
        [--shapes unary:64,batch:1] [--against REV] [--only "cache on"] [--no-workers]

``--against REV`` also serves an older revision's ``server/`` (1 worker and, unless
``--no-workers``, ``--workers auto``; cache on and off) in the same rounds; ``--shapes`` and
``--only`` narrow the run to some cells and servers (the floor is always kept), for a quick
side-by-side of one change.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench import cerbos_bench  # noqa: E402  (Cerbos beside iamgate, measured when installed)

BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench-service:begin -->"
END = "<!-- bench-service:end -->"
SHAPES = (("unary", 1), ("unary", 8), ("unary", 64), ("batch", 1), ("batch", 8))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    name: str
    command: tuple[str, ...]
    checked: bool = True
    env: tuple[tuple[str, str], ...] = ()


def servers(workers_auto: bool = True, aio_floor: bool = True, against: str | None = None) -> list[Server]:
    serve = (str(BIN / "iamgate"), "serve", "--address", "127.0.0.1:0", "--metrics-address", "off")
    empty = (sys.executable, str(ROOT / "bench" / "empty_server.py"))
    found = [
        Server("empty handler (floor)", empty, False),
        *([Server("empty handler, grpc.aio", (*empty, "--aio"), False)] if aio_floor else []),
        Server("iamgate, 1 worker, cache on", serve),
        Server("iamgate, 1 worker, cache off", (*serve, "--no-cache")),
    ]
    if against is not None:  # an older revision's server/ (extracted by main), same flags
        old = (sys.executable, "-c", "import sys; from iamgate.cli import main; sys.exit(main())", *serve[1:])
        env = (("PYTHONPATH", f"{against}/server"),)
        found += [
            Server("old, 1 worker, cache on", old, env=env),
            Server("old, 1 worker, cache off", (*old, "--no-cache"), env=env),
        ]
    if workers_auto:
        found += [
            Server("iamgate, --workers auto, cache on", (*serve, "--workers", "auto")),
            Server("iamgate, --workers auto, cache off", (*serve, "--workers", "auto", "--no-cache")),
        ]
        if against is not None:  # the older revision with every core too
            found += [
                Server("old, --workers auto, cache on", (*old, "--workers", "auto"), env=env),
                Server("old, --workers auto, cache off", (*old, "--workers", "auto", "--no-cache"), env=env),
            ]
    return found


def start(server: Server) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, **dict(server.env)} if server.env else None
    process = subprocess.Popen(
        server.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    several = "--workers" in server.command
    pattern = r"listening on (\S+) \(\d+ worker" if several else r"listening on (\S+)"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(pattern, line)
        if found:
            # keep reading stderr in the background so a chatty server never blocks on a full pipe
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, found.group(1)
    process.kill()
    raise SystemExit(f"{server.name}: did not start")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants still alive."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def run_cell(
    address: str, pid: int, shape: str, in_flight: int, seconds: float, check: bool, processes: int
) -> dict:
    """One cell: ``processes`` load generators (each with its own connections) share ``in_flight``.

    Each generator connects (and checks), says it is ready, and is then told the wall-clock time
    the timed window starts; the server's CPU is read at both ends of that one window.
    """
    processes = max(1, min(processes, in_flight))
    shares = [in_flight // processes + (i < in_flight % processes) for i in range(processes)]
    loadgens = []
    for share in shares:
        command = [
            sys.executable,
            str(ROOT / "bench" / "loadgen.py"),
            "--address",
            address,
            "--shape",
            shape,
            "--in-flight",
            str(share),
            "--seconds",
            str(seconds),
            "--synchronized",
            "--latencies",
        ]
        if check:
            command.append("--check")
        loadgens.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for loadgen in loadgens:
        assert loadgen.stdout is not None
        line = loadgen.stdout.readline()
        if '"ready"' not in line:
            for other in loadgens:
                other.kill()
            raise SystemExit(f"load generator failed on {address}: {line}{loadgen.stdout.read()}")
    start_at = time.time() + 0.5  # the warm-up: every generator runs before the window opens
    for loadgen in loadgens:
        assert loadgen.stdin is not None
        loadgen.stdin.write(f"{start_at!r}\n")
        loadgen.stdin.flush()
    time.sleep(max(0.0, start_at - time.time()))
    before = cpu_seconds(pid)
    time.sleep(max(0.0, start_at + seconds - time.time()))
    after = cpu_seconds(pid)
    results = []
    for loadgen in loadgens:
        out, _ = loadgen.communicate(timeout=120)
        lines = [line for line in out.splitlines() if line.strip()]
        if loadgen.returncode != 0 or not lines:
            raise SystemExit(f"load generator failed on {address}: {out}")
        results.append(json.loads(lines[-1]))
    latencies = sorted(latency for r in results for latency in r["latencies_ms"])
    return {
        "calls": sum(r["calls"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "decisions": sum(r["decisions"] for r in results),
        "seconds": statistics.mean(r["seconds"] for r in results),
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "server_cpu": after - before,
        "loadgens": len(results),
    }


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _rate(runs: list[dict]) -> float | None:
    return median([r["decisions"] / r["seconds"] for r in runs])


def table(names: list[str], cells: dict[tuple[str, str, int], list[dict]], seconds: float) -> str:
    """Three tables over the same cells: throughput, p50 / p99 latency, server CPU per decision."""
    header = " | ".join(f"{shape} {n}" for shape, n in SHAPES)
    rule = "|---" * (len(SHAPES) + 1) + "|"
    throughput = [
        "Throughput (unary: RPC/s = decisions/s; batch of 100: decisions/s):",
        "",
        f"| server | {header} |",
        rule,
    ]
    latency = ["Latency per call, p50 / p99 ms:", "", f"| server | {header} |", rule]
    cpu = ["Server CPU per decision, µs (all the server's processes):", "", f"| server | {header} |", rule]
    for name in names:
        rates, times, costs = [name], [name], [name]
        for shape, in_flight in SHAPES:
            runs = cells[(name, shape, in_flight)]
            rate = _rate(runs)
            rates.append(f"{rate:,.0f}" if rate is not None else "-")
            p50, p99 = median([r["p50_ms"] for r in runs]), median([r["p99_ms"] for r in runs])
            times.append(f"{p50:.2f} / {p99:.2f}" if p50 is not None and p99 is not None else "-")
            per = median([1e6 * r["server_cpu"] / max(r["decisions"], 1) for r in runs])
            costs.append(f"{per:.1f}" if per is not None else "-")
        throughput.append("| " + " | ".join(rates) + " |")
        latency.append("| " + " | ".join(times) + " |")
        cpu.append("| " + " | ".join(costs) + " |")
    return "\n".join(throughput) + "\n\n" + "\n".join(latency) + "\n\n" + "\n".join(cpu)


def ratios(names: list[str], cells: dict[tuple[str, str, int], list[dict]]) -> str:
    floor = names[0]
    lines = [
        "| server | " + " | ".join(f"{s} {n}" for s, n in SHAPES) + " |",
        "|---" * (len(SHAPES) + 1) + "|",
    ]
    for name in names[1:]:
        row = [name]
        for shape, in_flight in SHAPES:
            mine = median([r["decisions"] / r["seconds"] for r in cells[(name, shape, in_flight)]])
            base = median([r["decisions"] / r["seconds"] for r in cells[(floor, shape, in_flight)]])
            row.append(f"{mine / base:.2f}x" if mine and base else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per cell (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are taken over them")
    parser.add_argument("--no-workers", action="store_true", help="skip the --workers auto servers")
    parser.add_argument("--write", action="store_true", help=f"write the tables into {DOC.name}")
    parser.add_argument("--aio-floor", action="store_true", help="(the default) an empty handler on grpc.aio")
    parser.add_argument("--no-aio-floor", action="store_true", help="skip the grpc.aio empty handler")
    parser.add_argument(
        "--loadgens",
        type=int,
        default=2,
        help="load generator processes per cell, sharing the calls in flight (default 2; 1 in flight: 1)",
    )
    parser.add_argument("--only-floors", action="store_true", help="the empty handlers only")
    parser.add_argument(
        "--shapes", help="only these cells, e.g. unary:64,batch:1 (the tables then show only them)"
    )
    parser.add_argument(
        "--against", metavar="REV", help="also serve an older revision (git archive of its server/)"
    )
    parser.add_argument("--no-cerbos", action="store_true", help="skip Cerbos (measured when installed)")
    parser.add_argument("--only", help="only servers whose name contains one of these (comma-separated)")
    args = parser.parse_args()
    global SHAPES
    if args.shapes:
        SHAPES = tuple((shape, int(n)) for shape, _, n in (c.partition(":") for c in args.shapes.split(",")))
    with tempfile.TemporaryDirectory() as old:
        if args.against:
            archive = subprocess.run(
                ["git", "archive", args.against, "server"], cwd=ROOT, capture_output=True, check=True
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(old, filter="data")
        return _run(args, old if args.against else None)


def _run(args: argparse.Namespace, against: str | None) -> int:
    chosen = servers(workers_auto=not args.no_workers, aio_floor=not args.no_aio_floor, against=against)
    chosen += [Server(name, command) for name, command in cerbos_bench.servers(skip=args.no_cerbos)]
    if args.only_floors:
        chosen = [s for s in chosen if not s.checked]
    if args.only:
        wanted = args.only.split(",")
        chosen = [s for s in chosen if s is chosen[0] or any(w in s.name for w in wanted)]
    started = {}
    try:
        for server in chosen:
            started[server.name] = start(server)
        cells: dict[tuple[str, str, int], list[dict]] = {
            (s.name, shape, n): [] for s in chosen for shape, n in SHAPES
        }
        for round_number in range(args.rounds):
            for shape, in_flight in SHAPES:
                for server in chosen:
                    process, address = started[server.name]
                    check = server.checked and round_number == 0 and (shape, in_flight) == SHAPES[0]
                    result = run_cell(
                        address, process.pid, shape, in_flight, args.seconds, check, args.loadgens
                    )
                    if result["errors"]:
                        raise SystemExit(f"{server.name}: {result['errors']} calls failed")
                    cells[(server.name, shape, in_flight)].append(result)
                    print(
                        f"round {round_number + 1} {server.name:38} {shape} x{in_flight:<3} "
                        f"{result['decisions'] / result['seconds']:>10,.0f}/s",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        for process, _ in started.values():
            stop(process)
    names = [s.name for s in chosen]
    flags = f"--seconds {args.seconds:g} --rounds {args.rounds} --loadgens {args.loadgens}"
    flags += " --no-aio-floor" if args.no_aio_floor else ""
    flags += f" --shapes {args.shapes}" if args.shapes else ""
    flags += f" --against {args.against}" if args.against else ""
    flags += f" --only {args.only}" if args.only else ""
    text = (
        f"`{Path(sys.executable).name} bench/service.py {flags}` "
        f"on {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}; medians over rounds; the embedded "
        f"bundle's test requests (answers checked first); {args.loadgens} load generator processes "
        "per cell (1 at 1 in flight), each with its own connections.\n\n"
        + table(names, cells, args.seconds)
        + "\n\nThroughput relative to the empty handler (same stack, same run):\n\n"
        + ratios(names, cells)
        + cerbos_bench.versus(names, cells, SHAPES)
        + "\n"
    )
    print(text)
    if args.write:
        document = DOC.read_text()
        block = f"{BEGIN}\n{text}{END}"
        if BEGIN in document:
            head, _, rest = document.partition(BEGIN)
            document = head + block + rest.partition(END)[2]
        else:
            document = document.rstrip("\n") + "\n\n## Serving (make bench-service)\n\n" + block + "\n"
        DOC.write_text(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
