"""What the engine answers: a decision, the statements that determined it, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Decision(StrEnum):
    """The three outcomes of IAM evaluation, in the vocabulary of SimulateCustomPolicy."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOWED


class PolicyKind(StrEnum):
    """Where a policy sits in AWS's evaluation flow chart."""

    SCP = "scp"
    RESOURCE = "resource"
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    SESSION = "session"

    @property
    def phrase(self) -> str:
        """How AWS's access-denied messages name a policy of this kind."""
        return _PHRASES[self]


_PHRASES = {
    PolicyKind.SCP: "service control policy",
    PolicyKind.RESOURCE: "resource-based policy",
    PolicyKind.IDENTITY: "identity-based policy",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SESSION: "session policy",
}


@dataclass(frozen=True, slots=True)
class StatementRef:
    """Points at one statement: the policy's id, its kind, the Sid (if any) and index."""

    policy_id: str
    kind: PolicyKind
    index: int
    sid: str | None = None

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"Statement[{self.index}]"

    def __str__(self) -> str:
        return f"{self.kind}:{self.policy_id}#{self.label}"


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    """How one condition clause evaluated: key, operator, the request's values, the outcome."""

    operator: str
    key: str
    policy_values: tuple[str, ...]
    request_values: tuple[str, ...] | None
    """``None`` when the request lacked the key."""
    matched: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class StatementTrace:
    """Whether one statement applied, element by element."""

    ref: StatementRef
    effect: str
    action_matched: bool
    resource_matched: bool | None
    principal_matched: bool | None
    conditions: tuple[ConditionTrace, ...]
    applies: bool
    note: str = ""

    @property
    def conditions_matched(self) -> bool:
        return all(c.matched for c in self.conditions)


@dataclass(frozen=True, slots=True)
class PolicyTrace:
    policy_id: str
    kind: PolicyKind
    statements: tuple[StatementTrace, ...]
    level: int | None = None
    """For SCPs, the organization level (0 = root)."""


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """The outcome of one evaluation.

    ``determining`` holds every matched Deny statement when the decision is an explicit deny and
    is empty for an implicit deny. When allowed it names the Allows that granted access: every
    applying Allow of the resource-based policy (they differ in how they name the caller) and, for
    each other policy type, the first applying Allow found (statements are visited in a stable
    order: by policy id, then statement index) — the rest need not be looked
    at, which keeps principals with thousands of statements fast. An explanation lists them all.
    ``denied_by`` names the policy kind responsible for a deny (for the AWS-style message).
    ``missing_context`` lists condition keys that statements asked for and the request lacked.
    ``trace`` is filled only when an explanation was asked for.
    """

    decision: Decision
    determining: tuple[StatementRef, ...] = ()
    denied_by: PolicyKind | None = None
    missing_context: tuple[str, ...] = ()
    trace: tuple[PolicyTrace, ...] | None = field(default=None, compare=False)

    def __eq__(self, other: object) -> bool:
        """The dataclass's equality (every field but ``trace``), field by field: the generated
        one builds two tuples (~120 ns), and the uncached route paths compare each new
        evaluation with the kept one (``Snapshot.uncached_on_route``)."""
        if other.__class__ is not Evaluation:
            return NotImplemented
        return (
            self.decision is other.decision  # type: ignore[attr-defined]
            and self.denied_by is other.denied_by  # type: ignore[attr-defined]
            and self.determining == other.determining  # type: ignore[attr-defined]
            and self.missing_context == other.missing_context  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((self.decision, self.determining, self.denied_by, self.missing_context))

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED


def access_message(principal_arn: str, action: str, resource: str, evaluation: Evaluation) -> str:
    """AWS's wording of a decision, e.g. '... because no identity-based policy allows ...'."""
    if evaluation.decision is Decision.ALLOWED:
        return f"{principal_arn} is authorized to perform: {action} on resource: {resource}"
    who = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    kind = evaluation.denied_by or PolicyKind.IDENTITY
    if evaluation.decision is Decision.EXPLICIT_DENY:
        article = "an" if kind.phrase[0] in "aeiou" else "a"
        return f"{who} with an explicit deny in {article} {kind.phrase}"
    if kind is PolicyKind.BOUNDARY:
        return f"{who} because no permissions boundary allows the {action} action"
    return f"{who} because no {kind.phrase} allows the {action} action"
