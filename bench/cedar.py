"""The same policies in Cedar, for cedarpy: the comparison the issue asks for, per decision.

One IAM statement becomes one Cedar policy, annotated ``@id("<policy id>#<index>")``:

* Allow/Deny -> ``permit``/``forbid``; the principal scope is ``principal in IamPolicy::"<id>"``,
  and the entity graph makes the user a member of its groups and of every policy attached to it
  or to them, which is how IAM attachment reads in Cedar;
* the action list -> ``action in [...]``, wildcards expanded over the catalog (Cedar has no action
  wildcards; that is what action groups are for);
* the resource list -> ``context["resource"] like "<pattern>"`` (Cedar matches entity ids only
  exactly, so the ARN also travels as a string);
* each condition -> a guarded expression with IAM's missing-key rules (positive operators false,
  negated ones and IfExists true), dates as epoch seconds, IPs through the ``ipaddr`` extension,
  ForAnyValue/ForAllValues as ``containsAny``/``containsAll``.

Only the condition templates marked ``cedar`` are drawn here (no policy variables, no
IgnoreCase), and ``check_agreement`` compares every decision *and* the statements behind it with
iamgate's before anything is timed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cedarpy

from bench.catalog import ALLOWED_REGIONS, DEPARTMENTS, TEAMS, all_actions, expand_actions, service_of
from bench.conditions import Owner
from bench.generator import (
    Hint,
    PrincipalDef,
    RequestDef,
    StatementFactory,
    background,
    build_request,
    services_for,
)
from iamgate.engine import (
    CompiledPolicy,
    ContextValue,
    Decision,
    Evaluation,
    PolicyKind,
    PolicySet,
    Principal,
    Request,
    build_context,
    compile_policy,
)
from iamgate.policy import parse_policy

ACCOUNT = "111122223333"
STATEMENTS_PER_POLICY = 10

_TYPES: Mapping[str, str] = {
    "aws:currenttime": "date",
    "aws:epochtime": "long",
    "s3:max-keys": "long",
    "aws:multifactorauthage": "long",
    "aws:multifactorauthpresent": "bool",
    "aws:securetransport": "bool",
    "aws:tagkeys": "set",
}
"""How each context key is typed in Cedar; every other key is a string."""


class UntranslatableError(ValueError):
    """A statement uses IAM features this translation does not cover."""


def _literal(text: str) -> str:
    return json.dumps(text)


def _like(text: str) -> str:
    """An IAM wildcard pattern as a Cedar ``like`` pattern (only ``*`` is special in both)."""
    if "?" in text:
        raise UntranslatableError(f"'?' wildcard in {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _epoch(text: str) -> int:
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _value(key: str, text: str) -> str:
    kind = _TYPES.get(key, "string")
    if kind == "date":
        return str(_epoch(text))
    if kind == "long":
        return str(int(text))
    if kind == "bool":
        return "true" if text.lower() == "true" else "false"
    return _literal(text)


_ORDER = {
    "Equals": "==",
    "NotEquals": "!=",
    "LessThan": "<",
    "LessThanEquals": "<=",
    "GreaterThan": ">",
    "GreaterThanEquals": ">=",
}


def _clause(operator: str, key_text: str, values: Sequence[str]) -> str:
    key = key_text.lower()
    ref = f"context[{_literal(key)}]"
    has = f"context has {_literal(key)}"
    set_operator, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if set_operator == "ForAnyValue" and base == "StringEquals":
        return f"({has} && {ref}.containsAny([{', '.join(map(_literal, values))}]))"
    if set_operator == "ForAllValues" and base == "StringEquals":
        return f"(!({has}) || [{', '.join(map(_literal, values))}].containsAll({ref}))"
    if set_operator:
        raise UntranslatableError(f"{operator} is not translated")
    negated = False
    if base in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        negated = "Not" in base
        test = " || ".join(f"{ref} == {_literal(v)}" for v in values)
    elif base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        negated = "Not" in base
        test = " || ".join(f"{ref} like {_like(v)}" for v in values)
    elif base.startswith(("Numeric", "Date")):
        family = "Numeric" if base.startswith("Numeric") else "Date"
        comparison = base.removeprefix(family)
        negated = comparison == "NotEquals"
        symbol = "==" if negated else _ORDER[comparison]
        test = " || ".join(f"{ref} {symbol} {_value(key, v)}" for v in values)
    elif base == "Bool":
        test = " || ".join(f"{ref} == {_value(key, v)}" for v in values)
    elif base in ("IpAddress", "NotIpAddress"):
        negated = base == "NotIpAddress"
        test = " || ".join(f"ip({ref}).isInRange(ip({_literal(v)}))" for v in values)
    elif base == "Null":
        wants_absent = [v.lower() == "true" for v in values]
        if all(wants_absent):
            return f"!({has})"
        if not any(wants_absent):
            return f"({has})"
        return "true"
    else:
        raise UntranslatableError(f"{operator} is not translated")
    if negated:
        return f"(!({has}) || !({test}))"
    if if_exists:
        return f"(!({has}) || ({test}))"
    return f"({has} && ({test}))"


def translate_statement(policy_id: str, index: int, statement: Mapping[str, Any]) -> str:
    """One IAM identity-policy statement as one Cedar policy."""
    if "NotAction" in statement or "NotResource" in statement:
        raise UntranslatableError("NotAction/NotResource")
    effect = "forbid" if statement["Effect"] == "Deny" else "permit"
    patterns = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
    if any(p.strip("*") == "" for p in patterns):
        action_scope = "action"
    else:
        # A pattern naming no catalog action (``sns:Put*``) gives ``action in []``: it never applies.
        actions = sorted({a for p in patterns for a in expand_actions(p)})
        action_scope = "action in [" + ", ".join(f"Action::{_literal(a)}" for a in actions) + "]"
    clauses: list[str] = []
    resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
    if not any(r.strip("*") == "" for r in resources):
        if any("${" in r for r in resources):
            raise UntranslatableError("policy variables")
        clauses.append("(" + " || ".join(f'context["resource"] like {_like(r)}' for r in resources) + ")")
    for operator, keys in statement.get("Condition", {}).items():
        for key, values in keys.items():
            clauses.append(_clause(operator, key, [values] if isinstance(values, str) else values))
    when = f"\nwhen {{ {' && '.join(clauses)} }}" if clauses else ""
    scope = f"principal in IamPolicy::{_literal(policy_id)}, {action_scope}, resource"
    return f"@id({_literal(f'{policy_id}#{index}')})\n{effect} ({scope}){when};"


def translate_context(entries: Iterable[tuple[str, tuple[str, ...], bool]], resource: str) -> dict[str, Any]:
    context: dict[str, Any] = {"resource": resource}
    for name, values, multi in entries:
        key = name.lower()
        kind = _TYPES.get(key, "string")
        if kind == "set" or multi:
            context[key] = list(values)
        elif kind == "date":
            context[key] = _epoch(values[0])
        elif kind == "long":
            context[key] = int(values[0])
        elif kind == "bool":
            context[key] = values[0].lower() == "true"
        else:
            context[key] = values[0]
    return context


@dataclass(frozen=True, slots=True)
class CedarScenario:
    """``count`` statements for one user, as IAM policies and as Cedar policies, with requests."""

    count: int
    iam_policies: tuple[CompiledPolicy, ...]
    iam_cases: tuple[tuple[PolicySet, Request], ...]
    """iamgate's side: identity-based policies only (Cedar has no boundaries or SCPs)."""
    cedar_text: str
    cedar_policies: Any
    """``cedarpy.PolicySet``: parsed once, reused by every call."""
    cedar_entities: Any
    """``cedarpy.Entities``: parsed once, reused by every call."""
    cedar_requests: tuple[dict[str, Any], ...]
    requests: tuple[RequestDef, ...]


