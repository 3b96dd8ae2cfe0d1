"""Explanations as plain data (for JSON output) and as a readable tree (for people)."""

from __future__ import annotations

from typing import Any

from iamgate.engine.result import ConditionTrace, Evaluation, PolicyTrace, StatementRef, StatementTrace


def ref_json(ref: StatementRef) -> dict[str, Any]:
    return {
        "SourcePolicyId": ref.policy_id,
        "SourcePolicyType": ref.kind.value,
        "Sid": ref.sid,
        "StatementIndex": ref.index,
    }


def _condition_json(trace: ConditionTrace) -> dict[str, Any]:
    return {
        "Operator": trace.operator,
        "Key": trace.key,
        "PolicyValues": list(trace.policy_values),
        "RequestValues": None if trace.request_values is None else list(trace.request_values),
        "Matched": trace.matched,
        "Note": trace.note or None,
    }


def _statement_json(trace: StatementTrace) -> dict[str, Any]:
    return {
        "Statement": ref_json(trace.ref),
        "Effect": trace.effect,
        "Applies": trace.applies,
        "ActionMatched": trace.action_matched,
        "ResourceMatched": trace.resource_matched,
        "PrincipalMatched": trace.principal_matched,
        "Conditions": [_condition_json(c) for c in trace.conditions],
        "Note": trace.note or None,
    }


def _policy_json(trace: PolicyTrace) -> dict[str, Any]:
    data: dict[str, Any] = {
        "PolicyId": trace.policy_id,
        "PolicyType": trace.kind.value,
        "Statements": [_statement_json(s) for s in trace.statements],
    }
    if trace.level is not None:
        data["Level"] = trace.level
    return data


def explanation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "Decision": evaluation.decision.value,
        "DeniedBy": evaluation.denied_by.value if evaluation.denied_by else None,
        "DeterminingStatements": [ref_json(r) for r in evaluation.determining],
        "MissingContextValues": list(evaluation.missing_context),
        "Policies": [_policy_json(p) for p in evaluation.trace or ()],
    }


def _mark(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def explanation_tree(evaluation: Evaluation, *, header: str = "") -> str:
    """A human-readable tree: policies, statements, and each element's outcome."""
    lines = [header] if header else []
    lines.append(f"decision: {evaluation.decision.value}")
    if evaluation.determining:
        lines.append("determined by: " + ", ".join(str(r) for r in evaluation.determining))
    if evaluation.missing_context:
        lines.append("missing context keys: " + ", ".join(evaluation.missing_context))
    for policy in evaluation.trace or ():
        level = f" (level {policy.level})" if policy.level is not None else ""
        lines.append(f"{policy.kind.value} policy {policy.policy_id}{level}")
        for statement in policy.statements:
            verdict = "APPLIES" if statement.applies else "does not apply"
            lines.append(f"  {statement.effect} {statement.ref.label}: {verdict}")
            lines.append(
                f"    action {_mark(statement.action_matched)}, "
                f"resource {_mark(statement.resource_matched)}, "
                f"principal {_mark(statement.principal_matched)}"
            )
            for condition in statement.conditions:
                got = "missing" if condition.request_values is None else list(condition.request_values)
                note = f" ({condition.note})" if condition.note else ""
                lines.append(
                    f"    condition {condition.operator} {condition.key} {list(condition.policy_values)} "
                    f"<- {got}: {_mark(condition.matched)}{note}"
                )
    return "\n".join(lines)
