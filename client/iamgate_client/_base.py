"""I/O-free work both clients share: build request messages, read replies, apply defaults.

Keeping this apart from the transports means the sync and async clients differ only in how they
wait, and everything here is testable without a channel.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from iamgate_client._errors import InvalidRequestError, error_for_number
from iamgate_client._models import (
    AccessAnswer,
    AccessGrant,
    BundleInfo,
    Check,
    ConditionTrace,
    ContextInput,
    DateText,
    Decision,
    EvaluationResult,
    Explanation,
    Ip,
    Outcome,
    PolicyTrace,
    PolicyType,
    PrincipalAccessChanges,
    ShadowAccessDiff,
    ShadowDisagreement,
    ShadowStats,
    SimulateContextEntry,
    StatementRef,
    StatementTrace,
    Status,
)
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

DEFAULT_TIMEOUT = 5.0

T = TypeVar("T")

OUTCOMES: dict[int, Outcome] = {
    pb.DECISION_ALLOWED: Outcome.ALLOWED,
    pb.DECISION_EXPLICIT_DENY: Outcome.EXPLICIT_DENY,
    pb.DECISION_IMPLICIT_DENY: Outcome.IMPLICIT_DENY,
}

POLICY_TYPES: dict[int, PolicyType] = {
    pb.POLICY_TYPE_SERVICE_CONTROL: PolicyType.SERVICE_CONTROL,
    pb.POLICY_TYPE_RESOURCE: PolicyType.RESOURCE,
    pb.POLICY_TYPE_IDENTITY: PolicyType.IDENTITY,
    pb.POLICY_TYPE_PERMISSIONS_BOUNDARY: PolicyType.PERMISSIONS_BOUNDARY,
    pb.POLICY_TYPE_SESSION: PolicyType.SESSION,
}

CONTEXT_KEY_TYPES: dict[str, int] = {
    "string": pb.CONTEXT_KEY_TYPE_STRING,
    "stringlist": pb.CONTEXT_KEY_TYPE_STRING_LIST,
    "numeric": pb.CONTEXT_KEY_TYPE_NUMERIC,
    "numericlist": pb.CONTEXT_KEY_TYPE_NUMERIC_LIST,
    "boolean": pb.CONTEXT_KEY_TYPE_BOOLEAN,
    "booleanlist": pb.CONTEXT_KEY_TYPE_BOOLEAN_LIST,
    "ip": pb.CONTEXT_KEY_TYPE_IP,
    "iplist": pb.CONTEXT_KEY_TYPE_IP_LIST,
    "binary": pb.CONTEXT_KEY_TYPE_BINARY,
    "binarylist": pb.CONTEXT_KEY_TYPE_BINARY_LIST,
    "date": pb.CONTEXT_KEY_TYPE_DATE,
    "datelist": pb.CONTEXT_KEY_TYPE_DATE_LIST,
}

_ELEMENT: dict[int, bool | None] = {
    pb.ELEMENT_MATCH_MATCHED: True,
    pb.ELEMENT_MATCH_NOT_MATCHED: False,
}


# --- building requests ----------------------------------------------------------------------


def checked(build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Build a request; a value the wire cannot carry is an :class:`InvalidRequestError`, not a
    bare TypeError/ValueError, and nothing is sent."""
    try:
        return build(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(
            f"INVALID_ARGUMENT: {error}", code="INVALID_ARGUMENT", details=str(error)
        ) from None


def context_value(value: Any, *, key: str) -> pb.ContextValue:
    """One typed value; the Python type chooses the proto member (``bool`` before ``int``)."""
    if isinstance(value, bool):
        return pb.ContextValue(bool_value=value)
    if isinstance(value, str):
        return pb.ContextValue(string_value=value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"context {key!r}: {value!r} is not a finite number")
        return pb.ContextValue(number_value=float(value))
    if isinstance(value, datetime):
        stamp = pb.ContextValue()
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        stamp.date_value.FromDatetime(aware.astimezone(UTC))
        return stamp
    if isinstance(value, bytes | bytearray):
        return pb.ContextValue(binary_value=bytes(value))
    if isinstance(value, Ip):
        return pb.ContextValue(ip_value=value.address)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return pb.ContextValue(ip_value=str(value))
    if isinstance(value, DateText):
        return pb.ContextValue(date_text=value.text)
    raise TypeError(f"context {key!r}: unsupported value type {type(value).__name__}")


def context_entries(context: ContextInput | None) -> list[pb.ContextEntry]:
    """Mapping -> entries; a list, tuple or set value makes a multi-valued key."""
    if not context:
        return []
    entries = []
    for key, raw in context.items():
        if isinstance(raw, list | tuple | set | frozenset):
            values = [context_value(v, key=key) for v in raw]
            entries.append(pb.ContextEntry(key=key, values=values, multi_valued=True))
        else:
            entries.append(pb.ContextEntry(key=key, values=[context_value(raw, key=key)]))
    return entries


def policy_text(policy: str | Mapping[str, Any] | None) -> str:
    """A policy document as JSON text (documents may be given as dicts)."""
    if policy is None:
        return ""
    return policy if isinstance(policy, str) else json.dumps(policy, separators=(",", ":"))


def authorize_request(check: Check) -> pb.AuthorizeRequest:
    return pb.AuthorizeRequest(
        principal=check.principal,
        action=check.action,
        resource=check.resource,
        context=context_entries(check.context),
        session_policy=policy_text(check.session_policy),
        request_id=check.request_id,
        session_tags=[pb.SessionTag(key=k, value=v) for k, v in (check.session_tags or {}).items()],
    )


def explain_request(check: Check) -> pb.ExplainRequest:
    # The two messages are wire-compatible by design.
    return pb.ExplainRequest.FromString(authorize_request(check).SerializeToString())


def simulate_request(
    policies: Sequence[str | Mapping[str, Any]],
    actions: Sequence[str],
    resources: Sequence[str] = (),
    *,
    caller_arn: str = "",
    resource_policy: str | Mapping[str, Any] | None = None,
    resource_owner: str = "",
    permissions_boundaries: Sequence[str | Mapping[str, Any]] = (),
    context: Iterable[SimulateContextEntry] = (),
    scp_levels: Sequence[Sequence[str | Mapping[str, Any]]] = (),
    session_policies: Sequence[str | Mapping[str, Any]] = (),
) -> pb.SimulateRequest:
    entries = []
    for entry in context:
        kind = CONTEXT_KEY_TYPES.get(entry.type.lower())
        if kind is None:
            raise ValueError(f"context {entry.name!r}: unknown ContextKeyType {entry.type!r}")
        entries.append(
            pb.SimulateContextEntry(
                context_key_name=entry.name, context_key_values=list(entry.values), context_key_type=kind
            )
        )
    return pb.SimulateRequest(
        policy_input_list=[policy_text(p) for p in policies],
        permissions_boundary_policy_input_list=[policy_text(p) for p in permissions_boundaries],
        action_names=list(actions),
        resource_arns=list(resources),
        resource_policy=policy_text(resource_policy),
        resource_owner=resource_owner,
        caller_arn=caller_arn,
        context_entries=entries,
        session_policy_list=[policy_text(p) for p in session_policies],
        service_control_policy_levels=[
            pb.PolicyLevel(policies=[policy_text(p) for p in level]) for level in scp_levels
        ],
    )


# --- reading replies -------------------------------------------------------------------------


def outcome(value: int) -> Outcome:
    # Anything unknown (including UNSPECIFIED from a newer or broken server) reads as a deny.
    return OUTCOMES.get(value, Outcome.IMPLICIT_DENY)


def statement_ref(ref: pb.StatementRef) -> StatementRef:
    return StatementRef(
        policy_id=ref.policy_id,
        policy_type=POLICY_TYPES.get(ref.policy_type, PolicyType.UNSPECIFIED),
        sid=ref.sid,
        index=ref.index,
    )


def decision(response: pb.AuthorizeResponse) -> Decision:
    return Decision(
        outcome=outcome(response.decision),
        message=response.message,
        revision=response.revision,
        decision_id=response.decision_id,
        principal_arn=response.principal_arn,
        request_id=response.request_id,
        determining=tuple(statement_ref(r) for r in response.determining_statements),
        filled_context_keys=tuple(response.filled_context_keys),
        missing_context_keys=tuple(response.missing_context_keys),
        denied_by=POLICY_TYPES.get(response.denied_by, PolicyType.UNSPECIFIED),
        hints=tuple(response.hints),
    )


def batch_results(response: pb.AuthorizeBatchResponse) -> list[Decision | Exception]:
    results: list[Decision | Exception] = []
    for item in response.results:
        if item.HasField("response"):
            results.append(decision(item.response))
        else:
            results.append(error_for_number(item.error.code, item.error.message))
    return results


def explanation(response: pb.ExplainResponse) -> Explanation:
    policies = tuple(
        PolicyTrace(
            policy_id=p.policy_id,
            policy_type=POLICY_TYPES.get(p.policy_type, PolicyType.UNSPECIFIED),
            statements=tuple(
                StatementTrace(
                    statement=statement_ref(s.statement),
                    effect={pb.EFFECT_ALLOW: "Allow", pb.EFFECT_DENY: "Deny"}.get(s.effect, ""),
                    action=_ELEMENT.get(s.action),
                    resource=_ELEMENT.get(s.resource),
                    principal=_ELEMENT.get(s.principal),
                    conditions=tuple(
                        ConditionTrace(
                            operator=c.operator,
                            key=c.key,
                            policy_values=tuple(c.policy_values),
                            request_values=tuple(c.request_values) if c.key_present else None,
                            matched=c.matched,
                            note=c.note,
                        )
                        for c in s.conditions
                    ),
                    applies=s.applies,
                    note=s.note,
                )
                for s in p.statements
            ),
            scp_level=p.scp_level if p.HasField("scp_level") else None,
        )
        for p in response.policies
    )
    return Explanation(decision=decision(response.result), policies=policies, trace_id=response.trace_id)


def evaluation_results(response: pb.SimulateResponse) -> list[EvaluationResult]:
    return [
        EvaluationResult(
            action=r.eval_action_name,
            resource=r.eval_resource_name,
            outcome=outcome(r.eval_decision),
            matched_statements=tuple(statement_ref(s) for s in r.matched_statements),
            missing_context_values=tuple(r.missing_context_values),
        )
        for r in response.evaluation_results
    ]


def _bundle(info: pb.BundleInfo) -> BundleInfo:
    return BundleInfo(
        name=info.name,
        revision=info.revision,
        source=info.source,
        activated_at=info.activated_at.ToDatetime(UTC) if info.HasField("activated_at") else None,
        principals=info.counts.principals,
        policies=info.counts.policies,
        statements=info.counts.statements,
    )


def _timestamp(message: Any, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(UTC) if message.HasField(field) else None


def _shadow_stats(stats: pb.ShadowStats) -> ShadowStats:
    return ShadowStats(
        evaluated=stats.evaluated,
        agreed=stats.agreed,
        disagreed=stats.disagreed,
        errors=stats.errors,
        last_error=stats.last_error,
        recent=tuple(
            ShadowDisagreement(
                principal=d.principal,
                action=d.action,
                resource=d.resource,
                occurred_at=_timestamp(d, "occurred_at"),
                active=explanation(d.active),
                shadow=explanation(d.shadow),
            )
            for d in stats.recent
        ),
        access_diff=_access_diff(stats.access_diff) if stats.HasField("access_diff") else None,
    )


def _access_diff(diff: pb.ShadowAccessDiff) -> ShadowAccessDiff:
    return ShadowAccessDiff(
        state=diff.state,
        active_revision=diff.active_revision,
        added=diff.added,
        removed=diff.removed,
        widened=diff.widened,
        narrowed=diff.narrowed,
        principals=tuple(
            PrincipalAccessChanges(p.principal, p.added, p.removed, p.widened, p.narrowed)
            for p in diff.principals
        ),
        principals_omitted=diff.principals_omitted,
        truncated=diff.truncated,
        evaluations=diff.evaluations,
        error=diff.error,
        computed_at=_timestamp(diff, "computed_at"),
    )


def status(response: pb.GetStatusResponse) -> Status:
    error = response.last_error if response.HasField("last_error") else None
    shadow_error = response.shadow_error if response.HasField("shadow_error") else None
    return Status(
        active=_bundle(response.active) if response.HasField("active") else None,
        previous_revision=response.previous_revision,
        last_error=error.message if error else "",
        last_error_at=_timestamp(error, "occurred_at") if error is not None else None,
        shadow=_bundle(response.shadow) if response.HasField("shadow") else None,
        admin_enabled=response.admin_enabled,
        server_version=response.server_version,
        previous=_bundle(response.previous) if response.HasField("previous") else None,
        last_error_step=error.step if error else "",
        last_error_source=error.source if error else "",
        shadow_stats=_shadow_stats(response.shadow_stats) if response.HasField("shadow_stats") else None,
        shadow_error=shadow_error.message if shadow_error else "",
        shadow_error_step=shadow_error.step if shadow_error else "",
        activations=response.activations,
        rejections=response.rejections,
        persist_error=response.persist_error,
        trusted_context_keys=tuple(response.trusted_context_keys),
        catalogue_version=response.catalogue_version,
        access_queries_enabled=response.access_queries_enabled,
        worker_index=response.worker.index,
        worker_count=response.worker.count,
        worker_pid=response.worker.pid,
    )


def access_grant(grant: pb.AccessGrant) -> AccessGrant:
    return AccessGrant(
        principal=grant.principal,
        action=grant.action,
        resource=grant.resource,
        conditional=grant.status == pb.ACCESS_STATUS_CONDITIONAL,
        statements=tuple(grant.statements),
        conditions=tuple(grant.conditions),
    )


def access_answer(pages: list[Any]) -> AccessAnswer:
    """The pages of one WhoCan/WhatCan answer joined (the sidecar keeps them on one revision)."""
    last = pages[-1]
    return AccessAnswer(
        revision=last.revision,
        grants=tuple(access_grant(grant) for page in pages for grant in page.grants),
        truncated=last.truncated,
        evaluations=last.evaluations,
        notes=tuple(last.notes),
    )
