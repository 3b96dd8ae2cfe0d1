"""Date condition operators, from "IAM JSON policy elements: Condition operators" (Date section): values
are W3C ISO 8601 dates or epoch (UNIX) time, and wildcards are not permitted.
"""

from __future__ import annotations

from .builders import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, allow_when, deny_when, entry

NOON_JUNE_1_2025 = "2025-06-01T12:00:00Z"
NOON_JUNE_1_2025_EPOCH = "1748779200"


def _now(value: str, value_type: str = "date"):
    return entry("aws:CurrentTime", value, value_type)


def _epoch(value: str, value_type: str = "date"):
    return entry("aws:EpochTime", value, value_type)


def test_date_greater_than_matches_a_later_iso8601_time(decide):
    """DateGreaterThan matches after a specific date and time (the doc's aws:TokenIssueTime example)."""
    condition = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}
    assert (
        decide(allow_when(condition, entry("aws:TokenIssueTime", "2020-06-30T08:00:00Z", "date"))) == ALLOWED
    )


def test_date_greater_than_rejects_an_earlier_iso8601_time(decide):
    """DateGreaterThan does not match a time before the policy's date."""
    condition = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}
    decision = decide(allow_when(condition, entry("aws:TokenIssueTime", "2019-12-31T23:59:59Z", "date")))
    assert decision == IMPLICIT_DENY


def test_date_equals_matches_the_same_instant_in_epoch_and_iso8601(decide):
    """Dates may be given in ISO 8601 or epoch time; both name instants, compared as instants."""
    condition = {"DateEquals": {"aws:EpochTime": NOON_JUNE_1_2025}}
    assert decide(allow_when(condition, _epoch(NOON_JUNE_1_2025_EPOCH))) == ALLOWED


def test_date_equals_is_exact_to_the_second(decide):
    """DateEquals matches a specific date and time: one second later is a different time."""
    condition = {"DateEquals": {"aws:EpochTime": NOON_JUNE_1_2025}}
    assert decide(allow_when(condition, _epoch("1748779201"))) == IMPLICIT_DENY


def test_date_less_than_accepts_an_epoch_policy_value(decide):
    """A policy date may be written in epoch time and compared with an ISO 8601 request time."""
    condition = {"DateLessThan": {"aws:CurrentTime": NOON_JUNE_1_2025_EPOCH}}
    assert decide(allow_when(condition, _now("2025-06-01T11:59:59Z"))) == ALLOWED


def test_date_less_than_rejects_the_same_instant(decide):
    """DateLessThan is strictly before: the policy's own instant is not less than itself."""
    condition = {"DateLessThan": {"aws:CurrentTime": NOON_JUNE_1_2025_EPOCH}}
    assert decide(allow_when(condition, _now(NOON_JUNE_1_2025))) == IMPLICIT_DENY


def test_date_less_than_equals_includes_the_same_instant(decide):
    """DateLessThanEquals matches at or before a specific date and time."""
    condition = {"DateLessThanEquals": {"aws:CurrentTime": NOON_JUNE_1_2025}}
    assert decide(allow_when(condition, _now(NOON_JUNE_1_2025))) == ALLOWED


def test_date_greater_than_equals_with_a_json_number_epoch(decide):
    """A JSON number in the policy means its string form: an epoch time here."""
    condition = {"DateGreaterThanEquals": {"aws:EpochTime": 1748779200}}
    assert decide(allow_when(condition, _epoch("1748779200"))) == ALLOWED


def test_date_accepts_the_w3c_date_only_format(decide):
    """W3C ISO 8601 formats include a complete date (YYYY-MM-DD) as well as date and time."""
    condition = {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}
    assert decide(allow_when(condition, _now(NOON_JUNE_1_2025))) == ALLOWED


def test_date_compares_instants_across_time_zone_offsets(decide):
    """ISO 8601 times with offsets name instants: 13:30+02:00 is before 12:00Z."""
    condition = {"DateLessThan": {"aws:CurrentTime": NOON_JUNE_1_2025}}
    assert decide(allow_when(condition, _now("2025-06-01T13:30:00+02:00"))) == ALLOWED


def test_date_not_equals_is_true_for_a_different_time(decide):
    """DateNotEquals is negated matching of a date."""
    condition = {"DateNotEquals": {"aws:CurrentTime": NOON_JUNE_1_2025}}
    assert decide(allow_when(condition, _now("2025-06-02T12:00:00Z"))) == ALLOWED


def test_non_date_request_value_makes_date_operator_not_match(decide):
    """A Date operator compares dates; a request value that is not a date does not match it."""
    condition = {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    assert decide(allow_when(condition, _now("tomorrow", "string"))) == IMPLICIT_DENY


def test_date_deny_window_denies_inside_the_window(decide):
    """A Deny with a Date condition applies when the request time satisfies it."""
    condition = {"DateGreaterThan": {"aws:CurrentTime": NOON_JUNE_1_2025}}
    assert decide(deny_when(condition, _now("2025-07-01T00:00:00Z"))) == EXPLICIT_DENY
