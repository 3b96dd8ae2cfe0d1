"""``evaluator._decide_identity_only`` (the flow chart for a program with no resource-policy
candidate, boundary or session policy) and ``_decide_identity_alone`` (the same without SCP
tallies, the identity group split, no tally built) answer exactly as ``_decide`` does.

Every call the evaluator makes to it is also answered by ``_decide`` with the tallies the general
path would pass (an empty resource tally, no boundary, no session; for ``_decide_identity_alone``
no SCP tally and the identity tally of ``_run_split``), and the two must be the same
``Evaluation`` (decision, determining statements, denied-by kind: the shared object). The calls
come from the conformance cases and from generated policy sets with SCP levels, callers in and out
of the account (the root user and a federated user session among them) and resources owned by
either account.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ACCOUNT, OTHER_ACCOUNT, RESOURCES, compile_document, random_statements

from iamgate.engine import PolicyKind, PolicySet, Principal, Request, evaluate
from iamgate.engine import evaluator as evaluator_module
from iamgate.engine.simulate import read_simulation

CASES = json.loads((Path(__file__).parent.parent / "conformance" / "cases.json").read_text())["cases"]

CALLERS = (
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:role/app-role",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/worker",
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws:sts::{ACCOUNT}:federated-user/bob",
    f"arn:aws:iam::{OTHER_ACCOUNT}:user/carol",
)
ACTIONS = ("s3:GetObject", "s3:PutObject", "ec2:DescribeInstances", "iam:CreateUser", "sqs:SendMessage")


@pytest.fixture
def compared(monkeypatch) -> list[object]:
    """Every answer of ``_decide_identity_only`` from now on, each checked against ``_decide``."""
    answers: list[object] = []
    fast = evaluator_module._decide_identity_only

    def checked(policy_set, request, action, scp_tallies, identity, results):
        answer = fast(policy_set, request, action, scp_tallies, identity, results)
        general = evaluator_module._decide(
            policy_set,
            request,
            action,
            scp_tallies,
            evaluator_module._NO_MATCH,
            identity,
            None,
            None,
            (),
            None,
            results,
        )
        assert answer is general or answer == general, (request, answer, general)
        answers.append(answer)
        return answer

    alone = evaluator_module._decide_identity_alone

    def checked_alone(group, request, results):
        answer = alone(group, request, results)
        general = evaluator_module._decide(
            _NO_POLICIES,  # read only for sts:/kms: actions, which never reach here
            request,
            request.action.lower(),
            [],
            evaluator_module._NO_MATCH,
            evaluator_module._run_split(group, request, False),
            None,
            None,
            (),
            None,
            results,
        )
        assert answer is general or answer == general, (request, answer, general)
        answers.append(answer)
        return answer

    monkeypatch.setattr(evaluator_module, "_decide_identity_only", checked)
    monkeypatch.setattr(evaluator_module, "_decide_identity_alone", checked_alone)
    return answers


_NO_POLICIES = PolicySet()


def test_every_conformance_case_it_answers_gets_decide_s_answer(compared):
    for case in CASES:
        simulation = read_simulation(case["request"])
        for request in simulation.requests:
            evaluate(simulation.policy_set, request)
    assert len(compared) > 100  # the usual shape: most cases have neither resource policy nor boundary


def _policy_set(seed: int) -> PolicySet:
    rng = random.Random(seed)
    identity = tuple(
        compile_document(random_statements(rng, rng.randint(1, 6)), policy_id=f"identity-{i}")
        for i in range(rng.choice((1, 1, 2, 5)))  # 5: a merged identity index
    )
    levels = []
    for level in range(rng.randint(0, 2)):
        statements = [{"Effect": "Allow", "Action": "*", "Resource": "*"}] if rng.randrange(2) else []
        statements += random_statements(rng, rng.randint(0, 3), with_conditions=False)
        if statements:
            levels.append((compile_document(statements, policy_id=f"scp-{level}", kind=PolicyKind.SCP),))
    return PolicySet(identity=identity, scp_levels=tuple(levels))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_generated_sets_get_decide_s_answer(compared, seed, picks):
    policy_set = _policy_set(seed)
    for pick in picks:
        owner = (ACCOUNT, OTHER_ACCOUNT, None)[pick % 3]
        request = Request(
            Principal.parse(CALLERS[pick // 3 % len(CALLERS)]),
            ACTIONS[pick // 18 % len(ACTIONS)],
            RESOURCES[pick // 90 % len(RESOURCES)],
            {},
            owner,
        )
        evaluate(policy_set, request)  # twice: the second from the program's kept answers
        evaluate(policy_set, request)


def test_the_generated_sets_reach_every_answer_of_the_reduced_flow(compared):
    """The generated sets exercise allow, explicit deny, and each implicit deny it gives."""
    seen = set()
    for seed in range(300):
        policy_set = _policy_set(seed)
        for caller in CALLERS:
            for owner in (ACCOUNT, OTHER_ACCOUNT):
                for action in ACTIONS[:3]:
                    evaluation = evaluate(
                        policy_set, Request(Principal.parse(caller), action, RESOURCES[0], {}, owner)
                    )
                    seen.add((evaluation.decision, evaluation.denied_by))
    kinds = {denied_by for decision, denied_by in seen if decision.value == "implicitDeny"}
    assert {PolicyKind.SCP, PolicyKind.RESOURCE, PolicyKind.IDENTITY, PolicyKind.SESSION} <= kinds
    assert {decision.value for decision, _ in seen} == {"allowed", "explicitDeny", "implicitDeny"}
    assert compared


def test_a_set_with_a_boundary_a_session_or_a_resource_policy_is_not_taken_there(compared):
    allow = compile_document([{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    resource = compile_document(
        [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        policy_id="bucket",
        kind=PolicyKind.RESOURCE,
    )
    request = Request(Principal.parse(CALLERS[0]), "s3:GetObject", "arn:aws:s3:::b/k", {}, ACCOUNT)
    for policy_set in (
        PolicySet(identity=(allow,), boundary=(allow,)),
        PolicySet(identity=(allow,), boundary=()),
        PolicySet(identity=(allow,), session=(allow,)),
        PolicySet(identity=(allow,), resource=resource),
    ):
        evaluate(policy_set, request)
    assert compared == []
    for action in ("sts:GetCallerIdentity", "sts:AssumeRole", "kms:Decrypt"):
        evaluate(PolicySet(identity=(allow,)), Request(Principal.parse(CALLERS[0]), action, "*", {}, None))
    assert compared == []


def test_the_generated_sets_reach_every_answer_without_a_tally(compared, monkeypatch):
    """Sets without SCP levels take ``_decide_identity_alone``, and reach each of its answers."""
    seen = set()
    checked = evaluator_module._decide_identity_alone

    def recorded(group, request, results):
        answer = checked(group, request, results)
        seen.add((answer.decision.value, answer.denied_by))
        return answer

    monkeypatch.setattr(evaluator_module, "_decide_identity_alone", recorded)
    for seed in range(300):
        policy_set = _policy_set(seed)
        for caller in CALLERS:
            for owner in (ACCOUNT, OTHER_ACCOUNT):
                for action in ACTIONS[:3]:
                    evaluate(policy_set, Request(Principal.parse(caller), action, RESOURCES[0], {}, owner))
    assert {
        ("allowed", None),
        ("explicitDeny", PolicyKind.IDENTITY),
        ("implicitDeny", PolicyKind.RESOURCE),
        ("implicitDeny", PolicyKind.IDENTITY),
        ("implicitDeny", PolicyKind.SESSION),
    } <= seen
