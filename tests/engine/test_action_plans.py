"""Per-action plans (issue 9, "engine targets"): the index offers every statement that can apply.

An index answers through a plan per action, built on the action's first use and remembered: the
statements whose Action/NotAction matches it, in policy order, resource-indexed when many. A plan
that left out a statement which applies would lose a grant or, worse, skip a Deny; so for
generated policies, alone and merged over several policies as a principal's identity index is,
every statement that applies must be offered — and, since plans are filtered by action, nothing
that does not match the action may be.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    ACTION_PATTERNS,
    REQUEST_ACTIONS,
    RESOURCES,
    compile_document,
    make_request,
    random_statements,
    request_contexts,
    statement_lists,
    unindexed_set,
)

from iamgate.engine import PolicyKind, PolicySet, evaluate
from iamgate.engine import index as index_module
from iamgate.engine.index import RESOURCE_INDEX_THRESHOLD, StatementIndex

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BIG = RESOURCE_INDEX_THRESHOLD * 3


def _key(statement) -> tuple[str, int]:
    return statement.ref.policy_id, statement.ref.index


@st.composite
def merged_indexes(draw: st.DrawFn):
    """A principal's identity index: the statements of 2-6 generated policies in one index."""
    policies = [
        compile_document(draw(statement_lists(min_size=1, max_size=BIG)), policy_id=f"policy-{n}")
        for n in range(draw(st.integers(2, 6)))
    ]
    statements = [s for policy in policies for s in policy.statements]
    return statements, StatementIndex.build(statements)


@EXAMPLES
@given(merged=merged_indexes(), ctx=request_contexts())
def test_merged_candidates_include_every_statement_that_applies_and_only_action_matches(merged, ctx):
    statements, index = merged
    for action in REQUEST_ACTIONS:
        action = action.lower()
        applying_to_action = {_key(s) for s in statements if s.matches_action(action)}
        assert {_key(s) for s in index.candidates(action)} == applying_to_action
        for resource in RESOURCES:
            offered = index.candidates(action, resource)
            keys = [_key(s) for s in offered]
            assert keys == sorted(set(keys)), "policy order, each statement once"
            assert set(keys) <= applying_to_action
            for statement in statements:
                if statement.matches_action(action) and statement.matches_resource(resource, ctx):
                    assert _key(statement) in keys, f"{action} on {resource}: lost {statement.statement}"


@EXAMPLES
@given(merged=merged_indexes())
def test_an_index_that_forgets_its_plans_answers_as_one_that_remembers(merged):
    """Plans are remembered within bounds; an index emptied every few actions answers the same."""
    statements, remembering = merged
    forgetting = StatementIndex.build(statements)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "ACTIONS_REMEMBERED", 2)
        patch.setattr(index_module, "STATEMENTS_REMEMBERED", BIG)
        for _ in range(2):
            for action in REQUEST_ACTIONS:
                for resource in RESOURCES[::3]:
                    expected = [_key(s) for s in remembering.candidates(action.lower(), resource)]
                    assert [_key(s) for s in forgetting.candidates(action.lower(), resource)] == expected
        assert forgetting.remembered_actions <= 2


def test_a_plan_is_built_once_per_action_and_reused():
    policy = compile_document(random_statements(random.Random(3), BIG))
    first = policy.index.plan("s3:getobject")
    assert policy.index.plan("s3:getobject") is first
    assert policy.index.plan("s3:putobject") is not first


@EXAMPLES
@given(
    patterns=st.lists(st.sampled_from((*ACTION_PATTERNS, "S3:List*", "ec2:*Instances")), max_size=6),
    negated=st.booleans(),
)
def test_an_action_matches_as_its_patterns_one_by_one_do(patterns, negated):
    """``matches_action`` (exact names in a set, ``head*`` patterns in one startswith) agrees with
    testing every compiled pattern on its own."""
    body = {"Effect": "Allow", "NotAction" if negated else "Action": patterns or ["s3:GetObject"]}
    statement = compile_document([{**body, "Resource": "*"}]).statements[0]
    for action in (*REQUEST_ACTIONS, "s3:getobjectacl", "s3:list", "ec2:runinstances", "s3:"):
        action = action.lower()
        one_by_one = any(glob.matches(action) for glob in statement.actions)
        assert statement.matches_action(action) is (one_by_one is not negated), (patterns, action)


