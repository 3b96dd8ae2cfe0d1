"""Malformed policy documents: one test per kind of error, each checking that ``parse_policy`` raises
PolicyParseError, that the problem points at the offending JSON path, and that its message says what is
wrong (a few meaningful words, not exact wording). Rules from the IAM JSON policy element reference.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from iamgate.policy import PolicyParseError, PolicyProblem, Severity, parse_policy

VERSION = "2012-10-17"


def _document(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements), **top}


def _statement(**elements: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    body.update(elements)
    return {key: value for key, value in body.items() if value is not None}


def _errors(source: Any) -> tuple[PolicyProblem, ...]:
    with pytest.raises(PolicyParseError) as caught:
        parse_policy(source)
    errors = tuple(p for p in caught.value.problems if p.severity is Severity.ERROR)
    assert errors, "PolicyParseError raised without any error-severity problem"
    return errors


def _problem_at(errors: Sequence[PolicyProblem], paths: Sequence[str]) -> PolicyProblem:
    """The first error whose path is one of ``paths`` (a missing element may be reported at its parent)."""
    for problem in errors:
        if problem.path in paths:
            return problem
    raise AssertionError(f"no error at {list(paths)}; errors were: {[str(p) for p in errors]}")


def _says(problem: PolicyProblem, *word_groups: Sequence[str]) -> None:
    """Each group must have one of its words in the problem (path and message), case-insensitively."""
    text = str(problem).lower()
    for group in word_groups:
        assert any(word.lower() in text for word in group), f"{problem} mentions none of {list(group)}"


def _message_says(problem: PolicyProblem, *word_groups: Sequence[str]) -> None:
    """Like _says, on the message alone: for words that the path itself would otherwise supply."""
    text = problem.message.lower()
    for group in word_groups:
        assert any(word.lower() in text for word in group), (
            f"{problem.message!r} mentions none of {list(group)}"
        )


MISSING = ("missing", "required", "must")
UNKNOWN = ("unknown", "unexpected", "unsupported", "unrecognized", "not allowed", "invalid", "not a valid")


def test_text_that_is_not_json_is_rejected():
    """A policy is a JSON document: text that does not parse as JSON is not one."""
    errors = _errors('{"Version": "2012-10-17", "Statement": [')
    assert any("json" in str(problem).lower() for problem in errors), [str(p) for p in errors]


def test_missing_statement_is_rejected():
    """The Statement element is required in a policy."""
    problem = _problem_at(_errors({"Version": VERSION}), ("", "Statement"))
    _says(problem, ("Statement",), MISSING)


def test_missing_effect_is_rejected():
    """The Effect element is required in every statement."""
    document = _document(_statement(), _statement(Effect=None))
    problem = _problem_at(_errors(document), ("Statement[1]", "Statement[1].Effect"))
    _says(problem, ("Effect",), MISSING)


def test_effect_other_than_allow_or_deny_is_rejected():
    """Valid values for Effect are Allow and Deny."""
    problem = _problem_at(_errors(_document(_statement(Effect="Permit"))), ("Statement[0].Effect",))
    _message_says(problem, ("Allow", "Deny", "Permit"))


def test_action_and_not_action_together_are_rejected():
    """A statement uses Action or NotAction, never both."""
    document = _document(_statement(NotAction="s3:PutObject"))
    problem = _problem_at(
        _errors(document), ("Statement[0]", "Statement[0].Action", "Statement[0].NotAction")
    )
    _message_says(problem, ("NotAction",), ("Action",))


def test_neither_action_nor_not_action_is_rejected():
    """A statement must contain Action or NotAction."""
    problem = _problem_at(
        _errors(_document(_statement(Action=None))), ("Statement[0]", "Statement[0].Action")
    )
    _says(problem, ("Action",), (*MISSING, "neither", "either", "no "))


def test_resource_and_not_resource_together_are_rejected():
    """A statement uses Resource or NotResource, never both."""
    document = _document(_statement(NotResource="arn:aws:s3:::logs/*"))
    paths = ("Statement[0]", "Statement[0].Resource", "Statement[0].NotResource")
    _message_says(_problem_at(_errors(document), paths), ("NotResource",), ("Resource",))


def test_unknown_top_level_element_is_rejected():
    """A policy's top-level elements are Version, Id and Statement only."""
    problem = _problem_at(_errors(_document(_statement(), Comment="x")), ("Comment",))
    _message_says(problem, (*UNKNOWN, "element", "field", "key"))


def test_unknown_statement_element_is_rejected():
    """A statement's elements are Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource,
    NotResource and Condition."""
    problem = _problem_at(_errors(_document(_statement(Comment="x"))), ("Statement[0].Comment",))
    _message_says(problem, (*UNKNOWN, "element", "field", "key"))


