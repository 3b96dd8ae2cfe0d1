"""The baseline the index must beat: check every statement of every applicable policy, in order.

It uses the engine's own compiled matchers (``matches_action``, ``matches_resource``,
``conditions_hold``) and AWS's decision logic for the cases it covers — identity-based policies,
a permissions boundary and SCP levels, same account or across accounts without a resource-based
policy — so the only difference from ``iamgate.engine.evaluate`` is that nothing is skipped by an
index. The bench asserts that both give the same answer on every sampled request.
"""

from __future__ import annotations

from collections.abc import Sequence

from iamgate.engine import (
    CompiledPolicy,
    CompiledStatement,
    Decision,
    Evaluation,
    PolicyKind,
    PolicySet,
    PrincipalKind,
    Request,
)


def supports(policy_set: PolicySet, request: Request) -> bool:
    """Whether the request falls in the cases the naive evaluator implements."""
    if policy_set.resource is not None or policy_set.session is not None:
        return False
    if request.principal.kind in (PrincipalKind.SERVICE, PrincipalKind.ANONYMOUS):
        return False
    action = request.action.lower()
    if action.startswith("sts:"):
        return False
    # A KMS key's key policy must admit the caller; without one the engine denies on that ground.
    return not (action.startswith("kms:") and ":key/" in request.resource)


def _matching(
    policies: Sequence[CompiledPolicy], request: Request, action: str
) -> tuple[list[CompiledStatement], list[CompiledStatement]]:
    allows: list[CompiledStatement] = []
    denies: list[CompiledStatement] = []
    resource = request.resource
    context = request.context
    for policy in policies:
        for statement in policy.statements:
            if (
                statement.matches_action(action)
                and statement.matches_resource(resource, context)
                and statement.conditions_hold(context)
            ):
                (denies if statement.is_deny else allows).append(statement)
    return allows, denies


def naive_evaluate(policy_set: PolicySet, request: Request) -> Evaluation:
    """Decide ``request`` by scanning every statement; raises ``ValueError`` outside ``supports``."""
    if not supports(policy_set, request):
        raise ValueError("the naive evaluator covers identity, boundary and SCP policies only")
    action = request.action.lower()
    scps = [_matching(level, request, action) for level in policy_set.scp_levels]
    identity_allows, identity_denies = _matching(policy_set.identity, request, action)
    groups: list[tuple[PolicyKind, list[CompiledStatement]]] = [(PolicyKind.SCP, d) for _, d in scps]
    groups.append((PolicyKind.IDENTITY, identity_denies))
    boundary_allows: list[CompiledStatement] = []
    if policy_set.boundary is not None:
        boundary_allows, boundary_denies = _matching(policy_set.boundary, request, action)
        groups.append((PolicyKind.BOUNDARY, boundary_denies))
    denies = tuple(s.ref for _, found in groups for s in found)
    if denies:
        first = next(kind for kind, found in groups if found)
        return Evaluation(Decision.EXPLICIT_DENY, denies, first)
    if any(not allows for allows, _ in scps):
        return Evaluation(Decision.IMPLICIT_DENY, (), PolicyKind.SCP)
    if request.is_cross_account:
        return Evaluation(Decision.IMPLICIT_DENY, (), PolicyKind.RESOURCE)
    if not identity_allows:
        return Evaluation(Decision.IMPLICIT_DENY, (), PolicyKind.IDENTITY)
    if policy_set.boundary is not None and not boundary_allows:
        return Evaluation(Decision.IMPLICIT_DENY, (), PolicyKind.BOUNDARY)
    refs = tuple(s.ref for s in identity_allows) + tuple(s.ref for s in boundary_allows)
    return Evaluation(Decision.ALLOWED, refs)


def same_answer(a: Evaluation, b: Evaluation) -> bool:
    """Same decision and responsible policy kind, and consistent determining statements.

    The naive evaluator lists every applying statement, the engine (for an allow) the first
    applying Allow of each policy type: for an explicit deny both list every applying Deny; for an
    allow the engine's statements must be among the naive answer's.
    """
    if a.decision is not b.decision or a.denied_by != b.denied_by:
        return False
    if a.decision is Decision.ALLOWED:
        fewer, more = sorted((set(map(str, a.determining)), set(map(str, b.determining))), key=len)
        return bool(fewer) and fewer <= more
    return sorted(map(str, a.determining)) == sorted(map(str, b.determining))
