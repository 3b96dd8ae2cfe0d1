"""Decision-cache hits of an older revision and this tree, side by side.

    .venv/bin/python bench/cache_versus.py [REVISION] [RUNS] [SIZES]   (default: HEAD~1, 4, 100,1000,10000)

The older revision's ``server/`` is exported with ``git archive``; each run is one process per side
(alternating which goes first) that generates the same seeded organizations (``bench/generator.py``,
2,000 requests per stream), fills one ``DecisionCache`` per stream and times its hits
(``bench/timing.py``: per-call p50, median of 5 rounds): ``cached`` and ``heavy_cached`` re-ask the
same ``Request`` objects, as ``make bench`` does; ``fresh`` and ``heavy_fresh`` ask equal requests
made of new objects (new strings, contexts and values, as the sidecar builds one per call), after
checking that they are answered as the originals are. Reported: the median over runs of each
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


def child(sizes: list[int]) -> None:
    from bench.generator import generate_organization
    from bench.timing import Series, measure
    from bench.workload import build_workload
    from iamgate.engine.cache import DecisionCache

    series = {}
    for size in sizes:
        workload = build_workload(generate_organization(size, 1, requests=2000))
        for name, cases in (("cached", workload.typical), ("heavy_cached", workload.heavy)):
            same = [(c.scope, c.policy_set, c.request) for c in cases]
            fresh = [[(s, p, _copy(r)) for s, p, r in same] for _ in range(ROUNDS + 1)]
            cache, fresh_cache = DecisionCache(100_000), DecisionCache(100_000)
            for (scope, policy_set, request), (_, _, copy) in zip(same, fresh[0], strict=True):
                expected = cache.evaluate(scope, policy_set, request)
                fresh_cache.evaluate(scope, policy_set, request)
                if fresh_cache.evaluate(scope, policy_set, copy) != expected:
                    raise SystemExit(
                        f"an equal request made of new objects was answered otherwise: {request}"
                    )
            series[f"{name}@{size}"] = Series(cache.evaluate, same)
            # Each round asks a new set of copies (the first set was asked by the check above).
            series[f"{name.replace('cached', 'fresh')}@{size}"] = _FreshSeries(
                fresh_cache.evaluate, fresh[1:]
            )
    gc.collect()
    gc.freeze()
    plain = {k: v for k, v in series.items() if isinstance(v, Series)}
    results = {name: latency.p50_us for name, latency in measure(plain, rounds=ROUNDS).items()}
    for name, fresh_series in series.items():
        if isinstance(fresh_series, _FreshSeries):
            results[name] = fresh_series.p50_us()
    print(json.dumps(results))


class _FreshSeries:
    """Timed like ``bench/timing.py`` (per call, p50 per round, median of rounds), a new set of
    equal request objects per round."""

    def __init__(self, call, rounds) -> None:
        self.call, self.rounds = call, rounds

    def p50_us(self) -> float:
        from bench.timing import Series, _round, timer_overhead_ns

        overhead = timer_overhead_ns()
        return statistics.median(_round(Series(self.call, args), overhead)[0] for args in self.rounds) / 1000


def main() -> None:
    if "--child" in sys.argv:
        child([int(s) for s in sys.argv[sys.argv.index("--child") + 1].split(",")])
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
            for side in sides if run % 2 == 0 else reversed(sides):
                env = {**os.environ, "PYTHONPATH": sides[side]}
                out = subprocess.run(
                    [sys.executable, __file__, "--child", sizes], env=env, capture_output=True, text=True
                )
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
