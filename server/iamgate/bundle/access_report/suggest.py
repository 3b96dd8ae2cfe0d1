"""A tightened identity policy for one principal, from what its logged requests actually used.

Like IAM Access Analyzer's policy generation, but checked: every logged request of the principal
is asked again (``Snapshot.authorize``, the evaluator that answers Authorize) against the bundle
as it is, and against the bundle with the principal's identity policies replaced by the
suggestion. A request the bundle still allows must stay allowed; a request it denies must stay
denied; any difference is reported.

How it is built (docs/access-report.md):

- **Basis**: the logged requests that were allowed and that the bundle, asked again at the logged
  time with the logged context, still allows through an identity policy. For each, the first
  determining identity statement (what Authorize reports) says which statement granted it.
- **Actions**: exactly the actions of the basis, grouped by service; never a wildcard.
- **Resources**: the canonical ARNs used, wildcard characters in them escaped (``${*}``). When at
  least ``collapse_at`` distinct ARNs of one action and statement share a parent path
  (``arn:aws:s3:::data/reports/``), they become ``parent*`` — only if the determining statement's
  own Resource covers ``parent*`` (a pattern ending in ``*`` that matches ``parent``), so the
  suggestion never reaches a resource the original did not. A resource that is not an ARN (``*``)
  is kept as ``*`` when a ``Resource: "*"`` statement granted it, else left out (noted).
- **Conditions**: the determining statement's Condition block, copied: it held for every request
  it decided, and it only narrows.
- **Denies**: the principal's identity Deny statements that can match a used action, copied, so a
  carve-out of the original (``Deny s3:* on data/secret/*``) stays.

Each statement of the suggestion is thus contained in a statement that allowed the same action on
the same resources: the suggestion grants nothing the bundle did not, and only used actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iamgate.bundle.access_report.logs import LoggedDecision
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.snapshot import PrincipalEntry, Snapshot
from iamgate.engine.compiled import CompiledPolicy, CompiledStatement, compile_policy
from iamgate.engine.errors import EngineError
from iamgate.engine.request import ContextValue
from iamgate.engine.result import PolicyKind, StatementRef
from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy.model import ConditionClause, Statement

DEFAULT_COLLAPSE_AT = 5
DEFAULT_MAX_REPLAY = 10_000
MAX_REPLAY_CHARS = 64 * 1024 * 1024
"""Characters of requests the replay set may hold, whatever ``max_replay`` allows."""
MANAGED_POLICY_CHARS = 6_144
"""AWS's size limit of a managed policy (whitespace not counted)."""
MAX_SHOWN = 20
_WILD = "*?$"


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """One distinct logged request of the principal, as it will be asked again."""

    where: str
    timestamp: datetime
    principal: str
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...]
    session_tags: tuple[tuple[str, str], ...]
    logged: str
    """The logged decision: ``allowed``, ``explicitDeny`` or ``implicitDeny``."""

    def query(self) -> AccessQuery:
        context = tuple(ContextValue(key, values, len(values) > 1) for key, values in self.context)
        return AccessQuery(
            self.principal, self.action, self.resource, context, session_tags=self.session_tags
        )

    def __str__(self) -> str:
        return f"{self.where}: {self.action} on {self.resource} ({self.logged} in the log)"


