"""The 5,000 / 12 statements ratio of ``iamgate simulate`` per decision, measured round by round.

``bench/simulate_speed.py`` times every row at 12 statements, then every row at 5,000: on a shared
machine a busy spell during one half skews the ratio (seen: 1.1x to 1.8x from one run to the next of
the same tree). Here each round times the two sizes back to back, in alternating order, and the
ratio is taken per round; the median of those ratios moves far less. Rows: "text seen before" (the
same single request again) and "batch of 20" (``simulate_many``), as in ``simulate_speed.py``,
whose requests and limits are used. Answers are checked equal to the first call's before timing.
Runs against an older tree too (``PYTHONPATH=OLD/server``).

    .venv/bin/python bench/simulate_ratio.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from simulate_speed import LIMITS, policy, request

from iamgate.engine.simulate import simulate, simulate_many


def cpu_per_decision(run: Callable[[], object], evaluations: int) -> float:
    started = time.process_time()
    run()
    return (time.process_time() - started) / evaluations * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    rows: dict[str, dict[int, tuple[Callable[[], object], int]]] = {"text seen before": {}, "batch of 20": {}}
    for statements in (12, 5_000):
        item = request(policy(statements))
        answer = simulate(item, limits=LIMITS, share_gil=False)
        if simulate_many([item] * 20, limits=LIMITS) != [answer] * 20:
            print("batch and single answers disagree", file=sys.stderr)
            return 1
        evaluations = len(answer["EvaluationResults"])
        rows["text seen before"][statements] = (
            lambda item=item: simulate(item, limits=LIMITS, share_gil=False),
            evaluations,
        )
        rows["batch of 20"][statements] = (
            lambda batch=[item] * 20: simulate_many(batch, limits=LIMITS),
            evaluations * 20,
        )
    print("| row | 12 statements (CPU µs/decision) | 5,000 | ratio per round: median (min-max) |")
    print("|---|---:|---:|---|")
    for name, sizes in rows.items():
        small, large, ratios = [], [], []
        for round_ in range(args.rounds):
            order = (12, 5_000) if round_ % 2 == 0 else (5_000, 12)
            got = {size: cpu_per_decision(*sizes[size]) for size in order}
            small.append(got[12])
            large.append(got[5_000])
            ratios.append(got[5_000] / got[12])
        print(
            f"| {name} | {statistics.median(small):.1f} | {statistics.median(large):.1f} | "
            f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
