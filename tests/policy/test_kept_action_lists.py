"""Long Action lists the parser vouched for: ``HashedTuple`` and the memo of well-formed lists.

A ``HashedTuple`` must behave as the plain tuple of its entries everywhere (equality both ways,
hash, pickling, copying), and the memo that hands one back for a list seen before must never hand
it back for a different list — in particular one whose entries, joined by newlines, give the same
text (an entry holding a newline), which is not even well-formed.
"""

from __future__ import annotations

import copy
import json
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy import parser as policy_parser
from iamgate.policy.model import HashedTuple

ACTIONS = [f"s3:Get{i}" for i in range(20)]


def _document(actions: list[object]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    )


@pytest.fixture(autouse=True)
def _fresh_memos():
    for memo in (policy_parser._PARSED_TEXTS, policy_parser._WELL_FORMED_ACTIONS):
        memo._known.clear()
        memo._size = 0
    yield


def test_a_long_well_formed_list_is_a_hashed_tuple_equal_to_the_plain_one():
    [statement] = parse_policy(_document(ACTIONS)).statements
    actions = statement.actions
    assert type(actions) is HashedTuple
    assert actions == tuple(ACTIONS) and tuple(ACTIONS) == actions
    assert actions.__ne__(tuple(ACTIONS)) is False and actions != tuple(ACTIONS[:-1])
    assert hash(actions) == hash(tuple(ACTIONS)) == hash(actions)
    assert actions.joined == "\n".join(ACTIONS)
    assert {tuple(ACTIONS): 1}[actions] == 1 and {actions: 2}[tuple(ACTIONS)] == 2


def test_a_hashed_tuple_travels_as_a_plain_tuple():
    [statement] = parse_policy(_document(ACTIONS)).statements
    for moved in (
        pickle.loads(pickle.dumps(statement.actions)),
        copy.copy(statement.actions),
        copy.deepcopy(statement.actions),
    ):
        assert moved == tuple(ACTIONS)
    assert type(pickle.loads(pickle.dumps(statement.actions))) is tuple
    assert pickle.loads(pickle.dumps(statement)) == statement


def test_a_list_joining_to_a_kept_lists_text_is_not_taken_for_it():
    parse_policy(_document(ACTIONS), remember=True)
    merged = [*ACTIONS[:3], ACTIONS[3] + "\n" + ACTIONS[4], *ACTIONS[5:]]
    assert "\n".join(merged) == "\n".join(ACTIONS)
    with pytest.raises(PolicyParseError) as raised:
        parse_policy(_document(merged), remember=True)
    assert raised.value.problems[0].path == "Statement[0].Action[3]"
    assert policy_parser._WELL_FORMED_ACTIONS.of(merged) is None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from([*ACTIONS, "s3:", ":x", "s3:a\ns3:b", "s3:A?", "a_b:c", 7]),
            min_size=14,
            max_size=22,
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_lists_read_again_read_as_when_first_read(lists):
    """Each list read with the memo on (after the others) reads as with the memo empty."""

    def read(actions, remember):
        try:
            [statement] = parse_policy(_document(actions), remember=remember).statements
            return "read", statement.actions
        except PolicyParseError as error:
            return "refused", [(p.path, p.message) for p in error.problems]

    fresh = []
    for actions in lists:
        for memo in (policy_parser._PARSED_TEXTS, policy_parser._WELL_FORMED_ACTIONS):
            memo._known.clear()
            memo._size = 0
        fresh.append(read(actions, False))
    for _ in range(2):
        for actions, expected in zip(lists, fresh, strict=True):
            assert read(actions, True) == expected


def test_two_vouched_lists_compare_by_their_text_and_others_entry_by_entry():
    first = parse_policy(_document(ACTIONS)).statements[0].actions
    policy_parser._WELL_FORMED_ACTIONS._known.clear()
    second = parse_policy(_document(ACTIONS)).statements[0].actions
    other = parse_policy(_document([*ACTIONS[:-1], "s3:Other"])).statements[0].actions
    assert first is not second and first == second and first != other
    bare = HashedTuple(ACTIONS)  # no joined text: compared entry by entry
    assert bare.joined is None and bare == first and first == bare and bare != other
