"""The statement index (issue 5, "Index"): an evaluation looks only at statements that can match.

An index is an optimisation that must never change an answer. A statement it fails to offer is a
grant silently lost or, worse, a Deny silently skipped. So for generated policies (literal and
wildcard actions across services, NotAction, exact ARNs, prefix patterns, short ARNs, ``*``,
NotResource, policy variables) every statement that actually applies must be among the candidates,
and evaluation through the index must decide exactly as a full scan does.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import (
    ACCOUNT,
    CALLERS,
    OTHER_ACCOUNT,
    REQUEST_ACTIONS,
    RESOURCE_PATTERNS,
    RESOURCES,
    compile_document,
    context,
    make_request,
    request_contexts,
    statement_lists,
    unindexed,
    unindexed_set,
)

from iamgate.engine import PolicyKind, PolicySet, Request, evaluate
from iamgate.engine.arn import ArnPattern, ShortArn
from iamgate.engine.index import RESOURCE_INDEX_THRESHOLD, resource_key

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
BIG = RESOURCE_INDEX_THRESHOLD * 3


def _refs(statements) -> set[tuple[str, int]]:
    return {(s.ref.policy_id, s.ref.index) for s in statements}


@EXAMPLES
@pytest.mark.parametrize("kind", [PolicyKind.IDENTITY, PolicyKind.RESOURCE])
@given(
    statements=statement_lists(min_size=BIG, max_size=BIG * 2, with_principal=True), ctx=request_contexts()
)
def test_candidates_include_every_statement_that_applies(kind, statements, ctx):
    """For every action and resource, a full scan's matches (action and resource) are all offered."""
    policy = compile_document(statements, kind=kind)
    assume(policy.index.indexed_resources)
    for action in REQUEST_ACTIONS:
        action = action.lower()
        by_action = _refs(policy.candidates(action))
        for statement in policy.statements:
            if statement.matches_action(action):
                assert (statement.ref.policy_id, statement.ref.index) in by_action, statement.statement
        for resource in RESOURCES:
            offered = _refs(policy.candidates(action, resource))
            for statement in policy.statements:
                if statement.matches_action(action) and statement.matches_resource(resource, ctx):
                    ref = (statement.ref.policy_id, statement.ref.index)
                    assert ref in offered, f"{action} on {resource}: lost {statement.statement}"


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    """Every policy kind, each large enough for its buckets to get a resource index."""

    def big(policy_id: str, kind: PolicyKind, *, principal: bool = False):
        statements = draw(statement_lists(min_size=BIG, max_size=BIG * 2, with_principal=principal))
        return compile_document(statements, policy_id=policy_id, kind=kind)

    identity = (big("identity-a", PolicyKind.IDENTITY), big("identity-b", PolicyKind.IDENTITY))
    resource = big("resource", PolicyKind.RESOURCE, principal=True) if draw(st.booleans()) else None
    boundary = (big("boundary", PolicyKind.BOUNDARY),) if draw(st.integers(0, 2)) == 0 else None
    session = (big("session", PolicyKind.SESSION),) if draw(st.integers(0, 3)) == 0 else None
    scps = tuple((big(f"scp-{level}", PolicyKind.SCP),) for level in range(draw(st.integers(0, 2))))
    return PolicySet(identity, resource, boundary, session, scps)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    return Request(
        principal=make_request(caller=draw(st.sampled_from(CALLERS))).principal,
        action=draw(st.sampled_from(REQUEST_ACTIONS)),
        resource=draw(st.sampled_from(RESOURCES)),
        context=draw(request_contexts()),
        resource_account=draw(st.sampled_from([None, ACCOUNT, OTHER_ACCOUNT])),
    )


@EXAMPLES
@given(policy_sets(), st.lists(requests(), min_size=20, max_size=20))
def test_indexed_evaluation_decides_like_a_full_scan(policy_set, batch):
    """Decision, the policy kind blamed and the determining statements are those of a full scan."""
    assume(any(p.index.indexed_resources for p in policy_set.identity))
    scan = unindexed_set(policy_set)
    for request in batch:
        indexed, full = evaluate(policy_set, request), evaluate(scan, request)
        assert indexed.decision == full.decision, request
        assert indexed.denied_by == full.denied_by, request
        assert set(indexed.determining) == set(full.determining), request