def build_scenario(count: int, *, seed: int = 1, requests: int = 500) -> CedarScenario:
    rng = random.Random(f"iamgate-bench-cedar:{seed}:{count}")
    factory = StatementFactory(rng, cedar_only=True)
    user = PrincipalDef(
        f"arn:aws:iam::{ACCOUNT}:user/cedar-bench",
        "user",
        ACCOUNT,
        "cedar-bench",
        "payments",
        "Engineering",
        ("engineers", "oncall"),
        (),
        (),
        None,
    )
    documents: list[tuple[str, dict[str, Any]]] = []
    hints: dict[tuple[str, int], Hint] = {}
    remaining = count
    while remaining > 0:
        size = min(STATEMENTS_PER_POLICY, remaining)
        policy_id = f"arn:aws:iam::{ACCOUNT}:policy/cedar-bench-{len(documents):04d}"
        owner = Owner(rng.choice(TEAMS[:3]), ACCOUNT, rng.choice(ALLOWED_REGIONS), rng.choice(DEPARTMENTS))
        services = services_for(rng)
        statements = []
        for index in range(size):
            statement, hint = factory.statement(owner, services)
            statements.append(statement)
            hints[(policy_id, index)] = hint
        documents.append((policy_id, {"Version": "2012-10-17", "Statement": statements}))
        remaining -= size

    compiled = tuple(
        compile_policy(parse_policy(doc, source_name=pid), policy_id=pid, kind=PolicyKind.IDENTITY)
        for pid, doc in documents
    )
    policy_set = PolicySet(identity=compiled)
    text = "\n\n".join(
        translate_statement(pid, index, statement)
        for pid, doc in documents
        for index, statement in enumerate(doc["Statement"])
    )
    # Half the policies reach the user through its groups, half are attached directly.
    group_of = {pid: user.groups[i % 2] if i % 3 else None for i, (pid, _) in enumerate(documents)}
    entities = [
        {
            "uid": {"type": "User", "id": user.arn},
            "attrs": {},
            "parents": [{"type": "Group", "id": g} for g in user.groups]
            + [{"type": "IamPolicy", "id": pid} for pid, group in group_of.items() if group is None],
        },
        *[
            {
                "uid": {"type": "Group", "id": g},
                "attrs": {},
                "parents": [
                    {"type": "IamPolicy", "id": pid} for pid, group in group_of.items() if group == g
                ],
            }
            for g in user.groups
        ],
        *[{"uid": {"type": "IamPolicy", "id": pid}, "attrs": {}, "parents": []} for pid, _ in documents],
    ]

    flat = [
        (pid, index, statement) for pid, doc in documents for index, statement in enumerate(doc["Statement"])
    ]
    defs: list[RequestDef] = []
    for _ in range(requests):
        if rng.random() < 0.15:
            defs.append(_unrelated(rng, user))
            continue
        pid, index, statement = rng.choice(flat)
        hint = hints[(pid, index)]
        violate = rng.random() < 0.25 and bool(hint.conditions)
        defs.append(build_request(rng, user, statement, hint, violate=violate, owner_of=lambda _arn: ACCOUNT))
    principal = Principal.parse(user.arn)
    cases = tuple(
        (
            policy_set,
            Request(
                principal,
                d.action,
                d.resource,
                build_context(ContextValue(n, v, m) for n, v, m in d.context),
                d.resource_account,
            ),
        )
        for d in defs
    )
    cedar_requests = tuple(
        {
            "principal": {"type": "User", "id": user.arn},
            "action": {"type": "Action", "id": d.action},
            "resource": {"type": "Resource", "id": d.resource},
            "context": translate_context(d.context, d.resource),
        }
        for d in defs
    )
    return CedarScenario(
        count=count,
        iam_policies=compiled,
        iam_cases=cases,
        cedar_text=text,
        cedar_policies=cedarpy.PolicySet.from_str(text),
        cedar_entities=cedarpy.Entities.from_json_str(json.dumps(entities)),
        cedar_requests=cedar_requests,
        requests=tuple(defs),
    )


