"""ForAllValues and ForAnyValue, from "Creating a condition with multiple keys or values" and
"Single-valued vs. multivalued context keys" (the DynamoDB Thread-table examples).
"""

from __future__ import annotations

from .builders import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, allow_when, deny_when, entry

READABLE = ["PostDateTime", "Message", "Tags"]
PROTECTED = ["ID", "PostDateTime"]


def _attributes(*names: str):
    return entry("dynamodb:requestedAttributes", list(names), "stringList")


def test_for_all_values_is_true_when_every_request_value_matches(decide):
    """ForAllValues: PostDateTime and Message are both in the allowed list, so the request is allowed."""
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": READABLE}}
    assert decide(allow_when(condition, _attributes("PostDateTime", "Message"))) == ALLOWED


def test_for_all_values_is_false_when_one_request_value_matches_nothing(decide):
    """ForAllValues: UserName matches no policy value, so the condition is false."""
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": READABLE}}
    assert decide(allow_when(condition, _attributes("PostDateTime", "UserName"))) == IMPLICIT_DENY


def test_for_all_values_is_true_when_the_key_is_missing(decide):
    """ForAllValues also returns true if the context key is missing from the request."""
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": READABLE}}
    assert decide(allow_when(condition)) == ALLOWED


def test_for_all_values_is_true_when_the_key_is_empty(decide):
    """If the request's values resolve to an empty data set, ForAllValues returns true."""
    condition = {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": READABLE}}
    assert decide(allow_when(condition, _attributes())) == ALLOWED


def test_for_any_value_is_false_when_the_key_is_missing(decide):
    """ForAnyValue returns false when the context key is missing."""
    condition = {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": READABLE}}
    assert decide(allow_when(condition)) == IMPLICIT_DENY


def test_for_any_value_is_false_when_the_key_is_empty(decide):
    """If the request's values resolve to an empty data set, ForAnyValue returns false."""
    condition = {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": READABLE}}
    assert decide(allow_when(condition, _attributes())) == IMPLICIT_DENY


def test_for_any_value_deny_applies_when_one_request_value_matches(decide):
    """The doc's PutItem Deny: PostDateTime is among the requested attributes, so the request is denied."""
    condition = {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": PROTECTED}}
    decision = decide(deny_when(condition, _attributes("UserName", "Message", "PostDateTime")))
    assert decision == EXPLICIT_DENY


def test_for_any_value_deny_does_not_apply_when_no_request_value_matches(decide):
    """The doc's PutItem Deny: only UserName is requested, so the Deny does not apply."""
    condition = {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": PROTECTED}}
    assert decide(deny_when(condition, _attributes("UserName"))) == ALLOWED


def test_for_all_values_string_not_like_deny_spares_requests_whose_tags_all_match(decide):
    """Deny ForAllValues:StringNotLike key1*: tag keys that all start with key1 do not match, so no deny."""
    condition = {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}
    decision = decide(deny_when(condition, entry("aws:TagKeys", ["key1:hr", "key1:personnel"], "stringList")))
    assert decision == ALLOWED


def test_for_all_values_string_not_like_deny_applies_to_other_tags(decide):
    """Deny ForAllValues:StringNotLike key1*: a tag key2:audit matches, so the request is denied."""
    condition = {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}
    decision = decide(deny_when(condition, entry("aws:TagKeys", ["key2:audit"], "stringList")))
    assert decision == EXPLICIT_DENY


def test_for_all_values_string_not_like_deny_applies_when_the_key_is_missing(decide):
    """Deny ForAllValues:StringNotLike key1*: with no aws:TagKeys in the request, the condition matches."""
    assert decide(deny_when({"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}})) == EXPLICIT_DENY


def test_for_all_values_works_with_numeric_operators(decide):
    """ForAllValues qualifies any condition operator: every requested number must be below the limit."""
    condition = {"ForAllValues:NumericLessThan": {"aws:PrincipalTag/scores": "5"}}
    scores = entry("aws:PrincipalTag/scores", ["1", "2", "7"], "numericList")
    assert decide(allow_when(condition, scores)) == IMPLICIT_DENY


def test_for_any_value_works_with_numeric_operators(decide):
    """ForAnyValue qualifies any condition operator: one requested number below the limit suffices."""
    condition = {"ForAnyValue:NumericLessThan": {"aws:PrincipalTag/scores": "5"}}
    scores = entry("aws:PrincipalTag/scores", ["9", "2", "7"], "numericList")
    assert decide(allow_when(condition, scores)) == ALLOWED


def test_for_any_value_string_equals_is_case_sensitive(decide):
    """The qualified operator keeps its own rules: StringEquals stays case-sensitive."""
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}
    assert decide(allow_when(condition, entry("aws:TagKeys", ["Environment"], "stringList"))) == IMPLICIT_DENY
