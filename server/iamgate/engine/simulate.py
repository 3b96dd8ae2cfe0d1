"""AWS SimulateCustomPolicy-shaped requests, answered by the one evaluator.

The input mirrors the AWS API (PolicyInputList, ActionNames, ResourceArns, ContextEntries, ...)
plus iamgate's extensions ``ServiceControlPolicyLevels`` and ``SessionPolicyList``. The context is
exactly what is given: nothing is added, so a simulation is reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iamgate.engine.compiled import CompiledPolicy, compile_policy
from iamgate.engine.errors import EngineError, RequestError
from iamgate.engine.evaluator import PolicySet, evaluate
from iamgate.engine.explain import explanation_json, ref_json
from iamgate.engine.request import ContextValue, Principal, Request, build_context
from iamgate.engine.result import PolicyKind
from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy.values import read_address, read_binary, read_bool, read_date, read_number

FIELDS = (
    "CallerArn",
    "ActionNames",
    "ResourceArns",
    "ResourceOwner",
    "PolicyInputList",
    "PermissionsBoundaryPolicyInputList",
    "SessionPolicyList",
    "ResourcePolicy",
    "ServiceControlPolicyLevels",
    "ContextEntries",
    "ResourceHandlingOption",
)
CONTEXT_TYPES = (
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
)


_TYPE_READERS = {
    "numeric": (read_number, "a number"),
    "boolean": (read_bool, "true or false"),
    "ip": (read_address, "an IP address"),
    "date": (read_date, "a date (ISO 8601 or epoch seconds)"),
    "binary": (read_binary, "base64-encoded binary"),
}


class SimulationInputError(EngineError):
    """A simulation request is malformed; ``path`` is the JSON path of the fault."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


@dataclass(frozen=True, slots=True)
class Simulation:
    """A simulation request read and compiled: one policy set, one request per action x resource."""

    policy_set: PolicySet
    requests: tuple[Request, ...]


def read_simulation(request: Mapping[str, Any]) -> Simulation:
    """Validate and compile a SimulateCustomPolicy-shaped request; raises SimulationInputError."""
    if not isinstance(request, Mapping):
        raise SimulationInputError("", "a simulation request must be a JSON object")
    for key in request:
        if key not in FIELDS:
            raise SimulationInputError(key, f"unknown field (expected one of {', '.join(FIELDS)})")
    actions = _string_list(request, "ActionNames", required=True)
    resources = _string_list(request, "ResourceArns", required=False) or ["*"]
    caller = _caller(request)
    owner = _owner(request.get("ResourceOwner"))
    context = build_context(_context_entries(request.get("ContextEntries", [])))
    policy_set = PolicySet(
        identity=_policies(request, "PolicyInputList", PolicyKind.IDENTITY) or (),
        resource=_resource_policy(request.get("ResourcePolicy")),
        boundary=_policies(request, "PermissionsBoundaryPolicyInputList", PolicyKind.BOUNDARY),
        session=_policies(request, "SessionPolicyList", PolicyKind.SESSION),
        scp_levels=_scp_levels(request.get("ServiceControlPolicyLevels")),
    )
    requests = tuple(
        Request(caller, action, resource, context, resource_account=owner)
        for action in actions
        for resource in resources
    )
    return Simulation(policy_set, requests)


def simulate(request: Mapping[str, Any], *, explain: bool = False) -> dict[str, Any]:
    """Answer one request: one result per action x resource, in that order."""
    simulation = read_simulation(request)
    results = []
    for query in simulation.requests:
        evaluation = evaluate(simulation.policy_set, query, explain=True)
        result: dict[str, Any] = {
            "EvalActionName": query.action,
            "EvalResourceName": query.resource,
            "EvalDecision": evaluation.decision.value,
            "MatchedStatements": [ref_json(ref) for ref in evaluation.determining],
            "MissingContextValues": list(evaluation.missing_context),
        }
        if explain:
            result["Explanation"] = explanation_json(evaluation)
        results.append(result)
    return {"EvaluationResults": results}


def simulate_many(items: Sequence[Any], *, explain: bool = False) -> list[dict[str, Any]]:
    """Answer every request; a malformed one gets an error entry and the others are still answered."""
    answers: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            answers.append(simulate(item, explain=explain))
        except SimulationInputError as error:
            answers.append({"Error": {"Index": index, "Path": error.path, "Message": error.message}})
    return answers


def _string_list(request: Mapping[str, Any], name: str, *, required: bool) -> list[str]:
    raw = request.get(name)
    if raw is None:
        if required:
            raise SimulationInputError(name, "is required: a list of strings")
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise SimulationInputError(name, "must be a list of strings")
    for position, item in enumerate(raw):
        if not isinstance(item, str) or not item:
            raise SimulationInputError(f"{name}[{position}]", "must be a non-empty string")
    if required and not raw:
        raise SimulationInputError(name, "must not be empty")
    return raw


