"""Explanations (issue 3, "Explain"): the trace comes from the same code path as the decision.

``evaluate(..., explain=True)`` scans every statement without short-circuiting (and without the
index) to record each element's outcome. That is a second way to reach the decision, so it must
reach the same one; and the trace must be complete and consistent with the statements' matchers,
or an operator debugging a denial is misled.
"""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    ACCOUNT,
    ALICE,
    APP_SESSION,
    CALLERS,
    OTHER_ACCOUNT,
    REQUEST_ACTIONS,
    RESOURCES,
    all_policies,
    compile_document,
    make_request,
    random_context,
    random_statements,
)

from iamgate.engine import Decision, PolicyKind, PolicySet, Principal, Request, access_message, evaluate
from iamgate.engine.explain import explanation_json, explanation_tree

EXAMPLES = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**32 - 1)
SERVICE = "lambda.amazonaws.com"


def random_policy_set(rng: random.Random) -> PolicySet:
    """Identity policies and, at random, a resource policy, a boundary, a session policy, SCP levels."""

    def policy(policy_id: str, kind: PolicyKind, *, principal: bool = False):
        # Mostly small policies; now and then one large enough for the resource index.
        count = rng.randint(1, 5) if rng.randrange(6) else rng.randint(20, 40)
        statements = random_statements(rng, count, with_principal=principal)
        if kind is not PolicyKind.RESOURCE and rng.randrange(3):
            # Real SCPs and boundaries usually start from a broad allow (FullAWSAccess and the like).
            statements.insert(0, {"Effect": "Allow", "Action": rng.choice(["*", "s3:*"]), "Resource": "*"})
        return compile_document(statements, policy_id=policy_id, kind=kind)

    identity = tuple(policy(f"identity-{i}", PolicyKind.IDENTITY) for i in range(rng.randint(0, 2)))
    resource = policy("resource", PolicyKind.RESOURCE, principal=True) if rng.randrange(2) else None
    boundary = (policy("boundary", PolicyKind.BOUNDARY),) if rng.randrange(3) == 0 else None
    session = (policy("session", PolicyKind.SESSION),) if rng.randrange(4) == 0 else None
    scps = tuple(
        tuple(policy(f"scp-{level}-{i}", PolicyKind.SCP) for i in range(rng.randint(1, 2)))
        for level in range(rng.choice([0, 0, 1, 2, 3]))
    )
    return PolicySet(identity, resource, boundary, session, scps)


def random_request(rng: random.Random, *, callers=CALLERS) -> Request:
    return Request(
        principal=Principal.parse(rng.choice(callers)),
        action=rng.choice(REQUEST_ACTIONS),
        resource=rng.choice(RESOURCES),
        context=random_context(rng),
        resource_account=rng.choice([None, ACCOUNT, ACCOUNT, OTHER_ACCOUNT]),
    )


def _case(seed: int, *, callers=CALLERS) -> tuple[PolicySet, Request]:
    rng = random.Random(seed)
    return random_policy_set(rng), random_request(rng, callers=callers)


@EXAMPLES
@given(SEEDS)
def test_explain_gives_the_same_decision_as_a_plain_evaluation(seed):
    """Explain answers "why", never a different "what": decision and blamed policy kind agree, for
    every policy kind, same- and cross-account, any caller. Denies are listed in full by both; for
    an allow, Authorize names the first Allow it found of each policy type and Explain all of them."""
    policy_set, request = _case(seed, callers=(*CALLERS, SERVICE))
    plain, explained = evaluate(policy_set, request), evaluate(policy_set, request, explain=True)
    assert explained.decision == plain.decision
    assert explained.denied_by == plain.denied_by
    if plain.decision is Decision.ALLOWED:
        assert set(plain.determining) <= set(explained.determining)
        assert {r.kind for r in plain.determining} == {r.kind for r in explained.determining}
    else:
        assert set(explained.determining) == set(plain.determining)
    assert plain.trace is None and explained.trace is not None


