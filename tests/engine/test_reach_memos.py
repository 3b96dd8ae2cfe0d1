"""The memos of a policy compiled for a simulation's reach must answer as the general path does.

``Reach.reachable`` finds the statements a reach can be offered through the document's
``ReachTable`` (kept per document); it must keep exactly the statements the statement-by-statement
scan (``Reach.reachable_by_scan``) keeps, in order, for generated documents (literal and wildcard
actions, NotAction, exact ARNs, prefixes, short ARNs, ``*``, NotResource, policy variables, with
and without variables enabled, identity and resource-policy padding) and generated reaches.
``ReachIndex`` remembers candidates per (action, resource): it must offer exactly what a plain
``StatementIndex`` over the same statements offers, asked in any order, again and again, and past
its bounds. Whole simulations through both memos are checked against ``--explain`` in
``test_simulate_reach.py``; here too with the table remembered between calls of other reaches.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import REQUEST_ACTIONS, RESOURCES, document, random_statements

from iamgate.engine import compiled as compiled_module
from iamgate.engine import reach_index
from iamgate.engine.arn import ShortArn
from iamgate.engine.compiled import Reach, ReachTable, _ElementMemo, compile_policy, reach_table
from iamgate.engine.index import StatementIndex
from iamgate.engine.reach_index import ReachIndex
from iamgate.engine.result import PolicyKind
from iamgate.engine.simulate import CompiledPolicies, simulate, simulate_many
from iamgate.policy import parse_policy

EXAMPLES = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _parsed(seed: int, count: int, *, version: str | None = "2012-10-17", with_principal: bool = False):
    rng = random.Random(seed)
    return parse_policy(
        document(random_statements(rng, count, with_principal=with_principal), version=version)
    )


def _reach(seed: int) -> Reach:
    rng = random.Random(seed)
    actions = rng.sample(REQUEST_ACTIONS, rng.randint(1, len(REQUEST_ACTIONS)))
    resources = rng.sample(RESOURCES, rng.randint(1, len(RESOURCES)))
    return Reach.of(actions, resources)


@EXAMPLES
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 80),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["2012-10-17", None]),
    st.sampled_from([ShortArn.PAD, ShortArn.PAD_IF_WILDCARD]),
)
def test_the_table_keeps_what_the_scan_keeps(seed, count, reach_seed, version, short) -> None:
    parsed = _parsed(seed, count, version=version, with_principal=short is ShortArn.PAD_IF_WILDCARD)
    reach = _reach(reach_seed)
    variables = parsed.variables_enabled
    by_table = reach.reachable(parsed, variables, short, _ElementMemo())
    by_scan = reach.reachable_by_scan(parsed.statements, variables, short, _ElementMemo())
    assert by_table == by_scan
    assert [s.index for s in by_table] == sorted(s.index for s in by_table)


def test_a_statement_without_resource_or_with_not_resource_is_always_reached() -> None:
    parsed = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::elsewhere/*"},
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"},
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::${aws:username}/*"},
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": ["arn:aws:s3:::x/*", "*"]},
                {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            ],
        }
    )
    reach = Reach.of(["s3:GetObject"], ["arn:aws:s3:::bucket/key"])
    kept = reach.reachable(parsed, True, ShortArn.PAD, _ElementMemo())
    assert [s.index for s in kept] == [0, 2, 3]
    assert kept == reach.reachable_by_scan(parsed.statements, True, ShortArn.PAD, _ElementMemo())


def test_the_table_is_kept_per_document_and_bounded(monkeypatch) -> None:
    monkeypatch.setattr(compiled_module, "_REACH_TABLES", {})
    monkeypatch.setattr(compiled_module, "_reach_table_statements", 0)
    monkeypatch.setattr(compiled_module, "REACH_TABLES_KEPT", 2)
    monkeypatch.setattr(compiled_module, "REACH_TABLE_STATEMENTS_KEPT", 50)
    documents = [_parsed(seed, 10) for seed in range(3)]
    first = reach_table(documents[0], True, ShortArn.PAD)
    assert reach_table(documents[0], True, ShortArn.PAD) is first
    assert reach_table(documents[0], True, ShortArn.PAD_IF_WILDCARD) is not first  # keyed on every input
    for parsed in documents:
        reach_table(parsed, True, ShortArn.PAD)
        assert len(compiled_module._REACH_TABLES) <= 2
        assert compiled_module._reach_table_statements <= 50
    large = _parsed(9, 60)
    table = reach_table(large, True, ShortArn.PAD)
    assert table == ReachTable.of(large.statements, True, ShortArn.PAD)
    assert all(kept is not large for kept, _ in compiled_module._REACH_TABLES.values())  # too large to keep


def test_a_document_equal_to_a_kept_one_but_another_object_gets_its_own_table(monkeypatch) -> None:
    """The table is found by the document's identity: a kept entry answers only for that object."""
    monkeypatch.setattr(compiled_module, "_REACH_TABLES", {})
    monkeypatch.setattr(compiled_module, "_reach_table_statements", 0)
    one, other = _parsed(1, 20), _parsed(2, 20)
    table = reach_table(one, True, ShortArn.PAD)
    key = (id(one), True, ShortArn.PAD)
    compiled_module._REACH_TABLES[(id(other), True, ShortArn.PAD)] = compiled_module._REACH_TABLES.pop(key)
    assert reach_table(other, True, ShortArn.PAD) == ReachTable.of(other.statements, True, ShortArn.PAD)
    assert table == ReachTable.of(one.statements, True, ShortArn.PAD)


