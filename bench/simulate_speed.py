"""``iamgate simulate`` per decision at 12 and 5,000 statements, plain and with ``--explain``.

A seeded identity policy of N statements (literal and wildcard actions over many buckets), and
requests of 10 actions x 10 resources. Per decision = the whole ``simulate`` call (parse, compile,
evaluate) divided by its evaluations; "batch of 20" answers 20 requests giving the same policy
(``simulate_many``: the document is compiled once per batch). "Text seen before": the same request
again, as a UI asks (the document's text is remembered, and a single call's compiled policy too);
"cold": nothing remembered from earlier calls (every text decoded, checked, parsed and compiled
anew). Answers of the plain path are checked against the explained one, and cold answers against
remembered ones, before anything is timed. CPU time is the fairer figure on a shared machine; wall
time is printed too. Runs against an older tree too (``PYTHONPATH=OLD/server``).

    .venv/bin/python bench/simulate_speed.py
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

from iamgate.engine import simulate as simulate_module
from iamgate.engine.evaluator import evaluate
from iamgate.engine.simulate import SimulationLimits, read_simulation, simulate, simulate_many

ACTIONS = ("GetObject", "PutObject", "DeleteObject", "ListBucket", "GetObjectTagging")
LIMITS = SimulationLimits(
    max_simulate_statements=10_000, max_simulate_response_bytes=1 << 30, max_expensive_call_seconds=600
)


def policy(statements: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    body = []
    for i in range(statements):
        bucket = f"bucket-{rng.randrange(max(statements // 4, 3))}"
        action = rng.choice([f"s3:{rng.choice(ACTIONS)}", "s3:Get*", f"s3:{rng.choice(ACTIONS)[:4]}*"])
        body.append(
            {
                "Sid": f"S{i}",
                "Effect": "Deny" if rng.randrange(10) == 0 else "Allow",
                "Action": [action],
                "Resource": [f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}"],
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": body})


def request(document: str) -> dict:
    return {
        "PolicyInputList": [document],
        "ActionNames": [f"s3:{a}" for a in ACTIONS]
        + [f"s3:Get{n}" for n in ("Acl", "Policy", "X", "Y", "Z")],
        "ResourceArns": [f"arn:aws:s3:::bucket-{i}/key" for i in range(10)],
    }


def forget() -> None:
    """Nothing remembered from earlier calls: every policy text is decoded, checked, parsed and
    compiled anew (the process-wide memos of short patterns stay, as in any long-lived process)."""
    from iamgate.policy import parser

    parser._PARSED_TEXTS._known.clear()
    parser._PARSED_TEXTS._size = 0
    parser._WELL_FORMED_ACTIONS._known.clear()
    parser._WELL_FORMED_ACTIONS._size = 0
    remembered = getattr(simulate_module, "REMEMBERED_POLICIES", None)  # absent before it existed
    if remembered is not None:
        remembered.clear()


def per_decision(run, evaluations: int, rounds: int = 5, *, cold: bool = False) -> tuple[float, float]:
    """Median CPU and wall µs per decision over ``rounds`` runs (CPU: the fairer on a shared machine)."""
    cpu, wall = [], []
    for _ in range(rounds):
        if cold:
            forget()
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        cpu.append((time.process_time() - started_cpu) / evaluations * 1e6)
        wall.append((time.perf_counter() - started) / evaluations * 1e6)
    return statistics.median(cpu), statistics.median(wall)


COLUMNS = (
    "simulate (text seen before)",
    "simulate, cold",
    "--explain",
    "batch of 20",
    "batch of 20, cold",
    "evaluation alone (compiled once)",
)


def main() -> int:
    rows = []
    for statements in (12, 5_000):
        item = request(policy(statements))
        # --explain traces every statement of every evaluation: checked and timed on 2 of them
        small = {**item, "ActionNames": item["ActionNames"][:2], "ResourceArns": item["ResourceArns"][:1]}
        plain = simulate(small, limits=LIMITS, share_gil=False)["EvaluationResults"]
        explained = simulate(small, explain=True, limits=LIMITS, share_gil=False)["EvaluationResults"]
        for result in explained:
            del result["Explanation"]
        if plain != explained:
            print("plain and explained simulations disagree", file=sys.stderr)
            return 1
        answers = simulate(item, limits=LIMITS, share_gil=False)
        forget()
        if (
            simulate(item, limits=LIMITS, share_gil=False) != answers
            or simulate_many([item] * 2, limits=LIMITS) != [answers] * 2
        ):
            print("remembered and cold simulations disagree", file=sys.stderr)
            return 1
        evaluations = len(answers["EvaluationResults"])
        batch = [item] * 20
        compiled = read_simulation(item, LIMITS)

        def evaluate_only(simulation=compiled) -> None:
            for query in simulation.requests:
                evaluate(simulation.policy_set, query, every_match=True)

        evaluate_only()  # the action plans, built on first use, are part of the batch column

        def one(item=item) -> None:
            simulate(item, limits=LIMITS, share_gil=False)

        def many(batch=batch) -> None:
            simulate_many(batch, limits=LIMITS)

        one()
        rows.append(
            (
                statements,
                per_decision(one, evaluations),
                per_decision(one, evaluations, 3, cold=True),
                per_decision(
                    lambda small=small: simulate(small, explain=True, limits=LIMITS, share_gil=False), 2, 3
                ),
                per_decision(many, evaluations * 20, 3),
                per_decision(many, evaluations * 20, 3, cold=True),
                per_decision(evaluate_only, evaluations),
            )
        )
    for title, index in (("CPU µs per decision", 0), ("wall µs per decision", 1)):
        print(f"{title}:\n")
        print("| statements | " + " | ".join(COLUMNS) + " |")
        print("|---" * (len(COLUMNS) + 1) + "|")
        for statements, *cells in rows:
            print(f"| {statements:,} | " + " | ".join(f"{cell[index]:.1f}" for cell in cells) + " |")
        ratios = ", ".join(
            f"{name} {rows[1][i + 1][index] / rows[0][i + 1][index]:.1f}x" for i, name in enumerate(COLUMNS)
        )
        print(f"\n5,000 / 12 statements: {ratios}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
