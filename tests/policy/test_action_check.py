"""Long Action lists are checked in one pass over their joined text, with the regular expression's answer.

``parser.well_formed_actions`` decides whether every entry is ``SERVICE:NAME`` without a regular
expression match per entry when the list is long (ReadOnlyAccess lists ~1,500 actions in one
element). It must say exactly what matching each entry with ``_ACTION`` says, whatever the entries
hold: colons, newlines (the joining character), ``_`` and ``.`` (allowed only in the name),
non-ASCII text, empty entries.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy.parser import _ACTION, well_formed_actions

_PIECES = ["s3", "GetObject", "Get*", "?", ":", "\n", "_", ".", "-", "é", " ", "", "*", "ec2", "x:y:z"]


def _by_regex(values: list[str]) -> bool:
    return all(_ACTION.fullmatch(value) for value in values)


_ENTRY = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=5).map("".join),
    st.text(alphabet="ab:_.*?-\n é", max_size=8),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ENTRY, min_size=1, max_size=40))
def test_the_bulk_check_answers_as_the_regular_expression_does(values: list[str]) -> None:
    assert well_formed_actions(values) is _by_regex(values)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["s3:GetObject", "ec2:Describe*", "kms:Get?ey", "s3:"]), min_size=8, max_size=40
    ),
    st.integers(min_value=0, max_value=39),
    st.sampled_from([*_PIECES, "s3:a_b", "s_3:a", "a.b:c", ":x"]),
)
def test_one_bad_entry_among_many_good_ones_is_found(values: list[str], where: int, entry: str) -> None:
    values = list(values)
    values[where % len(values)] = entry
    assert well_formed_actions(values) is _by_regex(values)


@pytest.mark.parametrize(
    "entry", ["s3:Get/Object", "s3GetObject", ":GetObject", "s_3:GetObject", "s3:Get:Object", "s3:GetÖbject"]
)
def test_a_long_action_list_with_one_malformed_entry_is_refused_with_its_path(entry: str) -> None:
    actions = [f"s3:Get{n}" for n in range(20)]
    actions[13] = entry
    document = {"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    with pytest.raises(PolicyParseError) as raised:
        parse_policy(document)
    assert [p.path for p in raised.value.problems] == ["Statement[0].Action[13]"]


def test_names_with_underscores_and_dots_are_accepted_in_a_long_list() -> None:
    actions = [f"s3:Get_{n}.x" for n in range(20)]
    document = parse_policy({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    assert document.statements[0].actions == tuple(actions)


def test_a_newline_inside_an_entry_of_a_long_list_is_still_warned_about() -> None:
    actions = [f"s3:Get{n}" for n in range(20)]
    actions[4] = "s3:Get\nObject"  # whitespace: a warning, as for a short list
    document = parse_policy({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    assert [(w.path, w.code) for w in document.warnings] == [("Statement[0].Action[4]", "action-whitespace")]
