"""Numeric condition operators, from "IAM JSON policy elements: Condition operators" (Numeric section):
they compare a key to an integer or decimal value.
"""

from __future__ import annotations

from .builders import ALLOWED, IMPLICIT_DENY, allow_when, deny_when, entry


def _max_keys(value: str, value_type: str = "numeric"):
    return entry("s3:max-keys", value, value_type)


def test_numeric_less_than_equals_allows_up_to_the_limit(decide):
    """The doc's example: NumericLessThanEquals s3:max-keys 10 allows listing up to 10 objects."""
    assert decide(allow_when({"NumericLessThanEquals": {"s3:max-keys": "10"}}, _max_keys("10"))) == ALLOWED


def test_numeric_comparison_is_by_value_not_by_text(decide):
    """Numeric operators compare numbers: 9 is less than 10 although "9" sorts after "10" as text."""
    assert decide(allow_when({"NumericLessThan": {"s3:max-keys": "10"}}, _max_keys("9"))) == ALLOWED


def test_numeric_equals_compares_decimals_by_value(decide):
    """Numeric values may be integers or decimals: 10.0 and 10 are the same number."""
    assert decide(allow_when({"NumericEquals": {"s3:max-keys": "10.0"}}, _max_keys("10"))) == ALLOWED


def test_numeric_less_than_handles_decimals(decide):
    """NumericLessThan with a decimal limit: 2.49 is less than 2.5."""
    condition = {"NumericLessThan": {"aws:MultiFactorAuthAge": "2.5"}}
    assert decide(allow_when(condition, entry("aws:MultiFactorAuthAge", "2.49", "numeric"))) == ALLOWED


def test_numeric_greater_than_equals_holds_at_a_decimal_boundary(decide):
    """NumericGreaterThanEquals matches a value equal to the decimal limit."""
    condition = {"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "2.5"}}
    assert decide(allow_when(condition, entry("aws:MultiFactorAuthAge", "2.50", "numeric"))) == ALLOWED


def test_numeric_less_than_orders_negative_numbers(decide):
    """Numeric comparison follows number order for negatives: -10 is less than -5."""
    condition = {"NumericLessThan": {"aws:PrincipalTag/offset": "-5"}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/offset", "-10", "numeric"))) == ALLOWED


def test_numeric_greater_than_orders_negative_numbers(decide):
    """-1 is greater than -5, so NumericGreaterThan -5 matches it."""
    condition = {"NumericGreaterThan": {"aws:PrincipalTag/offset": "-5"}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/offset", "-1", "numeric"))) == ALLOWED


def test_numeric_greater_than_is_false_below_a_negative_limit(decide):
    """-10 is not greater than -5."""
    condition = {"NumericGreaterThan": {"aws:PrincipalTag/offset": "-5"}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/offset", "-10", "numeric"))) == IMPLICIT_DENY


def test_numeric_not_equals_is_false_for_an_equal_number(decide):
    """NumericNotEquals is negated matching: 100 equals 100."""
    assert decide(allow_when({"NumericNotEquals": {"s3:max-keys": "100"}}, _max_keys("100"))) == IMPLICIT_DENY


def test_numeric_value_written_as_json_number(decide):
    """A JSON number in the policy means its string form, so {"s3:max-keys": 10} is the limit 10."""
    assert decide(allow_when({"NumericLessThanEquals": {"s3:max-keys": 10}}, _max_keys("10"))) == ALLOWED


def test_non_numeric_request_value_makes_numeric_operator_not_match(decide):
    """A Numeric operator compares numbers; a request value that is not a number does not match it."""
    condition = {"NumericLessThanEquals": {"s3:max-keys": "10"}}
    assert decide(allow_when(condition, _max_keys("ten", "string"))) == IMPLICIT_DENY


def test_non_numeric_request_value_does_not_trigger_a_numeric_deny(decide):
    """A Deny whose Numeric condition cannot match a non-numeric value does not apply."""
    condition = {"NumericLessThan": {"s3:max-keys": "1000"}}
    assert decide(deny_when(condition, _max_keys("lots", "string"))) == ALLOWED


def test_numeric_operator_is_false_when_key_missing(decide):
    """If the key is not present in the request context, the values do not match."""
    assert decide(allow_when({"NumericLessThanEquals": {"s3:max-keys": "10"}})) == IMPLICIT_DENY


def test_numeric_not_equals_is_true_when_key_missing(decide):
    """A negated operator is true when its key is not in the request context, Numeric ones included."""
    assert decide(allow_when({"NumericNotEquals": {"s3:max-keys": "10"}})) == ALLOWED
