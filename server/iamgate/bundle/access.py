"""Access questions over one compiled revision: who can do X on Y, what can P do, what a revision changes.

Every answer comes from ``Snapshot.authorize`` — the evaluator that serves Authorize — asked
concrete questions; nothing here re-implements policy semantics. The questions are built from
what the bundle names: the actions of a principal's statements (wildcards expanded through the
service catalogue, bounded) and the resource patterns of every statement and resource policy.
A pattern is asked about through one concrete representative (``*`` -> ``x``), so a row holds for
that representative; a narrower pattern the bundle names (a Deny on ``bucket/secret/*``) is its
own row.

Trust model (docs/security.md): no sidecar-owned context key is asserted; time is given through
``now``. A request carries no caller context, so a statement whose condition reads a key the
request lacks (a key the caller would give, or a resource tag the bundle does not know) makes
the row *conditional*: it is never reported as unconditionally allowed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from iamgate.bundle.query import AccessQuery
from iamgate.bundle.snapshot import TRUST_ACTIONS, PrincipalEntry, Snapshot
from iamgate.bundle.trust import TIME_KEYS, refusal
from iamgate.catalogue import Catalogue
from iamgate.engine.compiled import CompiledPolicy
from iamgate.engine.errors import EngineError
from iamgate.engine.identity import canonical_resource, check_action
from iamgate.engine.request import ContextValue
from iamgate.engine.result import ConditionTrace, Decision, Evaluation, PolicyKind, StatementTrace

DEFAULT_LIMIT = 20_000
"""Evaluations one question may cost (``--limit``)."""
MAX_EXPANDED_PER_PATTERN = 2_000
"""Catalogue actions one action pattern may expand to (``s3:*`` has ~150; ``*`` is never expanded blindly)."""

CHECK_EVERY = 32
"""Evaluations between two calls of a question's ``check`` (its time budget)."""

ALLOWED = "allowed"
CONDITIONAL = "conditional"

_SAMPLE_REGION = "us-east-1"
_SAMPLE_ACCOUNT = "111111111111"


