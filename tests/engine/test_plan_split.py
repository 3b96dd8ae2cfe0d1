"""``ActionPlan.split``: a plan's candidates for a resource, Denies and Allows apart, remembered per
set of resource buckets the resource hits. It must offer exactly what ``select`` offers, in the same
order, whatever was asked before (a memo keyed on too little would hand one resource another's
candidates), and stay bounded."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import ACCOUNT, REQUEST_ACTIONS, RESOURCES, compile_document, make_request, statement_lists

from iamgate.engine import PolicyKind, PolicySet, evaluate
from iamgate.engine.index import RESOURCE_INDEX_THRESHOLD, SPLIT_REFS_KEPT, SPLITS_KEPT, resource_key

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
BIG = RESOURCE_INDEX_THRESHOLD * 3


def _expected(plan, key):
    selected = list(plan.select(key))
    return [s for s in selected if s.is_deny], [s for s in selected if not s.is_deny]


@EXAMPLES
@given(
    statements=statement_lists(min_size=BIG, max_size=BIG * 2),
    order=st.permutations(range(len(RESOURCES) * 2)),
)
def test_split_offers_what_select_offers_in_any_order_of_questions(statements, order):
    policy = compile_document(statements, kind=PolicyKind.IDENTITY)
    assume(policy.index.indexed_resources)
    resources = [*RESOURCES, *RESOURCES]  # each asked twice: once building, once remembered
    for action in REQUEST_ACTIONS:
        plan = policy.index.plan(action.lower())
        if plan.exact is None:
            continue
        for position in order:
            key = resource_key(resources[position])
            denies, allows = plan.split(key)
            assert (list(denies), list(allows)) == _expected(plan, key), resources[position]


def _bucket_policy(count: int):
    statements = [
        {
            "Effect": "Deny" if i % 5 == 0 else "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::b{i}/*",
        }
        for i in range(count)
    ]
    statements.append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    return compile_document(statements, kind=PolicyKind.IDENTITY)


def test_resources_in_different_buckets_get_their_own_candidates():
    plan = _bucket_policy(RESOURCE_INDEX_THRESHOLD * 2).index.plan("s3:getobject")
    assert plan.exact is not None
    for _ in range(2):
        for bucket in (0, 1, 5):
            denies, allows = plan.split(resource_key(f"arn:aws:s3:::b{bucket}/key"))
            indexes = [s.ref.index for s in (*denies, *allows)]
            assert sorted(indexes) == [bucket, RESOURCE_INDEX_THRESHOLD * 2], bucket
            assert [s.ref.index for s in denies] == ([bucket] if bucket % 5 == 0 else [])


def test_remembered_splits_are_bounded():
    count = SPLITS_KEPT * 3
    plan = _bucket_policy(count).index.plan("s3:getobject")
    for bucket in range(count):
        plan.split(resource_key(f"arn:aws:s3:::b{bucket}/key"))
        assert len(plan._split) <= SPLITS_KEPT
        kept = sum(len(denies) + len(allows) for denies, allows in plan._split.values())
        assert kept <= SPLIT_REFS_KEPT * (plan.size + 16)


def test_remembered_splits_hold_a_bounded_share_of_a_plan_of_broad_statements():
    """Statements filed under a shared prefix make every answer hold most of the plan."""
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::shared/p{i}/*"}
        for i in range(SPLITS_KEPT * 4)
    ]
    statements += [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}] * (SPLITS_KEPT * 8)
    plan = compile_document(statements, kind=PolicyKind.IDENTITY).index.plan("s3:getobject")
    for number in range(SPLITS_KEPT * 4):
        plan.split(resource_key(f"arn:aws:s3:::shared/p{number}/key"))
        kept = sum(len(denies) + len(allows) for denies, allows in plan._split.values())
        assert kept <= SPLIT_REFS_KEPT * (plan.size + 16)


def test_evaluate_finds_a_statement_through_the_resource_index_whatever_the_prefix_case():
    """The evaluator keys the resource from its split parts: prefix parts folded, resource part kept."""
    statements = [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-{i}"}
        for i in range(RESOURCE_INDEX_THRESHOLD * 2)
    ]
    policy_set = PolicySet(identity=(compile_document(statements),))
    for resource, allowed in (
        (f"arn:AWS:SQS:US-EAST-1:{ACCOUNT}:q-3", True),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:Q-3", False),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-3:extra", False),
    ):
        request = make_request(action="sqs:SendMessage", resource=resource)
        assert evaluate(policy_set, request).allowed is allowed, resource
        assert evaluate(policy_set, request, explain=True).allowed is allowed, resource


def test_eight_kinds_of_resource_keep_their_answers_when_every_answer_repeats_the_residue():
    """Each answer holds the residue again (here 60 broad statements): eight bucket sets of a
    plan of 84 statements need ~6x its references, within SPLIT_REFS_KEPT, so asking them again
    rebuilds none (the same answer objects)."""
    statements = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"} for _ in range(60)]
    statements += [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i % 8}/p{i}/*"}
        for i in range(24)
    ]
    plan = compile_document(statements, kind=PolicyKind.IDENTITY).index.plan("s3:getobject")
    keys = [resource_key(f"arn:aws:s3:::b{i}/p{i}/key") for i in range(8)]
    first = [plan.split(key) for key in keys]
    again = [plan.split(key) for key in keys]
    assert again == first
    assert all(one is other for one, other in zip(again, first, strict=True))
