"""Running a bundle's own policy tests through the same evaluator that serves Authorize.

Each test is an ``AccessQuery`` plus the decision its authors expect; a failure is explained with
what was expected and what came back, the statements that determined the answer, the message the
caller would see, and the evaluation trace — so a CI log says why, not just that, a test failed.
Reports render as a text table, JSON, or JUnit XML for CI systems.
"""

from __future__ import annotations

import difflib
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from iamgate.bundle.model import PolicyTest
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.snapshot import Snapshot
from iamgate.engine.errors import EngineError
from iamgate.engine.explain import explanation_tree
from iamgate.engine.result import Decision


@dataclass(frozen=True, slots=True)
class TestResult:
    __test__ = False  # not a pytest test class

    test: PolicyTest
    got: Decision | None
    """``None`` when the query itself was malformed (see ``error``)."""
    outcome: AccessOutcome | None
    seconds: float
    error: str = ""
    explanation: str = ""
    """The evaluation trace of a failed test (empty for passes)."""

    @property
    def passed(self) -> bool:
        return self.got is self.test.expected


@dataclass(frozen=True, slots=True)
class TestReport:
    __test__ = False  # not a pytest test class

    bundle: str
    revision: str
    results: tuple[TestResult, ...]
    seconds: float

    @property
    def failed(self) -> tuple[TestResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    @property
    def ok(self) -> bool:
        return not self.failed


def run_tests(snapshot: Snapshot, tests: tuple[PolicyTest, ...] | None = None) -> TestReport:
    """Run ``tests`` (default: the bundle's own) and collect one result per test."""
    started = time.perf_counter()
    results = [_run_one(snapshot, test) for test in (snapshot.tests if tests is None else tests)]
    return TestReport(snapshot.name, snapshot.revision, tuple(results), time.perf_counter() - started)


def _run_one(snapshot: Snapshot, test: PolicyTest) -> TestResult:
    query = AccessQuery(
        test.principal,
        test.action,
        test.resource,
        test.context,
        test.session_policy,
        session_tags=test.session_tags,
    )
    started = time.perf_counter()
    try:
        outcome = snapshot.authorize(query, now=test.now)
    except EngineError as error:
        return TestResult(test, None, None, time.perf_counter() - started, error=str(error))
    seconds = time.perf_counter() - started
    if outcome.principal_known is test.principal_unknown:
        # An unknown principal is implicitly denied whatever the policies say: such a test cannot
        # fail, so it must say that it means it ("principalUnknown": true), and then mean it.
        return TestResult(test, None, None, seconds, error=_principal_error(snapshot, test, outcome))
    decision = outcome.evaluation.decision
    if decision is test.expected:
        return TestResult(test, decision, outcome, seconds)
    explained = snapshot.authorize(query, explain=True, now=test.now)
    tree = explanation_tree(explained.evaluation) if explained.principal_known else ""
    return TestResult(test, decision, outcome, seconds, explanation=tree)


def _principal_error(snapshot: Snapshot, test: PolicyTest, outcome: AccessOutcome) -> str:
    principal = test.principal
    if test.principal_unknown:
        return f"the test says principalUnknown, but {principal!r} is a principal of the bundle"
    reason = outcome.message.partition(" because ")[2].rpartition(" (revision")[0] or outcome.message
    if "did you mean" not in reason and not principal.startswith("arn:"):
        close = difflib.get_close_matches(principal, sorted(snapshot.by_name), n=1, cutoff=0.7)
        if close:
            reason += f" (did you mean {close[0]!r}?)"
    return reason + '; a test of a principal outside the bundle says "principalUnknown": true'


def _failure_lines(result: TestResult) -> list[str]:
    test = result.test
    lines = [f"{test.origin}", f"request: {test.principal} {test.action} {test.resource}"]
    if test.context:
        lines.append("context: " + ", ".join(f"{c.name}={'|'.join(c.values)}" for c in test.context))
    if result.error:
        lines.append(f"expected {test.expected.value}, but the query is malformed: {result.error}")
        return lines
    outcome = result.outcome
    assert outcome is not None
    evaluation = outcome.evaluation
    lines.append(f"expected {test.expected.value}, got {evaluation.decision.value}")
    lines.append(f"message: {outcome.message}")
    determining = ", ".join(str(ref) for ref in evaluation.determining) or "(none)"
    lines.append(f"determining statements: {determining}")
    if evaluation.missing_context:
        lines.append("missing context: " + ", ".join(evaluation.missing_context))
    if outcome.filled_context:
        lines.append("filled context: " + ", ".join(outcome.filled_context))
    if result.explanation:
        lines += ["trace:", *("  " + line for line in result.explanation.splitlines())]
    return lines


def render_text(report: TestReport) -> str:
    total = len(report.results)
    failed = len(report.failed)
    lines = [
        f"bundle {report.bundle} (revision {report.revision}): {total} tests, {total - failed} passed, "
        f"{failed} failed ({report.seconds * 1000:.1f} ms)",
        "",
    ]
    width = max((len(result.test.name) for result in report.results), default=4)
    for result in report.results:
        mark = "PASS" if result.passed else "FAIL"
        got = result.got.value if result.got else "error"
        detail = got if result.passed else f"expected {result.test.expected.value}, got {got}"
        lines.append(f"  {mark}  {result.test.name.ljust(width)}  {detail}")
    if report.failed:
        lines += ["", "Failures:"]
        for result in report.failed:
            lines += ["", f"FAIL {result.test.name}", *("  " + line for line in _failure_lines(result))]
    if not report.results:
        lines.append("  (the bundle has no tests)")
    return "\n".join(lines) + "\n"


def report_json(report: TestReport) -> dict[str, Any]:
    return {
        "bundle": report.bundle,
        "revision": report.revision,
        "total": len(report.results),
        "passed": len(report.results) - len(report.failed),
        "failed": len(report.failed),
        "results": [_result_json(result) for result in report.results],
    }


def _result_json(result: TestResult) -> dict[str, Any]:
    test = result.test
    data: dict[str, Any] = {
        "name": test.name,
        "file": test.origin.file,
        "path": test.origin.path,
        "principal": test.principal,
        "action": test.action,
        "resource": test.resource,
        "expected": test.expected.value,
        "got": result.got.value if result.got else None,
        "passed": result.passed,
    }
    if result.error:
        data["error"] = result.error
    if result.outcome is not None:
        evaluation = result.outcome.evaluation
        data["message"] = result.outcome.message
        data["determining"] = [str(ref) for ref in evaluation.determining]
        data["missingContext"] = list(evaluation.missing_context)
        data["filledContext"] = list(result.outcome.filled_context)
    if result.explanation:
        data["explanation"] = result.explanation
    return data


def render_json(report: TestReport) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"


def render_junit(report: TestReport) -> str:
    """JUnit XML: one testsuite for the bundle, one testcase per test, classname = the test file."""
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"{report.bundle}@{report.revision}",
        tests=str(len(report.results)),
        failures=str(sum(1 for r in report.failed if not r.error)),
        errors=str(sum(1 for r in report.failed if r.error)),
        time=f"{report.seconds:.6f}",
    )
    for result in report.results:
        classname = result.test.origin.file.removesuffix(".json").replace("/", ".")
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=result.test.name, time=f"{result.seconds:.6f}"
        )
        if result.passed:
            continue
        got = result.got.value if result.got else "error"
        tag = "error" if result.error else "failure"
        element = ET.SubElement(case, tag, message=f"expected {result.test.expected.value}, got {got}")
        element.text = "\n".join(_failure_lines(result))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
