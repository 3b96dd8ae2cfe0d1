"""Resource-based policies within one account and across accounts, from "Policy evaluation logic"
(resource-based policies step), "Cross-account policy evaluation logic" and "Permissions boundaries".
"""

from __future__ import annotations

from .builders import (
    ACCOUNT,
    ALICE,
    ALLOWED,
    APP_ROLE,
    APP_SESSION,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    OBJECT,
    OTHER_ACCOUNT,
    account_root,
    allow,
    deny,
    policy,
    request,
)

S3_ALL = policy(allow("s3:*", "*"))
SQS_ONLY = policy(allow("sqs:*", "*"))


def _grant(principal, action: str = "s3:GetObject", resource: str = OBJECT):
    return policy(allow(action, resource, principal=principal))


def test_same_account_resource_policy_grant_to_a_user_arn_needs_no_identity_allow(decide):
    """Within one account, an allow in either the identity-based or the resource-based policy suffices."""
    assert decide(request(identity=[], resource_policy=_grant({"AWS": ALICE}))) == ALLOWED


def test_same_account_resource_policy_grant_to_a_user_arn_is_not_limited_by_a_boundary(decide):
    """Grants to an IAM user ARN are not limited by an implicit deny in a permissions boundary."""
    decision = decide(request(identity=[], boundary=[SQS_ONLY], resource_policy=_grant({"AWS": ALICE})))
    assert decision == ALLOWED


def test_explicit_deny_in_a_boundary_overrides_a_resource_policy_grant(decide):
    """An explicit deny in any of these policies overrides the resource-based allow."""
    boundary = policy(allow("*", "*"), deny("s3:GetObject", "*"))
    decision = decide(request(identity=[], boundary=[boundary], resource_policy=_grant({"AWS": ALICE})))
    assert decision == EXPLICIT_DENY


def test_same_account_resource_policy_grant_to_a_session_arn_is_not_limited_by_a_boundary(decide):
    """Permissions granted directly to a role session are not limited by an implicit deny in a boundary."""
    decision = decide(
        request(
            caller=APP_SESSION, identity=[], boundary=[SQS_ONLY], resource_policy=_grant({"AWS": APP_SESSION})
        )
    )
    assert decision == ALLOWED


def test_same_account_resource_policy_grant_to_a_session_arn_needs_no_identity_allow(decide):
    """Permissions granted directly to a session are not limited by an implicit deny in identity policy."""
    assert (
        decide(request(caller=APP_SESSION, identity=[], resource_policy=_grant({"AWS": APP_SESSION})))
        == ALLOWED
    )


def test_resource_policy_grant_to_one_session_does_not_cover_another_session(decide):
    """A role session principal names a specific session; another session of the role is not it."""
    other_session = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/batch"
    decision = decide(
        request(caller=other_session, identity=[], resource_policy=_grant({"AWS": APP_SESSION}))
    )
    assert decision == IMPLICIT_DENY


def test_resource_policy_grant_to_the_role_arn_covers_its_sessions(decide):
    """A role principal in a resource-based policy grants its sessions (limited by boundary, session)."""
    assert (
        decide(request(caller=APP_SESSION, identity=[], resource_policy=_grant({"AWS": APP_ROLE}))) == ALLOWED
    )


def test_same_account_resource_policy_naming_the_account_needs_an_identity_allow(decide):
    """Naming an account delegates to it: an administrator there must still grant access to the identity."""
    assert decide(request(identity=[], resource_policy=_grant({"AWS": ACCOUNT}))) == IMPLICIT_DENY


def test_same_account_resource_policy_naming_the_account_with_identity_allow_allows(decide):
    """An identity allow plus a resource policy naming the caller's account allow the request."""
    assert (
        decide(request(identity=[S3_ALL], resource_policy=_grant({"AWS": account_root(ACCOUNT)}))) == ALLOWED
    )


def test_cross_account_needs_an_identity_allow_in_the_callers_account(decide):
    """Cross-account: the requester's identity-based policy must allow the request as well."""
    decision = decide(
        request(resource_account=OTHER_ACCOUNT, identity=[], resource_policy=_grant({"AWS": ALICE}))
    )
    assert decision == IMPLICIT_DENY


def test_cross_account_needs_a_resource_policy_allow_in_the_owning_account(decide):
    """Cross-account: the resource-based policy in the trusting account must allow the requester."""
    assert decide(request(resource_account=OTHER_ACCOUNT, identity=[S3_ALL])) == IMPLICIT_DENY


