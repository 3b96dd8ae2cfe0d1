"""Principal resolution and the policies a request is evaluated against."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision, PolicyKind

from .helpers import NOON, write_files

MAIN = "111122223333"
OTHER = "444455556666"
MGMT = "999988887777"
V = "2012-10-17"


def _doc(*statements):
    return {"Version": V, "Statement": list(statements)}


def _allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


FILES = {
    "organization.json": {
        "ManagementAccountId": MGMT,
        "Accounts": [{"Id": MAIN}, {"Id": OTHER}, {"Id": MGMT}],
        "ServiceControlPolicies": [
            {
                "Name": "FullAWSAccess",
                "Document": _doc(_allow("*")),
                "Targets": ["r-root", MAIN, OTHER, MGMT],
            },
            {
                "Name": "NoRegionsOutsideEU",
                "Document": _doc({"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"}),
                "Targets": ["r-root"],
            },
        ],
    },
    f"accounts/{MAIN}/users.json": {
        "Users": [
            {
                "UserName": "dana",
                "Path": "/eng/",
                "Tags": [{"Key": "team", "Value": "blue"}],
                "UserPolicyList": [
                    {
                        "PolicyName": "Work",
                        "PolicyDocument": _doc(
                            _allow(["s3:GetObject", "sqs:SendMessage", "ec2:RunInstances", "sts:AssumeRole"])
                        ),
                    }
                ],
            },
            {"UserName": "shared"},
        ]
    },
    f"accounts/{MAIN}/roles.json": {
        "Roles": [
            {
                "RoleName": "worker",
                "Path": "/apps/",
                "Tags": [{"Key": "team", "Value": "red"}],
                "AssumeRolePolicyDocument": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:TagSession",
                        "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
                    },
                ),
                "RolePolicyList": [
                    {
                        "PolicyName": "Queue",
                        "PolicyDocument": _doc(
                            _allow(["sqs:SendMessage", "sqs:DeleteMessage"]),
                            _allow(
                                "s3:GetObject",
                                "*",
                                Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}},
                            ),
                        ),
                    }
                ],
            },
            {
                "RoleName": "shared",
                "AssumeRolePolicyDocument": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{MAIN}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ),
            },
        ]
    },
    f"accounts/{MAIN}/resource-policies.json": {
        "ResourcePolicies": [
            {
                "ResourceArn": "arn:aws:s3:::main-data",
                "Policy": _doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::main-data/secret/*",
                    }
                ),
            },
            {
                "ResourceArn": f"arn:aws:sqs:us-east-1:{MAIN}:jobs",
                "Policy": _doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": f"arn:aws:iam::{MAIN}:role/apps/worker"},
                        "Action": "sqs:DeleteMessage",
                        "Resource": "*",
                    }
                ),
            },
        ]
    },
    f"accounts/{OTHER}/resource-policies.json": {
        "ResourcePolicies": [
            {
                "ResourceArn": "arn:aws:s3:::partner-drop",
                "Policy": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{MAIN}:user/eng/dana"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::partner-drop/*",
                    }
                ),
            },
        ]
    },
    f"accounts/{OTHER}/resource-tags.json": {
        "ResourceTags": [
            {"ResourceArn": "arn:aws:s3:::partner-vault", "Tags": [{"Key": "tier", "Value": "gold"}]},
        ]
    },
    f"accounts/{MGMT}/users.json": {
        "Users": [
            {
                "UserName": "root-ops",
                "UserPolicyList": [{"PolicyName": "All", "PolicyDocument": _doc(_allow("*"))}],
            },
        ]
    },
}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    return load_snapshot(write_files(tmp_path_factory.mktemp("resolution"), FILES))


def _ask(snapshot, principal, action="s3:GetObject", resource="arn:aws:s3:::main-data/report.csv", **extra):
    return snapshot.authorize(AccessQuery(principal, action, resource, **extra), now=NOON)


# -- principal forms ---------------------------------------------------------------------------


def test_a_user_name_resolves_to_the_user_arn(snapshot):
    outcome = _ask(snapshot, "dana")
    assert outcome.principal_arn == f"arn:aws:iam::{MAIN}:user/eng/dana"
    assert outcome.evaluation.decision is Decision.ALLOWED


def test_a_user_arn_resolves_to_the_same_user(snapshot):
    assert _ask(snapshot, f"arn:aws:iam::{MAIN}:user/eng/dana").evaluation.decision is Decision.ALLOWED


def test_a_user_arn_with_the_wrong_path_is_unknown_with_a_hint(snapshot):
    outcome = _ask(snapshot, f"arn:aws:iam::{MAIN}:user/dana")
    assert not outcome.principal_known
    assert f"did you mean arn:aws:iam::{MAIN}:user/eng/dana?" in outcome.message


def test_a_role_name_resolves_to_the_role(snapshot):
    outcome = _ask(snapshot, "worker", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{MAIN}:jobs")
    assert outcome.principal_arn == f"arn:aws:iam::{MAIN}:role/apps/worker"
    assert outcome.evaluation.decision is Decision.ALLOWED


def test_a_role_arn_resolves_to_the_role(snapshot):
    role = f"arn:aws:iam::{MAIN}:role/apps/worker"
    outcome = _ask(snapshot, role, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{MAIN}:jobs")
    assert outcome.principal_arn == role
    assert outcome.evaluation.decision is Decision.ALLOWED


def test_an_assumed_role_session_gets_the_role_policies(snapshot):
    session = f"arn:aws:sts::{MAIN}:assumed-role/worker/task-7"
    outcome = _ask(snapshot, session, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{MAIN}:jobs")
    assert outcome.principal_arn == session
    assert outcome.evaluation.decision is Decision.ALLOWED


def test_a_session_of_an_unknown_role_is_an_implicit_deny_saying_so(snapshot):
    outcome = _ask(snapshot, f"arn:aws:sts::{MAIN}:assumed-role/ghost/s")
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert "the role 'ghost' of account 111122223333 is unknown to bundle" in outcome.message


def test_a_service_principal_is_evaluated_against_the_trust_policy(snapshot):
    role = f"arn:aws:iam::{MAIN}:role/apps/worker"
    assert (
        _ask(snapshot, "ecs-tasks.amazonaws.com", "sts:AssumeRole", role).evaluation.decision
        is Decision.ALLOWED
    )
    assert (
        _ask(snapshot, "lambda.amazonaws.com", "sts:AssumeRole", role).evaluation.decision
        is Decision.IMPLICIT_DENY
    )


def test_an_unknown_name_is_an_implicit_deny_naming_the_bundle(snapshot):
    outcome = _ask(snapshot, "mallory")
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert outcome.principal_known is False
    assert "the principal 'mallory' is unknown to bundle" in outcome.message
    assert outcome.revision == snapshot.revision


def test_a_name_shared_by_a_user_and_a_role_is_ambiguous(snapshot):
    outcome = _ask(snapshot, "shared")
    assert not outcome.principal_known
    assert "ambiguous" in outcome.message and "use the ARN" in outcome.message


def test_an_arn_that_is_not_a_principal_is_a_request_error(snapshot):
    with pytest.raises(RequestError) as caught:
        _ask(snapshot, "arn:aws:s3:::bucket")
    assert caught.value.field == "principal"


@pytest.mark.parametrize(
    ("field", "query"),
    [
        ("principal", AccessQuery("", "s3:GetObject", "*")),
        ("action", AccessQuery("dana", "", "*")),
        ("action", AccessQuery("dana", "GetObject", "*")),
        ("resource", AccessQuery("dana", "s3:GetObject", "")),
    ],
)
def test_a_malformed_field_is_a_request_error_naming_it(snapshot, field, query):
    with pytest.raises(RequestError) as caught:
        snapshot.authorize(query)
    assert caught.value.field == field


# -- the policy set ----------------------------------------------------------------------------


def test_the_bucket_policy_applies_to_objects_in_the_bucket(snapshot):
    outcome = _ask(snapshot, "dana", resource="arn:aws:s3:::main-data/secret/keys.txt")
    assert outcome.evaluation.decision is Decision.EXPLICIT_DENY
    assert outcome.evaluation.denied_by is PolicyKind.RESOURCE


def test_a_queue_policy_naming_the_role_applies_to_its_sessions(snapshot):
    session = f"arn:aws:sts::{MAIN}:assumed-role/worker/task-7"
    outcome = _ask(snapshot, session, "sqs:DeleteMessage", f"arn:aws:sqs:us-east-1:{MAIN}:jobs")
    assert outcome.evaluation.decision is Decision.EXPLICIT_DENY


def test_the_trust_policy_is_the_resource_policy_of_assume_role(snapshot):
    outcome = _ask(snapshot, "dana", "sts:AssumeRole", f"arn:aws:iam::{MAIN}:role/shared")
    assert outcome.evaluation.decision is Decision.ALLOWED
    assert any(ref.kind is PolicyKind.RESOURCE for ref in outcome.evaluation.determining)


def test_a_bucket_of_another_account_makes_the_request_cross_account(snapshot):
    """dana's own policy allows s3:GetObject, but the bucket's owner must allow it too."""
    assert (
        _ask(snapshot, "dana", resource="arn:aws:s3:::partner-drop/x").evaluation.decision is Decision.ALLOWED
    )
    outcome = _ask(snapshot, "dana", resource="arn:aws:s3:::partner-vault/x")
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert outcome.evaluation.denied_by is PolicyKind.RESOURCE


def test_a_bucket_the_bundle_does_not_know_belongs_to_the_caller(snapshot):
    assert _ask(snapshot, "dana", resource="arn:aws:s3:::unknown/x").evaluation.decision is Decision.ALLOWED


def test_scps_apply_to_member_accounts(snapshot):
    outcome = _ask(snapshot, "dana", "ec2:RunInstances", "*")
    assert outcome.evaluation.decision is Decision.EXPLICIT_DENY
    assert outcome.evaluation.denied_by is PolicyKind.SCP


def test_scps_do_not_apply_to_the_management_account(snapshot):
    assert _ask(snapshot, "root-ops", "ec2:RunInstances", "*").evaluation.decision is Decision.ALLOWED


def test_a_session_policy_limits_a_role_session(snapshot):
    session = f"arn:aws:sts::{MAIN}:assumed-role/worker/task-7"
    policy = json.dumps(_doc(_allow("s3:GetObject")))
    outcome = _ask(
        snapshot, session, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{MAIN}:jobs", session_policy=policy
    )
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert outcome.evaluation.denied_by is PolicyKind.SESSION


def test_an_unparsable_session_policy_is_a_request_error(snapshot):
    session = f"arn:aws:sts::{MAIN}:assumed-role/worker/task-7"
    with pytest.raises(RequestError) as caught:
        _ask(snapshot, session, session_policy='{"Statement": [{"Effect": "Maybe"}]}')
    assert caught.value.field == "session_policy"


def test_a_session_policy_for_an_iam_user_is_a_request_error(snapshot):
    with pytest.raises(RequestError, match="applies only to role sessions"):
        _ask(snapshot, "dana", session_policy='{"Version": "2012-10-17", "Statement": []}')


WORKER_SESSION = f"arn:aws:sts::{MAIN}:assumed-role/worker/task-7"


def test_session_tags_override_the_role_tags(snapshot):
    assert _ask(snapshot, WORKER_SESSION).evaluation.decision is Decision.ALLOWED  # role tag team=red
    blue = _ask(snapshot, WORKER_SESSION, session_tags=(("team", "blue"),))
    assert blue.evaluation.decision is Decision.IMPLICIT_DENY
    assert (
        _ask(snapshot, WORKER_SESSION, session_tags=(("team", "red"),)).evaluation.decision
        is Decision.ALLOWED
    )


def test_a_principal_tag_in_the_context_is_refused(snapshot):
    tagged = (ContextValue("aws:PrincipalTag/team", ("blue",)),)
    with pytest.raises(RequestError, match=r"context\[0\]\.key: aws:PrincipalTag/team is set by the sidecar"):
        _ask(snapshot, WORKER_SESSION, context=tagged)


def test_session_tags_the_trust_policy_does_not_allow_are_refused(snapshot):
    with pytest.raises(RequestError, match="does not allow sts:TagSession"):
        _ask(snapshot, WORKER_SESSION, session_tags=(("project", "x"),))


def test_session_tags_of_a_role_without_tag_session_in_its_trust_are_refused(snapshot):
    session = f"arn:aws:sts::{MAIN}:assumed-role/shared/s1"
    with pytest.raises(RequestError, match="does not allow sts:TagSession"):
        _ask(snapshot, session, session_tags=(("team", "red"),))


@pytest.mark.parametrize("principal", ["dana", "worker", "ecs-tasks.amazonaws.com"])
def test_session_tags_apply_only_to_assumed_role_sessions(snapshot, principal):
    with pytest.raises(RequestError, match="session_tags: apply only to assumed-role sessions"):
        _ask(snapshot, principal, session_tags=(("team", "red"),))


@pytest.mark.parametrize(
    "tags",
    [
        (("", "x"),),
        (("aws:team", "x"),),
        (("team", "a\nb"),),
        (("team", "x"), ("TEAM", "y")),
        (("k" * 129, "v"),),
    ],
)
def test_malformed_session_tags_are_refused(snapshot, tags):
    with pytest.raises(RequestError, match=r"session_tags\[\d\]"):
        _ask(snapshot, WORKER_SESSION, session_tags=tags)


def test_session_tags_are_part_of_the_decision_cache_scope(tmp_path):
    cached = load_snapshot(write_files(tmp_path, FILES)).with_cache(100)
    red = _ask(cached, WORKER_SESSION, session_tags=(("team", "red"),))
    blue = _ask(cached, WORKER_SESSION, session_tags=(("team", "blue"),))
    assert (red.allowed, blue.allowed) == (True, False)


def test_each_managed_policy_is_compiled_once_and_shared(tmp_path):
    """Many users attaching one policy hold the same compiled object, not copies."""
    users = [
        {"UserName": f"u{i}", "AttachedManagedPolicies": [{"PolicyArn": f"arn:aws:iam::{MAIN}:policy/P"}]}
        for i in range(50)
    ]
    files = {
        f"accounts/{MAIN}/users.json": {"Users": users},
        f"accounts/{MAIN}/policies.json": {
            "Policies": [{"PolicyName": "P", "Document": _doc(_allow("s3:*"))}]
        },
    }
    snapshot = load_snapshot(write_files(tmp_path, files))
    compiled = {id(entry.identity[0]) for entry in snapshot.by_arn.values()}
    assert len(compiled) == 1
    assert snapshot.counts.policies == 1 and snapshot.counts.principals == 50


def test_a_snapshot_cannot_be_modified(snapshot):
    with pytest.raises(AttributeError):
        snapshot.revision = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot.by_arn["x"] = None  # type: ignore[index]


_texts = st.one_of(
    st.sampled_from(
        [
            "dana",
            "worker",
            "shared",
            "*",
            "arn:aws:iam::111122223333:user/eng/dana",
            "ec2.amazonaws.com",
            "arn:aws:sts::111122223333:assumed-role/worker/x",
            "arn:aws:s3:::b/k",
            "s3:GetObject",
            "",
        ]
    ),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal=_texts, action=_texts, resource=_texts, policy=st.one_of(st.none(), _texts))
def test_any_query_is_answered_or_refused_with_a_request_error(snapshot, principal, action, resource, policy):
    try:
        outcome = snapshot.authorize(
            AccessQuery(principal, action, resource, session_policy=policy), now=NOON
        )
    except RequestError as error:
        assert error.field in {"principal", "action", "resource", "session_policy"}
    else:
        assert outcome.revision == snapshot.revision and outcome.message
