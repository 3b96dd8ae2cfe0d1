"""Between the wire and the engine: proto requests -> queries, outcomes -> proto responses.

Everything here is pure and allocation-light; it is the only place that knows both the generated
API and the engine's types. Malformed input raises ``RequestError`` naming the field, which the
servicer turns into INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue
from iamgate.engine.result import (
    ConditionTrace,
    Decision,
    PolicyKind,
    PolicyTrace,
    StatementRef,
    StatementTrace,
)
from iamgate.service import limits
from iamgate.service.config import ServiceConfig
from iamgate.service.redact import redact
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

DECISIONS: dict[Decision, int] = {
    Decision.ALLOWED: pb.DECISION_ALLOWED,
    Decision.EXPLICIT_DENY: pb.DECISION_EXPLICIT_DENY,
    Decision.IMPLICIT_DENY: pb.DECISION_IMPLICIT_DENY,
}

POLICY_TYPES: dict[PolicyKind, int] = {
    PolicyKind.SCP: pb.POLICY_TYPE_SERVICE_CONTROL,
    PolicyKind.RESOURCE: pb.POLICY_TYPE_RESOURCE,
    PolicyKind.IDENTITY: pb.POLICY_TYPE_IDENTITY,
    PolicyKind.BOUNDARY: pb.POLICY_TYPE_PERMISSIONS_BOUNDARY,
    PolicyKind.SESSION: pb.POLICY_TYPE_SESSION,
}

CONTEXT_KEY_TYPES: dict[int, str] = {
    pb.CONTEXT_KEY_TYPE_STRING: "string",
    pb.CONTEXT_KEY_TYPE_STRING_LIST: "stringList",
    pb.CONTEXT_KEY_TYPE_NUMERIC: "numeric",
    pb.CONTEXT_KEY_TYPE_NUMERIC_LIST: "numericList",
    pb.CONTEXT_KEY_TYPE_BOOLEAN: "boolean",
    pb.CONTEXT_KEY_TYPE_BOOLEAN_LIST: "booleanList",
    pb.CONTEXT_KEY_TYPE_IP: "ip",
    pb.CONTEXT_KEY_TYPE_IP_LIST: "ipList",
    pb.CONTEXT_KEY_TYPE_BINARY: "binary",
    pb.CONTEXT_KEY_TYPE_BINARY_LIST: "binaryList",
    pb.CONTEXT_KEY_TYPE_DATE: "date",
    pb.CONTEXT_KEY_TYPE_DATE_LIST: "dateList",
}

_ELEMENT = {
    True: pb.ELEMENT_MATCH_MATCHED,
    False: pb.ELEMENT_MATCH_NOT_MATCHED,
    None: pb.ELEMENT_MATCH_NOT_EVALUATED,
}
_EFFECTS = {"allow": pb.EFFECT_ALLOW, "deny": pb.EFFECT_DENY}


# --- requests ---------------------------------------------------------------------------------


def _number_text(value: float, field: str) -> str:
    if not math.isfinite(value):
        raise RequestError(field, f"{value!r} is not a finite number")
    return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)


def _date_text(value: Any, field: str) -> str:
    try:
        moment = datetime.fromtimestamp(value.seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise RequestError(field, "timestamp is out of range") from None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if value.nanos:
        text += f".{value.nanos:09d}".rstrip("0")
    return text + "Z"


def value_text(value: pb.ContextValue, field: str) -> str:
    """One typed proto value in the string form IAM compares."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "number_value":
        return _number_text(value.number_value, field)
    if kind == "ip_value":
        return value.ip_value
    if kind == "date_text":
        return value.date_text
    if kind == "date_value":
        return _date_text(value.date_value, field)
    if kind == "binary_value":
        return base64.b64encode(value.binary_value).decode("ascii")
    raise RequestError(
        field,
        "no value type set (set one of string_value, number_value, bool_value, date_value, "
        "date_text, ip_value, binary_value)",
    )


def context_values(entries: Sequence[pb.ContextEntry], field: str = "context") -> tuple[ContextValue, ...]:
    """A request's context entries as the engine's values; ``RequestError`` naming the entry or
    value at fault (``context[2].values[0]``).

    Converted without naming anything first (no path is formatted per value: that cost more
    than the conversion); only a refused context is converted again, the paths named, by
    ``_named_context_values``, which gives the error."""
    try:
        if len(entries) == 1:  # the usual case; a protobuf container is slower to iterate than to index
            return (_context_value(entries[0]),)
        return tuple([_context_value(entry) for entry in entries])
    except RequestError:
        return _named_context_values(entries, field)


