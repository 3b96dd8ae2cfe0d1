"""A document one ``simulate`` call compiled is kept for the next call giving the same text.

The Simulate RPC is asked about the same managed policies again and again; reading and compiling
a large one costs far more than its decisions. What is kept is bounded (documents, statements and
characters), refused texts are never kept, and every call still counts a kept document against
its own limits.
"""

from __future__ import annotations

import json

import pytest

from iamgate.engine import simulate as simulate_module
from iamgate.engine.simulate import (
    CompiledPolicies,
    SimulationInputError,
    SimulationLimitError,
    SimulationLimits,
    simulate,
)


def _text(statements: int, sid: str = "S") -> str:
    body = [
        {"Sid": f"{sid}{n}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{n}/*"}
        for n in range(statements)
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": body})


def _request(*texts: str) -> dict:
    return {
        "PolicyInputList": list(texts),
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::b1/k"],
    }


@pytest.fixture
def remembered(monkeypatch: pytest.MonkeyPatch) -> CompiledPolicies:
    memo = CompiledPolicies(8, max_statements=50, max_chars=20_000)
    monkeypatch.setattr(simulate_module, "REMEMBERED_POLICIES", memo)
    return memo


def test_a_second_call_with_the_same_text_compiles_nothing_and_answers_alike(remembered):
    first = simulate(_request(_text(10)))
    held = dict(remembered._compiled)
    assert len(held) == 1
    assert simulate(_request(_text(10))) == first
    assert remembered._compiled == held


def test_a_batch_keeps_its_own_documents(remembered):
    simulate(_request(_text(10)), compiled=CompiledPolicies())
    assert remembered._compiled == {}


def test_a_refused_text_is_never_kept_and_refused_again(remembered):
    broken = _text(3).replace('"Effect": "Allow"', '"Effect": "Maybe"', 1)
    for _ in range(2):
        with pytest.raises(SimulationInputError, match="Effect"):
            simulate(_request(broken))
    assert remembered._compiled == {}


def test_kept_documents_are_bounded_by_statements_and_characters(remembered):
    for n in range(12):
        simulate(_request(_text(20, sid=f"B{n}")))
        assert remembered._statements <= 50
        assert remembered._chars <= 20_000
        assert len(remembered._compiled) <= 8
    simulate(_request(_text(60, sid="Big")))  # more than the whole bound: compiled, not kept
    assert all(len(value[0].statements) <= 50 for value in remembered._compiled.values())


def test_a_kept_document_still_counts_against_each_calls_limits(remembered):
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["a", "b", "c"]}},
                }
            ],
        }
    )
    simulate(_request(text))
    with pytest.raises(SimulationLimitError, match="max-condition-comparisons"):
        simulate(_request(text), limits=SimulationLimits(max_condition_comparisons=2))
    with pytest.raises(SimulationLimitError, match="max-simulate-statements"):
        simulate(_request(text, text), limits=SimulationLimits(max_simulate_statements=1))


def test_a_large_document_kept_for_its_reach_and_a_small_one_asked_in_turn_are_both_kept(monkeypatch):
    """A document compiled for a reach counts the statements compiled, not the document's: asked
    in turn with another document, neither is forgotten (each call once recompiled both)."""
    memo = CompiledPolicies(8, max_statements=100, max_chars=1 << 20)
    monkeypatch.setattr(simulate_module, "REMEMBERED_POLICIES", memo)
    large, small = _request(_text(2_000, sid="L")), _request(_text(12, sid="M"))
    answers = [simulate(large), simulate(small)]
    assert memo._statements == sum(len(policy.statements) for _, policy, _ in memo._compiled.values())
    assert memo._statements < 100
    monkeypatch.setattr(
        simulate_module, "compile_policy", lambda *args, **kwargs: pytest.fail("compiled again")
    )
    for _ in range(3):
        assert [simulate(large), simulate(small)] == answers
    limits = SimulationLimits(max_simulate_statements=2_000)
    with pytest.raises(SimulationLimitError, match="max-simulate-statements"):
        simulate({**large, "PolicyInputList": [_text(2_000, sid="L"), _text(12, sid="M")]}, limits=limits)
