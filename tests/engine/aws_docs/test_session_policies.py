"""Session policies, from the IAM User Guide's "Session policies" section
(access_policies.html#policies_session) and the session step of "Policy evaluation logic".

SimulateCustomPolicy has no session-policy field; iamgate's extension ``SessionPolicyList`` carries them.
"""

from __future__ import annotations

from .builders import (
    ALLOWED,
    APP_ROLE,
    APP_SESSION,
    EXPLICIT_DENY,
    FEDERATED_BOB,
    IMPLICIT_DENY,
    OBJECT,
    allow,
    deny,
    policy,
    request,
)

S3_ALL = policy(allow("s3:*", "*"))
ONLY_PUT = policy(allow("s3:PutObject", "*"))
ONLY_GET = policy(allow("s3:GetObject", "*"))


def test_session_is_allowed_when_identity_and_session_policy_both_allow(decide):
    """Session permissions are the intersection of the identity-based policies and the session policies."""
    assert decide(request(caller=APP_SESSION, identity=[S3_ALL], session=[ONLY_GET])) == ALLOWED


def test_session_policy_that_does_not_allow_the_action_limits_identity_allow(decide):
    """Session policies limit the permissions that the role's identity-based policies grant to the session."""
    assert decide(request(caller=APP_SESSION, identity=[S3_ALL], session=[ONLY_PUT])) == IMPLICIT_DENY


def test_session_policy_alone_grants_nothing(decide):
    """Session policies limit permissions for a created session, but do not grant permissions."""
    assert decide(request(caller=APP_SESSION, identity=[], session=[S3_ALL])) == IMPLICIT_DENY


def test_any_of_several_session_policies_can_allow(decide):
    """When several policies of one type apply, AWS applies a logical OR across them (policy structure)."""
    decision = decide(
        request("s3:PutObject", caller=APP_SESSION, identity=[S3_ALL], session=[ONLY_GET, ONLY_PUT])
    )
    assert decision == ALLOWED


def test_explicit_deny_in_session_policy_denies(decide):
    """An explicit deny in any of these policies (identity, session, resource) overrides the allow."""
    session_policy = policy(allow("s3:*", "*"), deny("s3:GetObject", OBJECT))
    assert decide(request(caller=APP_SESSION, identity=[S3_ALL], session=[session_policy])) == EXPLICIT_DENY


def test_explicit_deny_in_session_policy_overrides_resource_policy_grant_to_the_session(decide):
    """An explicit deny in any policy overrides any allows, including a grant made directly to the session."""
    bucket_policy = policy(allow("s3:GetObject", OBJECT, principal={"AWS": APP_SESSION}))
    session_policy = policy(deny("s3:GetObject", "*"))
    decision = decide(
        request(caller=APP_SESSION, identity=[], session=[session_policy], resource_policy=bucket_policy)
    )
    assert decision == EXPLICIT_DENY


def test_resource_policy_naming_the_session_arn_is_not_limited_by_the_session_policy(decide):
    """A resource-based policy naming the session ARN adds permissions the session policy does not limit."""
    bucket_policy = policy(allow("s3:GetObject", OBJECT, principal={"AWS": APP_SESSION}))
    decision = decide(
        request(caller=APP_SESSION, identity=[], session=[ONLY_PUT], resource_policy=bucket_policy)
    )
    assert decision == ALLOWED


def test_resource_policy_naming_the_role_arn_is_limited_by_the_session_policy(decide):
    """A resource policy naming the role ARN is added before the session, so the session policy limits it."""
    bucket_policy = policy(allow("s3:GetObject", OBJECT, principal={"AWS": APP_ROLE}))
    decision = decide(
        request(caller=APP_SESSION, identity=[], session=[ONLY_PUT], resource_policy=bucket_policy)
    )
    assert decision == IMPLICIT_DENY


def test_resource_policy_naming_the_role_arn_allows_when_the_session_policy_also_allows(decide):
    """Session permissions: the session policy intersected with the resource-based or identity policy."""
    bucket_policy = policy(allow("s3:GetObject", OBJECT, principal={"AWS": APP_ROLE}))
    decision = decide(
        request(caller=APP_SESSION, identity=[], session=[ONLY_GET], resource_policy=bucket_policy)
    )
    assert decision == ALLOWED


def test_role_session_without_a_session_policy_keeps_the_role_permissions(decide):
    """If there is no session policy and the principal is a role session, the request is allowed."""
    assert decide(request(caller=APP_SESSION, identity=[ONLY_GET])) == ALLOWED


def test_session_policy_does_not_lift_a_permissions_boundary(decide):
    """With a boundary, session permissions are the intersection of session policy, boundary and identity."""
    sqs_only = policy(allow("sqs:*", "*"))
    decision = decide(request(caller=APP_SESSION, identity=[S3_ALL], boundary=[sqs_only], session=[S3_ALL]))
    assert decision == IMPLICIT_DENY


def test_session_allowed_when_session_policy_boundary_and_identity_all_allow(decide):
    """The effective permissions of session policy, boundary and identity policy are what all three allow."""
    decision = decide(request(caller=APP_SESSION, identity=[S3_ALL], boundary=[S3_ALL], session=[ONLY_GET]))
    assert decision == ALLOWED


def test_federated_user_session_is_limited_to_its_session_policy(decide):
    """A federated user session has the user's identity policies intersected with the session policy."""
    decision = decide(request("s3:GetObject", caller=FEDERATED_BOB, identity=[S3_ALL], session=[ONLY_PUT]))
    assert decision == IMPLICIT_DENY


def test_federated_user_session_is_allowed_when_its_session_policy_allows(decide):
    """For a session principal whose session policy allows the action, the final decision is Allow."""
    decision = decide(request("s3:GetObject", caller=FEDERATED_BOB, identity=[S3_ALL], session=[ONLY_GET]))
    assert decision == ALLOWED


def test_federated_user_session_without_a_session_policy_is_denied(decide):
    """With no session policy, a session principal that is not a role session is implicitly denied."""
    assert decide(request(caller=FEDERATED_BOB, identity=[S3_ALL])) == IMPLICIT_DENY
