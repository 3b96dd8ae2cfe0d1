"""String condition operators, from "IAM JSON policy elements: Condition operators" (String section) and
"IAM JSON policy elements: Condition" (key names case-insensitive, values per operator).
"""

from __future__ import annotations

from .builders import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, allow_when, deny_when, entry


def _username(value: str):
    return entry("aws:username", value)


def test_string_equals_is_case_sensitive(decide):
    """StringEquals is exact, case-sensitive matching: "johndoe" does not match "JohnDoe"."""
    assert (
        decide(allow_when({"StringEquals": {"aws:username": "johndoe"}}, _username("JohnDoe")))
        == IMPLICIT_DENY
    )


def test_string_equals_matches_the_exact_value(decide):
    """StringEquals matches a request value identical to the policy value."""
    assert decide(allow_when({"StringEquals": {"aws:username": "johndoe"}}, _username("johndoe"))) == ALLOWED


def test_string_equals_treats_asterisk_as_a_plain_character(decide):
    """Only StringLike interprets wildcards; StringEquals compares "home/*" character for character."""
    condition = {"StringEquals": {"s3:prefix": "home/*"}}
    assert decide(allow_when(condition, entry("s3:prefix", "home/alice"))) == IMPLICIT_DENY


def test_string_equals_ignore_case_matches_a_value_in_other_case(decide):
    """StringEqualsIgnoreCase matches "johndoe" and "JohnDoe" alike."""
    condition = {"StringEqualsIgnoreCase": {"aws:username": "johndoe"}}
    assert decide(allow_when(condition, _username("JohnDoe"))) == ALLOWED


def test_string_not_equals_ignore_case_is_false_for_a_value_in_other_case(decide):
    """StringNotEqualsIgnoreCase is negated matching ignoring case: "JOHNDOE" equals "johndoe" there."""
    condition = {"StringNotEqualsIgnoreCase": {"aws:username": "johndoe"}}
    assert decide(allow_when(condition, _username("JOHNDOE"))) == IMPLICIT_DENY


def test_string_not_equals_ignore_case_is_true_for_a_different_value(decide):
    """StringNotEqualsIgnoreCase holds when the values differ other than by case."""
    condition = {"StringNotEqualsIgnoreCase": {"aws:username": "johndoe"}}
    assert decide(allow_when(condition, _username("janedoe"))) == ALLOWED


def test_string_not_equals_is_true_when_key_missing(decide):
    """A negated operator such as StringNotEquals is true when the key is not in the request context."""
    assert decide(allow_when({"StringNotEquals": {"aws:username": "johndoe"}})) == ALLOWED


def test_string_not_like_is_true_when_key_missing(decide):
    """StringNotLike, a negated operator, is true when the key is missing from the request."""
    assert decide(allow_when({"StringNotLike": {"aws:username": "john*"}})) == ALLOWED


def test_string_equals_is_false_when_key_missing(decide):
    """If the key in a policy condition is not present in the request context, the values do not match."""
    assert decide(allow_when({"StringEquals": {"aws:username": "johndoe"}})) == IMPLICIT_DENY


def test_string_not_equals_deny_applies_when_key_missing(decide):
    """A Deny with StringNotEquals on a missing key is true, so it denies."""
    assert decide(deny_when({"StringNotEquals": {"aws:PrincipalTag/team": "platform"}})) == EXPLICIT_DENY


def test_string_like_star_matches_an_empty_sequence(decide):
    """In StringLike, * is a multi-character wildcard: it also matches zero characters."""
    condition = {"StringLike": {"s3:prefix": "home/*"}}
    assert decide(allow_when(condition, entry("s3:prefix", "home/"))) == ALLOWED


def test_string_like_star_matches_across_slashes(decide):
    """StringLike's * matches any characters anywhere in the string, slashes included."""
    condition = {"StringLike": {"s3:prefix": "home/*/photos"}}
    assert decide(allow_when(condition, entry("s3:prefix", "home/alice/2024/photos"))) == ALLOWED


def test_string_like_question_mark_matches_exactly_one_character(decide):
    """In StringLike, ? is a single-character wildcard."""
    condition = {"StringLike": {"ec2:InstanceType": "t?.micro"}}
    assert decide(allow_when(condition, entry("ec2:InstanceType", "t3.micro"))) == ALLOWED


def test_string_like_question_mark_does_not_match_two_characters(decide):
    """StringLike's ? stands for one character exactly, not two."""
    condition = {"StringLike": {"ec2:InstanceType": "t?.micro"}}
    assert decide(allow_when(condition, entry("ec2:InstanceType", "t3a.micro"))) == IMPLICIT_DENY


def test_string_like_question_mark_does_not_match_zero_characters(decide):
    """StringLike's ? requires one character to be there."""
    condition = {"StringLike": {"ec2:InstanceType": "t?.micro"}}
    assert decide(allow_when(condition, entry("ec2:InstanceType", "t.micro"))) == IMPLICIT_DENY


def test_string_like_is_case_sensitive(decide):
    """StringLike is case-sensitive matching."""
    condition = {"StringLike": {"ec2:InstanceType": "t2.*"}}
    assert decide(allow_when(condition, entry("ec2:InstanceType", "T2.micro"))) == IMPLICIT_DENY


def test_string_not_like_is_false_when_pattern_matches(decide):
    """StringNotLike is negated case-sensitive matching with wildcards."""
    condition = {"StringNotLike": {"ec2:InstanceType": "t2.*"}}
    assert decide(allow_when(condition, entry("ec2:InstanceType", "t2.large"))) == IMPLICIT_DENY


def test_string_equals_reads_a_json_number_as_its_text(decide):
    """Condition values may be written as JSON numbers; they compare as their string form."""
    condition = {"StringEquals": {"aws:PrincipalTag/level": 5}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/level", "5"))) == ALLOWED


def test_string_not_equals_ignore_case_is_true_when_key_missing(decide):
    """StringNotEqualsIgnoreCase, a negated operator, is true when the key is missing from the request."""
    assert decide(allow_when({"StringNotEqualsIgnoreCase": {"aws:username": "johndoe"}})) == ALLOWED
