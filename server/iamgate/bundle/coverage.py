"""``iamgate test --coverage``: the statements of a bundle no test ever matched.

A statement no test reaches is a statement whose effect nobody has pinned: a typo in it, or its
removal, would pass every test. Matching means the statement applied (action, resource, principal
and conditions all held) in some test's full evaluation, the same evaluation Explain shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iamgate.bundle.query import AccessQuery
from iamgate.bundle.snapshot import Snapshot
from iamgate.engine.compiled import CompiledPolicy
from iamgate.engine.errors import EngineError
from iamgate.engine.result import StatementRef

StatementKey = tuple[str, str, int]
"""(policy id, policy kind, statement index): one statement of the bundle."""


@dataclass(frozen=True, slots=True)
class Coverage:
    statements: tuple[StatementRef, ...]
    """Every statement of the bundle, in a stable order."""
    matched: frozenset[StatementKey]

    @property
    def uncovered(self) -> tuple[StatementRef, ...]:
        return tuple(ref for ref in self.statements if _key(ref) not in self.matched)


def measure_coverage(snapshot: Snapshot, tests: Iterable) -> Coverage:  # type: ignore[type-arg]
    """Evaluate each test with its full trace and collect the statements that applied."""
    matched: set[StatementKey] = set()
    for test in tests:
        query = AccessQuery(
            test.principal,
            test.action,
            test.resource,
            test.context,
            test.session_policy,
            session_tags=test.session_tags,
        )
        try:
            outcome = snapshot.authorize(query, explain=True, now=test.now)
        except EngineError:
            continue
        for policy in outcome.evaluation.trace or ():
            matched.update(_key(statement.ref) for statement in policy.statements if statement.applies)
    return Coverage(_all_statements(snapshot), frozenset(matched))


def _key(ref: StatementRef) -> StatementKey:
    return (ref.policy_id, str(ref.kind), ref.index)


def _all_statements(snapshot: Snapshot) -> tuple[StatementRef, ...]:
    policies: dict[tuple[str, str], CompiledPolicy] = {}
    for entry in snapshot.by_arn.values():
        for policy in (
            *entry.identity,
            *(entry.boundary or ()),
            *(p for level in entry.scp_levels for p in level),
        ):
            policies.setdefault((policy.policy_id, str(policy.kind)), policy)
    for policy in (*snapshot.resource_policies.values(), *snapshot.trust_policies.values()):
        policies.setdefault((policy.policy_id, str(policy.kind)), policy)
    refs = [
        StatementRef(policy.policy_id, policy.kind, statement.index, statement.sid)
        for policy in policies.values()
        for statement in policy.document.statements
    ]
    return tuple(sorted(refs, key=lambda ref: (str(ref.kind), ref.policy_id, ref.index)))


def render_coverage(coverage: Coverage) -> str:
    total = len(coverage.statements)
    uncovered = coverage.uncovered
    lines = [f"coverage: {total - len(uncovered)} of {total} statements matched by a test"]
    if uncovered:
        lines.append("never matched:")
        lines += [f"  {ref}" for ref in uncovered]
    return "\n".join(lines) + "\n"


def coverage_json(coverage: Coverage) -> dict:  # type: ignore[type-arg]
    return {
        "statements": len(coverage.statements),
        "matched": len(coverage.statements) - len(coverage.uncovered),
        "neverMatched": [
            {"policy": ref.policy_id, "kind": str(ref.kind), "index": ref.index, "sid": ref.sid}
            for ref in coverage.uncovered
        ],
    }
