"""A hash of ``iamgate simulate``'s answers about documents large enough to be compiled for a reach.

``bench/simulate_cold.py answers`` hashes the JavaScript bench's requests, none of which gives a
document of ``REACH_FROM`` (64) statements or more. Here: ``bench/simulate_speed.py``'s seeded
documents of 12, 70, 600 and 5,000 statements, each asked 13 requests (varied actions, objects and
buckets, and the bench's own request) as a batch, as the reversed batch twice over, and one at a
time twice (the second time remembered). Equal hashes under two trees, equal answers:

    .venv/bin/python bench/simulate_reach_hash.py
    PYTHONPATH=OLD/server:OLD/client .venv/bin/python bench/simulate_reach_hash.py
"""

from __future__ import annotations

import hashlib
import json
import random

from simulate_speed import ACTIONS, LIMITS, policy, request

from iamgate.engine.simulate import simulate, simulate_many


def requests(statements: int) -> list[dict]:
    text = policy(statements)
    rng = random.Random(statements)
    buckets = max(statements // 4, 3)
    items = []
    for _ in range(12):
        actions = [f"s3:{a}" for a in rng.sample(ACTIONS, rng.randint(1, 5))]
        actions += ["s3:GetAcl", "iam:CreateUser"][: rng.randint(0, 2)]
        resources = [
            f"arn:aws:s3:::bucket-{rng.randrange(buckets)}/{rng.choice(['key', 'a/b', ''])}"
            for _ in range(rng.randint(1, 6))
        ]
        if rng.randrange(3) == 0:
            resources.append(f"arn:aws:s3:::bucket-{rng.randrange(buckets)}")
        items.append({"PolicyInputList": [text], "ActionNames": actions, "ResourceArns": resources})
    items.append(request(text))
    return items


def main() -> None:
    answers = []
    for statements in (12, 70, 600, 5_000):
        items = requests(statements)
        answers.append(simulate_many(items, limits=LIMITS))
        answers.append(simulate_many(items[::-1] * 2, limits=LIMITS))
        answers.append([simulate(item, limits=LIMITS, share_gil=False) for item in items * 2])
    digest = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:16]
    evaluations = sum(len(answer["EvaluationResults"]) for batch in answers for answer in batch)
    print(f"{digest} ({evaluations} evaluations)")


if __name__ == "__main__":
    main()
