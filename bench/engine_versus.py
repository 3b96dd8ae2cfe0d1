"""The engine targets of docs/performance.md, this tree against an older revision, side by side.

    .venv/bin/python bench/engine_versus.py [REVISION] [RUNS]   (default: HEAD~6, 4 runs)

The older revision's ``server/`` is exported with ``git archive``; each run is one process per side
(alternating which goes first) that generates the same seeded organizations (``bench/generator.py``
at 100 and 10,000 statements, 1,000 requests per stream), checks the index against the naive
evaluator on the heavy principal's requests, and times ``evaluate`` (``bench/timing.py``: per-call
p50, median over rounds) on the typical requests at 100 statements, the heavy principal's
(5,000 statements) at 10,000, and the naive evaluator on 150 of the latter. Reported: the median
over runs of each side's figures and the two ratios the targets name.
"""

from __future__ import annotations

import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child() -> None:
    from bench.generator import generate_organization
    from bench.naive import naive_evaluate, same_answer, supports
    from bench.timing import Series, measure
    from bench.workload import build_workload
    from iamgate.engine import evaluate

    small = build_workload(generate_organization(100, 1, requests=1000))
    large = build_workload(generate_organization(10_000, 1, requests=1000))
    naive_cases = [c for c in large.heavy if supports(c.policy_set, c.request)][:150]
    for case in naive_cases:
        if not same_answer(
            evaluate(case.policy_set, case.request), naive_evaluate(case.policy_set, case.request)
        ):
            raise SystemExit(f"the index and the naive evaluator disagree on {case.request}")
    gc.collect()
    gc.freeze()
    series = {
        "typical@100": Series(evaluate, [(c.policy_set, c.request) for c in small.typical]),
        "heavy@10000": Series(evaluate, [(c.policy_set, c.request) for c in large.heavy]),
        "heavy-naive@10000": Series(naive_evaluate, [(c.policy_set, c.request) for c in naive_cases]),
        "heavy-indexed@10000": Series(evaluate, [(c.policy_set, c.request) for c in naive_cases]),
    }
    print(json.dumps({name: latency.p50_us for name, latency in measure(series, rounds=3).items()}))


def main() -> None:
    revision = sys.argv[1] if len(sys.argv) > 1 else "HEAD~6"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "archive", revision, "server"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        sides = {"old": f"{old}/server{os.pathsep}{ROOT}", "new": f"{ROOT / 'server'}{os.pathsep}{ROOT}"}
        results: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
        for run in range(runs):
            for side in sides if run % 2 == 0 else reversed(sides):
                env = {**os.environ, "PYTHONPATH": sides[side]}
                out = subprocess.run(
                    [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True
                ).stdout
                for name, p50 in json.loads(out).items():
                    results[side].setdefault(name, []).append(p50)
    print(f"evaluate, p50 µs, median of {runs} alternating runs: {revision} -> this tree\n")
    print(f"| figure | {revision} | this tree |")
    print("|---|---:|---:|")
    medians = {
        side: {name: statistics.median(v) for name, v in found.items()} for side, found in results.items()
    }
    for name in medians["new"]:
        print(f"| {name} | {medians['old'][name]:,.1f} | {medians['new'][name]:,.1f} |")
    for side in ("old", "new"):
        m = medians[side]
        medians[side]["heavy / typical"] = m["heavy@10000"] / m["typical@100"]
        medians[side]["naive / indexed"] = m["heavy-naive@10000"] / m["heavy-indexed@10000"]
    for name, goal in (("heavy / typical", "<= 2x"), ("naive / indexed", ">= 20x")):
        print(f"| {name} (goal {goal}) | {medians['old'][name]:.2f}x | {medians['new'][name]:.2f}x |")


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
