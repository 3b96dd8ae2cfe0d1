"""The condition keys a request lacked (Simulate's MissingContextValues), against a full walk.

``evaluator._missing_context`` asks each policy's index for its candidates, passes over policies
and statements without a Condition (only conditions name keys), and reports the keys in the order
a walk of every statement of every policy finds them: identity, resource, boundary, session, then
the SCP levels. The reference here is that walk, with nothing passed over.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ALICE, compile_document, make_request
from test_index import policy_sets, requests

from iamgate.engine import PolicyKind, PolicySet, evaluate


def _walked(policy_set: PolicySet, request) -> tuple[str, ...]:
    """Every statement of every policy, in order: the keys its conditions read that are absent."""
    policies = [*policy_set.identity, *([policy_set.resource] if policy_set.resource else [])]
    policies += [*(policy_set.boundary or ()), *(policy_set.session or ())]
    policies += [p for level in policy_set.scp_levels for p in level]
    action, missing = request.action.lower(), {}
    for policy in policies:
        for statement in policy.statements:
            if not statement.matches_action(action) or not statement.matches_resource(
                request.resource, request.context
            ):
                continue
            for condition in statement.conditions:
                for key in condition.reads:
                    if key not in request.context and key not in missing:
                        missing[key] = condition.clause.key if key == condition.key else key
    return tuple(missing.values())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(policy_sets(), st.lists(requests(), min_size=20, max_size=20))
def test_missing_keys_are_those_of_a_walk_of_every_statement_in_order(policy_set, batch):
    for request in batch:
        assert evaluate(policy_set, request, every_match=True).missing_context == _walked(policy_set, request)


def test_a_policy_knows_whether_any_statement_has_a_condition():
    plain = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    guarded = {**plain, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert compile_document([plain]).conditional is False
    assert compile_document([plain, guarded]).conditional is True


def test_a_set_lists_only_its_policies_with_conditions_in_reporting_order():
    plain = compile_document([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    guarded = compile_document(
        [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:ViaAWSService": "true"}},
            }
        ],
        kind=PolicyKind.SCP,
    )
    boundary = compile_document(
        [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ],
        kind=PolicyKind.BOUNDARY,
    )
    assert PolicySet(identity=(plain,), scp_levels=((plain,),)).conditional_policies == ()
    policy_set = PolicySet(identity=(plain,), boundary=(boundary,), scp_levels=((guarded, plain),))
    assert policy_set.conditional_policies == (boundary, guarded)


def test_a_conditional_statement_beside_unconditional_ones_still_reports_its_key():
    policy = compile_document(
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/Team": "red"}},
            },
        ]
    )
    request = make_request(caller=ALICE, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    assert evaluate(PolicySet(identity=(policy,)), request, every_match=True).missing_context == (
        "aws:PrincipalTag/Team",
    )
