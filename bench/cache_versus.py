"""Decision-cache hits of an older revision and this tree, side by side.

    .venv/bin/python bench/cache_versus.py [REVISION] [RUNS] [SIZES]   (default: HEAD~1, 4, 100,1000,10000)

The older revision's ``server/`` is exported with ``git archive``; each run is one process per side
and mode (alternating which side goes first) that generates the same seeded organizations
(``bench/generator.py``, 2,000 requests per stream), fills one ``DecisionCache`` per stream and
times its hits (``bench/timing.py``: per-call p50, median of 5 rounds): ``cached`` and
``heavy_cached`` re-ask the same ``Request`` objects, as ``make bench`` does; ``fresh`` and
``heavy_fresh`` (a process of their own, whose copies would otherwise crowd the first mode's
memory) ask equal requests made of new objects (new strings, contexts and values, as the sidecar
builds one per call), a new set per round, after checking that they are answered as the
originals are. Reported: the median over runs of each
side's figures, their ratio, and the load average.
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
ROUNDS = 5


def _copy(request):
    from iamgate.engine import ContextValue, Request, build_context

    def new(text):
        return None if text is None else text.encode().decode()

    context = build_context(
        ContextValue(new(v.name), tuple(map(new, v.values)), v.multi) for v in request.context.values()
    )
    return Request(
        request.principal, new(request.action), new(request.resource), context, new(request.resource_account)
    )


def child(sizes: list[int], mode: str) -> None:
    """Time one mode in this process: ``same`` (the bench's objects) or ``fresh`` (new copies)."""
    from bench.generator import generate_organization
    from bench.timing import Series, _round, measure, timer_overhead_ns
    from bench.workload import build_workload
    from iamgate.engine.cache import DecisionCache

    series, fresh_rounds = {}, {}
    for size in sizes:
        workload = build_workload(generate_organization(size, 1, requests=2000))
        for name, cases in (("cached", workload.typical), ("heavy_cached", workload.heavy)):
            label = f"{name}@{size}" if mode == "same" else f"{name.replace('cached', 'fresh')}@{size}"
            same = [(c.scope, c.policy_set, c.request) for c in cases]
            cache = DecisionCache(100_000)
            for scope, policy_set, request in same:
                expected = cache.evaluate(scope, policy_set, request)
                if mode == "fresh" and cache.evaluate(scope, policy_set, _copy(request)) != expected:
                    raise SystemExit(
                        f"an equal request made of new objects was answered otherwise: {request}"
                    )
            if mode == "same":
                series[label] = Series(cache.evaluate, same)
            else:  # a new set of equal request objects for every round
                fresh_rounds[label] = (
                    cache.evaluate,
                    [[(s, p, _copy(r)) for s, p, r in same] for _ in range(ROUNDS)],
                )
    gc.collect()
    gc.freeze()
    results = {name: t.p50_us for name, t in measure(series, rounds=ROUNDS).items()} if series else {}
    overhead = timer_overhead_ns()
    for label, (call, rounds) in fresh_rounds.items():
        results[label] = statistics.median(_round(Series(call, args), overhead)[0] for args in rounds) / 1000
    print(json.dumps(results))


def main() -> None:
    if "--child" in sys.argv:
        at = sys.argv.index("--child")
        child([int(s) for s in sys.argv[at + 1].split(",")], sys.argv[at + 2])
        return
    revision = sys.argv[1] if len(sys.argv) > 1 else "HEAD~1"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    sizes = sys.argv[3] if len(sys.argv) > 3 else "100,1000,10000"
    loads = []
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "archive", revision, "server"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        sides = {"old": f"{old}/server{os.pathsep}{ROOT}", "new": f"{ROOT / 'server'}{os.pathsep}{ROOT}"}
        results: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
        for run in range(runs):
            for mode in ("same", "fresh"):
                for side in sides if run % 2 == 0 else reversed(sides):
                    env = {**os.environ, "PYTHONPATH": sides[side]}
                    command = [sys.executable, __file__, "--child", sizes, mode]
                    out = subprocess.run(command, env=env, capture_output=True, text=True)
                    if out.returncode:
                        raise SystemExit(out.stderr)
                    for name, p50 in json.loads(out.stdout).items():
                        results[side].setdefault(name, []).append(p50)
                    loads.append(os.getloadavg()[0])
    print(f"DecisionCache hits, p50 µs, median of {runs} alternating runs: {revision} -> this tree")
    print(f"(load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs)\n")
    print(f"| series | {revision} | this tree | ratio |")
    print("|---|---:|---:|---:|")
    for name in results["old"]:
        before, after = statistics.median(results["old"][name]), statistics.median(results["new"][name])
        print(f"| {name} | {before:.2f} | {after:.2f} | {before / after:.2f}x |")


if __name__ == "__main__":
    main()
