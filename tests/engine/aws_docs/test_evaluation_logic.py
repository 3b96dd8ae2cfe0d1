"""The decision flow of "Policy evaluation logic" (reference_policies_evaluation-logic.html): explicit deny in
any policy wins, SCPs and permissions boundaries limit, identity and resource-based policies allow.
"""

from __future__ import annotations

from .builders import (
    ACCOUNT_ROOT,
    ALICE,
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    allow,
    deny,
    policy,
    request,
)

CARLOS = "arn:aws:iam::123456789012:user/carlossalazar"
CARLOS_POLICY = policy(
    allow(
        [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
        "arn:aws:s3:::*",
        sid="AllowS3ListRead",
    ),
    allow("s3:*", ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"], sid="AllowS3Self"),
    deny("s3:*", "arn:aws:s3:::*log*", sid="DenyS3Logs"),
)
CARLOS_BUCKET_POLICY = policy(
    allow(
        "s3:*",
        ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
        principal={"AWS": CARLOS},
    )
)
IAM_READ_NO_REPORTS = policy(
    allow(["iam:Get*", "iam:List*"], "*", sid="AllowGetList"),
    deny("iam:*Report", "*", sid="DenyReports"),
)
S3_ALL = policy(allow("s3:*", "*"))
EVERYTHING = policy(allow("*", "*"))


def _iam(action: str, *extra):
    return request(action, "*", identity=[IAM_READ_NO_REPORTS, *extra])


def test_no_applicable_policy_is_an_implicit_deny(decide):
    """By default, all requests are implicitly denied."""
    assert decide(request(identity=[])) == IMPLICIT_DENY


def test_deny_statement_overrides_allow_in_the_same_policy(decide):
    """The doc's Carlos example: DenyS3Logs denies carlossalazar-logs though another statement allows s3:*."""
    decision = decide(
        request(
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar-logs/file.txt",
            caller=CARLOS,
            identity=[CARLOS_POLICY],
            resource_policy=CARLOS_BUCKET_POLICY,
        )
    )
    assert decision == EXPLICIT_DENY


def test_identity_and_resource_policy_both_allowing_allow(decide):
    """The doc's Carlos example: saving to the carlossalazar bucket is allowed by both policies."""
    decision = decide(
        request(
            "s3:PutObject",
            "arn:aws:s3:::carlossalazar/file.txt",
            caller=CARLOS,
            identity=[CARLOS_POLICY],
            resource_policy=CARLOS_BUCKET_POLICY,
        )
    )
    assert decision == ALLOWED


def test_actions_no_statement_allows_are_implicitly_denied(decide):
    """The doc's AllowGetList example: iam:CreatePolicy, neither allowed nor denied, is implicitly denied."""
    assert decide(_iam("iam:CreatePolicy")) == IMPLICIT_DENY


def test_actions_allowed_and_not_denied_are_allowed(decide):
    """The doc's AllowGetList example: iam:GetUser is allowed by iam:Get*."""
    assert decide(_iam("iam:GetUser")) == ALLOWED


def test_explicit_deny_overrides_an_allow_of_the_same_action(decide):
    """The doc's DenyReports example: iam:GetOrganizationsAccessReport matches Get* and *Report; deny wins."""
    assert decide(_iam("iam:GetOrganizationsAccessReport")) == EXPLICIT_DENY


def test_explicit_deny_overrides_an_allow_added_in_another_policy(decide):
    """Adding a policy that grants iam:GenerateCredentialReport does not lift DenyReports."""
    report_policy = policy(allow("iam:GenerateCredentialReport", "*"))
    assert decide(_iam("iam:GenerateCredentialReport", report_policy)) == EXPLICIT_DENY


def test_an_allow_in_any_of_several_identity_policies_suffices(decide):
    """If multiple policies apply, AWS applies a logical OR across them."""
    ec2_only = policy(allow("ec2:*", "*"))
    assert decide(request(identity=[ec2_only, S3_ALL])) == ALLOWED


def test_explicit_deny_in_a_resource_policy_overrides_identity_allow(decide):
    """An explicit deny in either the identity-based or the resource-based policy overrides the allow."""
    bucket_policy = policy(deny("s3:GetObject", "*", principal="*"))
    assert decide(request(identity=[S3_ALL], resource_policy=bucket_policy)) == EXPLICIT_DENY


def test_permissions_boundary_limits_identity_allow(decide):
    """The doc's ShirleyRodriguez example: a boundary of s3, cloudwatch and ec2 blocks iam:CreateUser."""
    boundary = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"], "*"))
    create_user = policy(allow("iam:CreateUser", "*"))
    assert (
        decide(request("iam:CreateUser", "*", identity=[create_user], boundary=[boundary])) == IMPLICIT_DENY
    )


def test_permissions_boundary_and_identity_both_allowing_allow(decide):
    """The entity can perform the actions allowed by both its identity policies and its boundary."""
    boundary = policy(allow(["s3:*", "cloudwatch:*", "ec2:*"], "*"))
    assert decide(request(identity=[S3_ALL], boundary=[boundary])) == ALLOWED


def test_explicit_deny_in_a_permissions_boundary_denies(decide):
    """An explicit deny in either the identity policy or the boundary overrides the allow."""
    boundary = policy(allow("s3:*", "*"), deny("s3:GetObject", "*"))
    assert decide(request(identity=[S3_ALL], boundary=[boundary])) == EXPLICIT_DENY


def test_scp_must_allow_at_every_level(decide):
    """An Allow is needed at every level from the root through each OU to the account itself."""
    levels = [[EVERYTHING], [EVERYTHING], [policy(allow("ec2:*", "*"))]]
    assert decide(request(identity=[S3_ALL], scp_levels=levels)) == IMPLICIT_DENY


def test_scp_missing_at_the_root_level_blocks_the_account(decide):
    """An Allow at the account level does not help when the root level allows nothing for the action."""
    levels = [[policy(allow("ec2:*", "*"))], [EVERYTHING], [EVERYTHING]]
    assert decide(request(identity=[S3_ALL], scp_levels=levels)) == IMPLICIT_DENY


def test_scp_allowing_at_every_level_lets_identity_allow_through(decide):
    """When every SCP level allows the action, identity-based permissions apply."""
    levels = [[EVERYTHING], [policy(allow("s3:*", "*"))], [policy(allow("s3:Get*", "*"))]]
    assert decide(request(identity=[S3_ALL], scp_levels=levels)) == ALLOWED


def test_scp_does_not_grant_permissions(decide):
    """SCPs limit permissions but do not grant any: with no identity allow the request is denied."""
    assert decide(request(identity=[], scp_levels=[[EVERYTHING]])) == IMPLICIT_DENY


def test_explicit_deny_in_an_scp_denies(decide):
    """An explicit deny in an SCP overrides any allow."""
    levels = [[EVERYTHING], [policy(allow("*", "*"), deny("s3:*", "*"))]]
    assert decide(request(identity=[S3_ALL], scp_levels=levels)) == EXPLICIT_DENY


def test_scp_limits_a_same_account_resource_policy_grant(decide):
    """SCPs limit what identity-based or resource-based policies grant to entities in the account."""
    bucket_policy = policy(allow("s3:GetObject", "*", principal={"AWS": ALICE}))
    levels = [[policy(allow("ec2:*", "*"))]]
    assert decide(request(identity=[], resource_policy=bucket_policy, scp_levels=levels)) == IMPLICIT_DENY


def test_scp_limits_the_permissions_boundary_and_identity_together(decide):
    """With an SCP, a boundary and an identity policy, the request is allowed only if all three allow it."""
    levels = [[policy(allow("ec2:*", "*"))]]
    assert decide(request(identity=[S3_ALL], boundary=[S3_ALL], scp_levels=levels)) == IMPLICIT_DENY


def test_account_root_user_has_full_access_without_policies(decide):
    """By default all requests are implicitly denied, with the exception of the account root user."""
    assert decide(request(caller=ACCOUNT_ROOT, identity=[])) == ALLOWED


def test_scp_limits_the_account_root_user(decide):
    """The SCP maximum applies to principals in member accounts, including each account's root user."""
    levels = [[policy(allow("ec2:*", "*"))]]
    assert decide(request(caller=ACCOUNT_ROOT, identity=[], scp_levels=levels)) == IMPLICIT_DENY
