"""Decision-cache hits of an older revision's ``engine/cache.py`` and this tree's, in one process.

    .venv/bin/python bench/cache_inprocess.py [REVISION] [SIZES]   (default: 14da049, 100,1000,10000)

``bench/cache_versus.py`` runs one process per side, which on a loaded machine moves a figure by
±20% from one process to the next. Here both caches are filled with the same generated requests
(``bench/generator.py``, 2,000 per stream, this tree's ``Request`` objects) in one process and
timed round by round, interleaved (``bench/timing.py``: per-call p50, median of 9 rounds), so
both see the same machine. Only ``cache.py`` differs (the older one imported from a copy), so
this measures the hit alone; a change to ``Request``/``ContextValue`` is in both sides.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 9


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.generator import generate_organization
    from bench.timing import Series, _round, timer_overhead_ns
    from bench.workload import build_workload

    revision = sys.argv[1] if len(sys.argv) > 1 else "14da049"
    sizes = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "100,1000,10000").split(",")]
    source = subprocess.run(
        ["git", "show", f"{revision}:server/iamgate/engine/cache.py"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as scratch:
        old_path = Path(scratch) / "cache_old.py"
        old_path.write_bytes(source)
        sides = {
            revision: _load(old_path, "cache_old"),
            "this tree": _load(ROOT / "server/iamgate/engine/cache.py", "cache_new"),
        }
        overhead = timer_overhead_ns()
        print(f"DecisionCache hits, p50 µs, one process, {ROUNDS} interleaved rounds")
        print(f"| series | {revision} | this tree | ratio |\n|---|---:|---:|---:|")
        for size in sizes:
            workload = build_workload(generate_organization(size, 1, requests=2000))
            series = {}
            for label, cases in (("cached", workload.typical), ("heavy_cached", workload.heavy)):
                args = [(c.scope, c.policy_set, c.request) for c in cases]
                for side, module in sides.items():
                    cache = module.DecisionCache(100_000)
                    for one in args:
                        cache.evaluate(*one)
                    series[(label, side)] = Series(cache.evaluate, args)
            gc.collect()
            gc.freeze()
            results: dict[tuple[str, str], list[int]] = {name: [] for name in series}
            names = list(series)
            for number in range(ROUNDS):
                for name in names[number % len(names) :] + names[: number % len(names)]:
                    results[name].append(_round(series[name], overhead)[0])
            gc.unfreeze()
            for label in ("cached", "heavy_cached"):
                old, new = (statistics.median(results[(label, side)]) / 1000 for side in sides)
                print(f"| {label}@{size} | {old:.2f} | {new:.2f} | {old / new:.2f}x |")
    print(f"\n(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
