"""``Snapshot.authorize`` on the embedded bundle, this tree against an older revision, side by side.

    .venv/bin/python bench/authorize_versus.py [REVISION] [RUNS]   (default: HEAD~4, 6 runs)

The older revision's ``server/`` is exported with ``git archive`` into a temporary directory; each
run is one process per side (alternating which goes first), timing every embedded-bundle test
query uncached and through a warm decision cache (``bench/timing.py``: per-call p50, median over
rounds), after checking every answer against the bundle's expectations. Reported: the median
over runs of each side's p50, in µs.
"""

from __future__ import annotations

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
    from bench.timing import Series, measure
    from bench.workload import build_workload
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.bundle.query import AccessQuery
    from iamgate.engine.cache import DecisionCache
    from iamgate.engine.evaluator import evaluate

    snapshot = load_default_snapshot(cache_size=0)
    cached_snapshot = load_default_snapshot(cache_size=100_000)
    cache = DecisionCache(100_000)
    queries = []
    for test in snapshot.tests:
        query = AccessQuery(
            test.principal,
            test.action,
            test.resource,
            test.context,
            test.session_policy,
            session_tags=test.session_tags,
        )
        for with_cache in (None, cache, cache):
            decision = snapshot.authorize(query, now=test.now, cache=with_cache).evaluation.decision
            if decision != test.expected:
                raise SystemExit(f"{test.name}: got {decision}, expected {test.expected}")
        for _ in range(3):  # the snapshot's own cache (and whatever it keeps beside it)
            decision = cached_snapshot.authorize(query, now=test.now).evaluation.decision
            if decision != test.expected:
                raise SystemExit(f"{test.name}: own cache got {decision}, expected {test.expected}")
        queries.append((query, test.now))
    series = {
        "uncached": Series(lambda q, now: snapshot.authorize(q, now=now), queries * 20),
        "cached": Series(lambda q, now: snapshot.authorize(q, now=now, cache=cache), queries * 20),
        "cached, own cache": Series(lambda q, now: cached_snapshot.authorize(q, now=now), queries * 20),
    }
    # The engine's cache on a generated bundle (make bench's "cached p50"), answers checked first.
    workload = build_workload(generate_organization(1_000, 1, requests=400))
    engine_cache = DecisionCache(100_000)
    cases = [(c.scope, c.policy_set, c.request) for c in workload.typical]
    for scope, policy_set, request in cases:
        fresh = evaluate(policy_set, request)
        for _ in range(2):
            if engine_cache.evaluate(scope, policy_set, request) != fresh:
                raise SystemExit(f"engine cache: wrong answer for {request}")
    series["engine cached, generated 1,000"] = Series(engine_cache.evaluate, cases)
    print(json.dumps({name: latency.p50_us for name, latency in measure(series, rounds=5).items()}))


def main() -> None:
    revision = sys.argv[1] if len(sys.argv) > 1 else "HEAD~4"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "archive", revision, "server"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
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
    print(f"Snapshot.authorize, embedded bundle, p50 µs, median of {runs} alternating runs:")
    print(f"  {revision} -> this tree")
    for name in results["new"]:
        before, after = statistics.median(results["old"][name]), statistics.median(results["new"][name])

        print(f"  {name}: {before:.1f} -> {after:.1f} ({before / after:.1f}x)")


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
