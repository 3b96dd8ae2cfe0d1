"""A condition's compile-time specialised test (``CompiledCondition.holds``) answers as ``evaluate``.

The evaluator's hot path calls ``holds`` where a clause has one (every clause without policy
variables) and ``evaluate`` elsewhere; explanations always call ``evaluate``. A difference would
make Authorize disagree with Explain, so every operator, with and without ``IfExists`` and set
operators, is checked on a missing key, an empty key, single values of every family (readable or
not), several values, and a multivalued key.
"""

from __future__ import annotations

import pytest
from strategies import compile_document, context

from iamgate.engine.request import ContextValue
from iamgate.policy.operators import OPERATORS
from iamgate.policy.values import read_bool

POLICY_VALUES = {
    "STRING": ["alice", "a*"],
    "NUMERIC": ["10"],
    "DATE": ["2025-06-01T00:00:00Z"],
    "BOOL": ["true"],
    "BINARY": ["YWJj"],
    "IP": ["10.0.0.0/8"],
    "ARN": ["arn:aws:s3:::bucket/*"],
    "NULL": ["true"],
}
REQUEST_VALUES = [
    None,
    "alice",
    "Alice",
    "ab",
    "5",
    "10",
    "11",
    "2025-01-01T00:00:00Z",
    "2026-01-01T00:00:00Z",
    "true",
    "false",
    "YWJj",
    "10.1.2.3",
    "192.0.2.1",
    "arn:aws:s3:::bucket/key",
    "not readable",
    "",
]
KEYS = ("aws:username", "aws:TagKeys")
"""A single-valued key, and a multivalued one (plain operators never match it given as a set)."""


def _contexts(key: str) -> list[dict]:
    contexts = [context(), context({key: None}), context({key: []})]
    contexts += [context({key: value}) for value in REQUEST_VALUES if value is not None]
    contexts += [context({key: ["alice", "11"]}), context({key: ["bob"]}), context({key: ["alice"]})]
    # Several values, readable by the operator's family or not, in either order, given as a set or not:
    # a negated operator must read every value, ForAnyValue under one only the values it can read.
    for values in (("10.1.2.3", "not readable"), ("not readable", "192.0.2.1"), ("10", "alice", "true")):
        for multi in (False, True):
            contexts.append({key.lower(): ContextValue(key, values, multi)})
    return contexts


def _clauses():
    for name, spec in OPERATORS.items():
        values = POLICY_VALUES[spec.family.name]
        names = [name] if name == "Null" else [name, f"{name}IfExists"]
        for operator in names:
            for prefix in ("", "ForAnyValue:", "ForAllValues:"):
                yield f"{prefix}{operator}", values


@pytest.mark.parametrize(("operator", "values"), list(_clauses()))
@pytest.mark.parametrize("key", KEYS)
def test_the_specialised_test_answers_as_evaluate(operator, values, key):
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {operator: {key: values}},
    }
    (condition,) = compile_document(statement).statements[0].conditions
    test = condition.holds or condition.evaluate
    for request_context in _contexts(key):
        assert test(request_context) == condition.evaluate(request_context), (operator, request_context)


def test_every_shape_without_policy_variables_is_specialised():
    def condition(operator: str, value: str = "alice"):
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        statement["Condition"] = {operator: {"aws:username": value}}
        return compile_document(statement).statements[0].conditions[0]

    assert condition("StringEquals").holds is not None
    assert condition("BoolIfExists", "true").holds is not None
    assert condition("IpAddress", "10.0.0.0/8").holds is not None
    assert condition("Null", "true").holds is not None
    assert condition("DateGreaterThan", "2025-06-01T00:00:00Z").holds is not None
    for operator in ("StringNotEquals", "ForAnyValue:StringEquals", "ForAllValues:StringNotLike"):
        assert condition(operator).holds is not None, operator
    assert condition("StringEquals", "${aws:PrincipalTag/name}").holds is None


@pytest.mark.parametrize("policy_value", ["true", "false", "TRUE", " False "])
def test_bool_reads_request_text_as_aws_does_whatever_its_case_or_spaces(policy_value):
    """``Bool`` answers "true"/"false" by lookup; any other text is read (case, spaces) as before."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    statement["Condition"] = {"Bool": {"aws:SecureTransport": policy_value}}
    condition = compile_document(statement).statements[0].conditions[0]
    for request_value in ("true", "false", "True", "FALSE", " true ", "yes", "", "1"):
        given = context({"aws:SecureTransport": request_value})
        expected = read_bool(request_value) is not None and read_bool(request_value) == read_bool(
            policy_value
        )
        assert condition.holds(given) is expected, request_value
        assert condition.evaluate(given) is expected, request_value
