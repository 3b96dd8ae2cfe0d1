"""NotPrincipal with Deny ("AWS JSON policy elements: NotPrincipal") and role trust policies for
sts:AssumeRole ("Policy evaluation logic": trust policies must explicitly allow their principals).
"""

from __future__ import annotations

from .builders import (
    ACCOUNT,
    ACCOUNT_ROOT,
    ALICE,
    ALLOWED,
    BOB,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    OTHER_ACCOUNT,
    OTHER_ACCOUNT_ROOT,
    allow,
    deny,
    policy,
    request,
)

BUCKET_OBJECT = "arn:aws:s3:::audit-bucket/log.txt"
S3_ALL = policy(allow("s3:*", "*"))
AUDIT_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/cross-account-read-only-role"
AUDIT_SESSION = (
    f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/cross-account-read-only-role/cross-account-audit-app"
)
OTHER_AUDIT_SESSION = f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/cross-account-read-only-role/someone-else"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/deploy"


def _bucket_policy(*not_principals: str, allowed_accounts: tuple[str, ...] = (ACCOUNT, OTHER_ACCOUNT)):
    """Allow the listed accounts, then Deny everyone except ``not_principals`` (the doc's pattern)."""
    return policy(
        allow("s3:*", "arn:aws:s3:::audit-bucket/*", principal={"AWS": list(allowed_accounts)}),
        deny(
            "s3:*",
            "arn:aws:s3:::audit-bucket/*",
            not_principal={"AWS": list(not_principals)},
            sid="DenyOthers",
        ),
    )


def test_not_principal_deny_denies_principals_it_does_not_list(decide):
    """With NotPrincipal and Deny, the actions are explicitly denied to all principals except those listed."""
    decision = decide(
        request(resource=BUCKET_OBJECT, identity=[S3_ALL], resource_policy=_bucket_policy(BOB, ACCOUNT_ROOT))
    )
    assert decision == EXPLICIT_DENY


def test_not_principal_deny_spares_a_listed_user_with_its_account(decide):
    """The doc's Bob example: listing the user and its account ARN keeps the user out of the Deny."""
    decision = decide(
        request(
            resource=BUCKET_OBJECT, identity=[S3_ALL], resource_policy=_bucket_policy(ALICE, ACCOUNT_ROOT)
        )
    )
    assert decision == ALLOWED


def test_not_principal_deny_does_not_itself_grant_access(decide):
    """NotPrincipal with Deny only omits the listed principal from the Deny; it grants nothing."""
    deny_only = policy(
        deny("s3:*", "arn:aws:s3:::audit-bucket/*", not_principal={"AWS": [ALICE, ACCOUNT_ROOT]})
    )
    assert decide(request(resource=BUCKET_OBJECT, identity=[], resource_policy=deny_only)) == IMPLICIT_DENY


def test_not_principal_deny_spares_a_listed_session_with_its_role_and_account(decide):
    """The doc's role example: listing session, role and account ARNs keeps that session out of the Deny."""
    bucket_policy = _bucket_policy(AUDIT_SESSION, AUDIT_ROLE, OTHER_ACCOUNT_ROOT)
    decision = decide(
        request(
            resource=BUCKET_OBJECT,
            caller=AUDIT_SESSION,
            resource_account=ACCOUNT,
            identity=[S3_ALL],
            resource_policy=bucket_policy,
        )
    )
    assert decision == ALLOWED


def test_not_principal_deny_denies_another_session_of_a_listed_role(decide):
    """NotPrincipal must name a specific session; a session it does not name is denied."""
    bucket_policy = _bucket_policy(AUDIT_SESSION, AUDIT_ROLE, OTHER_ACCOUNT_ROOT)
    decision = decide(
        request(
            resource=BUCKET_OBJECT,
            caller=OTHER_AUDIT_SESSION,
            resource_account=ACCOUNT,
            identity=[S3_ALL],
            resource_policy=bucket_policy,
        )
    )
    assert decision == EXPLICIT_DENY


def test_assume_role_needs_the_trust_policy_even_with_an_identity_allow(decide):
    """Role trust policies must explicitly allow the principal: an identity allow is not enough."""
    trust = policy(allow("sts:AssumeRole", None, principal={"Service": "ec2.amazonaws.com"}))
    assume = policy(allow("sts:AssumeRole", DEPLOY_ROLE))
    decision = decide(request("sts:AssumeRole", DEPLOY_ROLE, identity=[assume], resource_policy=trust))
    assert decision == IMPLICIT_DENY


def test_assume_role_is_allowed_when_trust_policy_and_identity_both_allow(decide):
    """A trust policy trusting the account plus an identity allow lets the user assume the role."""
    trust = policy(allow("sts:AssumeRole", None, principal={"AWS": ACCOUNT_ROOT}))
    assume = policy(allow("sts:AssumeRole", DEPLOY_ROLE))
    decision = decide(request("sts:AssumeRole", DEPLOY_ROLE, identity=[assume], resource_policy=trust))
    assert decision == ALLOWED


def test_assume_role_trust_policy_for_another_action_does_not_allow(decide):
    """The trust policy must allow sts:AssumeRole itself, not some other action."""
    trust = policy(allow("sts:TagSession", None, principal={"AWS": ALICE}))
    assume = policy(allow("sts:AssumeRole", DEPLOY_ROLE))
    decision = decide(request("sts:AssumeRole", DEPLOY_ROLE, identity=[assume], resource_policy=trust))
    assert decision == IMPLICIT_DENY


def test_assume_role_explicit_deny_in_the_trust_policy_denies(decide):
    """An explicit deny in the trust policy, a resource-based policy, overrides the allows."""
    trust = policy(
        allow("sts:AssumeRole", None, principal={"AWS": ACCOUNT_ROOT}),
        deny("sts:AssumeRole", None, principal={"AWS": ALICE}),
    )
    assume = policy(allow("sts:AssumeRole", DEPLOY_ROLE))
    decision = decide(request("sts:AssumeRole", DEPLOY_ROLE, identity=[assume], resource_policy=trust))
    assert decision == EXPLICIT_DENY
