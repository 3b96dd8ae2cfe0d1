"""Per-action programs (``evaluator._Program``): what evaluating an action against a policy set
needs that no request changes, kept on the policy set. Bounded, and never changing an answer
(the explain tests compare every decision with a traced walk that uses no program)."""

from __future__ import annotations

from strategies import compile_document, make_request

from iamgate.engine import Decision, PolicyKind, PolicySet, evaluate
from iamgate.engine.evaluator import (
    LEVEL_GROUPS_KEPT,
    MERGED_INDEX_THRESHOLD,
    PROGRAMS_KEPT,
    PROGRAMS_KEPT_MOST,
    RESULTS_KEPT,
    STATEMENTS_PER_PROGRAM,
)
from iamgate.engine.index import ACTION_TEXT_KEPT

FULL_ACCESS = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def _scps(*statements: dict) -> tuple[tuple, ...]:
    return tuple(
        (compile_document([s], policy_id=f"scp-{i}", kind=PolicyKind.SCP),) for i, s in enumerate(statements)
    )


def test_a_policy_set_keeps_a_bounded_number_of_programs() -> None:
    policy_set = PolicySet(identity=(compile_document([FULL_ACCESS]),))
    for number in range(PROGRAMS_KEPT * 3):
        assert evaluate(policy_set, make_request(action=f"s3:Action{number}")).allowed
    assert 0 < len(policy_set.programs) <= PROGRAMS_KEPT


