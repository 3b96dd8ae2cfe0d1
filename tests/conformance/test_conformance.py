"""Every shared conformance case must get the decision the independent IAM evaluator gave."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamgate.engine.simulate import simulate

CASES = json.loads((Path(__file__).parent / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case_gets_the_expected_decision(case: dict) -> None:
    results = simulate(case["request"])["EvaluationResults"]
    assert len(results) == 1
    assert results[0]["EvalDecision"] == case["expected"], case["description"]


def test_every_category_is_covered() -> None:
    categories = {case["category"] for case in CASES}
    assert len(CASES) == 682
    assert {"scp", "permission_boundary", "resource_policy", "not_principal", "policy_variables"} <= categories