@EXAMPLES
@given(SEEDS)
def test_the_trace_lists_every_policy_and_statement_with_each_elements_outcome(seed):
    """Every policy appears once, by kind (SCPs with their level), every statement in order, and each
    element's recorded outcome is what the statement's own matcher says."""
    policy_set, request = _case(seed)
    evaluation = evaluate(policy_set, request, explain=True)
    expected = [(p.policy_id, p.kind) for p in all_policies(policy_set)]
    assert [(t.policy_id, t.kind) for t in evaluation.trace] == expected
    levels = [t.level for t in evaluation.trace if t.kind is PolicyKind.SCP]
    assert levels == [level for level, ps in enumerate(policy_set.scp_levels) for _ in ps]

    action, context = request.action.lower(), request.context
    has_boundary = policy_set.boundary is not None
    for policy, policy_trace in zip(all_policies(policy_set), evaluation.trace, strict=True):
        assert [s.ref for s in policy_trace.statements] == [s.ref for s in policy.statements]
        for statement, trace in zip(policy.statements, policy_trace.statements, strict=True):
            assert trace.effect == ("Deny" if statement.is_deny else "Allow")
            assert trace.action_matched is statement.matches_action(action)
            if statement.resources is None:
                assert trace.resource_matched is None
            else:
                assert trace.resource_matched is statement.matches_resource(request.resource, context)
            how = statement.principal_match(request.principal, has_boundary=has_boundary)
            if policy.kind is PolicyKind.RESOURCE:
                assert trace.principal_matched is (how is not None)
            else:
                assert trace.principal_matched is None
            assert [c.key for c in trace.conditions] == [c.clause.key for c in statement.conditions]
            for condition, condition_trace in zip(statement.conditions, trace.conditions, strict=True):
                assert condition_trace.matched is condition.evaluate(context)
                present = context.get(condition.key)
                assert condition_trace.request_values == (None if present is None else present.values)
            assert trace.applies is (
                trace.action_matched
                and trace.resource_matched is not False
                and trace.principal_matched is not False
                and trace.conditions_matched
            )


@EXAMPLES
@given(SEEDS)
def test_determining_statements_match_the_trace(seed):
    """For an explicit deny, the determining statements are exactly the Deny statements that apply;
    for an implicit deny, none; for an allow, Allow statements that apply, and no Deny applies."""
    policy_set, request = _case(seed)
    evaluation = evaluate(policy_set, request, explain=True)
    applying = [s for p in evaluation.trace for s in p.statements if s.applies]
    denies = {s.ref for s in applying if s.effect == "Deny"}
    allows = {s.ref for s in applying if s.effect == "Allow"}
    if evaluation.decision is Decision.EXPLICIT_DENY:
        assert set(evaluation.determining) == denies
        assert evaluation.denied_by is next(s.ref.kind for s in applying if s.effect == "Deny")
    elif evaluation.decision is Decision.IMPLICIT_DENY:
        assert evaluation.determining == ()
        assert not denies
    else:
        assert not denies
        assert evaluation.determining
        assert set(evaluation.determining) <= allows


@EXAMPLES
@given(SEEDS)
def test_missing_context_lists_exactly_the_absent_keys_of_relevant_conditions(seed):
    """Keys asked for by conditions of statements that match the action and resource, and absent
    from the request: the first thing to check when a condition unexpectedly fails."""
    policy_set, request = _case(seed)
    evaluation = evaluate(policy_set, request, explain=True)
    action, context = request.action.lower(), request.context
    wanted = set()
    for policy in all_policies(policy_set):
        for statement in policy.statements:
            if statement.matches_action(action) and statement.matches_resource(request.resource, context):
                wanted.update(key for condition in statement.conditions for key in condition.reads)
    expected = {key for key in wanted if key not in context}
    listed = [name.lower() for name in evaluation.missing_context]
    assert len(listed) == len(set(listed)), "each key once"
    assert set(listed) == expected