def _one_in_five_thousand():
    statements = [
        {
            "Sid": f"Bucket{i}",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::bucket-{i}/*",
        }
        for i in range(5_000)
    ]
    return compile_document(statements, policy_id="big")


def test_five_thousand_prefix_statements_offer_only_the_one_that_applies():
    """A principal with 5,000 statements: a check looks at one, and still finds the right one."""
    policy = _one_in_five_thousand()
    offered = policy.candidates("s3:getobject", "arn:aws:s3:::bucket-4242/report.csv")
    assert [s.ref.sid for s in offered] == ["Bucket4242"]
    assert policy.candidates("s3:getobject", "arn:aws:s3:::bucket-99999/report.csv") == []
    assert len(policy.candidates("s3:getobject")) == 5_000


def test_five_thousand_prefix_statements_evaluate_like_a_full_scan():
    policy = _one_in_five_thousand()
    indexed, scan = PolicySet(identity=(policy,)), PolicySet(identity=(unindexed(policy),))
    for resource, decision in [
        ("arn:aws:s3:::bucket-4242/report.csv", "allowed"),
        ("arn:aws:s3:::bucket-4242", "implicitDeny"),
        ("arn:aws:s3:::bucket-42420/report.csv", "implicitDeny"),
        ("arn:aws:s3:::Bucket-4242/report.csv", "implicitDeny"),
    ]:
        request = make_request("s3:GetObject", resource)
        assert evaluate(policy_set=indexed, request=request) == evaluate(scan, request)
        assert evaluate(indexed, request).decision == decision, resource
    allowed = evaluate(indexed, make_request("s3:GetObject", "arn:aws:s3:::bucket-4242/report.csv"))
    assert [ref.sid for ref in allowed.determining] == ["Bucket4242"]


def test_five_thousand_exact_arns_with_folded_prefix_parts_find_their_statement():
    """Exact-ARN buckets are keyed with partition/service/region/account folded, as IAM compares them."""
    statements = [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-{i}"}
        for i in range(5_000)
    ]
    policy = compile_document(statements)
    offered = policy.candidates("sqs:sendmessage", f"arn:AWS:SQS:US-EAST-1:{ACCOUNT}:q-17")
    assert [s.ref.index for s in offered] == [17]
    assert policy.candidates("sqs:sendmessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:Q-17") == []


def test_a_deny_in_the_residue_is_offered_next_to_an_indexed_allow():
    """Statements the index cannot place (``*``, NotResource, variables) are offered for every resource."""
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}
        for i in range(50)
    ]
    statements += [
        {"Sid": "DenyAll", "Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        {
            "Sid": "DenyOutside",
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "NotResource": "arn:aws:s3:::bucket-7/*",
        },
        {"Sid": "Home", "Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::bucket-${aws:username}/*"},
    ]
    policy = compile_document(statements)
    sids = {s.ref.sid for s in policy.candidates("s3:getobject", "arn:aws:s3:::bucket-3/key")}
    assert {"DenyAll", "DenyOutside", "Home"} <= sids
    request = make_request("s3:GetObject", "arn:aws:s3:::bucket-3/key", {"aws:username": "3"})
    result = evaluate(PolicySet(identity=(policy,)), request)
    assert result.decision == "explicitDeny"
    assert {ref.sid for ref in result.determining} == {"DenyAll", "DenyOutside", "Home"}


def test_buckets_below_the_threshold_are_scanned_and_at_it_are_indexed():
    """Small buckets skip the resource index (it would cost more than it saves)."""

    def policy(count: int):
        return compile_document(
            [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}
                for i in range(count)
            ]
        )

    assert not policy(RESOURCE_INDEX_THRESHOLD - 1).index.indexed_resources
    assert policy(RESOURCE_INDEX_THRESHOLD).index.indexed_resources


@pytest.mark.parametrize("short", [ShortArn.PAD, ShortArn.PAD_IF_WILDCARD])
def test_every_arn_a_pattern_matches_starts_with_its_literal_prefix(short):
    """The index files a pattern under its literal prefix (exact ARN when it has no wildcard); an ARN
    it matches outside that key would never be offered."""
    ctx = context({"aws:username": "alice", "aws:PrincipalTag/team": "red"})
    for text in RESOURCE_PATTERNS:
        pattern = ArnPattern.compile(text, fold_prefix=True, short=short)
        for resource in RESOURCES:
            if pattern.matches(resource, ctx) and pattern.template is None and not pattern.everything:
                key = resource_key(resource)
                assert key.startswith(pattern.literal_prefix), (text, resource)
                if pattern.literal_text is not None:
                    assert key == pattern.literal_text, (text, resource)


def test_a_statement_reached_through_two_resource_patterns_is_determining_once():
    """MatchedStatements lists each statement once, whether or not the index is used (Explain,
    which scans, lists it once; Authorize must agree)."""
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::other-{i}/x"}
        for i in range(RESOURCE_INDEX_THRESHOLD)
    ]
    statements.append(
        {
            "Sid": "Both",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::b/x", "arn:aws:s3:::b/*"],
        }
    )
    policy = compile_document(statements)
    request = make_request("s3:GetObject", "arn:aws:s3:::b/x")
    assert len(policy.candidates("s3:getobject", "arn:aws:s3:::b/x")) == 1
    assert [ref.sid for ref in evaluate(PolicySet(identity=(policy,)), request).determining] == ["Both"]


def test_determining_statements_come_in_policy_order_with_or_without_the_index():
    """Authorize and Explain answer from the same logic and see statements in the same order
    (candidates() promises a stable order and sorts by policy and index when merging): Explain lists
    every Allow that applies, Authorize the first one, which is therefore Explain's first."""
    statements = [
        {"Sid": "Everything", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}
    ]
    statements += [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::other-{i}/x"}
        for i in range(RESOURCE_INDEX_THRESHOLD)
    ]
    statements.append(
        {"Sid": "Exact", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x"}
    )
    policy = compile_document(statements)
    request = make_request("s3:GetObject", "arn:aws:s3:::b/x")
    indexed = evaluate(PolicySet(identity=(policy,)), request)
    explained = evaluate(PolicySet(identity=(policy,)), request, explain=True)
    assert [r.sid for r in explained.determining] == ["Everything", "Exact"]
    assert [r.sid for r in indexed.determining] == ["Everything"]
