"""Helpers for engine tests: answer one SimulateCustomPolicy-shaped request through `simulate`.

The engine is imported inside the fixtures, not at module level, so that a missing or broken engine
fails the tests that need it instead of every test collected under ``tests/engine``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

SimulateOne = Callable[[Mapping[str, Any]], dict[str, Any]]
Decide = Callable[[Mapping[str, Any]], str]


@pytest.fixture
def simulate_one() -> SimulateOne:
    """Run a request that names one action and one resource; return its single evaluation result."""
    from iamgate.engine.simulate import simulate

    def run(request: Mapping[str, Any]) -> dict[str, Any]:
        results = simulate(request)["EvaluationResults"]
        assert len(results) == 1, f"expected one evaluation result, got {len(results)}: {results}"
        return results[0]

    return run


@pytest.fixture
def decide(simulate_one: SimulateOne) -> Decide:
    """Run a one-action, one-resource request; return its EvalDecision."""

    def run(request: Mapping[str, Any]) -> str:
        return simulate_one(request)["EvalDecision"]

    return run
