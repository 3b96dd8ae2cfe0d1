"""The parser's shortcut for plain statements reads every document exactly as the full checks do.

``parse_policy`` takes a statement made only of Sid, Effect, Action/NotAction,
Resource/NotResource and perhaps a Condition, all well-formed, without its per-element checks (large
policies are made of thousands of those; the Condition is read as the full checks read it). These
tests parse generated documents — valid and invalid elements mixed — with and without the shortcut
and require the same statements, paths, warnings and errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy import parser as parser_module
from iamgate.policy.parser import _ParsedTexts, _WellFormedActions

_ABSENT = object()
_STRINGS = [
    "s3:GetObject",
    "s3:Get*",
    "ec2:Describe?nstances",
    "*",
    "s3:GetObject ",
    "s3 GetObject",
    "",
    "iam",
]
_RESOURCES = [
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::b?cket",
    "arn:aws:iam::111122223333:user/${aws:username}",
]
_ODD = [None, 7, True, [], {}, ["s3:GetObject", 3], 1.5]


def _values(texts: list[str]) -> st.SearchStrategy[Any]:
    text = st.sampled_from(texts)
    return st.one_of(text, st.lists(text, min_size=1, max_size=4), st.sampled_from(_ODD))


_ELEMENTS = {
    "Sid": st.one_of(st.sampled_from(["S1", "S2", "", "a b"]), st.sampled_from(_ODD)),
    "Effect": st.sampled_from(["Allow", "Deny", "allow", "", None, 1, ["Allow"]]),
    "Action": _values(_STRINGS),
    "NotAction": _values(_STRINGS),
    "Resource": _values(_RESOURCES),
    "NotResource": _values(_RESOURCES),
    "Principal": st.sampled_from(["*", {"AWS": "*"}]),
    "Condition": st.sampled_from(
        [
            {"Bool": {"aws:SecureTransport": "true"}},
            {"StringLike": {"s3:prefix": ["home/*", "a?b"]}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}},
            {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            {"NumericLessThan": {"s3:max-keys": "ten"}},
            {"Bogus": {"k": "v"}},
            {"NullIfExists": {"k": "true"}},
            {"StringEquals": "not an object"},
            {"StringLike": {"s3:prefix": "*" + "a?" * 300}},
            {"forallvalues:StringEquals": {"aws:TagKeys": [1, None]}},
            "not an object",
        ]
    ),
    "Bogus": st.just(1),
}
_WEIGHTS = {
    "Sid": 0.7,
    "Effect": 0.95,
    "Action": 0.8,
    "NotAction": 0.25,
    "Resource": 0.8,
    "NotResource": 0.2,
    "Condition": 0.4,
}


@st.composite
def _statement(draw: st.DrawFn) -> dict[str, Any]:
    body = {}
    for name, values in _ELEMENTS.items():
        if draw(st.floats(0, 1)) < _WEIGHTS.get(name, 0.05):
            body[name] = draw(values)
    return body


def _outcome(document: dict[str, Any]) -> Any:
    try:
        parsed = parse_policy(document)
    except PolicyParseError as error:
        return "refused", [(p.path, p.message, p.code) for p in error.problems]
    return (
        [(s, s.path) for s in parsed.statements],
        [(w.path, w.message, w.code) for w in parsed.warnings],
    )


@settings(max_examples=400, deadline=None)
@given(
    statements=st.lists(_statement(), min_size=1, max_size=4), version=st.sampled_from(["2012-10-17", None])
)
def test_plain_statement_shortcut_reads_documents_as_the_full_checks_do(
    statements: list[dict[str, Any]], version: str | None
) -> None:
    document: dict[str, Any] = {"Statement": statements}
    if version:
        document["Version"] = version
    shortcut = _outcome(document)
    with pytest.MonkeyPatch.context() as patch:
        # remembering every list (and forgetting often) reads the same, seen once or again
        patch.setattr(parser_module, "_WELL_FORMED_ACTIONS", _WellFormedActions(min_length=1, max_chars=300))
        assert _outcome(document) == shortcut
        assert _outcome(document) == shortcut
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser_module, "_plain_statement", lambda *args: None)
        full = _outcome(document)
    assert shortcut == full


def test_a_plain_statement_takes_the_shortcut() -> None:
    taken = []
    original = parser_module._plain_statement
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser_module, "_plain_statement", lambda *args: taken.append(1) or original(*args))
        parse_policy({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": ["s3:Get*"], "Resource": "*"}]})
    assert taken == [1]


def test_a_statement_with_a_condition_takes_the_shortcut() -> None:
    taken = []
    original = parser_module._plain_statement
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser_module, "_plain_statement", lambda *args: taken.append(1) or original(*args))
        parsed = parse_policy({"Statement": [statement]})
    assert taken == [1]
    assert parsed.statements[0].conditions[0].path == "Statement[0].Condition.Bool.aws:SecureTransport"


def test_a_long_action_list_seen_again_is_the_remembered_tuple() -> None:
    actions = [f"ec2:Describe{n}" for n in range(40)]
    first = parse_policy({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    again = parse_policy({"Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})
    assert again.statements[0].actions is first.statements[0].actions


def test_a_remembered_list_does_not_vouch_for_a_list_with_a_non_string_entry() -> None:
    remembered = _WellFormedActions(min_length=2)
    assert remembered.of(["s3:GetObject", "s3:PutObject"]) == ("s3:GetObject", "s3:PutObject")
    assert remembered.of(["s3:GetObject", 1]) is None
    assert remembered.of(["s3:GetObject", ["s3:PutObject"]]) is None
    assert remembered.of(["s3:GetObject", "s3 PutObject"]) is None


def test_remembered_action_lists_are_bounded() -> None:
    remembered = _WellFormedActions(min_length=2, max_chars=400)
    for n in range(20):
        remembered.of([f"s3:Get{n}", f"s3:Put{n}", f"s3:List{n}"])
    assert remembered._size <= 400
    assert remembered.of(["s3:" + "x" * 500] * 2) is not None  # longer than the bound: checked, not kept
    assert remembered._size <= 400


def _text(sid: str) -> str:
    statements = [
        {"Sid": f"{sid}{n}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"} for n in range(20)
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_a_policy_text_read_again_is_the_same_document() -> None:
    text = _text("Again")
    assert parse_policy(text, remember=True) is parse_policy(text.encode().decode(), remember=True)
    assert parse_policy(text) is not parse_policy(text)  # only when asked to


def test_a_refused_text_is_refused_again() -> None:
    text = _text("Refused").replace('"Effect": "Allow"', '"Effect": "Allow", "Effect": "Deny"', 1)
    for _ in range(2):
        with pytest.raises(PolicyParseError, match=r"Statement\[0\]\.Effect: duplicate key"):
            parse_policy(text, remember=True)


def test_the_depth_limit_is_part_of_what_is_remembered() -> None:
    text = _text("Depth")
    parse_policy(text, remember=True)
    with pytest.raises(PolicyParseError, match="nested too deeply"):
        parse_policy(text, max_depth=2, remember=True)


def test_remembered_texts_are_bounded_by_their_characters() -> None:
    remembered = _ParsedTexts(min_length=1, max_chars=3000)
    document = parse_policy(_text("Bound"))
    for n in range(20):
        remembered.put(_text(f"B{n}"), 64, document)
    assert remembered._size <= 3000
    remembered.put("x" * 4000, 64, document)
    assert remembered.get("x" * 4000, 64) is None
