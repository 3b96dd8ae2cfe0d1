"""What the decision logs say was used: per principal and action, and per Allow statement of a bundle.

Like IAM's Access Advisor (last-accessed information), but from the sidecar's own decisions: for
each principal the actions allowed (how often, first and last), the denied attempts, and, given
the bundle, the services its identity policies grant that were never used, and the bundle's Allow
statements that never decided anything. Memory is bounded by ``ReportLimits.max_entries``:
principals and (principal, action) pairs beyond it are counted, not tracked, and the report says
it is partial. Statement use is tracked only for statements the bundle holds, so a log cannot grow
it.

Role sessions are reported under their role (as Access Advisor does): a session has its role's rights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from iamgate.bundle.access_report.logs import LoggedDecision, LogProblem
from iamgate.bundle.snapshot import PrincipalEntry, Snapshot
from iamgate.engine.compiled import CompiledPolicy, CompiledStatement
from iamgate.engine.result import PolicyKind

DEFAULT_MAX_ENTRIES = 100_000
MAX_PROBLEMS_SHOWN = 20
MAX_REVISIONS_SHOWN = 32


@dataclass
class ActionUse:
    """One principal's decisions on one action (an accumulator)."""

    action: str
    allowed: int = 0
    first_allowed: datetime | None = None
    last_allowed: datetime | None = None
    explicit_denied: int = 0
    implicit_denied: int = 0
    last_denied: datetime | None = None

    @property
    def service(self) -> str:
        return self.action.partition(":")[0].lower()

    @property
    def denied(self) -> int:
        return self.explicit_denied + self.implicit_denied

    def add(self, decision: LoggedDecision) -> None:
        moment = decision.timestamp
        if decision.allowed:
            self.allowed += 1
            self.first_allowed = moment if self.first_allowed is None else min(self.first_allowed, moment)
            self.last_allowed = moment if self.last_allowed is None else max(self.last_allowed, moment)
            return
        if decision.decision == "explicitDeny":
            self.explicit_denied += 1
        else:
            self.implicit_denied += 1
        self.last_denied = moment if self.last_denied is None else max(self.last_denied, moment)


@dataclass
class PrincipalUse:
    principal: str
    known: bool = True
    """Whether the bundle holds this principal (always true without a bundle)."""
    actions: dict[str, ActionUse] = field(default_factory=dict)
    """By lower-cased action."""
    decisions: int = 0
    granted_services: tuple[str, ...] = ()
    """Service prefixes the principal's identity Allows name (``*``: every service); bundle only."""

    @property
    def used_services(self) -> list[str]:
        return sorted({use.service for use in self.actions.values() if use.allowed})

    @property
    def unused_services(self) -> list[str]:
        used = set(self.used_services)
        return [service for service in self.granted_services if service not in used and service != "*"]


@dataclass(frozen=True, slots=True)
class StatementUse:
    """An Allow statement of the bundle and the decisions it determined in the period."""

    ref: str
    kind: str
    decided: int
    last: datetime | None
    other_revisions: int
    """Decisions of other revisions naming a statement of the same policy and Sid (or index)."""


@dataclass
class UsageReport:
    principals: dict[str, PrincipalUse] = field(default_factory=dict)
    statements: list[StatementUse] = field(default_factory=list)
    """Every Allow statement of the bundle, in bundle order (empty without a bundle)."""
    lines: int = 0
    decisions: int = 0
    in_period: int = 0
    problems: int = 0
    shown_problems: list[LogProblem] = field(default_factory=list)
    unreadable_files: int = 0
    """Files that could not be read, or not to their end."""
    unattributable: int = 0
    """Decisions whose principal or action the sidecar had cut (``truncated``)."""
    explained: int = 0
    """``Explain`` calls: logged as decisions, but asking about access is not using it."""
    untracked: int = 0
    """Decisions not tracked because ``max_entries`` was reached."""
    revisions: dict[str, int] = field(default_factory=dict)
    other_revisions_count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    bundle_revision: str = ""

    @property
    def partial(self) -> bool:
        return self.untracked > 0


# -- the principal a decision belongs to ---------------------------------------------------------


def principal_key(decision: LoggedDecision, snapshot: Snapshot | None) -> str:
    """The user or role a decision is about: a session's role, by its ARN; else as resolved."""
    arn = decision.principal_arn or decision.principal
    role = session_role(arn)
    if role is None:
        return arn
    partition, account, name = role
    if snapshot is not None:
        entry = snapshot.roles.get((account, name))
        if entry is not None:
            return entry.arn
    return f"arn:{partition}:iam::{account}:role/{name}"


def session_role(arn: str) -> tuple[str, str, str] | None:
    """``(partition, account, role name)`` of an assumed-role session ARN, else ``None``."""
    pieces = arn.split(":", 5)
    if len(pieces) != 6 or pieces[0] != "arn" or pieces[2] != "sts":
        return None
    kind, _, rest = pieces[5].partition("/")
    name, slash, _session = rest.partition("/")
    if kind != "assumed-role" or not slash or not name:
        return None
    return pieces[1], pieces[4], name


# -- the bundle's Allow statements ---------------------------------------------------------------


def bundle_policies(snapshot: Snapshot) -> list[CompiledPolicy]:
    """Every compiled policy the revision uses, once, in a stable order."""
    seen: dict[int, CompiledPolicy] = {}
    for entry in sorted(snapshot.by_arn.values(), key=lambda e: e.arn):
        for policy in (
            *entry.identity,
            *(entry.boundary or ()),
            *(p for lvl in entry.scp_levels for p in lvl),
        ):
            seen.setdefault(id(policy), policy)
    for policies in (snapshot.resource_policies, snapshot.trust_policies):
        for arn in sorted(policies):
            seen.setdefault(id(policies[arn]), policies[arn])
    return sorted(seen.values(), key=lambda p: (p.kind.value, p.policy_id))


