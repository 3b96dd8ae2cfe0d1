"""Explanations say why a condition on a missing key came out as it did."""

from __future__ import annotations

import pytest

from iamgate.engine.simulate import simulate


def _conditions(condition: dict) -> list[dict]:
    request = {
        "CallerArn": "arn:aws:iam::111122223333:user/alice",
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::bucket/key"],
        "PolicyInputList": [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": condition}],
            }
        ],
    }
    explanation = simulate(request, explain=True)["EvaluationResults"][0]["Explanation"]
    return explanation["Policies"][0]["Statements"][0]["Conditions"]


@pytest.mark.parametrize(
    ("operator", "matched", "words"),
    [
        ("StringEquals", False, "positive operator is false"),
        ("StringNotEquals", True, "negated operator is true"),
        ("StringEqualsIfExists", True, "IfExists"),
        ("ForAllValues:StringEquals", True, "ForAllValues is true"),
        ("ForAnyValue:StringEquals", False, "ForAnyValue is false"),
    ],
)
def test_a_missing_key_is_explained_by_the_rule_that_decided_it(
    operator: str, matched: bool, words: str
) -> None:
    (condition,) = _conditions({operator: {"aws:RequestTag/team": "red"}})
    assert condition["RequestValues"] is None
    assert condition["Matched"] is matched
    assert words in condition["Note"]


def test_null_on_a_missing_key_is_explained() -> None:
    (condition,) = _conditions({"Null": {"aws:RequestTag/team": "true"}})
    assert condition["Matched"] is True
    assert condition["Note"] == "key missing: Null is true"