def test_cross_account_is_allowed_when_both_accounts_allow(decide):
    """The request is allowed only if both evaluations, trusted and trusting account, return Allow."""
    decision = decide(
        request(resource_account=OTHER_ACCOUNT, identity=[S3_ALL], resource_policy=_grant({"AWS": ALICE}))
    )
    assert decision == ALLOWED


def test_cross_account_grant_to_a_user_arn_is_limited_by_the_callers_boundary(decide):
    """In the trusted account AWS checks the identity policy and what limits it, the boundary too."""
    decision = decide(
        request(
            resource_account=OTHER_ACCOUNT,
            identity=[S3_ALL],
            boundary=[SQS_ONLY],
            resource_policy=_grant({"AWS": ALICE}),
        )
    )
    assert decision == IMPLICIT_DENY


def test_cross_account_explicit_deny_in_the_resource_policy_denies(decide):
    """An explicit deny in the trusting account's resource policy overrides every allow."""
    bucket_policy = policy(
        allow("s3:*", "*", principal={"AWS": ALICE}),
        deny("s3:GetObject", "*", principal={"AWS": ALICE}),
    )
    decision = decide(
        request(resource_account=OTHER_ACCOUNT, identity=[S3_ALL], resource_policy=bucket_policy)
    )
    assert decision == EXPLICIT_DENY


def test_principal_account_id_grants_to_principals_of_that_account(decide):
    """The shortened account ID "111122223333" delegates to the account, like its root ARN."""
    decision = decide(
        request(resource_account=OTHER_ACCOUNT, identity=[S3_ALL], resource_policy=_grant({"AWS": ACCOUNT}))
    )
    assert decision == ALLOWED


def test_principal_root_arn_grants_to_every_principal_of_that_account(decide):
    """The account ARN does not limit permissions to the root user: it delegates to the whole account."""
    decision = decide(
        request(
            caller=APP_SESSION,
            resource_account=OTHER_ACCOUNT,
            identity=[S3_ALL],
            resource_policy=_grant({"AWS": account_root(ACCOUNT)}),
        )
    )
    assert decision == ALLOWED


def test_principal_of_another_account_does_not_match_the_caller(decide):
    """A resource policy naming a different account grants nothing to this caller."""
    decision = decide(
        request(
            resource_account=OTHER_ACCOUNT, identity=[S3_ALL], resource_policy=_grant({"AWS": "777788889999"})
        )
    )
    assert decision == IMPLICIT_DENY


def test_principal_star_grants_everyone_across_accounts(decide):
    """ "Principal": "*" grants access to all principals; other accounts still need their identity allow."""
    decision = decide(request(resource_account=OTHER_ACCOUNT, identity=[S3_ALL], resource_policy=_grant("*")))
    assert decision == ALLOWED


def test_principal_aws_star_is_the_same_as_star(decide):
    """ "Principal": "*" and "Principal": {"AWS": "*"} are equivalent."""
    decision = decide(
        request(resource_account=OTHER_ACCOUNT, identity=[S3_ALL], resource_policy=_grant({"AWS": "*"}))
    )
    assert decision == ALLOWED


def test_principal_star_in_the_same_account_needs_no_identity_allow(decide):
    """With a wildcard principal, IAM users and roles within the account need no other permissions."""
    assert decide(request(identity=[], resource_policy=_grant("*"))) == ALLOWED


def test_several_principals_in_a_list_are_ored(decide):
    """Several principals in one element grant permissions to each: a logical OR."""
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert decide(request(identity=[], resource_policy=_grant({"AWS": [bob, ALICE]}))) == ALLOWED


def test_user_name_in_a_principal_arn_is_case_sensitive(decide):
    """In a Principal element, the user name part of the ARN is case sensitive."""
    capitalised = f"arn:aws:iam::{ACCOUNT}:user/Alice"
    assert decide(request(identity=[], resource_policy=_grant({"AWS": capitalised}))) == IMPLICIT_DENY


def test_resource_policy_statement_must_match_the_resource(decide):
    """A resource policy grants only the resources its statements name."""
    grant = _grant({"AWS": ALICE}, resource="arn:aws:s3:::other-bucket/*")
    assert decide(request(identity=[], resource_policy=grant)) == IMPLICIT_DENY
