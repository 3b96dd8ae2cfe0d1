"""A program's group of fixed candidates where one applying Allow is as good as all (SCP levels,
small identity sets, boundaries, session policies) runs as Denies then Allows
(``evaluator._run_split``), and when its first Allow applies to every request, answers with one
shared tally unless a Deny applies. These tests compare every answer with the traced walk (which
uses no program) and fail if the shared tally were used when an earlier Allow is conditional, or
if a Deny found for one request leaked into the next."""

from __future__ import annotations

from strategies import compile_document, make_request

from iamgate.engine import Decision, PolicyKind, PolicySet, evaluate

FULL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
REGION_LOCK = {
    "Effect": "Deny",
    "Action": "*",
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
}
ROOT_GUARD = {
    "Effect": "Deny",
    "Action": "*",
    "Resource": "*",
    "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
}
CONDITIONAL_ALLOW = {
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
}

CONTEXTS = [
    {"aws:RequestedRegion": "us-east-1"},
    {"aws:RequestedRegion": "eu-west-1"},
    {"aws:RequestedRegion": "us-east-1", "aws:SecureTransport": "true"},
    {"aws:RequestedRegion": "us-east-1", "aws:PrincipalArn": "arn:aws:iam::111122223333:root"},
    {},
]


def _authorize_view(traced):
    """What Authorize reports of an explanation: every determining Deny, but of the Allows only the
    first of each policy type but the resource-based one (DEVELOPERS.md)."""
    if traced.decision is not Decision.ALLOWED:
        return traced.determining
    seen, kept = set(), []
    for ref in traced.determining:
        if ref.kind is PolicyKind.RESOURCE or ref.kind not in seen:
            kept.append(ref)
            seen.add(ref.kind)
    return tuple(kept)


def _same_as_traced(policy_set: PolicySet, rounds: int = 2) -> None:
    for _ in range(rounds):  # the second round through the kept programs and shared tallies
        for entries in CONTEXTS:
            for action in ("s3:GetObject", "s3:PutObject"):
                request = make_request(action=action, entries=entries)
                fast, traced = evaluate(policy_set, request), evaluate(policy_set, request, explain=True)
                assert (fast.decision, fast.determining, fast.denied_by) == (
                    traced.decision,
                    _authorize_view(traced),
                    traced.denied_by,
                ), (action, entries)


def _scp(statements, name="scp"):
    return compile_document(statements, policy_id=name, kind=PolicyKind.SCP)


def test_an_scp_level_with_full_access_and_guardrails_decides_as_the_traced_walk():
    identity = compile_document([FULL])
    policy_set = PolicySet(identity=(identity,), scp_levels=((_scp([REGION_LOCK, FULL, ROOT_GUARD]),),))
    _same_as_traced(policy_set)


def test_a_conditional_first_allow_is_not_answered_by_the_always_applying_one():
    """Identity: the conditional Allow comes first, so it is the determining one when it applies."""
    identity = compile_document([CONDITIONAL_ALLOW, FULL, REGION_LOCK])
    _same_as_traced(PolicySet(identity=(identity,)))


def test_the_always_applying_allow_is_determining_beside_denies_of_other_policies():
    first = compile_document([FULL], policy_id="first")
    second = compile_document([REGION_LOCK, CONDITIONAL_ALLOW], policy_id="second")
    boundary = compile_document([FULL, ROOT_GUARD], policy_id="boundary", kind=PolicyKind.BOUNDARY)
    _same_as_traced(PolicySet(identity=(first, second), boundary=(boundary,)))


def test_a_deny_found_for_one_request_does_not_stay_for_the_next():
    identity = compile_document([FULL])
    policy_set = PolicySet(identity=(identity,), scp_levels=((_scp([FULL, REGION_LOCK]),),))
    denied = make_request(entries={"aws:RequestedRegion": "eu-west-1"})
    allowed = make_request(entries={"aws:RequestedRegion": "us-east-1"})
    for _ in range(3):
        assert not evaluate(policy_set, denied).allowed
        assert evaluate(policy_set, allowed).allowed
        traced = evaluate(policy_set, allowed, explain=True)
        assert evaluate(policy_set, allowed).determining == _authorize_view(traced)
