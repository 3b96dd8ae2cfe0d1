"""ARN condition operators, from "IAM JSON policy elements: Condition operators" (ARN section): each of the
six colon-delimited components is matched separately, case-sensitively, with * and ?.
"""

from __future__ import annotations

from .builders import ACCOUNT, ALLOWED, IMPLICIT_DENY, allow_when, entry

ALERTS = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
DOC_PATTERN = "arn:aws:someservice:*:111122223333:finance/*"
DOC_VALUE = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"


def _source(arn: str):
    return entry("aws:SourceArn", arn)


def test_string_like_wildcard_spans_colons(decide):
    """The doc's example: with StringLike the first * matches "us-east-2:999999999999:store/abc:"."""
    assert decide(allow_when({"StringLike": {"aws:SourceArn": DOC_PATTERN}}, _source(DOC_VALUE))) == ALLOWED


def test_arn_like_wildcard_does_not_span_colons(decide):
    """The doc's example: ArnLike matches component by component, so the same pattern fails."""
    assert (
        decide(allow_when({"ArnLike": {"aws:SourceArn": DOC_PATTERN}}, _source(DOC_VALUE))) == IMPLICIT_DENY
    )


def test_arn_like_wildcard_matches_within_a_component(decide):
    """Each ARN component can include * and ?: a * region matches us-east-1."""
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:alert?"}}
    assert decide(allow_when(condition, _source(ALERTS))) == ALLOWED


def test_arn_equals_accepts_wildcards_like_arn_like(decide):
    """ArnEquals and ArnLike behave identically, wildcards included."""
    condition = {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:alerts"}}
    assert decide(allow_when(condition, _source(ALERTS))) == ALLOWED


def test_arn_equals_matches_the_doc_topic_example(decide):
    """The doc's queue policy example: ArnEquals aws:SourceArn names the SNS topic exactly."""
    assert decide(allow_when({"ArnEquals": {"aws:SourceArn": ALERTS}}, _source(ALERTS))) == ALLOWED


def test_arn_like_is_case_sensitive(decide):
    """ARN operators are case-sensitive matching: "Alerts" is not "alerts"."""
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:Alerts"}}
    assert decide(allow_when(condition, _source(ALERTS))) == IMPLICIT_DENY


def test_arn_like_resource_component_wildcard_spans_slashes(decide):
    """The resource component is the rest of the ARN: its * matches across "/"."""
    condition = {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::logs-bucket/*"}}
    assert decide(allow_when(condition, _source("arn:aws:s3:::logs-bucket/2024/06/01.log"))) == ALLOWED


def test_arn_not_equals_is_false_for_the_same_arn(decide):
    """ArnNotEquals is negated ARN matching."""
    assert decide(allow_when({"ArnNotEquals": {"aws:SourceArn": ALERTS}}, _source(ALERTS))) == IMPLICIT_DENY


def test_arn_not_equals_is_true_for_another_arn(decide):
    """ArnNotEquals holds for an ARN that differs."""
    other = f"arn:aws:sns:us-east-1:{ACCOUNT}:billing"
    assert decide(allow_when({"ArnNotEquals": {"aws:SourceArn": ALERTS}}, _source(other))) == ALLOWED


def test_arn_not_like_is_false_when_the_pattern_matches(decide):
    """ArnNotLike and ArnNotEquals behave identically: a matching wildcard pattern makes it false."""
    condition = {"ArnNotLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}}
    assert decide(allow_when(condition, _source(ALERTS))) == IMPLICIT_DENY


def test_arn_like_rejects_a_value_that_is_not_an_arn(decide):
    """ArnLike compares ARN components; a value without six components does not match a pattern."""
    condition = {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}
    assert decide(allow_when(condition, _source("alerts"))) == IMPLICIT_DENY