def test_a_repeated_answer_is_the_same_evaluation_and_answers_stay_bounded() -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{i}/*"} for i in range(9)
    ]
    policy_set = PolicySet(identity=(compile_document(statements),))
    first = evaluate(policy_set, make_request(resource="arn:aws:s3:::b1/key"))
    assert evaluate(policy_set, make_request(resource="arn:aws:s3:::b1/other")) is first
    for i in range(9):
        evaluation = evaluate(policy_set, make_request(resource=f"arn:aws:s3:::b{i}/key"))
        assert evaluation.allowed and evaluation.determining[0].index == i
    assert len(policy_set.programs["s3:getobject"].results) <= RESULTS_KEPT


def test_an_scp_level_that_allows_the_action_unconditionally_is_not_scanned() -> None:
    deny_leaving = {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
    conditional = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    policy_set = PolicySet(
        identity=(compile_document([FULL_ACCESS]),),
        scp_levels=(
            *_scps(FULL_ACCESS),
            ((compile_document([FULL_ACCESS, deny_leaving], policy_id="scp-deny", kind=PolicyKind.SCP)),),
            *_scps(conditional),
        ),
    )
    assert not evaluate(policy_set, make_request(action="s3:GetObject")).allowed  # the conditional level
    assert evaluate(
        policy_set, make_request(action="s3:GetObject", entries={"aws:SecureTransport": "true"})
    ).allowed
    left = evaluate(policy_set, make_request(action="organizations:LeaveOrganization", resource="*"))
    assert left.decision is Decision.EXPLICIT_DENY and left.denied_by is PolicyKind.SCP
    # Only the conditional level is scanned for s3:GetObject; the Deny's level too for LeaveOrganization.
    assert len(policy_set.programs["s3:getobject"].scp) == 1
    assert len(policy_set.programs["organizations:leaveorganization"].scp) == 2


def test_scp_levels_sharing_a_policy_keep_their_own_groups():
    """An SCP level's group is kept with its first plan, keyed by the level's other plans: two
    accounts whose root levels share ``FullAWSAccess`` but not their guardrail answer apart."""
    full = compile_document([FULL_ACCESS], policy_id="scp-full", kind=PolicyKind.SCP)
    deny_s3 = compile_document(
        [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}], policy_id="scp-no-s3", kind=PolicyKind.SCP
    )
    deny_sqs = compile_document(
        [{"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}], policy_id="scp-no-sqs", kind=PolicyKind.SCP
    )
    identity = (compile_document([FULL_ACCESS]),)
    guarded = PolicySet(identity=identity, scp_levels=((full, deny_s3),))
    other = PolicySet(identity=identity, scp_levels=((full, deny_sqs),))
    alone = PolicySet(identity=identity, scp_levels=((full,),))
    for _ in range(2):
        assert evaluate(guarded, make_request(action="s3:GetObject")).decision is Decision.EXPLICIT_DENY
        assert evaluate(other, make_request(action="s3:GetObject")).allowed
        assert evaluate(alone, make_request(action="s3:GetObject")).allowed
        assert evaluate(other, make_request(action="sqs:SendMessage", resource="*")).decision is (
            Decision.EXPLICIT_DENY
        )
        assert evaluate(guarded, make_request(action="sqs:SendMessage", resource="*")).allowed


def test_the_groups_kept_per_scp_plan_are_bounded():
    full = compile_document([FULL_ACCESS], policy_id="scp-full", kind=PolicyKind.SCP)
    identity = (compile_document([FULL_ACCESS]),)
    for number in range(LEVEL_GROUPS_KEPT * 3):
        guard = compile_document(
            [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::other-{number}/*"}],
            policy_id=f"scp-guard-{number}",
            kind=PolicyKind.SCP,
        )
        policy_set = PolicySet(identity=identity, scp_levels=((full, guard),))
        assert evaluate(policy_set, make_request(action="s3:GetObject")).allowed
        derived = full.index.plan("s3:getobject").level_groups
        assert derived and len(derived) <= LEVEL_GROUPS_KEPT


def _large_identity(statements_per_policy: int, policies: int = MERGED_INDEX_THRESHOLD) -> tuple:
    """Identity policies enough for a merged index, each allowing one action per statement."""
    return tuple(
        compile_document(
            [
                {"Effect": "Allow", "Action": f"s3:Action{p}x{i}", "Resource": f"arn:aws:s3:::b{i}/*"}
                for i in range(statements_per_policy)
            ],
            policy_id=f"identity-{p}",
        )
        for p in range(policies)
    )


def test_a_set_with_a_merged_index_keeps_programs_by_its_statements() -> None:
    identity = _large_identity(100)
    policy_set = PolicySet(identity=identity)
    assert policy_set.identity_index is not None
    expected = PROGRAMS_KEPT + 400 // STATEMENTS_PER_PROGRAM
    assert policy_set.programs_kept == expected
    actions = [f"s3:Action{p}x{i}" for p in range(MERGED_INDEX_THRESHOLD) for i in range(100)]
    for action in actions[:expected]:
        assert evaluate(policy_set, make_request(action=action, resource="arn:aws:s3:::b1/k")).allowed is (
            action.endswith("x1")
        )
    assert len(policy_set.programs) == expected  # none dropped while within the bound
    for action in actions:
        evaluate(policy_set, make_request(action=action))
    assert 0 < len(policy_set.programs) <= expected


def test_the_programs_kept_have_a_ceiling_and_other_sets_keep_the_base_bound() -> None:
    huge = PolicySet(identity=_large_identity(1, 1), merged_identity=_FakeMerged(10**6))  # type: ignore[arg-type]
    assert huge.programs_kept == PROGRAMS_KEPT_MOST
    identity = _large_identity(100)
    resource = compile_document(
        [FULL_ACCESS | {"Principal": "*"}], policy_id="bucket", kind=PolicyKind.RESOURCE
    )
    assert PolicySet(identity=identity, resource=resource).programs_kept == PROGRAMS_KEPT
    assert PolicySet(identity=identity, session=(compile_document([FULL_ACCESS]),)).programs_kept == (
        PROGRAMS_KEPT
    )
    few = PolicySet(identity=_large_identity(400, MERGED_INDEX_THRESHOLD - 1))
    assert few.identity_index is None and few.programs_kept == PROGRAMS_KEPT


class _FakeMerged:
    """Only the size of a merged index matters to the bound."""

    def __init__(self, statements: int) -> None:
        self.statements = range(statements)


def test_answers_are_the_same_however_many_programs_are_kept() -> None:
    """Cycling through more actions than the base bound, every answer equals the traced walk's."""
    identity = _large_identity(40)
    deny = compile_document(
        [{"Effect": "Deny", "Action": "s3:Action1x*", "Resource": "arn:aws:s3:::b3/*"}], policy_id="guard"
    )
    policy_set = PolicySet(identity=(*identity, deny))
    assert policy_set.programs_kept > PROGRAMS_KEPT
    for _ in range(2):
        for p in range(MERGED_INDEX_THRESHOLD):
            for i in range(0, 40, 3):
                for bucket in ("b3", f"b{i}", "other"):
                    request = make_request(action=f"s3:Action{p}x{i}", resource=f"arn:aws:s3:::{bucket}/k")
                    fast, traced = evaluate(policy_set, request), evaluate(policy_set, request, explain=True)
                    assert (fast.decision, fast.determining, fast.denied_by) == (
                        traced.decision,
                        traced.determining,
                        traced.denied_by,
                    )


def test_a_program_for_an_action_longer_than_any_aws_action_is_not_kept() -> None:
    policy_set = PolicySet(
        identity=(compile_document([{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]),)
    )
    long_action = "s3:Get" + "x" * ACTION_TEXT_KEPT
    assert evaluate(policy_set, make_request(action=long_action)).allowed
    assert (
        evaluate(policy_set, make_request(action="s3:Put" + "x" * ACTION_TEXT_KEPT)).decision
        is Decision.IMPLICIT_DENY
    )
    assert all(len(action) <= ACTION_TEXT_KEPT for action in policy_set.programs)
    assert evaluate(policy_set, make_request(action="s3:GetObject")).allowed
    assert "s3:getobject" in policy_set.programs


def test_an_index_plans_an_action_longer_than_any_aws_action_without_keeping_the_plan() -> None:
    statements = [{"Effect": "Allow", "Action": f"s3:Get{i}*", "Resource": "*"} for i in range(10)]
    index = compile_document(statements).index
    long_action = "s3:get1" + "x" * ACTION_TEXT_KEPT
    assert [s.ref.index for s in index.plan(long_action).statements] == [1]
    assert index.plan("s3:get1object").statements == index.plan("s3:get1object").statements
    assert index.remembered_actions == 1
