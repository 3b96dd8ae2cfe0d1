"""A principal with many identity policies is evaluated through one merged index."""

from __future__ import annotations

import random

from iamgate.engine import (
    ContextValue,
    Decision,
    PolicyKind,
    PolicySet,
    Principal,
    Request,
    build_context,
    compile_policy,
    evaluate,
)
from iamgate.engine.evaluator import MERGED_INDEX_THRESHOLD
from iamgate.policy import parse_policy

CALLER = Principal.parse("arn:aws:iam::123456789012:user/alice")


def _policies(count: int, seed: int) -> tuple:
    rng = random.Random(seed)
    policies = []
    for number in range(count):
        statements = []
        for index in range(rng.randint(1, 6)):
            statement = {
                "Effect": "Deny" if rng.random() < 0.15 else "Allow",
                "Action": rng.choice(["s3:GetObject", "s3:Get*", "s3:*", "ec2:StopInstances", "*"]),
                "Resource": rng.choice(
                    [
                        "*",
                        f"arn:aws:s3:::bucket-{index}/*",
                        f"arn:aws:s3:::bucket-{index}/key",
                        "arn:aws:ec2:*:*:*",
                    ]
                ),
            }
            if rng.random() < 0.3:
                statement["Condition"] = {
                    "StringEquals": {"aws:RequestTag/team": rng.choice(["red", "blue"])}
                }
            statements.append(statement)
        document = parse_policy({"Version": "2012-10-17", "Statement": statements})
        policies.append(compile_policy(document, policy_id=f"policy-{number}", kind=PolicyKind.IDENTITY))
    return tuple(policies)


def test_large_identity_sets_get_a_merged_index_and_small_ones_do_not() -> None:
    assert PolicySet(identity=_policies(MERGED_INDEX_THRESHOLD, 1)).identity_index is not None
    assert PolicySet(identity=_policies(MERGED_INDEX_THRESHOLD - 1, 1)).identity_index is None


def test_merged_index_gives_the_same_decisions_as_the_per_policy_scan() -> None:
    """The explain path scans every policy statement by statement; the fast path uses the merged index."""
    rng = random.Random(7)
    for seed in range(20):
        policy_set = PolicySet(identity=_policies(12, seed))
        for _ in range(40):
            request = Request(
                CALLER,
                rng.choice(["s3:GetObject", "s3:PutObject", "ec2:StopInstances", "iam:ListUsers"]),
                rng.choice(
                    ["arn:aws:s3:::bucket-1/key", "arn:aws:s3:::bucket-3/x", "arn:aws:ec2:us-east-1:1:i/1"]
                ),
                build_context([ContextValue("aws:RequestTag/team", (rng.choice(["red", "blue", "green"]),))]),
            )
            fast = evaluate(policy_set, request)
            scanned = evaluate(policy_set, request, explain=True)
            assert fast.decision == scanned.decision
            if fast.decision is Decision.ALLOWED:
                assert fast.determining and set(fast.determining) <= set(scanned.determining)
            else:
                assert set(fast.determining) == set(scanned.determining)