@dataclass
class ReplaySet:
    """Collects the distinct replayable requests of one principal (an ``on_decision`` callback), bounded."""

    max_requests: int = DEFAULT_MAX_REPLAY
    requests: dict[tuple, ReplayRequest] = field(default_factory=dict)
    chars: int = 0
    not_replayable: dict[str, int] = field(default_factory=dict)
    """Why decisions were left out: the sidecar cut or redacted part of the request."""
    dropped: int = 0
    """Distinct requests beyond ``max_requests`` (or ``MAX_REPLAY_CHARS``)."""

    def __call__(self, decision: LoggedDecision) -> None:
        reason = _unreplayable(decision)
        if reason:
            self.not_replayable[reason] = self.not_replayable.get(reason, 0) + 1
            return
        key = (
            decision.principal,
            decision.action.lower(),
            decision.resource,
            decision.context,
            decision.session_tags,
            decision.decision,
        )
        if key in self.requests:
            return
        size = len(decision.principal) + len(decision.action) + len(decision.resource)
        size += sum(len(k) + sum(map(len, vs)) for k, vs in decision.context)
        size += sum(len(k) + len(v) for k, v in decision.session_tags)
        if len(self.requests) >= self.max_requests or self.chars + size > MAX_REPLAY_CHARS:
            self.dropped += 1
            return
        self.chars += size
        self.requests[key] = ReplayRequest(
            decision.where,
            decision.timestamp,
            decision.principal,
            decision.action,
            decision.resource,
            decision.context,
            decision.session_tags,
            decision.decision,
        )


def _unreplayable(decision: LoggedDecision) -> str:
    if decision.truncated:
        return "cut by the sidecar (" + ", ".join(sorted(decision.truncated)) + ")"
    if decision.redacted:
        return "context redacted"
    return ""


@dataclass(frozen=True, slots=True)
class Replay:
    """The suggestion asked every replayable request again; what changed."""

    replayed: int
    not_reproduced: tuple[ReplayRequest, ...]
    """Requests the bundle, asked again, decides otherwise than the log says (another revision,
    a session's tags or policy, which the log does not hold)."""
    not_reproduced_count: int
    lost: tuple[ReplayRequest, ...]
    """Allowed by the bundle, denied with the suggestion."""
    gained: tuple[ReplayRequest, ...]
    """Denied by the bundle, allowed with the suggestion (never expected)."""

    @property
    def same(self) -> bool:
        return not (self.lost or self.gained)


@dataclass(frozen=True, slots=True)
class Suggestion:
    principal: str
    document: dict[str, Any] | None
    """The suggested identity policy; ``None`` when no identity permission was used."""
    actions: tuple[str, ...]
    """Every action the suggestion allows (the used ones)."""
    replay: Replay
    notes: tuple[str, ...]
    origins: tuple[tuple[str, str], ...] = ()
    """(suggested Sid, the bundle statement it narrows or copies)."""


# -- building ------------------------------------------------------------------------------------


def ask(snapshot: Snapshot, request: ReplayRequest) -> AccessOutcome | None:
    """The one evaluator's answer at the logged time; ``None`` when the request is malformed there."""
    try:
        return snapshot.authorize(request.query(), now=request.timestamp)
    except EngineError:
        return None