def _unrelated(rng: random.Random, user: PrincipalDef) -> RequestDef:
    action = rng.choice(all_actions())
    service = service_of(action)
    resource = rng.choice(service.resources)(rng, rng.choice(ALLOWED_REGIONS), ACCOUNT, rng.choice(TEAMS))
    context = background(rng, user, resource)
    return RequestDef(user.arn, action, resource, tuple(context.values()), ACCOUNT, "unrelated")


def _same(evaluation: Evaluation, result: Any) -> bool:
    reasons = set(result.diagnostics.id_annotations_by_reason.values())
    determining = {f"{ref.policy_id}#{ref.index}" for ref in evaluation.determining}
    if result.diagnostics.errors:
        return False
    if evaluation.decision is Decision.ALLOWED:  # iamgate names the first Allow, Cedar every permit
        return result.allowed and bool(determining) and determining <= reasons
    if evaluation.decision is Decision.EXPLICIT_DENY:
        return not result.allowed and reasons == determining
    return not result.allowed and not reasons


def check_agreement(scenario: CedarScenario, evaluate: Any) -> list[str]:
    """Every request on which iamgate and Cedar disagree (decision or determining statements)."""
    problems = []
    for (policy_set, request), cedar_request, definition in zip(
        scenario.iam_cases, scenario.cedar_requests, scenario.requests, strict=True
    ):
        evaluation = evaluate(policy_set, request)
        result = cedarpy.is_authorized(cedar_request, scenario.cedar_policies, scenario.cedar_entities)
        if not _same(evaluation, result):
            problems.append(
                f"{definition.action} on {definition.resource} ({definition.kind}): iamgate "
                f"{evaluation.decision.value} {[str(r) for r in evaluation.determining]}, cedar "
                f"{result.decision.value} {sorted(result.diagnostics.id_annotations_by_reason.values())} "
                f"{result.diagnostics.errors}"
            )
    return problems
