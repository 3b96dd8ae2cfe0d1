"""iamgate benchmarks: ``make bench`` (or ``.venv/bin/python bench/run.py [--quick] [--sizes ...]``).

For each bundle size it generates a seeded organization (bench/generator.py), measures it in a
fresh process (bench/size_worker.py: compile time, peak RSS, p50/p99 uncached and cached, the
naive evaluator side by side) and, when the bundle layer is installed, loads the same
organization as a bundle directory in another fresh process. Then cedarpy on equivalent policies,
the embedded default bundle and ``iamgate serve`` start-up. It prints the tables, writes them into
docs/performance.md between markers and draws docs/bench-latency.png.

Every comparison is checked for equal answers before it is timed; a disagreement stops the run
with exit status 1 and leaves the docs untouched.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.generator import generate_organization  # noqa: E402
from bench.pathological import measure_pathological  # noqa: E402

FULL_SIZES = (100, 1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000, 10_000)
CEDAR_SIZES = (10, 1_000)


class BenchError(RuntimeError):
    """A measurement could not be made or its answers were wrong; the message says which."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        help="comma-separated statement counts (default 100,1000,10000,100000; --quick: 100,1000,10000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer sizes, requests and rounds (under a minute)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, help="requests per stream (default 2000, --quick 400)")
    parser.add_argument("--rounds", type=int, help="timed rounds per series (default 5, --quick 3)")
    parser.add_argument("--naive-requests", type=int, help="heavy-principal requests for the naive evaluator")
    parser.add_argument("--no-cedar", action="store_true", help="skip the cedarpy comparison")
    parser.add_argument("--no-bundle", action="store_true", help="skip loading generated bundles")
    parser.add_argument("--no-startup", action="store_true", help="skip timing `iamgate serve` start-up")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    quick = args.quick
    try:
        args.size_list = (
            tuple(int(s) for s in args.sizes.split(","))
            if args.sizes
            else (QUICK_SIZES if quick else FULL_SIZES)
        )
    except ValueError:
        parser.error(f"--sizes: {args.sizes!r} is not a comma-separated list of integers")
    if any(size < 20 for size in args.size_list):
        parser.error("--sizes: each size must be at least 20 statements")
    args.requests = args.requests or (400 if quick else 2_000)
    args.rounds = args.rounds or (3 if quick else 5)
    args.naive_requests = args.naive_requests or (60 if quick else 300)
    args.cedar_requests = 150 if quick else 400
    args.startup_runs = 3 if quick else 5
    args.heavy_authorize_requests = 20 if quick else 40
    return args