def counted_context_values(
    entries: Sequence[pb.ContextEntry], most_entries: int, most_values: int
) -> tuple[ContextValue, ...] | None:
    """``context_values(entries)`` of a request (or batch item) known to be within
    ``max_request_bytes`` and without a session policy, when ``limits.check_access_request``
    would pass it: at most ``most_entries`` entries (``max_context_entries``) holding at most
    ``most_values`` values (``max_context_values``); ``None`` when a count is over its limit or
    an entry is refused (the ordinary path then refuses it, naming the field).

    ``check_access_request`` only counts the values of a request large enough to hold more than
    the limit; counting them here, where each entry is read anyway, gives its verdict without
    measuring the request. The usual context, one key with one string, is converted inline.
    """
    count = len(entries)
    if count > most_entries:
        return None
    if count == 1 and most_values >= 1:
        entry = entries[0]
        items = entry.values
        if len(items) == 1:
            text = items[0].string_value
            key = entry.key
            if text and key:  # a non-empty string_value is the oneof's member: as _context_value takes it
                return (ContextValue(key, (text,), entry.multi_valued),)
    values = 0
    for entry in entries:
        values += len(entry.values)
    if values > most_values:
        return None
    try:
        return context_values(entries)
    except RequestError:
        return None


def _context_value(entry: pb.ContextEntry) -> ContextValue:
    """One entry, as ``_named_context_values`` converts it (a ``RequestError`` names nothing)."""
    key = entry.key
    if not key:
        raise RequestError("", "must not be empty")
    items = entry.values
    if len(items) == 1:
        values: tuple[str, ...] = (value_text(items[0], ""),)
    else:
        values = tuple([value_text(value, "") for value in items])
    multi = entry.multi_valued or len(values) > 1
    if not values and not multi:
        raise RequestError("", "no value")
    return ContextValue(key, values, multi)


def _named_context_values(entries: Sequence[pb.ContextEntry], field: str) -> tuple[ContextValue, ...]:
    result = []
    for i, entry in enumerate(entries):
        if not entry.key:
            raise RequestError(f"{field}[{i}].key", "must not be empty")
        values = tuple(value_text(v, f"{field}[{i}].values[{j}]") for j, v in enumerate(entry.values))
        multi = entry.multi_valued or len(values) > 1
        if not values and not multi:
            raise RequestError(
                f"{field}[{i}].values",
                f"key {entry.key!r} has no value (set multi_valued for an empty set)",
            )
        result.append(ContextValue(entry.key, values, multi))
    return tuple(result)


def check_target(action: str, resource: str, prefix: str = "") -> None:
    """The action and resource fields of a request (or of an AuthorizeMany item) are usable."""
    if not action:
        raise RequestError(f"{prefix}action", "must not be empty")
    if ":" not in action:
        raise RequestError(f"{prefix}action", f"{action!r} is not SERVICE:ACTION (e.g. s3:GetObject)")
    if not resource:
        raise RequestError(f"{prefix}resource", 'must not be empty (use "*" for actions without a resource)')


def shared_query(request: pb.AuthorizeManyRequest) -> AccessQuery:
    """An AuthorizeMany request's shared part, converted once (its action and resource empty)."""
    if not request.principal:
        raise RequestError("principal", "must not be empty")
    return AccessQuery(
        principal=request.principal,
        action="",
        resource="",
        context=context_values(request.context) if request.context else (),
        session_policy=request.session_policy or None,
        session_tags=tuple((tag.key, tag.value) for tag in request.session_tags),
    )


def item_query(shared: AccessQuery, item: pb.ActionOnResource, prefix: str = "") -> AccessQuery:
    """One AuthorizeMany item: the shared principal and context, this action and resource."""
    action, resource = item.action, item.resource
    check_target(action, resource, prefix)
    return _query(
        shared.principal,
        action,
        resource,
        shared.context,
        shared.session_policy,
        item.request_id,
        shared.session_tags,
    )


