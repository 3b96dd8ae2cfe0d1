"""Every shared conformance case must get the decision the independent IAM evaluator gave."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iamgate.engine.cache import DecisionCache
from iamgate.engine.simulate import read_simulation, simulate

CASES = json.loads((Path(__file__).parent / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case_gets_the_expected_decision(case: dict) -> None:
    results = simulate(case["request"])["EvaluationResults"]
    assert len(results) == 1
    assert results[0]["EvalDecision"] == case["expected"], case["description"]


def test_every_category_is_covered() -> None:
    categories = {case["category"] for case in CASES}
    assert len(CASES) == 682
    assert {
        "scp",
        "permission_boundary",
        "resource_policy",
        "not_principal",
        "policy_variables",
    } <= categories


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case_gets_the_expected_decision_through_the_decision_cache(case: dict) -> None:
    """The cache must never change a decision: each case is asked twice, the second from the cache."""
    simulation = read_simulation(case["request"])
    cache = DecisionCache(maxsize=16)
    (request,) = simulation.requests
    first = cache.evaluate(case["id"], simulation.policy_set, request)
    second = cache.evaluate(case["id"], simulation.policy_set, request)
    assert first.decision.value == second.decision.value == case["expected"], case["description"]
    assert cache.hits == 1


def test_command_line_simulate_answers_every_case(tmp_path: Path) -> None:
    """`iamgate simulate` on all cases at once (JSON lines) gives every expected decision, in order."""
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(json.dumps(case["request"]) for case in CASES) + "\n")
    completed = subprocess.run(
        [sys.executable, "-m", "iamgate", "simulate", str(requests)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answers = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    if len(answers) == 1 and isinstance(answers[0], list):
        answers = answers[0]
    decisions = [answer["EvaluationResults"][0]["EvalDecision"] for answer in answers]
    assert decisions == [case["expected"] for case in CASES]