@EXAMPLES
@pytest.mark.parametrize("kind", [PolicyKind.IDENTITY, PolicyKind.RESOURCE])
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 80),
    st.lists(st.tuples(st.sampled_from(REQUEST_ACTIONS), st.sampled_from((*RESOURCES, None))), max_size=60),
    st.integers(1, 12),
)
def test_remembered_candidates_are_the_index_candidates(kind, seed, count, asked, bound) -> None:
    parsed = _parsed(seed, count, with_principal=kind is PolicyKind.RESOURCE)
    reach = Reach.of(REQUEST_ACTIONS, RESOURCES)
    policy = compile_policy(parsed, policy_id="p", kind=kind, reach=reach)
    assert type(policy.index) is ReachIndex
    plain = StatementIndex.build(policy.statements)
    for action, resource in asked * 2:  # each pair again, once remembered
        action = action.lower()
        assert tuple(policy.candidates(action, resource)) == tuple(plain.candidates(action, resource))
    with pytest.MonkeyPatch.context() as patch:  # and past the bounds, starting afresh
        patch.setattr(reach_index, "PAIRS_KEPT", bound)
        patch.setattr(reach_index, "PAIR_REFS_KEPT", bound * 3)
        small = ReachIndex.build(policy.statements)
        for action, resource in asked * 2:
            action = action.lower()
            assert tuple(small.candidates(action, resource)) == tuple(plain.candidates(action, resource))
            assert small.remembered_pairs <= bound
            assert small._pair_refs <= bound * 3


def test_only_a_policy_compiled_for_a_reach_remembers_pairs() -> None:
    parsed = _parsed(3, 30)
    assert type(compile_policy(parsed, policy_id="p", kind=PolicyKind.IDENTITY).index) is StatementIndex
    reached = compile_policy(
        parsed, policy_id="p", kind=PolicyKind.IDENTITY, reach=Reach.of(["s3:GetObject"], ["*"])
    )
    reached.candidates("s3:getobject", "*")
    reached.candidates("s3:getobject", "x" * (reach_index.PAIR_TEXT_KEPT + 1))  # too long to keep
    assert reached.index.remembered_pairs == 1


def test_calls_of_other_reaches_over_one_remembered_table_answer_as_explained(monkeypatch) -> None:
    """One large document asked about several reaches, in single calls and in batches, its table
    kept between them: every answer is the explanation's."""
    rng = random.Random(11)
    text = json.dumps(document(random_statements(rng, 300)))
    memo = CompiledPolicies()
    for seed in range(6):
        pick = random.Random(seed)
        request = {
            "PolicyInputList": [text],
            "ActionNames": pick.sample(REQUEST_ACTIONS, pick.randint(1, 4)),
            "ResourceArns": pick.sample([r for r in RESOURCES if r != "*"], pick.randint(1, 4)),
        }
        explained = simulate(request, explain=True, compiled=CompiledPolicies())
        for result in explained["EvaluationResults"]:
            del result["Explanation"]
        assert simulate(request, compiled=memo) == explained
        assert simulate(request, compiled=memo) == explained  # its candidates remembered
        assert simulate_many([request, request]) == [explained, explained]


@EXAMPLES
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_condition_clauses_are_every_clause_in_order(seed: int, count: int) -> None:
    """``simulate.condition_clauses`` picks the statements with conditions out first: the same
    clauses, in the same order, as a walk over every statement's conditions."""
    from iamgate.engine.simulate import condition_clauses

    parsed = _parsed(seed, count)
    walked = tuple((c.key, len(c.values)) for s in parsed.statements for c in s.conditions)
    assert condition_clauses(parsed) == walked