def allow_statements(snapshot: Snapshot, principal: str | None = None) -> list[CompiledStatement]:
    """The revision's Allow statements; for one principal, those of its identity policies,
    permissions boundary and SCPs (resource policies are shared by everyone)."""
    entry = snapshot.by_arn.get(principal) if principal is not None else None
    if entry is None:
        policies = bundle_policies(snapshot)
    else:
        scps = (p for level in entry.scp_levels for p in level)
        policies = list({id(p): p for p in (*entry.identity, *(entry.boundary or ()), *scps)}.values())
    # Authorize names no SCP Allow among the determining statements (an SCP only bounds), so
    # the log cannot show one as used: they are left out rather than reported unused.
    return [
        s
        for policy in policies
        if policy.kind is not PolicyKind.SCP
        for s in policy.statements
        if not s.is_deny
    ]


def granted_services(entry: PrincipalEntry) -> tuple[str, ...]:
    """Service prefixes of the principal's identity Allows (``*`` for ``*`` or a NotAction)."""
    services: set[str] = set()
    for policy in entry.identity:
        for compiled in policy.statements:
            if compiled.is_deny:
                continue
            if compiled.statement.not_actions is not None:
                services.add("*")
            for action in compiled.statement.actions or ():
                prefix = action.partition(":")[0].lower()
                services.add("*" if any(c in prefix for c in "*?") else prefix)
    return tuple(sorted(services))


# -- the summary ---------------------------------------------------------------------------------


def summarise(
    items: Iterable[LoggedDecision | LogProblem],
    *,
    snapshot: Snapshot | None = None,
    only: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    on_decision: Callable[[LoggedDecision], None] | None = None,
) -> UsageReport:
    """Fold the decisions of ``[since, until)`` (of principal ``only``, if given) into a report.

    ``on_decision`` sees each decision that counts (the suggestion collects its replay set there).
    """
    report = UsageReport(bundle_revision=snapshot.revision if snapshot else "")
    tracked = 0
    allows = allow_statements(snapshot, only) if snapshot is not None else []
    by_position = {(s.ref.kind.value, s.ref.policy_id, s.ref.index): s for s in allows}
    by_label = {(s.ref.kind.value, s.ref.policy_id, s.ref.label): s for s in allows}
    counts: dict[int, int] = {}
    lasts: dict[int, datetime] = {}
    elsewhere: dict[int, int] = {}
    for item in items:
        report.lines += 1
        if isinstance(item, LogProblem):
            report.problems += 1
            report.unreadable_files += item.whole_file
            if len(report.shown_problems) < MAX_PROBLEMS_SHOWN:
                report.shown_problems.append(item)
            continue
        report.decisions += 1
        if (since is not None and item.timestamp < since) or (until is not None and item.timestamp >= until):
            continue
        if item.method == "Explain":  # a question about access, not a use of it
            report.explained += 1
            continue
        if item.identity_cut:
            report.unattributable += 1
            continue
        key = principal_key(item, snapshot)
        if only is not None and key != only and item.principal != only:
            continue
        report.in_period += 1
        report.first = item.timestamp if report.first is None else min(report.first, item.timestamp)
        report.last = item.timestamp if report.last is None else max(report.last, item.timestamp)
        if item.revision in report.revisions or len(report.revisions) < MAX_REVISIONS_SHOWN:
            report.revisions[item.revision] = report.revisions.get(item.revision, 0) + 1
        else:
            report.other_revisions_count += 1
        if snapshot is not None and item.allowed:
            same = item.revision == snapshot.revision
            for ref in item.determining:
                if same:
                    statement = by_position.get((ref.kind, ref.policy_id, ref.index))
                else:
                    label = ref.sid or f"Statement[{ref.index}]"
                    statement = by_label.get((ref.kind, ref.policy_id, label))
                if statement is None:
                    continue
                slot = id(statement)
                if same:
                    counts[slot] = counts.get(slot, 0) + 1
                    previous = lasts.get(slot)
                    lasts[slot] = item.timestamp if previous is None else max(previous, item.timestamp)
                else:
                    elsewhere[slot] = elsewhere.get(slot, 0) + 1
        if on_decision is not None:
            on_decision(item)
        use = report.principals.get(key)
        if use is None:
            if tracked >= max_entries:
                report.untracked += 1
                continue
            tracked += 1
            use = report.principals[key] = PrincipalUse(key, known=snapshot is None or key in snapshot.by_arn)
        action = use.actions.get(item.action.lower())
        if action is None:
            if tracked >= max_entries:
                report.untracked += 1
                continue
            tracked += 1
            action = use.actions[item.action.lower()] = ActionUse(item.action)
        use.decisions += 1
        action.add(item)
    if snapshot is not None:
        _add_bundle_principals(report, snapshot, only)
        report.statements = [
            StatementUse(
                str(s.ref), s.ref.kind.value, counts.get(id(s), 0), lasts.get(id(s)), elsewhere.get(id(s), 0)
            )
            for s in allows
        ]
    return report


def _add_bundle_principals(report: UsageReport, snapshot: Snapshot, only: str | None) -> None:
    """Every user and role of the bundle, active or not, with the services it is granted."""
    for arn, entry in sorted(snapshot.by_arn.items()):
        if only is not None and arn != only:
            continue
        use = report.principals.get(arn)
        if use is None:
            use = report.principals[arn] = PrincipalUse(arn)
        use.granted_services = granted_services(entry)