def _python_module(module: str, *arguments: str) -> dict[str, Any]:
    """Run ``python -m module args`` in a fresh interpreter; its last stdout line is a JSON object."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = completed.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if completed.returncode != 0 or "error" in result or not result:
        detail = result.get("error") or completed.stderr.strip()[-3000:] or "no output"
        raise BenchError(f"{module} {' '.join(arguments)} failed: {detail}")
    return result


def _bundle_layer() -> bool:
    try:
        import iamgate.bundle.load  # noqa: F401
    except ImportError:
        return False
    return True


def measure_size(size: int, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    started = time.perf_counter()
    organization = generate_organization(size, args.seed, requests=args.requests)
    org_path = scratch / f"organization-{size}.json"
    org_path.write_text(organization.to_json())
    generated = time.perf_counter() - started
    result = _python_module("bench.size_worker", str(org_path), str(args.rounds), str(args.naive_requests))
    result["generate_seconds"] = generated
    if not args.no_bundle and _bundle_layer():
        from bench.bundle_export import write_bundle

        directory = write_bundle(organization, scratch / f"bundle-{size}")
        answers = scratch / f"answers-{size}.json"
        answers.write_text(json.dumps(result["answers"]))
        result["bundle"] = _python_module(
            "bench.bundle_worker",
            str(directory),
            str(org_path),
            str(answers),
            str(args.rounds),
            str(args.heavy_authorize_requests),
        )
    del result["answers"]
    return result


def measure_cedar(args: argparse.Namespace) -> list[dict[str, Any]]:
    import cedarpy

    from bench.cedar import build_scenario, check_agreement
    from bench.timing import Series, measure
    from iamgate.engine import ContextValue, Request, build_context, evaluate

    def with_request(policy_set: Any, principal: Any, definition: Any) -> Any:
        context = build_context(ContextValue(n, v, m) for n, v, m in definition.context)
        request = Request(
            principal, definition.action, definition.resource, context, definition.resource_account
        )
        return evaluate(policy_set, request)

    results = []
    for count in CEDAR_SIZES:
        scenario = build_scenario(count, seed=args.seed, requests=args.cedar_requests)
        problems = check_agreement(scenario, evaluate)
        if problems:
            raise BenchError(
                f"cedarpy and iamgate disagree at {count} policies on {len(problems)} requests; "
                f"first: {problems[0]}"
            )
        cases = scenario.iam_cases
        latency = measure(
            {
                "iamgate": Series(evaluate, cases),
                "iamgate_with_request": Series(
                    with_request,
                    [(ps, r.principal, d) for (ps, r), d in zip(cases, scenario.requests, strict=True)],
                ),
                "cedarpy": Series(
                    cedarpy.is_authorized,
                    [(q, scenario.cedar_policies, scenario.cedar_entities) for q in scenario.cedar_requests],
                ),
            },
            rounds=args.rounds,
        )
        results.append(
            {
                "policies": count,
                "requests": len(cases),
                **{name: asdict(value) for name, value in latency.items()},
            }
        )
    return results


def measure_embedded(args: argparse.Namespace) -> dict[str, Any]:
    from bench.embedded import measure_embedded as run

    result = run(args.rounds)
    return {
        "source": result.source,
        "queries": result.queries,
        "latency": {name: asdict(value) for name, value in result.latency.items()},
    }


def measure_startup(args: argparse.Namespace) -> dict[str, Any] | None:
    from bench.startup import measure_startup as run

    iamgate = Path(sys.executable).parent / "iamgate"
    if not iamgate.exists():
        return None
    return asdict(run(iamgate, runs=args.startup_runs))


def _commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return completed.stdout.strip() or "unknown"


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {"sizes": []}
    with tempfile.TemporaryDirectory(prefix="iamgate-bench-") as scratch:
        for size in args.size_list:
            print(f"[bench] {size:,} statements ...", file=sys.stderr, flush=True)
            results["sizes"].append(measure_size(size, args, Path(scratch)))
    gc.collect()
    if not args.no_cedar:
        print("[bench] cedarpy ...", file=sys.stderr, flush=True)
        results["cedar"] = measure_cedar(args)
    print("[bench] pathological wildcard patterns ...", file=sys.stderr, flush=True)
    results["pathological"] = measure_pathological()
    print("[bench] embedded bundle ...", file=sys.stderr, flush=True)
    results["embedded"] = measure_embedded(args)
    if not args.no_startup and _bundle_layer():
        print("[bench] iamgate serve start-up ...", file=sys.stderr, flush=True)
        results["startup"] = measure_startup(args)
    command = "bench/run.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "make bench"
    results["environment"] = report.environment(
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        commit=_commit(),
        command=command.strip(),
        seed=args.seed,
        rounds=args.rounds,
        requests=args.requests,
        seconds=time.perf_counter() - started,
    )
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = run(args)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    block = report.markdown(results)
    print(block.replace(report.BEGIN + "\n", "").replace(report.END + "\n", ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if not args.no_write:
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        report.write_markdown(docs / "performance.md", block)
        report.chart(results, docs / "bench-latency.png")
        print(f"wrote {docs / 'performance.md'} and {docs / 'bench-latency.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
