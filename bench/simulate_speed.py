"""``iamgate simulate`` per decision at 12 and 5,000 statements, plain and with ``--explain``.

A seeded identity policy of N statements (literal and wildcard actions over many buckets), and
requests of 10 actions x 10 resources. Per decision = the whole ``simulate`` call (parse, compile,
evaluate) divided by its evaluations; "batch of 20" answers 20 requests giving the same policy
(``simulate_many``: the document is compiled once). Answers of the plain path are checked against
the explained one before anything is timed.

    .venv/bin/python bench/simulate_speed.py
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

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


def per_decision(run, evaluations: int, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) / evaluations * 1e6)
    return statistics.median(times)


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
        evaluations = len(simulate(item, limits=LIMITS, share_gil=False)["EvaluationResults"])
        batch = [item] * 20
        compiled = read_simulation(item, LIMITS)

        def evaluate_only(simulation=compiled) -> None:
            for query in simulation.requests:
                evaluate(simulation.policy_set, query, every_match=True)

        evaluate_only()  # the action plans, built on first use, are part of the batch column
        rows.append(
            (
                statements,
                per_decision(lambda item=item: simulate(item, limits=LIMITS, share_gil=False), evaluations),
                per_decision(
                    lambda small=small: simulate(small, explain=True, limits=LIMITS, share_gil=False), 2, 3
                ),
                per_decision(lambda batch=batch: simulate_many(batch, limits=LIMITS), evaluations * 20, 3),
                per_decision(evaluate_only, evaluations),
            )
        )
    print(
        "| statements | simulate, µs/decision | --explain, µs/decision | batch of 20, µs/decision "
        "| evaluation alone (compiled once), µs/decision |"
    )
    print("|---|---|---|---|---|")
    for statements, plain_us, explain_us, batch_us, alone_us in rows:
        print(f"| {statements:,} | {plain_us:.1f} | {explain_us:.1f} | {batch_us:.1f} | {alone_us:.1f} |")
    one, batched, alone = (rows[1][i] / rows[0][i] for i in (1, 3, 4))
    print(
        f"\n5,000 / 12 statements: {one:.1f}x one request, {batched:.1f}x batched, "
        f"{alone:.1f}x evaluation alone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