def _caller(request: Mapping[str, Any]) -> Principal:
    raw = request.get("CallerArn")
    if raw is None:
        return Principal.parse("arn:aws:iam::000000000000:user/simulated-caller")
    if not isinstance(raw, str):
        raise SimulationInputError("CallerArn", "must be a string")
    try:
        return Principal.parse(raw)
    except RequestError as error:
        raise SimulationInputError("CallerArn", error.detail) from None


def _owner(raw: Any) -> str | None:
    """The account owning the simulated resources: ResourceOwner, else the caller's account."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise SimulationInputError("ResourceOwner", "must be an account id or arn:aws:iam::ACCOUNT:root")
    if raw.isdigit() and len(raw) == 12:
        return raw
    parts = raw.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    raise SimulationInputError("ResourceOwner", f"{raw!r} is not an account id or arn:aws:iam::ACCOUNT:root")


def _context_entries(raw: Any) -> list[ContextValue]:
    if not isinstance(raw, list):
        raise SimulationInputError("ContextEntries", "must be a list of context entries")
    entries = []
    for position, entry in enumerate(raw):
        path = f"ContextEntries[{position}]"
        if not isinstance(entry, Mapping):
            raise SimulationInputError(
                path, "must be an object with ContextKeyName, ContextKeyValues, ContextKeyType"
            )
        name = entry.get("ContextKeyName")
        if not isinstance(name, str) or not name:
            raise SimulationInputError(f"{path}.ContextKeyName", "must be a non-empty string")
        kind = entry.get("ContextKeyType", "string")
        if kind not in CONTEXT_TYPES:
            raise SimulationInputError(
                f"{path}.ContextKeyType", f"{kind!r} is not one of {', '.join(CONTEXT_TYPES)}"
            )
        values = entry.get("ContextKeyValues", [])
        if not isinstance(values, list):
            values = [values]
        texts = []
        reader = _TYPE_READERS.get(kind.removesuffix("List"))
        for index, value in enumerate(values):
            where = f"{path}.ContextKeyValues[{index}]"
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str | int | float):
                text = value if isinstance(value, str) else json.dumps(value)
            else:
                raise SimulationInputError(where, "must be a string")
            if reader is not None:
                read, expected = reader
                if read(text) is None:
                    message = f"{json.dumps(text)} is not {expected} (ContextKeyType {kind})"
                    raise SimulationInputError(where, message)
            texts.append(text)
        # A scalar type given several values is read as the list type: a set of values.
        entries.append(ContextValue(name, tuple(texts), multi=kind.endswith("List") or len(texts) > 1))
    return entries


def _document(raw: Any, path: str, policy_id: str, kind: PolicyKind) -> CompiledPolicy:
    if not isinstance(raw, str | Mapping):
        raise SimulationInputError(path, "must be a policy document (a JSON object or a JSON string)")
    try:
        document = parse_policy(raw)
    except PolicyParseError as error:
        first = error.problems[0]
        where = f"{path}.{first.path}" if first.path else path
        others = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise SimulationInputError(where, first.message + others) from None
    return compile_policy(document, policy_id=policy_id, kind=kind)


def _policies(request: Mapping[str, Any], name: str, kind: PolicyKind) -> tuple[CompiledPolicy, ...] | None:
    raw = request.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise SimulationInputError(name, "must be a list of policy documents")
    return tuple(_document(doc, f"{name}[{i}]", f"{name}.{i + 1}", kind) for i, doc in enumerate(raw))


def _resource_policy(raw: Any) -> CompiledPolicy | None:
    if raw is None:
        return None
    return _document(raw, "ResourcePolicy", "ResourcePolicy", PolicyKind.RESOURCE)


def _scp_levels(raw: Any) -> tuple[tuple[CompiledPolicy, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SimulationInputError(
            "ServiceControlPolicyLevels", "must be a list of levels (lists of documents)"
        )
    levels = []
    for level, docs in enumerate(raw):
        if not isinstance(docs, list):
            raise SimulationInputError(
                f"ServiceControlPolicyLevels[{level}]", "must be a list of policy documents"
            )
        levels.append(
            tuple(
                _document(
                    doc,
                    f"ServiceControlPolicyLevels[{level}][{i}]",
                    f"ServiceControlPolicyLevels.{level + 1}.{i + 1}",
                    PolicyKind.SCP,
                )
                for i, doc in enumerate(docs)
            )
        )
    return tuple(levels)