class AccessError(ValueError):
    """A question that cannot be asked (unknown or ambiguous principal, malformed action or resource)."""


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One (principal, action, resource pattern) the revision allows, outright or under conditions."""

    principal: str
    action: str
    resource: str
    """The resource pattern as the bundle names it (evaluated through ``sample``)."""
    status: str
    """``allowed`` (no condition left open) or ``conditional`` (it depends on caller-given keys)."""
    statements: tuple[str, ...]
    """The determining Allow statements (for a conditional row: the Allows whose conditions are open)."""
    conditions: tuple[str, ...] = ()
    """The conditions still open: ``Operator key [values]``, on keys the request did not carry."""
    sample: str = ""

    @property
    def service(self) -> str:
        return self.action.partition(":")[0].lower()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.principal, self.action.lower(), self.resource)

    def to_json(self) -> dict[str, object]:
        return {
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "status": self.status,
            "statements": list(self.statements),
            "conditions": list(self.conditions),
        }


@dataclass(frozen=True, slots=True)
class AccessAnswer:
    rows: tuple[AccessRow, ...]
    evaluations: int
    truncated: bool = False
    """The ``limit`` was reached: the answer is partial."""
    notes: tuple[str, ...] = ()
    """What was not enumerated (NotAction statements, unexpandable wildcards, policy variables)."""
    second: int | None = None
    """The second (Unix time) the answer holds for, when the revision's policies read the clock
    (``aws:CurrentTime``, ``aws:EpochTime``: a grant ``DateLessThan`` a deadline); ``None``: it
    holds at any time. A kept answer is served only while it holds (``service/access_queries.py``)."""


@dataclass
class _Budget:
    limit: int
    check: Callable[[], None] | None = None
    """Called every ``CHECK_EVERY`` evaluations; raises to stop the question (a caller's deadline)."""
    used: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def spend(self) -> None:
        self.used += 1
        if self.check is not None and self.used % CHECK_EVERY == 0:
            self.check()


# -- classification: one concrete evaluation -> a row or nothing ---------------------------------


def classify(
    snapshot: Snapshot, principal: str, action: str, resource: str, *, now: datetime
) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """Ask the one evaluator with no caller context; ``(status, statements, conditions)`` or ``None``.

    ``None``: denied whatever the caller could add (or the request is malformed). An allowed
    answer whose deciding path read a key the request lacked is conditional, as is a denial that
    an Allow with such open conditions could turn around.
    """
    try:
        outcome = snapshot.authorize(AccessQuery(principal, action, resource), explain=True, now=now)
    except EngineError:
        return None
    evaluation = outcome.evaluation
    knowledge = snapshot.resource_facts(resource).knowledge

    def caller_gives(condition: ConditionTrace) -> bool:
        """A key the request lacked and a caller could give (never one the sidecar owns, nor one AWS
        never sets)."""
        if condition.request_values is not None:
            return False
        lowered = condition.key.lower()
        refused = refusal(lowered, condition.key, knowledge, snapshot.defined_keys, snapshot.trusted_keys)
        return refused is None

    def _open_conditions(statement: StatementTrace) -> bool:
        return any(caller_gives(condition) for condition in statement.conditions)

    relevant = [s for s in _statements(evaluation) if _relevant(s)]
    open_statements = [s for s in relevant if _open_conditions(s)]
    if evaluation.allowed:
        determining = tuple(str(ref) for ref in evaluation.determining)
        # Only a Deny that a caller's key could make apply, or a determining Allow that holds only
        # while a key is missing (``...IfExists``, negated operators), can take this allow away.
        at_risk = [s for s in open_statements if s.effect == "Deny" or str(s.ref) in determining]
        if not at_risk:
            return ALLOWED, determining, ()
        return CONDITIONAL, determining, _describe(at_risk, caller_gives)
    if evaluation.decision is Decision.EXPLICIT_DENY and any(
        not _open_conditions(s) for s in relevant if s.effect == "Deny" and s.applies
    ):
        return None  # an unconditional Deny: nothing the caller adds changes it
    hopeful = [
        s
        for s in open_statements
        if s.effect == "Allow" and all(c.matched for c in s.conditions if not caller_gives(c))
    ]
    # Open Denies that apply now only because a key is missing (``BoolIfExists``) could lift too.
    lifting = [s for s in open_statements if s.effect == "Deny" and s.applies]
    if not (hopeful or lifting) or not _could_allow(
        evaluation, hopeful, _cross_account(snapshot, outcome.principal_arn, resource)
    ):
        return None
    allows = [s for s in relevant if s.effect == "Allow" and (s.applies or s in hopeful)]
    return CONDITIONAL, tuple(str(s.ref) for s in allows), _describe(open_statements, caller_gives)


def _cross_account(snapshot: Snapshot, principal_arn: str, resource: str) -> bool:
    """Whether the resource's owner is known and is not the principal's account (both policies must allow)."""
    owner = snapshot.resource_facts(resource).owner
    pieces = principal_arn.split(":", 5)
    return owner is not None and len(pieces) == 6 and pieces[4] != owner


def _could_allow(evaluation: Evaluation, hopeful: list[StatementTrace], cross_account: bool) -> bool:
    """Whether every layer that must allow has an Allow that applies or could (AWS's flow chart):
    each SCP level, the boundary and session policy if present, identity or resource-based policy
    (both across accounts)."""
    could = {id(statement) for statement in hopeful}
    levels: dict[int | None, bool] = {}
    kinds: dict[PolicyKind, bool] = {}
    for policy in evaluation.trace or ():
        ok = any(s.effect == "Allow" and (s.applies or id(s) in could) for s in policy.statements)
        if policy.kind is PolicyKind.SCP:
            levels[policy.level] = levels.get(policy.level, False) or ok
        else:
            kinds[policy.kind] = kinds.get(policy.kind, False) or ok
    if not all(levels.values()):
        return False
    if not all(kinds.get(kind, True) for kind in (PolicyKind.BOUNDARY, PolicyKind.SESSION)):
        return False
    identity, resource = kinds.get(PolicyKind.IDENTITY, False), kinds.get(PolicyKind.RESOURCE, False)
    return (identity and resource) if cross_account else (identity or resource)


def _statements(evaluation: Evaluation) -> Iterator[StatementTrace]:
    for policy in evaluation.trace or ():
        yield from policy.statements


def _relevant(statement: StatementTrace) -> bool:
    return (
        statement.action_matched
        and statement.resource_matched is not False
        and statement.principal_matched is not False
    )


def _describe(
    statements: Iterable[StatementTrace], caller_gives: Callable[[ConditionTrace], bool]
) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for statement in statements:
        for condition in statement.conditions:
            if caller_gives(condition):
                values = ", ".join(condition.policy_values)
                seen[
                    f"{statement.effect} {statement.ref}: {condition.operator} {condition.key} [{values}]"
                ] = None
    return tuple(seen)


# -- the universe a revision names ---------------------------------------------------------------


def principals(snapshot: Snapshot) -> tuple[PrincipalEntry, ...]:
    """Every user and role of the revision, by ARN."""
    return tuple(sorted(snapshot.by_arn.values(), key=lambda entry: entry.arn))


def find_principal(snapshot: Snapshot, text: str) -> PrincipalEntry:
    """A user or role by ARN or (unambiguous) name; ``AccessError`` otherwise."""
    entry = snapshot.by_arn.get(text)
    if entry is not None:
        return entry
    named = snapshot.by_name.get(text, ())
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise AccessError(f"the name {text!r} is ambiguous ({', '.join(e.arn for e in named)}); use the ARN")
    raise AccessError(f"the principal {text!r} is not a user or role of bundle {snapshot.name!r}")


def _all_policies(snapshot: Snapshot) -> list[CompiledPolicy]:
    seen: dict[int, CompiledPolicy] = {}
    for entry in snapshot.by_arn.values():
        for policy in (
            *entry.identity,
            *(entry.boundary or ()),
            *(p for lvl in entry.scp_levels for p in lvl),
        ):
            seen.setdefault(id(policy), policy)
    for policy in (*snapshot.resource_policies.values(), *snapshot.trust_policies.values()):
        seen.setdefault(id(policy), policy)
    return list(seen.values())


def resource_patterns(snapshot: Snapshot) -> set[str]:
    """Resource patterns the revision names: statements' Resource elements, resource-policy and role ARNs."""
    patterns = {*snapshot.resource_policies, *snapshot.trust_policies}
    for policy in _all_policies(snapshot):
        for compiled in policy.statements:
            patterns.update(compiled.statement.resources or ())
    return patterns


def action_patterns(snapshot: Snapshot, entry: PrincipalEntry) -> set[str]:
    """Action patterns of the principal's identity Allows and of every resource-policy Allow."""
    patterns: set[str] = set()
    policies = [*entry.identity, *snapshot.resource_policies.values(), *snapshot.trust_policies.values()]
    for policy in policies:
        for compiled in policy.statements:
            if not compiled.is_deny and compiled.statement.actions:
                patterns.update(compiled.statement.actions)
    return patterns


def not_action_notes(snapshot: Snapshot, entry: PrincipalEntry) -> list[str]:
    return [
        f"{compiled.ref}: Allow with NotAction is not enumerated (ask who-can for concrete actions)"
        for policy in entry.identity
        for compiled in policy.statements
        if not compiled.is_deny and compiled.statement.not_actions
    ]


def expand_actions(patterns: Iterable[str], catalogue: Catalogue, notes: list[str]) -> list[str]:
    """Concrete actions: concrete names as written, ``svc:Get*`` through the catalogue (bounded).

    ``*`` and service-prefix wildcards are not expanded (every action of every service is no
    answer a reviewer can read); they are noted instead.
    """
    actions: dict[str, str] = {}
    for pattern in sorted(patterns):
        prefix, colon, name = pattern.partition(":")
        if not colon or any(c in prefix for c in "*?"):
            notes.append(f"action pattern {pattern!r} is not expanded (it spans services)")
            continue
        if not any(c in name for c in "*?"):
            actions.setdefault(pattern.lower(), pattern)
            continue
        service = catalogue.service(prefix)
        if service is None:
            notes.append(
                f"action pattern {pattern!r}: service {prefix!r} is not in the catalogue "
                f"({catalogue.version})"
            )
            continue
        matched = service.actions_matching(name)
        if len(matched) > MAX_EXPANDED_PER_PATTERN:
            notes.append(
                f"action pattern {pattern!r} expands to {len(matched)} actions; only the first "
                f"{MAX_EXPANDED_PER_PATTERN} are asked"
            )
            matched = matched[:MAX_EXPANDED_PER_PATTERN]
        for action in matched:
            text = f"{service.prefix}:{action.name}"
            actions.setdefault(text.lower(), text)
    return sorted(actions.values(), key=str.lower)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def sample_resource(pattern: str, variables: Mapping[str, ContextValue] | None = None) -> str | None:
    """A concrete resource the pattern matches (``*`` -> ``x``), or ``None`` when there is none to ask about.

    A policy variable (``${aws:username}``) takes the asking principal's own value from
    ``variables`` (what the sidecar fills for it: ``aws:username``, ``aws:userid``,
    ``aws:PrincipalTag/...``), as evaluation substitutes it; a pattern with a variable the
    principal has no single value for (a role's ``${aws:username}``) has no representative.
    """
    if pattern == "*":
        return "*"
    if "${" in pattern:
        if variables is None:
            return None
        pattern = _substitute(pattern, variables)
        if pattern is None:
            return None
    pieces = pattern.split(":", 5)
    if len(pieces) != 6:
        return None
    arn, partition, service, region, account, resource = pieces
    if any(c in partition + service for c in "*?"):
        return None
    region = _SAMPLE_REGION if any(c in region for c in "*?") else region
    account = _SAMPLE_ACCOUNT if any(c in account for c in "*?") else account
    resource = re.sub(r"[*?]", "x", resource)
    text = ":".join((arn, partition, service, region, account, resource))
    try:
        return canonical_resource(text)
    except EngineError:
        return None


def _substitute(pattern: str, variables: Mapping[str, ContextValue]) -> str | None:
    unresolved = False

    def value(match: re.Match[str]) -> str:
        nonlocal unresolved
        found = variables.get(match.group(1).lower())
        if found is None or len(found.values) != 1 or any(c in found.values[0] for c in "*?$"):
            unresolved = True
            return ""
        return found.values[0]

    text = _VARIABLE.sub(value, pattern)
    return None if unresolved or "${" in text else text


def principal_variables(snapshot: Snapshot, principal_arn: str) -> Mapping[str, ContextValue]:
    """The policy variables the sidecar fills for a principal of the revision (empty if unknown)."""
    entry = snapshot.by_arn.get(principal_arn)
    return entry.context if entry is not None else {}


def _service_of(pattern: str) -> str | None:
    """The ARN's service field (``None`` for ``*``, which fits every service)."""
    pieces = pattern.split(":", 5)
    return pieces[2].lower() if len(pieces) == 6 else None


def fits_service(action: str, pattern: str) -> bool:
    """Whether the pattern can name a resource of the action's service (what-can asks only such pairs)."""
    service = _service_of(pattern)
    prefix = action.partition(":")[0].lower()
    if service is None:
        return True
    if action.lower() in TRUST_ACTIONS:
        return service == "iam"
    return service == prefix


def detached(snapshot: Snapshot) -> Snapshot:
    """The same revision with memos of its own and no decision cache.

    A sidecar asks its access questions of a detached copy: their thousands of sample requests
    then never displace what the request path keeps in the snapshot's memos and cache.
    """
    return dataclasses.replace(snapshot, memo=type(snapshot.memo)(), decision_cache=None)


# -- the questions -------------------------------------------------------------------------------


def reads_clock(snapshot: Snapshot) -> bool:
    """Whether any statement of the revision reads ``aws:CurrentTime`` or ``aws:EpochTime`` (in a
    condition or a policy variable): then its access answers hold for the second they were asked."""
    policies: list[CompiledPolicy] = [*snapshot.resource_policies.values(), *snapshot.trust_policies.values()]
    for entry in snapshot.by_arn.values():
        policies.extend(entry.identity)
        policies.extend(entry.boundary or ())
        for level in entry.scp_levels:
            policies.extend(level)
    seen: set[int] = set()
    for policy in policies:
        if id(policy) in seen:
            continue
        seen.add(id(policy))
        if any(not TIME_KEYS.isdisjoint(statement.reads) for statement in policy.statements):
            return True
    return False


def _second(snapshot: Snapshot, now: datetime) -> int | None:
    return int(now.timestamp()) if reads_clock(snapshot) else None


def who_can(
    snapshot: Snapshot,
    action: str,
    resource: str,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    check: Callable[[], None] | None = None,
) -> AccessAnswer:
    """Every user and role the revision allows ``action`` on ``resource`` (outright or conditionally).

    Role sessions are not enumerated: a session has its role's rights narrowed by what its
    caller passes (session policy, tags), so its role's row is the bound.
    """
    try:
        check_action(action)
        canonical_resource(resource)
    except EngineError as error:
        raise AccessError(str(error)) from None
    now = now or datetime.now(UTC)
    rows: list[AccessRow] = []
    budget = _Budget(limit, check)
    for entry in principals(snapshot):
        if budget.exhausted:
            return AccessAnswer(tuple(rows), budget.used, truncated=True, second=_second(snapshot, now))
        budget.spend()
        verdict = classify(snapshot, entry.arn, action, resource, now=now)
        if verdict is not None:
            status, statements, conditions = verdict
            rows.append(AccessRow(entry.arn, action, resource, status, statements, conditions, resource))
    return AccessAnswer(tuple(rows), budget.used, second=_second(snapshot, now))


def what_can(
    snapshot: Snapshot,
    principal: str,
    catalogue: Catalogue,
    *,
    service: str | None = None,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    extra_actions: Iterable[str] = (),
    extra_resources: Iterable[str] = (),
    check: Callable[[], None] | None = None,
) -> AccessAnswer:
    """What one principal may do: its named actions x the revision's resource patterns, each evaluated."""
    entry = find_principal(snapshot, principal)
    budget = _Budget(limit, check)
    notes = not_action_notes(snapshot, entry)
    patterns = action_patterns(snapshot, entry) | set(extra_actions)
    actions = expand_actions(patterns, catalogue, notes)
    if service is not None:
        actions = [a for a in actions if a.partition(":")[0].lower() == service.lower()]
    resources = sorted(resource_patterns(snapshot) | set(extra_resources))
    now = now or datetime.now(UTC)
    rows, truncated = _enumerate(snapshot, entry.arn, actions, resources, now, budget, notes)
    notes_seen = tuple(dict.fromkeys(notes))
    return AccessAnswer(tuple(rows), budget.used, truncated, notes_seen, _second(snapshot, now))


def _enumerate(
    snapshot: Snapshot,
    principal: str,
    actions: list[str],
    resources: list[str],
    now: datetime,
    budget: _Budget,
    notes: list[str],
) -> tuple[list[AccessRow], bool]:
    samples: dict[str, str] = {}
    variables = principal_variables(snapshot, principal)
    for pattern in resources:
        sample = sample_resource(pattern, variables)
        if sample is None:
            notes.append(f"resource pattern {pattern!r} has no concrete representative (not asked)")
        else:
            samples[pattern] = sample
    rows: list[AccessRow] = []
    for action in actions:
        for pattern, sample in samples.items():
            if not fits_service(action, pattern):
                continue
            if budget.exhausted:
                return rows, True
            budget.spend()
            verdict = classify(snapshot, principal, action, sample, now=now)
            if verdict is not None:
                status, statements, conditions = verdict
                rows.append(AccessRow(principal, action, pattern, status, statements, conditions, sample))
    return rows, False


# -- what a revision changes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessChange:
    change: str
    """``added`` (allowed now, not before), ``removed``, ``widened`` (conditional -> allowed),
    ``narrowed`` (allowed -> conditional)."""
    row: AccessRow
    """The row as the revision that has it (the new one for added/widened/narrowed)."""


@dataclass(frozen=True, slots=True)
class AccessDiff:
    changes: tuple[AccessChange, ...]
    evaluations: int
    truncated: bool
    notes: tuple[str, ...]
    unproven: tuple[str, ...] = ()
    """What the new revision holds that could not be enumerated and the old did not (a NotAction
    Allow, an action pattern spanning services, a resource pattern with no representative): access
    may be added there unseen, so a gate must not pass (``PRINCIPAL: note``)."""

    @property
    def adds_access(self) -> bool:
        return any(change.change in ("added", "widened") for change in self.changes)

    @property
    def complete(self) -> bool:
        """Whether the diff can show that no access was added: not cut short, nothing unproven."""
        return not self.truncated and not self.unproven


def _unenumerated(
    snapshot: Snapshot,
    entry: PrincipalEntry | None,
    patterns: set[str],
    catalogue: Catalogue,
    resources: set[str],
) -> set[str]:
    """What a principal's access in one revision holds that enumeration cannot ask: its NotAction
    Allows, action patterns spanning services, and resource patterns without a representative."""
    if entry is None:
        return set()
    notes = not_action_notes(snapshot, entry)
    expand_actions(patterns, catalogue, notes)
    variables = principal_variables(snapshot, entry.arn)
    notes.extend(
        f"resource pattern {pattern!r} has no concrete representative (not asked)"
        for pattern in resources
        if sample_resource(pattern, variables) is None
    )
    return set(notes)


def diff_access(
    old: Snapshot,
    new: Snapshot,
    catalogue: Catalogue,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    check: Callable[[], None] | None = None,
) -> AccessDiff:
    """Per principal (matched by ARN), the rows allowed in one revision and not the other.

    Both revisions are asked the same questions: the principal's actions named in either, x the
    resource patterns named in either, so a statement removed on one side still shows.
    """
    now = now or datetime.now(UTC)
    budget = _Budget(limit, check)
    notes: list[str] = []
    old_resources, new_resources = resource_patterns(old), resource_patterns(new)
    resources = sorted(old_resources | new_resources)
    changes: list[AccessChange] = []
    unproven: list[str] = []
    truncated = False
    for arn in sorted({*old.by_arn, *new.by_arn}):
        before, after = old.by_arn.get(arn), new.by_arn.get(arn)
        # Fail closed: what only the new revision holds beyond enumeration may add access unseen.
        old_patterns = action_patterns(old, before) if before is not None else set()
        new_patterns = action_patterns(new, after) if after is not None else set()
        unseen = _unenumerated(new, after, new_patterns, catalogue, new_resources) - _unenumerated(
            old, before, old_patterns, catalogue, old_resources
        )
        unproven.extend(f"{arn}: {note}" for note in sorted(unseen))
        patterns = old_patterns | new_patterns
        for snapshot, entry in ((old, before), (new, after)):
            if entry is not None:
                notes.extend(not_action_notes(snapshot, entry))
        actions = expand_actions(patterns, catalogue, notes)
        old_rows: dict[tuple[str, str, str], AccessRow] = {}
        new_rows: dict[tuple[str, str, str], AccessRow] = {}
        for snapshot, entry, into in ((old, before, old_rows), (new, after, new_rows)):
            if entry is None:
                continue
            rows, cut = _enumerate(snapshot, arn, actions, resources, now, budget, notes)
            truncated = truncated or cut
            into.update((row.key, row) for row in rows)
        for key in sorted({*old_rows, *new_rows}):
            was, now_row = old_rows.get(key), new_rows.get(key)
            if was is None and now_row is not None:
                changes.append(AccessChange("added", now_row))
            elif was is not None and now_row is None:
                changes.append(AccessChange("removed", was))
            elif was is not None and now_row is not None and was.status != now_row.status:
                changes.append(AccessChange("widened" if now_row.status == ALLOWED else "narrowed", now_row))
        if truncated:
            break
    return AccessDiff(tuple(changes), budget.used, truncated, tuple(dict.fromkeys(notes)), tuple(unproven))
