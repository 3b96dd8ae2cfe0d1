"""Issue 8, item 1: a caller can never assert what the sidecar knows.

Each test replays an attack that once turned a deny into an allow on a real sidecar: the caller
put a key the sidecar owns (the principal's name, tags or ARN; the time; the tags the bundle holds
for a resource) into the context, and the sidecar believed it. Now such a request is refused with
INVALID_ARGUMENT naming the entry, the key and why, unless the operator trusts callers with it.
"""

from __future__ import annotations

import pytest

import iamgate_client as sdk

from .trust_helpers import (
    ANALYST_SESSION,
    IMAGE,
    JOHN,
    LEDGER,
    PROD_INSTANCE,
    VAULT,
    sidecar_client,
    write_abac_bundle,
)


@pytest.fixture(scope="module")
def embedded():
    with sidecar_client() as (client, _):
        yield client


@pytest.fixture(scope="module")
def abac(tmp_path_factory):
    with sidecar_client(write_abac_bundle(tmp_path_factory.mktemp("abac"))) as (client, _):
        yield client


def test_asserting_aws_username_does_not_let_sarah_create_johns_access_key(embedded):
    assert (
        embedded.authorize("sarah-developer", "iam:CreateAccessKey", JOHN).outcome
        is sdk.Outcome.IMPLICIT_DENY
    )
    with pytest.raises(sdk.InvalidRequestError) as refused:
        embedded.authorize("sarah-developer", "iam:CreateAccessKey", JOHN, {"aws:username": "john-developer"})
    assert str(refused.value).endswith(
        "context[0].key: aws:username is set by the sidecar from the principal; "
        "callers may not assert it (docs/security.md)"
    )


def test_key_names_are_compared_case_insensitively(embedded):
    with pytest.raises(
        sdk.InvalidRequestError, match=r"context\[0\]\.key: AWS:UserName is set by the sidecar"
    ):
        embedded.authorize("sarah-developer", "iam:CreateAccessKey", JOHN, {"AWS:UserName": "john-developer"})


def test_asserting_a_staging_tag_does_not_unprotect_the_production_instance(embedded):
    plain = embedded.authorize("sarah-developer", "ec2:TerminateInstances", PROD_INSTANCE)
    assert plain.outcome is sdk.Outcome.EXPLICIT_DENY
    for key in ("ec2:ResourceTag/Environment", "aws:ResourceTag/Environment", "EC2:resourcetag/environment"):
        with pytest.raises(sdk.InvalidRequestError, match="from the tags the bundle holds for this resource"):
            embedded.authorize("sarah-developer", "ec2:TerminateInstances", PROD_INSTANCE, {key: "staging"})


def test_an_old_current_time_does_not_revive_the_contractor(embedded):
    assert embedded.authorize("alex-contractor", "s3:GetObject", IMAGE).outcome is sdk.Outcome.IMPLICIT_DENY
    for key, value in (("aws:CurrentTime", "2025-06-02T10:00:00Z"), ("aws:EpochTime", 1748858400)):
        with pytest.raises(sdk.InvalidRequestError, match=f"{key} is set by the sidecar from its clock"):
            embedded.authorize("alex-contractor", "s3:GetObject", IMAGE, {key: value})


def test_asserting_a_principal_tag_does_not_pass_an_abac_condition(abac):
    assert abac.authorize("erin", "s3:GetObject", LEDGER).outcome is sdk.Outcome.IMPLICIT_DENY
    with pytest.raises(sdk.InvalidRequestError, match=r"aws:PrincipalTag/Department is set by the sidecar"):
        abac.authorize("erin", "s3:GetObject", LEDGER, {"aws:PrincipalTag/Department": "Finance"})


def test_asserting_a_principal_arn_does_not_pass_a_deny_unless_principal_arn_guard(abac):
    assert abac.authorize("erin", "s3:GetObject", VAULT).outcome is sdk.Outcome.EXPLICIT_DENY
    with pytest.raises(sdk.InvalidRequestError, match="aws:PrincipalArn is set by the sidecar"):
        abac.authorize(
            "erin", "s3:GetObject", VAULT, {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/auditor"}
        )
    assert abac.authorize("auditor", "s3:GetObject", VAULT).outcome is sdk.Outcome.ALLOWED


def test_a_session_cannot_assert_its_own_principal_tags_in_the_context(abac):
    with pytest.raises(sdk.InvalidRequestError, match="session tags go in session_tags"):
        abac.authorize(ANALYST_SESSION, "s3:GetObject", LEDGER, {"aws:PrincipalTag/Department": "Finance"})


def test_explain_refuses_owned_keys_too(embedded):
    with pytest.raises(sdk.InvalidRequestError, match=r"context\[0\]\.key: aws:username"):
        embedded.explain("sarah-developer", "iam:CreateAccessKey", JOHN, {"aws:username": "john-developer"})


def test_a_batch_refuses_the_item_naming_its_index(embedded):
    results = embedded.authorize_batch(
        [
            sdk.Check("sarah-developer", "iam:CreateAccessKey", JOHN),
            sdk.Check("sarah-developer", "iam:CreateAccessKey", JOHN, {"aws:username": "john-developer"}),
        ]
    )
    assert results[0].outcome is sdk.Outcome.IMPLICIT_DENY
    assert isinstance(results[1], sdk.InvalidRequestError)
    assert "requests[1].context[0].key: aws:username is set by the sidecar" in str(results[1])


def test_facts_the_bundle_does_not_hold_stay_the_callers(embedded):
    untagged = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
    decision = embedded.authorize(
        "sarah-developer", "ec2:TerminateInstances", untagged, {"ec2:ResourceTag/Environment": "production"}
    )
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY
    upload = embedded.authorize(
        "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-0abc",
        "s3:PutObject",
        "arn:aws:s3:::my-app-uploads/images/cat.jpg",
        {"aws:SecureTransport": False},
    )
    assert upload.outcome is sdk.Outcome.EXPLICIT_DENY


def test_an_operator_trusted_key_is_taken_from_the_caller_and_shown_in_status(tmp_path):
    with sidecar_client(write_abac_bundle(tmp_path), trusted=("aws:PrincipalTag/*",)) as (client, _):
        decision = client.authorize(
            "erin", "s3:GetObject", LEDGER, {"aws:PrincipalTag/Department": "Finance"}
        )
        assert decision.outcome is sdk.Outcome.ALLOWED
        with pytest.raises(sdk.InvalidRequestError, match="aws:PrincipalArn is set by the sidecar"):
            client.authorize("erin", "s3:GetObject", VAULT, {"aws:PrincipalArn": "x"})
        assert client.status().trusted_context_keys == ("aws:PrincipalTag/*",)


def test_status_lists_no_trusted_keys_by_default(embedded):
    assert embedded.status().trusted_context_keys == ()