def access_query(
    request: pb.AuthorizeRequest | pb.ExplainRequest, prefix: str = "", config: ServiceConfig | None = None
) -> AccessQuery:
    """The bundle's query for an Authorize or Explain request (their fields are the same).

    With ``config``, the request's limits are checked first (``limits.check_access_request``;
    ``limits.LimitExceeded`` before any ``RequestError``, as the servicer answers them).

    Every batch item passes here, so each field is read once and the query is built
    positionally. The usual request — a principal, a SERVICE:ACTION, a
    resource, no context, session policy or tags — returns at once: its only limit is its
    size (``limits.check_request_size``) and it needs no conversion."""
    principal, action, resource = request.principal, request.action, request.resource
    context, tags, policy = request.context, request.session_tags, request.session_policy
    if principal and resource and ":" in action and not context and not policy and not tags:
        if config is not None:
            limits.check_request_size(request, config, prefix)
        return _query(principal, action, resource, (), None, request.request_id, ())
    if config is not None:
        limits.check_access_request(request, config, prefix)
    if not principal:
        raise RequestError(f"{prefix}principal", "must not be empty")
    if not action or ":" not in action or not resource:
        check_target(action, resource, prefix)
    return _query(
        principal,
        action,
        resource,
        context_values(context, f"{prefix}context") if context else (),
        policy or None,
        request.request_id,
        tuple([(tag.key, tag.value) for tag in tags]) if tags else (),
    )


_query = AccessQuery
"""Positional: ``AccessQuery``'s own ``__init__`` sets its slots through their descriptors
(``iamgate.bundle.query``), so the service needs no constructor of its own."""


# --- responses --------------------------------------------------------------------------------


def statement_ref(ref: StatementRef) -> pb.StatementRef:
    return pb.StatementRef(
        policy_id=ref.policy_id,
        policy_type=POLICY_TYPES.get(ref.kind, pb.POLICY_TYPE_UNSPECIFIED),
        sid=ref.sid or "",
        index=ref.index,
    )


def authorize_response(outcome: AccessOutcome, decision_id: str, request_id: str) -> pb.AuthorizeResponse:
    evaluation = outcome.evaluation
    denied_by = evaluation.denied_by
    return pb.AuthorizeResponse(
        decision=DECISIONS[evaluation.decision],
        revision=outcome.revision,
        decision_id=decision_id,
        determining_statements=[statement_ref(ref) for ref in evaluation.determining],
        message=outcome.message,
        filled_context_keys=outcome.filled_context,
        missing_context_keys=evaluation.missing_context,
        principal_arn=outcome.principal_arn,
        request_id=request_id,
        denied_by=(
            POLICY_TYPES[denied_by]
            if denied_by is not None and evaluation.decision is not Decision.ALLOWED
            else pb.POLICY_TYPE_UNSPECIFIED
        ),
    )


def _ref_fields(ref: StatementRef) -> dict[str, Any]:
    return {
        "policy_id": ref.policy_id,
        "policy_type": POLICY_TYPES.get(ref.kind, pb.POLICY_TYPE_UNSPECIFIED),
        "sid": ref.sid or "",
        "index": ref.index,
    }


def authorize_fields(outcome: AccessOutcome, decision_id: str, request_id: str) -> dict[str, Any]:
    """``authorize_response`` as a mapping: a batch builds its whole answer from these in one call.

    protobuf copies a message set into another (``AuthorizeBatchResult(response=...)``), but
    builds nested messages from mappings in C: this is what makes a batch item cost a few
    microseconds rather than ten. Same fields, same values as ``authorize_response``.
    """
    evaluation = outcome.evaluation
    denied_by = evaluation.denied_by
    fields: dict[str, Any] = {
        "decision": DECISIONS[evaluation.decision],
        "revision": outcome.revision,
        "decision_id": decision_id,
        "message": outcome.message,
        "principal_arn": outcome.principal_arn,
    }
    if evaluation.determining:
        fields["determining_statements"] = [_ref_fields(ref) for ref in evaluation.determining]
    if outcome.filled_context:
        fields["filled_context_keys"] = outcome.filled_context
    if evaluation.missing_context:
        fields["missing_context_keys"] = evaluation.missing_context
    if request_id:
        fields["request_id"] = request_id
    if denied_by is not None and evaluation.decision is not Decision.ALLOWED:
        fields["denied_by"] = POLICY_TYPES[denied_by]
    return fields


def _condition(trace: ConditionTrace) -> pb.ConditionTrace:
    present = trace.request_values is not None
    return pb.ConditionTrace(
        operator=trace.operator,
        key=trace.key,
        policy_values=trace.policy_values,
        request_values=trace.request_values or (),
        key_present=present,
        matched=trace.matched,
        note=trace.note,
    )


def _statement(trace: StatementTrace) -> pb.StatementTrace:
    return pb.StatementTrace(
        statement=statement_ref(trace.ref),
        effect=_EFFECTS.get(str(trace.effect).lower(), pb.EFFECT_UNSPECIFIED),
        action=_ELEMENT[trace.action_matched],
        resource=_ELEMENT[trace.resource_matched],
        principal=_ELEMENT[trace.principal_matched],
        conditions=[_condition(c) for c in trace.conditions],
        applies=trace.applies,
        note=trace.note,
    )