def suggest(
    snapshot: Snapshot,
    entry: PrincipalEntry,
    replay_set: ReplaySet,
    *,
    collapse_at: int = DEFAULT_COLLAPSE_AT,
) -> Suggestion:
    """The tightened policy for ``entry`` from its replayable requests, validated by replay."""
    requests = list(replay_set.requests.values())
    owners: dict[StatementRef, tuple[CompiledStatement, CompiledPolicy]] = {
        compiled.ref: (compiled, policy) for policy in entry.identity for compiled in policy.statements
    }
    basis: dict[tuple[StatementRef, str], tuple[str, set[str]]] = {}
    by_resource_policy = 0
    notes: list[str] = []
    for request in requests:
        if request.logged != "allowed":
            continue
        outcome = ask(snapshot, request)
        if outcome is None or not outcome.allowed:
            continue  # counted as not reproduced by the replay
        granting = [ref for ref in outcome.evaluation.determining if ref.kind is PolicyKind.IDENTITY]
        if not granting or granting[0] not in owners:
            by_resource_policy += 1
            continue
        # An action that takes no resource was decided on '*', whatever ARN the log names.
        evaluated = snapshot.wildcard_only.evaluated_resource(request.action, request.resource)
        resource = snapshot.resource_facts(evaluated).arn
        slot = basis.setdefault((granting[0], request.action.lower()), (request.action, set()))
        slot[1].add(resource)
    groups: dict[tuple[str, str, tuple[str, ...]], dict[str, str]] = {}
    conditions: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str, tuple[str, ...]], dict[str, None]] = {}
    for (ref, action_key), (action, resources) in sorted(basis.items(), key=lambda item: str(item[0])):
        compiled, policy = owners[ref]
        variables = policy.document.variables_enabled
        patterns = generalise(sorted(resources), compiled, collapse_at, notes)
        block = condition_block(compiled.statement.conditions, variables)
        text = json.dumps(block, sort_keys=True)
        conditions[text] = block
        key = (action.partition(":")[0].lower(), text, tuple(patterns))
        groups.setdefault(key, {}).setdefault(action_key, action)
        sources.setdefault(key, {})[str(ref)] = None
    statements: list[dict[str, Any]] = []
    origins: list[tuple[str, str]] = []
    numbers: dict[str, int] = {}
    for key in sorted(groups):
        service, text, patterns = key
        if not patterns:
            continue
        name = "".join(c for c in service.title() if c.isalnum()) or "Service"
        numbers[name] = numbers.get(name, 0) + 1
        sid = f"Used{name}{numbers[name]}"
        actions = sorted(groups[key].values(), key=str.lower)
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions[0] if len(actions) == 1 else actions,
            "Resource": patterns[0] if len(patterns) == 1 else list(patterns),
        }
        if conditions[text]:
            statement["Condition"] = conditions[text]
        statements.append(statement)
        origins.append((sid, ", ".join(sources[key])))
    used = {action.lower(): action for values in groups.values() for action in values.values()}
    kept = _kept_denies(entry, used)
    for number, (compiled, variables) in enumerate(kept, 1):
        sid = f"KeptDeny{number}"
        statements.append({"Sid": sid, **statement_json(compiled.statement, variables)})
        origins.append((sid, str(compiled.ref)))
    document = {"Version": "2012-10-17", "Statement": statements} if used else None
    replacement = _compile(document, entry.arn)
    replay = validate(snapshot, snapshot.with_identity_policies(entry.arn, replacement), requests)
    if by_resource_policy:
        notes.append(
            f"{by_resource_policy} allowed request(s) needed no identity permission "
            f"(a resource-based policy allowed them alone); none is in the suggestion"
        )
    if document is not None:
        size = len(json.dumps(document, separators=(",", ":")))
        if size > MANAGED_POLICY_CHARS:
            notes.append(
                f"the policy is {size:,} characters, more than a managed policy's {MANAGED_POLICY_CHARS:,}"
            )
    return Suggestion(
        entry.arn, document, tuple(sorted(used.values(), key=str.lower)), replay, tuple(notes), tuple(origins)
    )


def _compile(document: dict[str, Any] | None, arn: str) -> tuple[CompiledPolicy, ...]:
    if document is None:
        return ()
    try:
        parsed = parse_policy(document, source_name="suggested policy")
    except PolicyParseError as error:  # a bug here: never hand out a policy the parser refuses
        raise AssertionError(f"the suggested policy does not parse: {error}") from None
    return (compile_policy(parsed, policy_id=f"suggested:{arn}", kind=PolicyKind.IDENTITY),)


def validate(original: Snapshot, suggested: Snapshot, requests: Iterable[ReplayRequest]) -> Replay:
    """Ask every request of both; a request whose original answer differs from the log is not
    compared (the log cannot vouch for it)."""
    replayed = 0
    not_reproduced: list[ReplayRequest] = []
    count = 0
    lost: list[ReplayRequest] = []
    gained: list[ReplayRequest] = []
    for request in requests:
        before = ask(original, request)
        if before is None or before.evaluation.decision.value != request.logged:
            count += 1
            if len(not_reproduced) < MAX_SHOWN:
                not_reproduced.append(request)
            continue
        replayed += 1
        after = ask(suggested, request)
        allowed_after = after is not None and after.allowed
        if before.allowed and not allowed_after:
            lost.append(request)
        elif allowed_after and not before.allowed:
            gained.append(request)
    return Replay(replayed, tuple(not_reproduced), count, tuple(lost), tuple(gained))


# -- statements ----------------------------------------------------------------------------------