def test_unsupported_version_is_rejected():
    """IAM supports the Version values 2012-10-17 and 2008-10-17 only."""
    document = {"Version": "2012-10-18", "Statement": [_statement()]}
    problem = _problem_at(_errors(document), ("Version",))
    _message_says(problem, ("2012-10-17", "2008-10-17", "version", "2012-10-18"))


def test_date_condition_value_that_is_not_a_date_is_rejected():
    """Date operators take W3C ISO 8601 dates or epoch time: "tomorrow" is not a date."""
    date_condition = {"DateGreaterThan": {"aws:CurrentTime": "tomorrow"}}
    document = _document(_statement(), _statement(), _statement(Condition=date_condition))
    problem = _problem_at(_errors(document), ("Statement[2].Condition.DateGreaterThan.aws:CurrentTime",))
    _message_says(problem, ("date", "time"))


def test_numeric_condition_value_that_is_not_a_number_is_rejected():
    """Numeric operators compare integers or decimals: "ten" is not a number."""
    document = _document(_statement(Condition={"NumericLessThan": {"s3:max-keys": "ten"}}))
    problem = _problem_at(_errors(document), ("Statement[0].Condition.NumericLessThan.s3:max-keys",))
    _message_says(problem, ("number", "numeric", "integer", "decimal"))


def test_ip_condition_value_that_is_not_an_address_or_cidr_is_rejected():
    """IP address operators take CIDR ranges or addresses: 10.0.0.300/8 is neither."""
    document = _document(_statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}))
    problem = _problem_at(_errors(document), ("Statement[0].Condition.IpAddress.aws:SourceIp",))
    _message_says(problem, ("ip", "cidr", "address", "network"))


def test_bool_condition_value_that_is_not_true_or_false_is_rejected():
    """Bool compares a key to "true" or "false": "yes" is neither."""
    document = _document(_statement(Condition={"Bool": {"aws:SecureTransport": "yes"}}))
    problem = _problem_at(_errors(document), ("Statement[0].Condition.Bool.aws:SecureTransport",))
    _message_says(problem, ("true", "false", "boolean", "bool"))


def test_unknown_condition_operator_is_rejected():
    """Condition operators come from a fixed set (String..., Numeric..., Date..., Bool, ..., Null)."""
    document = _document(_statement(Condition={"StringEqualz": {"aws:username": "alice"}}))
    problem = _problem_at(_errors(document), ("Statement[0].Condition.StringEqualz",))
    _message_says(problem, ("operator",), UNKNOWN)


def test_condition_block_that_is_not_an_object_is_rejected():
    """The Condition block is an object of operator -> key -> values."""
    document = _document(_statement(Condition=["StringEquals", "aws:username", "alice"]))
    problem = _problem_at(_errors(document), ("Statement[0].Condition",))
    _message_says(problem, ("object", "mapping", "dict", "map"))


def test_action_without_a_service_prefix_is_rejected():
    """Actions are written service:action, such as s3:GetObject; "GetObject" lacks the service prefix."""
    document = _document(_statement(Action="GetObject"))
    problem = _problem_at(_errors(document), ("Statement[0].Action", "Statement[0].Action[0]"))
    _message_says(problem, ("prefix", "service", "colon", ":"))


def test_all_errors_of_a_document_are_reported_at_once():
    """Every problem of a document comes at once: one error in each of two statements gives both."""
    document = _document(
        _statement(Effect="Permit"),
        _statement(),
        _statement(Condition={"NumericLessThan": {"s3:max-keys": "ten"}}),
    )
    errors = _errors(json.dumps(document))
    _problem_at(errors, ("Statement[0].Effect",))
    _problem_at(errors, ("Statement[2].Condition.NumericLessThan.s3:max-keys",))


def test_parse_error_message_lists_every_problem_with_its_path():
    """The exception's text names each problem's path, so a user sees where to look without a traceback."""
    document = _document(_statement(Effect="Permit"), _statement(Action="GetObject"))
    with pytest.raises(PolicyParseError) as caught:
        parse_policy(document)
    text = str(caught.value)
    assert "Statement[0].Effect" in text
    assert "Statement[1].Action" in text


def test_a_policy_variable_in_a_numeric_condition_is_an_error() -> None:
    """Variables work only in String and Arn conditions; elsewhere the value could never be read,
    and silently dropping it would turn a negated operator into "always true"."""
    statement = {
        "Effect": "Deny",
        "Action": "s3:ListBucket",
        "Resource": "*",
        "Condition": {"NumericGreaterThan": {"s3:max-keys": "${aws:PrincipalTag/limit}"}},
    }
    with pytest.raises(PolicyParseError) as caught:
        parse_policy({"Version": "2012-10-17", "Statement": [statement]})
    (problem,) = caught.value.problems
    assert problem.path == "Statement[0].Condition.NumericGreaterThan.s3:max-keys"
    assert "policy variables work only in String and Arn conditions" in problem.message
