"""Profile the decision hot path with pyinstrument: ``.venv/bin/python bench/profile.py [--size N]``.

Runs the size's request streams through ``evaluate`` (typical principals, then the heavy
principal) and through the decision cache (hits only), many times over, and prints pyinstrument's
call tree for each, so the time per decision can be read function by function. The findings are
written up in docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generator import generate_organization  # noqa: E402
from bench.workload import Case, build_workload  # noqa: E402
from iamgate.engine import evaluate  # noqa: E402


def _profile(label: str, body: Callable[[], None], *, interval: float, show_all: bool) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=interval)
    profiler.start()
    body()
    profiler.stop()
    print(f"\n===== {label} =====")
    print(profiler.output_text(unicode=True, color=False, show_all=show_all, short_mode=False))


def _evaluate_all(cases: tuple[Case, ...], repeat: int) -> Callable[[], None]:
    # One untimed pass first, as bench/timing.py does: the profile shows the steady state, not the
    # plans and groups each index builds on an action's first use.
    for case in cases:
        evaluate(case.policy_set, case.request)

    def body() -> None:
        for _ in range(repeat):
            for case in cases:
                evaluate(case.policy_set, case.request)

    return body


def _cached_all(cases: tuple[Case, ...], repeat: int) -> Callable[[], None]:
    from iamgate.engine.cache import DecisionCache

    cache = DecisionCache(maxsize=100_000)
    for case in cases:
        cache.evaluate(case.scope, case.policy_set, case.request)

    def body() -> None:
        for _ in range(repeat):
            for case in cases:
                cache.evaluate(case.scope, case.policy_set, case.request)

    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/profile.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="statements in the bundle (default 10000)")
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the requests per profile")
    parser.add_argument("--interval", type=float, default=0.0001, help="sampling interval in seconds")
    parser.add_argument("--all", action="store_true", help="show library frames too")
    parser.add_argument("--only", choices=("typical", "heavy", "cached"), help="profile one stream only")
    args = parser.parse_args(argv)
    workload = build_workload(generate_organization(args.size, 1, requests=args.requests))
    runs = {
        "typical": ("evaluate, typical principals", _evaluate_all(workload.typical, args.repeat)),
        "heavy": (
            f"evaluate, heavy principal ({workload.heavy_statements:,} statements)",
            _evaluate_all(workload.heavy, args.repeat),
        ),
        "cached": (
            "DecisionCache.evaluate hits, typical principals",
            _cached_all(workload.typical, args.repeat),
        ),
    }
    for name, (label, body) in runs.items():
        if args.only in (None, name):
            _profile(f"{label} @ {args.size:,} statements", body, interval=args.interval, show_all=args.all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