def policy_traces(traces: Iterable[PolicyTrace]) -> list[pb.PolicyTrace]:
    result = []
    for trace in traces:
        message = pb.PolicyTrace(
            policy_id=trace.policy_id,
            policy_type=POLICY_TYPES.get(trace.kind, pb.POLICY_TYPE_UNSPECIFIED),
            statements=[_statement(s) for s in trace.statements],
        )
        if trace.level is not None:
            message.scp_level = trace.level
        result.append(message)
    return result


# --- Simulate ---------------------------------------------------------------------------------


def simulate_input(request: pb.SimulateRequest) -> dict[str, Any]:
    """The SimulateRequest as the AWS-shaped mapping ``iamgate.engine.simulate`` reads."""
    entries = []
    for i, entry in enumerate(request.context_entries):
        kind = CONTEXT_KEY_TYPES.get(entry.context_key_type)
        if kind is None:
            raise RequestError(f"context_entries[{i}].context_key_type", "must be set")
        entries.append(
            {
                "ContextKeyName": entry.context_key_name,
                "ContextKeyValues": list(entry.context_key_values),
                "ContextKeyType": kind,
            }
        )
    data: dict[str, Any] = {
        "PolicyInputList": list(request.policy_input_list),
        "ActionNames": list(request.action_names),
        "ContextEntries": entries,
    }
    if request.permissions_boundary_policy_input_list:
        data["PermissionsBoundaryPolicyInputList"] = list(request.permissions_boundary_policy_input_list)
    if request.session_policy_list:
        data["SessionPolicyList"] = list(request.session_policy_list)
    if request.resource_arns:
        data["ResourceArns"] = list(request.resource_arns)
    if request.resource_policy:
        data["ResourcePolicy"] = request.resource_policy
    if request.resource_owner:
        data["ResourceOwner"] = request.resource_owner
    if request.caller_arn:
        data["CallerArn"] = request.caller_arn
    if request.service_control_policy_levels:
        data["ServiceControlPolicyLevels"] = [
            list(level.policies) for level in request.service_control_policy_levels
        ]
    return data


_DECISION_WORDS = {d.value.lower(): DECISIONS[d] for d in Decision}
_POLICY_TYPE_WORDS = {k.value: POLICY_TYPES[k] for k in PolicyKind}


def _policy_type_word(word: str) -> int:
    lowered = word.lower()
    if lowered in _POLICY_TYPE_WORDS:
        return _POLICY_TYPE_WORDS[lowered]
    for key, value in (
        ("control", pb.POLICY_TYPE_SERVICE_CONTROL),
        ("boundary", pb.POLICY_TYPE_PERMISSIONS_BOUNDARY),
        ("resource", pb.POLICY_TYPE_RESOURCE),
        ("session", pb.POLICY_TYPE_SESSION),
        ("iam", pb.POLICY_TYPE_IDENTITY),
        ("identity", pb.POLICY_TYPE_IDENTITY),
    ):
        if key in lowered:
            return value
    return pb.POLICY_TYPE_UNSPECIFIED


def simulate_response(result: Mapping[str, Any]) -> pb.SimulateResponse:
    """The engine's ``{"EvaluationResults": [...]}`` as a SimulateResponse."""
    evaluations = []
    for item in result.get("EvaluationResults", ()):
        evaluations.append(
            pb.EvaluationResult(
                eval_action_name=item.get("EvalActionName", ""),
                eval_resource_name=item.get("EvalResourceName", ""),
                eval_decision=_DECISION_WORDS.get(
                    str(item.get("EvalDecision", "")).lower(), pb.DECISION_IMPLICIT_DENY
                ),
                matched_statements=[
                    pb.StatementRef(
                        policy_id=str(s.get("SourcePolicyId", "")),
                        policy_type=_policy_type_word(str(s.get("SourcePolicyType", ""))),
                        sid=s.get("Sid") or "",
                        index=int(s.get("StatementIndex") or 0),
                    )
                    for s in item.get("MatchedStatements", ())
                ],
                missing_context_values=list(item.get("MissingContextValues", ())),
            )
        )
    return pb.SimulateResponse(evaluation_results=evaluations)


# --- GetStatus --------------------------------------------------------------------------------

MAX_DISAGREEMENTS = 100
"""At most this many recent shadow disagreements per GetStatus answer (each with two traces)."""


