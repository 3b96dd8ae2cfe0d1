"""The Null check and the ...IfExists suffix, from "IAM JSON policy elements: Condition operators"
(sections "...IfExists condition operators" and "Condition operator to check existence of condition keys").
"""

from __future__ import annotations

from .builders import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, allow_when, deny_when, entry

TOKEN_TIME = entry("aws:TokenIssueTime", "2025-06-01T12:00:00Z", "date")
INSTANCE_TYPES = ["t1.*", "t2.*", "m3.*"]


def _instance_type(value: str):
    return entry("ec2:InstanceType", value)


def test_null_true_matches_when_the_key_is_absent(decide):
    """Null "true" means the key doesn't exist: a request with long-term credentials has no TokenIssueTime."""
    assert decide(allow_when({"Null": {"aws:TokenIssueTime": "true"}})) == ALLOWED


def test_null_true_does_not_match_when_the_key_is_present(decide):
    """Null "true" is false once the key exists in the request."""
    assert decide(allow_when({"Null": {"aws:TokenIssueTime": "true"}}, TOKEN_TIME)) == IMPLICIT_DENY


def test_null_false_matches_when_the_key_is_present(decide):
    """Null "false" means the key exists and its value is not null."""
    assert decide(allow_when({"Null": {"aws:TokenIssueTime": "false"}}, TOKEN_TIME)) == ALLOWED


def test_null_false_does_not_match_when_the_key_is_absent(decide):
    """Null "false" is false when the key is missing."""
    assert decide(allow_when({"Null": {"aws:TokenIssueTime": "false"}})) == IMPLICIT_DENY


def test_null_accepts_a_json_boolean(decide):
    """A JSON boolean means its string form, so Null true is Null "true"."""
    assert decide(allow_when({"Null": {"aws:TokenIssueTime": True}})) == ALLOWED


def test_if_exists_is_true_when_the_key_is_missing(decide):
    """...IfExists: if the key is not present, the condition is true (the doc's RunInstances example)."""
    assert decide(allow_when({"StringLikeIfExists": {"ec2:InstanceType": INSTANCE_TYPES}})) == ALLOWED


def test_if_exists_evaluates_a_present_key_normally_when_it_matches(decide):
    """If the key is present, process it as specified: t2.micro matches t2.*."""
    condition = {"StringLikeIfExists": {"ec2:InstanceType": INSTANCE_TYPES}}
    assert decide(allow_when(condition, _instance_type("t2.micro"))) == ALLOWED


def test_if_exists_evaluates_a_present_key_normally_when_it_does_not_match(decide):
    """If the key is present and does not match, the IfExists condition is false."""
    condition = {"StringLikeIfExists": {"ec2:InstanceType": INSTANCE_TYPES}}
    assert decide(allow_when(condition, _instance_type("m5.large"))) == IMPLICIT_DENY


def test_negated_if_exists_in_a_deny_still_denies_when_the_key_is_missing(decide):
    """Deny with a negated operator like StringNotEqualsIfExists still denies when the key is missing."""
    condition = {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "platform"}}
    assert decide(deny_when(condition)) == EXPLICIT_DENY


def test_numeric_if_exists_is_true_when_the_key_is_missing(decide):
    """IfExists can be added to any condition operator except Null, Numeric included."""
    assert decide(allow_when({"NumericLessThanEqualsIfExists": {"s3:max-keys": "10"}})) == ALLOWED


def test_numeric_if_exists_evaluates_a_present_key_normally(decide):
    """NumericLessThanEqualsIfExists with s3:max-keys 1000 present is a plain comparison: 1000 > 10."""
    condition = {"NumericLessThanEqualsIfExists": {"s3:max-keys": "10"}}
    assert decide(allow_when(condition, entry("s3:max-keys", "1000", "numeric"))) == IMPLICIT_DENY


def test_ip_address_if_exists_evaluates_a_present_key_normally(decide):
    """IpAddressIfExists with aws:SourceIp present compares addresses as IpAddress does."""
    condition = {"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}
    assert decide(allow_when(condition, entry("aws:SourceIp", "198.51.100.7", "ip"))) == IMPLICIT_DENY


def test_date_if_exists_is_true_when_the_key_is_missing(decide):
    """DateGreaterThanIfExists on an absent aws:TokenIssueTime is true."""
    assert (
        decide(allow_when({"DateGreaterThanIfExists": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}))
        == ALLOWED
    )


def test_bool_if_exists_deny_does_not_apply_when_the_present_key_differs(decide):
    """BoolIfExists evaluates a present key normally: "true" is not "false", so the Deny is off."""
    condition = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert decide(deny_when(condition, entry("aws:MultiFactorAuthPresent", "true", "boolean"))) == ALLOWED


def test_bool_if_exists_deny_applies_when_the_key_is_missing(decide):
    """BoolIfExists is true on a missing key, so an MFA-style Deny applies to requests without MFA info."""
    assert decide(deny_when({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})) == EXPLICIT_DENY