def escape(text: str) -> str:
    """A literal resource as a policy pattern: ``$``, ``*`` and ``?`` stand for themselves."""
    return text.replace("$", "${$}").replace("*", "${*}").replace("?", "${?}")


def parent(resource: str) -> str | None:
    """The ARN up to the last ``/`` of its resource part, when it has one and no wildcard character."""
    pieces = resource.split(":", 5)
    if len(pieces) != 6 or pieces[0] != "arn" or "/" not in pieces[5]:
        return None
    head = resource[: resource.rindex("/") + 1]
    return None if any(c in head for c in _WILD) else head


def covers(compiled: CompiledStatement, prefix: str) -> bool:
    """Whether the statement's Resource matches every ARN starting with ``prefix``.

    A pattern ending in ``*`` that matches ``prefix`` matches ``prefix + anything``: the final
    ``*`` takes the rest. Patterns with policy variables or fewer than six ARN fields are not
    relied on; NotResource never is.
    """
    if compiled.not_resource:
        return False
    if compiled.any_resource:
        return True
    for pattern in compiled.resources or ():
        text = pattern.text
        if not text.endswith("*") or "${" in text:
            continue
        if (pattern.everything or len(text.split(":", 5)) == 6) and pattern.matches(prefix, {}):
            return True
    return False


def generalise(
    resources: list[str], compiled: CompiledStatement, collapse_at: int, notes: list[str]
) -> list[str]:
    """The used resources as patterns: literal, or ``parent*`` when ``collapse_at`` share a parent."""
    by_parent: dict[str | None, list[str]] = {}
    for resource in resources:
        by_parent.setdefault(parent(resource), []).append(resource)
    patterns: list[str] = []
    for head, members in by_parent.items():
        if head is not None and collapse_at > 0 and len(members) >= collapse_at and covers(compiled, head):
            patterns.append(head + "*")
            continue
        for resource in members:
            pieces = resource.split(":", 5)
            if len(pieces) != 6 or pieces[0] != "arn":
                # Only "*" can name a resource that is no ARN; granted by a NotResource, it would be broader.
                if compiled.any_resource:
                    patterns.append("*")
                else:
                    notes.append(f'{resource!r} is no ARN and its statement has no Resource "*"; left out')
            elif any(c in field for field in pieces[:5] for c in _WILD):
                notes.append(f"{resource!r} has a wildcard character outside its resource part; left out")
            else:
                patterns.append(":".join(pieces[:5]) + ":" + escape(pieces[5]))
    return sorted(dict.fromkeys(patterns))


def condition_block(clauses: tuple[ConditionClause, ...], variables: bool) -> dict[str, Any]:
    block: dict[str, dict[str, Any]] = {}
    for clause in clauses:
        values = [value if variables else value.replace("$", "${$}") for value in clause.values]
        block.setdefault(clause.operator, {})[clause.key] = values[0] if len(values) == 1 else values
    return block


def statement_json(statement: Statement, variables: bool) -> dict[str, Any]:
    """An identity statement as policy JSON (Version 2012-10-17: ``$`` escaped if it was literal)."""

    def literal(values: tuple[str, ...]) -> list[str]:
        return [value if variables else value.replace("$", "${$}") for value in values]

    out: dict[str, Any] = {"Effect": statement.effect.value}
    for name, values in (
        ("Action", statement.actions),
        ("NotAction", statement.not_actions),
        ("Resource", statement.resources),
        ("NotResource", statement.not_resources),
    ):
        if values is not None:
            out[name] = list(values) if name.endswith("Action") else literal(values)
    if statement.conditions:
        out["Condition"] = condition_block(statement.conditions, variables)
    return out


def _kept_denies(entry: PrincipalEntry, used: dict[str, str]) -> list[tuple[CompiledStatement, bool]]:
    kept = []
    for policy in entry.identity:
        for compiled in policy.statements:
            if compiled.is_deny and any(compiled.matches_action(action) for action in used):
                kept.append((compiled, policy.document.variables_enabled))
    return kept