def bundle_info(snapshot: Any) -> pb.BundleInfo:
    """A snapshot, a ``RevisionInfo`` or a ``ShadowStatus`` (anything with name/revision/source)."""
    info = pb.BundleInfo(name=snapshot.name, revision=snapshot.revision, source=redact(str(snapshot.source)))
    activated = getattr(snapshot, "activated_at", None)
    if activated is not None:
        info.activated_at.FromDatetime(activated.astimezone(UTC))
    counts = getattr(snapshot, "counts", None)
    if counts is not None:
        info.counts.principals = int(getattr(counts, "principals", 0))
        info.counts.policies = int(getattr(counts, "policies", 0))
        info.counts.statements = int(getattr(counts, "statements", 0))
    return info


def load_error(error: Any) -> pb.LoadError:
    """A ``LoadError`` of the bundle layer (step, message, source, at)."""
    message = pb.LoadError(
        message=redact(str(error.message)), source=redact(str(error.source or "")), step=error.step or ""
    )
    if error.at is not None:
        message.occurred_at.FromDatetime(error.at.astimezone(UTC))
    return message


def explained(outcome: AccessOutcome) -> pb.ExplainResponse:
    """An outcome and its trace (when it has one) as Explain would answer it."""
    return pb.ExplainResponse(
        result=authorize_response(outcome, "", ""),
        policies=policy_traces(outcome.evaluation.trace or ()),
    )


def shadow_stats(shadow: Any, max_disagreements: int) -> pb.ShadowStats:
    """A ``ShadowStatus``: its counters and its ``max_disagreements`` most recent disagreements."""
    stats = pb.ShadowStats(
        evaluated=shadow.evaluated,
        agreed=shadow.agreed,
        disagreed=shadow.disagreed,
        errors=shadow.errors,
        last_error=shadow.last_error,
    )
    count = min(max(max_disagreements, 0), MAX_DISAGREEMENTS)
    for disagreement in shadow.recent[len(shadow.recent) - count :] if count else ():
        item = stats.recent.add(
            principal=disagreement.query.principal,
            action=disagreement.query.action,
            resource=disagreement.query.resource,
        )
        item.occurred_at.FromDatetime(disagreement.at.astimezone(UTC))
        item.active.CopyFrom(explained(disagreement.active))
        item.shadow.CopyFrom(explained(disagreement.shadow))
    access = getattr(shadow, "access", None)
    if access is not None:
        stats.access_diff.CopyFrom(access_verdict(access))
    return stats


MAX_VERDICT_PRINCIPALS = 100
"""Principals a shadow access verdict lists; the rest are counted in ``principals_omitted``."""


def access_verdict(verdict: Any) -> pb.ShadowAccessDiff:
    """The shadow's ``AccessVerdict`` (bundle/shadow_diff.py): totals and per-principal counts, bounded."""
    diff = verdict.diff
    message = pb.ShadowAccessDiff(
        state=verdict.state,
        active_revision=verdict.active_revision,
        error=verdict.error,
        truncated=diff.truncated if diff is not None else False,
        evaluations=diff.evaluations if diff is not None else 0,
        **verdict.totals(),
    )
    principals = verdict.by_principal()
    for changes in principals[:MAX_VERDICT_PRINCIPALS]:
        message.principals.add(
            principal=changes.principal,
            added=changes.added,
            removed=changes.removed,
            widened=changes.widened,
            narrowed=changes.narrowed,
        )
    message.principals_omitted = max(len(principals) - MAX_VERDICT_PRINCIPALS, 0)
    if verdict.computed_at is not None:
        message.computed_at.FromDatetime(verdict.computed_at.astimezone(UTC))
    return message


def status_response(
    status: Any, *, admin_enabled: bool, server_version: str, max_disagreements: int = 0
) -> pb.GetStatusResponse:
    """A ``BundleStatus`` of the bundle layer as the GetStatus answer."""
    response = pb.GetStatusResponse(
        admin_enabled=admin_enabled,
        server_version=server_version,
        activations=status.activations,
        rejections=status.rejections,
        persist_error=status.persist_error,
        trusted_context_keys=getattr(status, "trusted_context_keys", ()),
    )
    if status.active is not None:
        response.active.CopyFrom(bundle_info(status.active))
    if status.previous is not None:
        response.previous.CopyFrom(bundle_info(status.previous))
        response.previous_revision = status.previous.revision
    if status.last_error is not None:
        response.last_error.CopyFrom(load_error(status.last_error))
    if status.shadow is not None:
        response.shadow.CopyFrom(bundle_info(status.shadow))
        response.shadow_stats.CopyFrom(shadow_stats(status.shadow, max_disagreements))
    if status.shadow_error is not None:
        response.shadow_error.CopyFrom(load_error(status.shadow_error))
    return response