def test_missing_context_names_the_key_as_the_policy_wrote_it():
    policy_set = PolicySet(
        identity=(
            compile_document(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {
                        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                        "Bool": {"aws:MultiFactorAuthPresent": "true"},
                    },
                }
            ),
        )
    )
    evaluation = evaluate(policy_set, make_request(entries={"aws:SourceIp": "10.1.2.3"}), explain=True)
    assert evaluation.decision is Decision.IMPLICIT_DENY
    assert evaluation.missing_context == ("aws:MultiFactorAuthPresent",)
    assert evaluate(policy_set, make_request(entries={"aws:SourceIp": "10.1.2.3"})).missing_context == ()


def _deny_in_an_scp() -> tuple[PolicySet, Request]:
    identity = compile_document({"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    scp = compile_document(
        [
            {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Sid": "DenyWithoutMfa",
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
        policy_id="org-guardrails",
        kind=PolicyKind.SCP,
    )
    return PolicySet(identity=(identity,), scp_levels=((scp,),)), make_request(caller=ALICE)


def test_explanation_json_renders_and_names_the_determining_statement():
    """The JSON form (Explain RPC, ``iamgate explain --output json``) is plain JSON data."""
    policy_set, request = _deny_in_an_scp()
    data = explanation_json(evaluate(policy_set, request, explain=True))
    json.dumps(data)
    assert data["Decision"] == "explicitDeny"
    assert data["DeniedBy"] == "scp"
    assert [(d["SourcePolicyId"], d["Sid"]) for d in data["DeterminingStatements"]] == [
        ("org-guardrails", "DenyWithoutMfa")
    ]
    assert [p["PolicyId"] for p in data["Policies"]] == ["org-guardrails", "policy"]
    assert data["Policies"][0]["Level"] == 0
    deny = data["Policies"][0]["Statements"][1]
    assert deny["Applies"] is True
    assert deny["Conditions"][0]["RequestValues"] is None


def test_explanation_tree_renders_and_names_the_determining_statement():
    """The tree (``iamgate explain``) names the decision, the determining statement and each element."""
    policy_set, request = _deny_in_an_scp()
    tree = explanation_tree(evaluate(policy_set, request, explain=True), header="alice -> s3:GetObject")
    assert tree.splitlines()[0] == "alice -> s3:GetObject"
    assert "decision: explicitDeny" in tree
    assert "determined by: scp:org-guardrails#DenyWithoutMfa" in tree
    assert "scp policy org-guardrails (level 0)" in tree
    assert "Deny DenyWithoutMfa: APPLIES" in tree
    assert "missing context keys: aws:MultiFactorAuthPresent" in tree


def test_the_access_message_names_the_policy_type_responsible():
    """AWS-style wording: the operator learns which kind of policy to look at."""
    policy_set, request = _deny_in_an_scp()
    message = access_message(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/key", evaluate(policy_set, request))
    assert message.endswith("with an explicit deny in a service control policy")
    boundary = PolicySet(
        identity=(compile_document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),),
        boundary=(compile_document({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),),
    )
    message = access_message(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/key", evaluate(boundary, request))
    assert message.endswith("because no permissions boundary allows the s3:GetObject action")


@EXAMPLES
@given(SEEDS)
def test_explanations_of_random_evaluations_render_and_mention_each_determining_statement(seed):
    policy_set, request = _case(seed)
    evaluation = evaluate(policy_set, request, explain=True)
    data = explanation_json(evaluation)
    assert json.loads(json.dumps(data)) == data
    tree = explanation_tree(evaluation)
    for ref in evaluation.determining:
        assert str(ref) in tree


def test_a_session_trace_shows_the_session_policy_that_capped_the_grant():
    """An assumed-role session with a session policy: the trace names it, and it is what denied."""
    policy_set = PolicySet(
        identity=(compile_document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),),
        session=(
            compile_document(
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
                policy_id="session",
                kind=PolicyKind.SESSION,
            ),
        ),
    )
    evaluation = evaluate(policy_set, make_request(caller=APP_SESSION), explain=True)
    assert evaluation.decision is Decision.IMPLICIT_DENY
    assert evaluation.denied_by is PolicyKind.SESSION
    session = next(t for t in evaluation.trace if t.kind is PolicyKind.SESSION)
    assert [s.action_matched for s in session.statements] == [False]