def test_a_deny_among_thousands_of_prefix_allows_is_found_for_every_action_it_names():
    """A large merged index: the Deny guarding one action is offered next to the Allows."""
    allows = [
        {"Effect": "Allow", "Action": [f"svc{i}:Get*", f"svc{i}:List*"], "Resource": "*"}
        for i in range(2_000)
    ]
    deny = {"Sid": "NoDelete", "Effect": "Deny", "Action": "svc7:Delete*", "Resource": "*"}
    policies = (
        compile_document(allows, policy_id="a"),
        compile_document([deny], policy_id="b"),
        compile_document([{"Effect": "Allow", "Action": "*", "Resource": "*"}], policy_id="c"),
        compile_document([{"Effect": "Allow", "Action": "svc7:*", "Resource": "*"}], policy_id="d"),
    )
    policy_set = PolicySet(identity=policies)
    assert policy_set.identity_index is not None
    for action, decision in (("svc7:DeleteThing", "explicitDeny"), ("svc7:GetThing", "allowed")):
        request = make_request(action, "arn:aws:svc7:us-east-1:111122223333:thing/x")
        assert evaluate(policy_set, request) == evaluate(unindexed_set(policy_set), request)
        assert evaluate(policy_set, request).decision == decision


@pytest.mark.parametrize("kind", [PolicyKind.IDENTITY, PolicyKind.RESOURCE])
def test_compiling_builds_no_plan(kind):
    """``iamgate simulate`` pays for the actions it asks about, not for every action of the policy."""
    statements = [{"Effect": "Allow", "Action": [f"svc{i}:Get*" for i in range(500)], "Resource": "*"}]
    if kind is PolicyKind.RESOURCE:
        statements[0]["Principal"] = "*"
    policy = compile_document(statements, kind=kind)
    assert policy.index.remembered_actions == 0
    policy.candidates("svc3:getx", "*")
    assert policy.index.remembered_actions == 1


@EXAMPLES
@given(
    bodies=st.lists(statement_lists(min_size=1, max_size=BIG), min_size=4, max_size=7),
    allows_only=st.booleans(),
    ctx=request_contexts(),
)
def test_a_principal_with_many_policies_decides_as_the_full_walk_does(bodies, allows_only, ctx):
    """The merged identity index (four policies or more) stops at the first applying Allow when no
    Deny can apply to the action; Explain walks every statement. Same decision, same blame, and
    the Allow reported is one of those Explain finds."""
    if allows_only:
        bodies = [[{**s, "Effect": "Allow"} for s in body] for body in bodies]
    policy_set = PolicySet(
        identity=tuple(compile_document(b, policy_id=f"policy-{n}") for n, b in enumerate(bodies))
    )
    assert policy_set.identity_index is not None
    for action in REQUEST_ACTIONS:
        for resource in RESOURCES[::2]:
            request = make_request(action, resource)
            request = type(request)(request.principal, action, resource, ctx, request.resource_account)
            indexed, walked = evaluate(policy_set, request), evaluate(policy_set, request, explain=True)
            assert (indexed.decision, indexed.denied_by) == (walked.decision, walked.denied_by), request
            if indexed.decision == "allowed":
                assert indexed.determining and set(indexed.determining) <= set(walked.determining)
            else:
                assert set(indexed.determining) == set(walked.determining)


@EXAMPLES
@given(merged=merged_indexes())
def test_a_plan_using_the_index_resource_groups_offers_what_a_plan_of_its_own_offers(merged):
    """Large plans look resources up in the index's shared resource groups (``_ResourceGroups``)
    and keep their own statements by a mask, instead of building a resource index of their own:
    the same candidates, in the same order, for every action and resource either way."""
    statements, _ = merged
    offered = {}
    for shared_from in (0, 10**9):  # never shared, always shared (when the plan is indexed at all)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(index_module, "SHARED_GROUPS_FROM", shared_from)
            index = StatementIndex.build(statements)
            offered[shared_from] = [
                [_key(s) for s in index.candidates(action.lower(), resource)]
                for action in REQUEST_ACTIONS
                for resource in (*RESOURCES, None)
            ]
    assert offered[0] == offered[10**9]


def test_a_plan_holding_most_of_a_large_index_uses_its_shared_resource_groups():
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": f"arn:aws:s3:::b-{n}/*"} for n in range(64)
        ],
    }
    from iamgate.engine import compile_policy
    from iamgate.policy import parse_policy

    policy = compile_policy(parse_policy(document), policy_id="p", kind=PolicyKind.IDENTITY)
    assert policy.index.plan("s3:getobject").mask is not None
    offered = policy.candidates("s3:getobject", "arn:aws:s3:::b-7/key")
    assert [s.ref.index for s in offered] == [7]
