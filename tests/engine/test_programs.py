"""Per-action programs (``evaluator._Program``): what evaluating an action against a policy set
needs that no request changes, kept on the policy set. Bounded, and never changing an answer
(the explain tests compare every decision with a traced walk that uses no program)."""

from __future__ import annotations

from strategies import compile_document, make_request

from iamgate.engine import Decision, PolicyKind, PolicySet, evaluate
from iamgate.engine.evaluator import LEVEL_GROUPS_KEPT, PROGRAMS_KEPT, RESULTS_KEPT

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
        derived = full.index.plan("s3:getobject").derived
        assert derived and len(derived) <= LEVEL_GROUPS_KEPT
