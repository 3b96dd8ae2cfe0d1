"""Simulate without an explanation: the indexed ``every_match`` path answers exactly as ``explain``.

Simulate lists every applying statement as MatchedStatements (not only the first Allow the
Authorize path needs). Without ``--explain`` it finds them through the indexes instead of
tracing every statement; the decision, the policy kind blamed, the statements (in order) and the
missing context keys must be those of the traced walk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_index import policy_sets, requests

from iamgate.engine import evaluate
from iamgate.engine.simulate import CompiledPolicies, simulate, simulate_many

CASES = json.loads((Path(__file__).parents[1] / "conformance" / "cases.json").read_text())["cases"]


def _same(a, b) -> bool:
    return (a.decision, a.denied_by, a.determining, a.missing_context) == (
        b.decision,
        b.denied_by,
        b.determining,
        b.missing_context,
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(policy_sets(), st.lists(requests(), min_size=20, max_size=20))
def test_every_match_finds_what_the_traced_walk_finds_in_its_order(policy_set, batch):
    for request in batch:
        indexed = evaluate(policy_set, request, every_match=True)
        traced = evaluate(policy_set, request, explain=True)
        assert _same(indexed, traced), request
        assert indexed.trace is None


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_simulate_without_explain_answers_every_conformance_case_as_with_it(case):
    plain = simulate(case["request"])["EvaluationResults"]
    explained = simulate(case["request"], explain=True)["EvaluationResults"]
    for result in explained:
        del result["Explanation"]
    assert plain == explained


def test_a_document_given_to_many_requests_is_compiled_once_and_answers_alike():
    requests = [case["request"] for case in CASES]
    separately = [simulate(r) for r in requests]
    assert simulate_many(requests) == separately
    memo = CompiledPolicies()
    first = simulate(requests[0], compiled=memo)
    held = dict(memo._compiled)
    assert simulate(requests[0], compiled=memo) == first
    assert memo._compiled == held  # nothing new compiled the second time


def test_a_document_as_text_and_the_same_as_an_object_are_kept_apart():
    text = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    memo = CompiledPolicies()
    allowed = simulate({"PolicyInputList": [text], "ActionNames": ["s3:GetObject"]}, compiled=memo)
    broken = {"PolicyInputList": ["{" + text], "ActionNames": ["s3:GetObject"]}
    with pytest.raises(Exception, match="PolicyInputList"):
        simulate(broken, compiled=memo)
    assert allowed["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_every_request_still_counts_a_remembered_document_against_its_own_limits():
    from iamgate.engine.simulate import SimulationLimitError, SimulationLimits

    text = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}] * 3}
    )
    memo = CompiledPolicies()
    simulate({"PolicyInputList": [text], "ActionNames": ["s3:GetObject"]}, compiled=memo)
    with pytest.raises(SimulationLimitError, match="max-simulate-statements"):
        simulate(
            {"PolicyInputList": [text, text], "ActionNames": ["s3:GetObject"]},
            compiled=memo,
            limits=SimulationLimits(max_simulate_statements=5),
        )
