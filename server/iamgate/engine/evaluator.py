"""AWS IAM's evaluation logic: one evaluator for Authorize, Explain, Simulate and bundle tests.

The flow follows AWS's documented flow chart. Every applicable policy is checked for a matching
Deny (any one denies); then the service control policies must allow at every level; then access
is granted by the identity-based policies (limited by the permissions boundary and the session
policy) and/or the resource-based policy, with AWS's same-account and cross-account rules.

With ``explain=True`` the same statement checks run without short-circuiting and every outcome is
recorded, so the explanation cannot disagree with the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from iamgate.engine.compiled import CompiledPolicy, CompiledStatement
from iamgate.engine.conditions import CompiledCondition
from iamgate.engine.index import ACTION_TEXT_KEPT, ActionPlan, Split, StatementIndex, resource_key
from iamgate.engine.principals import PrincipalMatch
from iamgate.engine.request import ContextValue, PrincipalKind, Request
from iamgate.engine.result import (
    ConditionTrace,
    Decision,
    Evaluation,
    PolicyKind,
    PolicyTrace,
    StatementTrace,
)
from iamgate.policy.model import SetOperator
from iamgate.policy.operators import Family

# Enum members bound once: on Python 3.11 reading a member off its class (``PolicyKind.SCP``)
# costs ~0.1 µs (the enum metaclass's attribute lookup), a module global ~0.01 µs, and the hot
# path below reads several per decision. Same objects: ``is`` and ``==`` answer as before.
_DIRECT = PrincipalMatch.DIRECT
_ROOT = PrincipalKind.ROOT
_FEDERATED_USER = PrincipalKind.FEDERATED_USER
_SERVICE = PrincipalKind.SERVICE
_ANONYMOUS = PrincipalKind.ANONYMOUS
_ALLOWED = Decision.ALLOWED
_EXPLICIT_DENY = Decision.EXPLICIT_DENY
_SCP = PolicyKind.SCP
_RESOURCE = PolicyKind.RESOURCE
_IDENTITY = PolicyKind.IDENTITY
_BOUNDARY = PolicyKind.BOUNDARY
_SESSION = PolicyKind.SESSION

MERGED_INDEX_THRESHOLD = 4
"""With this many identity policies or more, one index over all their statements is faster than
looking each policy up in turn (a principal with 500 small policies would otherwise cost 500
lookups per decision)."""


@dataclass(frozen=True)
class PolicySet:
    """Every policy that applies to one request, by its place in the flow chart.

    ``boundary`` and ``session`` are ``None`` when the caller has none (an empty tuple would mean
    "present but allowing nothing"). ``scp_levels`` runs from the organization root to the account.
    """

    identity: tuple[CompiledPolicy, ...] = ()
    resource: CompiledPolicy | None = None
    boundary: tuple[CompiledPolicy, ...] | None = None
    session: tuple[CompiledPolicy, ...] | None = None
    scp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()
    merged_identity: StatementIndex | None = field(default=None, compare=False, repr=False)
    """A prebuilt ``merge_identity(identity)``, for callers that keep policy sets short-lived."""

    @cached_property
    def identity_index(self) -> StatementIndex | None:
        """One index over every identity-policy statement, for large sets (built on first use)."""
        if self.merged_identity is not None:
            return self.merged_identity
        return merge_identity(self.identity)

    @cached_property
    def conditional_policies(self) -> tuple[CompiledPolicy, ...]:
        """Every policy with a conditional statement, in the order ``_missing_context`` reports
        keys: identity, resource, boundary, session, then the SCP levels root to account."""
        policies = list(self.identity)
        policies += [self.resource] if self.resource else []
        policies += list(self.boundary or ()) + list(self.session or ())
        policies += [p for level in self.scp_levels for p in level]
        return tuple(policy for policy in policies if policy.conditional)

    @cached_property
    def programs(self) -> dict[str, _Program]:
        """Each asked action's ``_Program`` (built on first use; at most ``programs_kept``, then afresh)."""
        return {}

    @cached_property
    def programs_kept(self) -> int:
        """How many programs this set keeps: ``PROGRAMS_KEPT``, and for a set with a merged identity
        index and no resource or session policy, one more per ``STATEMENTS_PER_PROGRAM`` statements
        of that index (at most ``PROGRAMS_KEPT_MOST``): their memory follows the index's."""
        merged = self.identity_index
        if merged is None or self.resource is not None or self.session is not None:
            return PROGRAMS_KEPT
        return min(PROGRAMS_KEPT_MOST, PROGRAMS_KEPT + len(merged.statements) // STATEMENTS_PER_PROGRAM)


def merge_identity(policies: Sequence[CompiledPolicy]) -> StatementIndex | None:
    """One index over the statements of many policies; ``None`` when they are few.

    Whoever keeps it (the bundle, per active principal) decides how long it lives: its memory
    follows the principal's statements, not the bundle's.
    """
    if len(policies) < MERGED_INDEX_THRESHOLD:
        return None
    return StatementIndex.build(s for policy in policies for s in policy.statements)


class _Tally:
    """Matching statements of one group of policies, split by effect."""

    __slots__ = ("allows", "denies", "principal_matches")

    def __init__(self) -> None:
        self.allows: list[CompiledStatement] = []
        self.denies: list[CompiledStatement] = []
        self.principal_matches: list[PrincipalMatch] = []


_NO_MATCH = _Tally()
"""The tally of a group where no statement applies; shared, so never appended to (its lists are
empty tuples: an append would raise, never leak a statement into another request)."""
_NO_MATCH.allows = _NO_MATCH.denies = _NO_MATCH.principal_matches = ()  # type: ignore[assignment]

PROGRAMS_KEPT = 32
"""Actions whose ``_Program`` one policy set keeps at least (then it starts afresh). A program is
~200 bytes (it shares the indexes' candidate tuples; measured with tracemalloc on the embedded
bundle) plus at most RESULTS_KEPT shared answers of ~250 bytes; the bundle keeps at most
``POLICY_SETS_KEPT`` (4,096) policy sets per revision, so a stream built to fill every bound holds
~150 MB at most, and real traffic (a few actions per principal, one or two answers each) a few
hundred KB. Larger sets keep more (``STATEMENTS_PER_PROGRAM``)."""
STATEMENTS_PER_PROGRAM = 32
"""A set with a merged identity index (``MERGED_INDEX_THRESHOLD`` policies or more) and no resource
or session policy keeps one more program per this many of the index's statements
(``PolicySet.programs_kept``). A principal with 5,000 statements asks about ~150 actions (`make
bench`'s heavy principal: 145 in 2,000 requests); with 32 programs it rebuilt one for 79% of its
requests, a fifth of its decision time. Measured with tracemalloc on that principal: a program with
its answers ~2.5 KB (at most ~3 KB with RESULTS_KEPT answers), so the programs add at most ~100
bytes per indexed statement, against ~680 bytes per statement the merged index and its plans hold
(3.4 MB for 5,000). Each such set has its own merged index (the bundle builds one per principal,
and keys the set by the principal alone), so the extra programs cost at most a sixth of what the
set's index costs anyway; sets with a resource or session policy (many per principal, sharing the
principal's index) and sets of a few shared policies keep ``PROGRAMS_KEPT``."""
PROGRAMS_KEPT_MOST = 512
"""However many statements: at most ~1.5 MB of programs per set (an index of 15,000 statements)."""


_EMPTY_SPLIT = Split((), ())


class _Group:
    """One group of policies of a program (an SCP level, the resource policy, the identity
    policies, the boundary or the session policy) for one action: the candidate statements."""

    __slots__ = ("always", "has_deny", "one_allow", "plans", "split", "statements")

    def __init__(
        self,
        statements: tuple[CompiledStatement, ...] | None,
        plans: tuple[ActionPlan, ...],
        one_allow: bool,
        has_deny: bool,
    ) -> None:
        self.statements = statements
        """Every candidate (policy by policy, each in its policy's order) when no plan of the group
        selects by resource; ``None``: ask ``plans`` per request."""
        self.plans = plans
        """The action's plans of the group's indexes that offer candidates, in policy order (only
        read when ``statements`` is None). A plan is immutable: the program keeps it even if its
        index forgets it, and it offers what the index would offer."""
        self.one_allow = one_allow
        """Any one applying Allow is as good as all (every policy type but the resource-based one)."""
        self.split = _EMPTY_SPLIT
        """With ``statements`` and ``one_allow``: the candidates as (Denies, Allows), each in order
        (``_run_split``); else empty."""
        self.always: _Tally | None = None
        """With ``split``: when the first Allow candidate applies to every request (no Resource
        restriction, condition or Principal; it matches the action, as every candidate does), the
        tally holding it alone: the group's tally whenever no Deny applies (shared, immutable)."""
        if statements is not None and one_allow and statements:
            if has_deny:
                denies: list[CompiledStatement] = []
                grants: list[CompiledStatement] = []
                for statement in statements:
                    (denies if statement.is_deny else grants).append(statement)
                self.split = Split(tuple(denies), tuple(grants))
            else:
                self.split = Split((), statements)
            allows = self.split.allows
            if allows and _applies_always(allows[0]):
                self.always = _allows_only(allows[0])
        self.has_deny = has_deny
        """Some candidate is a Deny (else the first applying Allow settles the group)."""


class _Program:
    """What evaluating one action against one policy set needs that no request changes.

    Built on the action's first evaluation and kept on the policy set (``PolicySet.programs``):
    per group, the candidates the indexes offer for the action, concatenated once; SCP levels
    that allow the action whatever the request (an unconditional Allow on every resource, such as
    ``FullAWSAccess``, and no Deny candidate) are left out, as their tally could only say "allows,
    denies nothing". Every candidate matches the action (``StatementIndex.candidates``), so a
    program's scan tests resource, principal and conditions only.

    A principal asking about more actions than a set keeps programs for (a heavy principal asks
    about ~150) builds one per request, so building one is kept to a few plan lookups: no
    generator or comprehension on the single-policy path (``_group``).
    """

    __slots__ = (
        "boundary",
        "identity",
        "identity_alone",
        "identity_only",
        "identity_split",
        "resource",
        "results",
        "scp",
        "session",
    )

    def __init__(self, policy_set: PolicySet, action: str) -> None:
        self.results: dict[object, Evaluation] = {}
        """The answers given so far, each one shared ``Evaluation`` (``_result``; a one-Allow grant of
        ``_decide_identity_alone`` keyed by its statement)."""
        scp: list[_Group | None] = []
        for level in policy_set.scp_levels:
            group = _level(level, action)
            if group is not _OPEN:
                scp.append(group)  # None: the level allows nothing here (its tally says so)
        self.scp = tuple(scp)
        resource = policy_set.resource
        self.resource = _group((resource,), action) if resource is not None else None
        identity = policy_set.identity
        merged = policy_set.identity_index
        if merged is not None:
            self.identity = _group_of_plan(merged.plan(action), identity[0].kind is not _RESOURCE)
        else:
            self.identity = _group(identity, action)
        boundary, session = policy_set.boundary, policy_set.session
        self.boundary = _group(boundary, action) if boundary else None
        self.session = _group(session, action) if session else None
        self.identity_only = (
            self.resource is None
            and boundary is None
            and session is None
            and action != NO_PERMISSION_ACTION
            and not action.startswith(_RESOURCE_POLICY_FIRST)
        )
        """For the organization's principals, only the SCP levels and the identity policies can
        decide: ``_decide_identity_only`` (no resource-policy candidate, no boundary, no session
        policy, an action without a rule of its own)."""
        group = self.identity
        self.identity_split = group is not None and group.statements is not None and group.one_allow
        """``_run`` of the identity group is ``_run_split`` (one call less per request)."""
        self.identity_alone = self.identity_only and self.identity_split and not self.scp
        """``identity_only`` with no SCP group (none, or each level left out as open) and the identity
        group split: ``_decide_identity_alone`` answers without building a tally."""


def _group(policies: Sequence[CompiledPolicy], action: str) -> _Group | None:
    """The group's candidates for ``action``; ``None`` when no policy of it offers any."""
    if not policies:
        return None
    one_allow = policies[0].kind is not _RESOURCE
    if len(policies) == 1:
        return _group_of_plan(policies[0].index.plan(action), one_allow)
    plans: list[ActionPlan] = []
    has_deny = selects = False
    for policy in policies:
        plan = policy.index.plan(action)
        if plan.statements:
            plans.append(plan)
            has_deny = has_deny or plan.has_deny
            selects = selects or plan.exact is not None
    if not plans:
        return None
    if selects:  # some plan selects by resource: per request
        return _Group(None, tuple(plans), one_allow, has_deny)
    if len(plans) == 1:
        return _group_of_plan(plans[0], one_allow)
    statements: list[CompiledStatement] = []
    for plan in plans:
        statements += plan.statements
    return _Group(tuple(statements), (), one_allow, has_deny)


_OPEN = _Group((), (), True, False)
"""``_level``'s answer for a level that allows the action whatever the request (``_open_level``)."""
LEVEL_GROUPS_KEPT = 8
"""Per plan, how many SCP levels' groups it keeps (``_level``), then it starts afresh."""


def _level(level: Sequence[CompiledPolicy], action: str) -> _Group | None:
    """An SCP level's group for ``action`` (``_group``), or ``_OPEN``.

    Every principal of an account shares its SCP levels, and a principal asking about more actions
    than its policy set keeps programs for rebuilds one per request: the level's group is kept with
    the first of its plans that offers candidates (``ActionPlan.level_groups``), keyed by the level's
    other plans. A group follows from its plans alone (they are immutable, and each belongs to one
    index and one action); one that selects by resource is not kept (it holds its plans)."""
    plans: list[ActionPlan] = []
    home: ActionPlan | None = None
    for policy in level:
        plan = policy.index.plan(action)
        if home is None and plan.statements:
            home = plan
        else:
            plans.append(plan)
    if home is None:
        return None
    key = tuple(plans)
    kept = home.level_groups
    if kept is None:
        kept = home.level_groups = {}
    found = kept.get(key)
    if found is None:
        group = _group(level, action)
        found = _OPEN if group is not None and _open_level(group, action) else group
        if found is not None and found.statements is not None:
            if len(kept) >= LEVEL_GROUPS_KEPT:
                kept.clear()
            kept[key] = found
    return found  # type: ignore[return-value]


def _group_of_plan(plan: ActionPlan, one_allow: bool) -> _Group | None:
    """The group of one index's plan (``None`` when it offers nothing).

    A group of the plan's statements follows from the plan and ``one_allow`` alone: it is kept
    with the plan (``ActionPlan.own_groups``, at most two), so a program rebuilt per request (a
    principal asking about more actions than its set keeps programs for) does not split the
    candidates by effect again. A group that selects by resource holds the plan: not kept there
    (no reference cycle), and cheap to build."""
    if not plan.statements:
        return None
    if plan.exact is not None:
        return _Group(None, (plan,), one_allow, plan.has_deny)
    kept = plan.own_groups
    if kept is None:
        kept = plan.own_groups = {}
    group = kept.get(one_allow)
    if group is None:
        group = kept[one_allow] = _Group(plan.statements, (), one_allow, plan.has_deny)
    return group  # type: ignore[return-value]


def _open_level(group: _Group, action: str) -> bool:
    """An SCP level that allows ``action`` on any request: no Deny candidate, and an Allow without
    Resource restriction, conditions or Principal among its candidates."""
    if group.statements is None or group.has_deny:
        return False
    for statement in group.statements:
        if (
            not statement.is_deny
            and statement.any_resource
            and not statement.conditions
            and not statement.names_principals
            and statement.matches_action(action)
        ):
            return True
    return False


def _applies_always(statement: CompiledStatement) -> bool:
    """A candidate (it matches the action) that applies whatever the request."""
    return statement.any_resource and not statement.conditions and not statement.names_principals


def _allows_only(statement: CompiledStatement) -> _Tally:
    """An immutable tally holding one applying Allow (its lists are tuples, as ``_NO_MATCH``'s)."""
    tally = _Tally()
    tally.allows, tally.principal_matches = (statement,), (_DIRECT,)  # type: ignore[assignment]
    tally.denies = ()  # type: ignore[assignment]
    return tally


def _run_split(group: _Group, request: Request, has_boundary: bool) -> _Tally:
    """``_run`` of a group of fixed candidates where one applying Allow is as good as all: every
    applying Deny, then the first applying Allow (``_scan_split``), without building a tally
    when the group's first Allow always applies and no Deny does (an SCP level holding
    ``FullAWSAccess`` beside conditional guardrails: the usual case)."""
    denies, allows = group.split
    always = group.always
    if always is None:
        tally = _Tally()
        _scan_split(denies, allows, request, tally, has_boundary)
        return tally
    if not denies:
        return always
    found = _denies_that_apply(denies, request, has_boundary)
    if found is None:
        return always
    tally = _Tally()
    tally.denies = found
    tally.allows.append(allows[0])
    tally.principal_matches.append(_DIRECT)
    return tally


def _run(group: _Group | None, request: Request, action: str, has_boundary: bool) -> _Tally:
    """The tally of a program's group: ``_scan`` over its candidates (no action test: they match)."""
    if group is None:
        return _NO_MATCH
    statements = group.statements
    if statements is None:
        found = None
        resource, parts = request.resource, request.resource_parts
        if parts is None:
            key = resource_key(resource)
        else:  # ``resource_key`` without looking for the fifth colon again: the parts know it
            cut = len(resource) - len(parts[5])
            key = resource[:cut].lower() + parts[5]
        one_allow = group.one_allow
        for plan in group.plans:
            if plan.exact is None:
                candidates: Sequence[CompiledStatement] = plan.statements
            elif one_allow:
                denies, allows = plan.split(key)
                if denies or allows:
                    if found is None:
                        found = _Tally()
                    _scan_split(denies, allows, request, found, has_boundary)
                continue
            else:
                candidates = plan.select(key)
            if candidates:
                if found is None:
                    found = _Tally()
                _scan(candidates, request, action, found, has_boundary, one_allow, True)
        return _NO_MATCH if found is None else found
    if group.one_allow:
        return _run_split(group, request, has_boundary)
    tally = _Tally()
    _scan(statements, request, action, tally, has_boundary, False, True, group.has_deny)
    return tally


def _scan_split(
    denies: Sequence[CompiledStatement],
    allows: Sequence[CompiledStatement],
    request: Request,
    tally: _Tally,
    has_boundary: bool,
) -> None:
    """``_scan`` of a group where any one applying Allow is as good as all, over its candidates
    split by effect (``ActionPlan.split``): every applying Deny, in policy order, then the first
    applying Allow (none if the tally holds one already). The same statements as ``_scan`` finds
    in the merged order, without stepping over the Allows that follow the first that applies."""
    if denies:
        found = _denies_that_apply(denies, request, has_boundary)
        if found is not None:
            tally.denies += found
    if allows and not tally.allows:
        found = _first_allow(allows, request, has_boundary)
        if found is not None:
            tally.allows.append(found[0])
            tally.principal_matches.append(found[1])


def _denies_that_apply(
    denies: Sequence[CompiledStatement], request: Request, has_boundary: bool
) -> list[CompiledStatement] | None:
    """The Deny candidates (they match the action) that apply to ``request``, in order; ``None``
    when none does (no list built)."""
    resource, parts, principal, context = (
        request.resource,
        request.resource_parts,
        request.principal,
        request.context,
    )
    found = None
    for statement in denies:
        if not statement.any_resource:  # ``matches_resource``, inlined for Resource lists
            if statement.not_resource:
                if not statement.matches_resource(resource, context, parts):
                    continue
            else:
                for pattern in statement.resources:  # type: ignore[union-attr]
                    if pattern.matches_parts(parts, context):
                        break
                else:
                    continue
        if (
            statement.names_principals
            and statement.principal_match(principal, has_boundary=has_boundary) is None
        ):
            continue
        if statement.conditions and not _conditions_hold(statement.conditions, context):
            continue
        if found is None:
            found = [statement]
        else:
            found.append(statement)
    return found


def _applies(
    statement: CompiledStatement, request: Request, action: str, has_boundary: bool
) -> PrincipalMatch | None:
    """Whether the statement applies to the request; for resource policies, how it named the caller."""
    if not statement.matches_action(action):
        return None
    context = request.context
    if not statement.matches_resource(request.resource, context, request.resource_parts):
        return None
    how = statement.principal_match(request.principal, has_boundary=has_boundary)
    if how is None:
        return None
    if statement.conditions and not statement.conditions_hold(context):
        return None
    return how


def _scan(
    candidates: Sequence[CompiledStatement],
    request: Request,
    action: str,
    tally: _Tally,
    has_boundary: bool,
    one_allow: bool,
    actions_known: bool = False,
    has_deny: bool = True,
) -> None:
    """Add the statements of ``candidates`` that apply to ``tally``.

    Every Deny must be found (each is a determining statement of an explicit deny), but where any
    one Allow is as good as all (``one_allow``: every policy type but the resource-based one,
    whose Allows differ in how they name the caller), the remaining Allows are skipped unchecked,
    and without a Deny among the candidates (``has_deny`` false) the first applying Allow ends the
    scan. ``actions_known``: every candidate matches the action (a program's). ``_applies`` is
    inlined: this loop is the uncached decision's hot path.
    """
    denies, allows, matches = tally.denies, tally.allows, tally.principal_matches
    resource, parts, principal, context = (
        request.resource,
        request.resource_parts,
        request.principal,
        request.context,
    )
    for statement in candidates:
        is_deny = statement.is_deny
        if one_allow and allows and not is_deny:
            continue
        if not actions_known and not statement.any_action and not statement.matches_action(action):
            continue
        if not statement.any_resource:  # ``matches_resource``, inlined for Resource lists
            if statement.not_resource:
                if not statement.matches_resource(resource, context, parts):
                    continue
            else:
                for pattern in statement.resources:  # type: ignore[union-attr]
                    if pattern.matches_parts(parts, context):
                        break
                else:
                    continue
        if statement.names_principals:
            how = statement.principal_match(principal, has_boundary=has_boundary)
            if how is None:
                continue
        else:
            how = _DIRECT
        if statement.conditions and not _conditions_hold(statement.conditions, context):
            continue
        if is_deny:
            denies.append(statement)
        else:
            allows.append(statement)
            matches.append(how)
            if one_allow and not has_deny:
                return


def _conditions_hold(conditions: tuple[CompiledCondition, ...], context: Mapping[str, ContextValue]) -> bool:
    """``CompiledStatement.conditions_hold``, through each condition's specialised test where it has one."""
    for condition in conditions:
        holds = condition.holds
        if not (condition.evaluate(context) if holds is None else holds(context)):
            return False
    return True


def _tally_every(
    policies: Sequence[CompiledPolicy], request: Request, action: str, has_boundary: bool = False
) -> _Tally:
    """Every statement that applies, found through each policy's index (no trace).

    The same statements, in the same order (policy by policy, statement by statement), as the
    traced walk of ``explain``: what Simulate lists as MatchedStatements, without paying for
    an explanation nobody asked for.
    """
    tally = _Tally()
    for policy in policies:
        found = []
        for statement in policy.candidates(action, request.resource):
            how = _applies(statement, request, action, has_boundary)
            if how is not None:
                found.append((statement, how))
        if len(found) > 1:
            found.sort(key=_statement_position)
        for statement, how in found:
            if statement.is_deny:
                tally.denies.append(statement)
            else:
                tally.allows.append(statement)
                tally.principal_matches.append(how)
    return tally


def _statement_position(found: tuple[CompiledStatement, PrincipalMatch]) -> int:
    return found[0].ref.index


def _ref_index(statement: CompiledStatement) -> int:
    return statement.ref.index


def _tally(
    policies: Sequence[CompiledPolicy],
    request: Request,
    action: str,
    traces: list[PolicyTrace],
    has_boundary: bool = False,
    level: int | None = None,
) -> _Tally:
    """Every statement of ``policies`` checked and traced, in order (``explain``)."""
    tally = _Tally()
    for policy in policies:
        statement_traces: list[StatementTrace] = []
        for statement in policy.statements:
            how = _trace_statement(statement, request, action, has_boundary, statement_traces)
            if how is None:
                continue
            if statement.is_deny:
                tally.denies.append(statement)
            else:
                tally.allows.append(statement)
                tally.principal_matches.append(how)
        traces.append(PolicyTrace(policy.policy_id, policy.kind, tuple(statement_traces), level))
    return tally


def _trace_statement(
    statement: CompiledStatement,
    request: Request,
    action: str,
    has_boundary: bool,
    out: list[StatementTrace],
) -> PrincipalMatch | None:
    context = request.context
    action_ok = statement.matches_action(action)
    resource_ok = statement.matches_resource(request.resource, context)
    how = statement.principal_match(request.principal, has_boundary=has_boundary)
    conditions = tuple(
        ConditionTrace(
            operator=condition.clause.operator,
            key=condition.clause.key,
            policy_values=condition.clause.values,
            request_values=None if (present := context.get(condition.key)) is None else present.values,
            matched=condition.evaluate(context),
            note=_missing_key_note(condition) if present is None else _multivalued_note(condition, present),
        )
        for condition in statement.conditions
    )
    applies = action_ok and resource_ok and how is not None and all(c.matched for c in conditions)
    note = ""
    if statement.not_principal and statement.is_deny and has_boundary and how is not None:
        note = "a Deny with NotPrincipal applies to every caller that has a permissions boundary"
    out.append(
        StatementTrace(
            ref=statement.ref,
            effect="Deny" if statement.is_deny else "Allow",
            action_matched=action_ok,
            resource_matched=None if statement.resources is None else resource_ok,
            principal_matched=how is not None if statement.names_principals else None,
            conditions=conditions,
            applies=applies,
            note=note,
        )
    )
    return how if applies else None


def _missing_key_note(condition: CompiledCondition) -> str:
    """Why a condition on a key the request lacks came out as it did (AWS's missing-key rules)."""
    clause = condition.clause
    if condition.spec.family is Family.NULL:
        return "key missing: Null is true"
    if clause.set_operator is SetOperator.FOR_ANY_VALUE:
        rule = "ForAnyValue is false on a missing key"
    elif clause.if_exists:
        rule = "IfExists makes the condition true"
    elif clause.set_operator is SetOperator.FOR_ALL_VALUES:
        rule = "ForAllValues is true on a missing key"
    elif condition.spec.negated:
        rule = "a negated operator is true on a missing key"
    else:
        rule = "a positive operator is false on a missing key"
    return f"key missing: {rule}"


def _multivalued_note(condition: CompiledCondition, present: ContextValue) -> str:
    """Why a plain operator did not match a multivalued key given as a set (explanations only)."""
    if condition.multivalued and present.multi and condition.clause.set_operator is None:
        return (
            "multivalued key: a plain operator never matches a set of values; use ForAnyValue or ForAllValues"
        )
    return ""


_GRANTS_ALONE = frozenset({_DIRECT, PrincipalMatch.EVERYONE, PrincipalMatch.ROLE})
_PASSES_BOUNDARY = frozenset({_DIRECT, PrincipalMatch.EVERYONE})


_EXTERNAL = frozenset({PrincipalKind.SERVICE, PrincipalKind.ANONYMOUS})
"""Callers outside the organization's accounts: no identity-side policies, no SCPs."""

NO_PERMISSION_ACTION = "sts:getcalleridentity"
"""The one action AWS lets every authenticated IAM principal perform whatever its policies say
(STS API reference, GetCallerIdentity); no statement decides it, so none is determining."""


def evaluate(
    policy_set: PolicySet, request: Request, *, explain: bool = False, every_match: bool = False
) -> Evaluation:
    """Decide ``request`` against ``policy_set`` the way AWS IAM does.

    ``explain`` records a trace of every statement. ``every_match`` (Simulate without an
    explanation) finds the same determining statements and missing keys as ``explain`` does,
    through the indexes and without a trace.
    """
    if explain:
        return _evaluate_traced(policy_set, request)
    if every_match:
        return _evaluate_every(policy_set, request)
    action = request.action.lower()
    programs = policy_set.programs
    program = programs.get(action)
    if program is None:
        program = _Program(policy_set, action)
        if len(action) <= ACTION_TEXT_KEPT:
            if len(programs) >= policy_set.programs_kept:
                programs.clear()
            programs[action] = program
    # Service principals and anonymous callers hold no identity-side policies, and SCPs govern
    # only the organization's own principals.
    kind = request.principal.kind
    if kind is _SERVICE or kind is _ANONYMOUS:  # ``in _EXTERNAL``, without hashing the member
        resource = _run(program.resource, request, action, policy_set.boundary is not None)
        return _decide(
            policy_set, request, action, [], resource, _NO_MATCH, None, None, (), None, program.results
        )
    if program.identity_alone:
        return _decide_identity_alone(program.identity, request, program.results)  # type: ignore[arg-type]
    scp_tallies: list[_Tally] = []
    for group in program.scp:  # a loop: a comprehension builds a function per call (Python 3.11)
        scp_tallies.append(_run(group, request, action, False))
    group = program.identity
    if program.identity_split:
        identity = _run_split(group, request, False)  # type: ignore[arg-type]
    else:
        identity = _run(group, request, action, False)
    if program.identity_only:
        return _decide_identity_only(policy_set, request, action, scp_tallies, identity, program.results)
    has_boundary = policy_set.boundary is not None
    resource = _run(program.resource, request, action, has_boundary) if program.resource else _NO_MATCH
    boundary = _run(program.boundary, request, action, False) if has_boundary else None
    session = _run(program.session, request, action, False) if policy_set.session is not None else None
    return _decide(
        policy_set,
        request,
        action,
        scp_tallies,
        resource,
        identity,
        boundary,
        session,
        (),
        None,
        program.results,
    )


def _evaluate_traced(policy_set: PolicySet, request: Request) -> Evaluation:
    """``evaluate(explain=True)``: every statement of every policy checked, each outcome traced."""
    action = request.action.lower()
    external = request.principal.kind in _EXTERNAL
    has_boundary = policy_set.boundary is not None
    traces: list[PolicyTrace] = []
    scp_tallies = (
        []
        if external
        else [
            _tally(policies, request, action, traces, level=level)
            for level, policies in enumerate(policy_set.scp_levels)
        ]
    )
    if policy_set.resource is not None:
        resource = _tally((policy_set.resource,), request, action, traces, has_boundary)
    else:
        resource = _NO_MATCH
    identity = _tally(() if external else policy_set.identity, request, action, traces)
    boundary = _tally(policy_set.boundary, request, action, traces) if has_boundary and not external else None
    session = (
        _tally(policy_set.session, request, action, traces)
        if policy_set.session is not None and not external
        else None
    )
    missing = _missing_context(policy_set, request, action)
    return _decide(
        policy_set,
        request,
        action,
        scp_tallies,
        resource,
        identity,
        boundary,
        session,
        missing,
        tuple(traces),
    )


def _evaluate_every(policy_set: PolicySet, request: Request) -> Evaluation:
    """``evaluate(every_match=True)``: the tallies of ``explain`` through the indexes, no trace."""
    action = request.action.lower()
    external = request.principal.kind in _EXTERNAL
    has_boundary = policy_set.boundary is not None
    scp_tallies = [] if external else [_tally_every(p, request, action) for p in policy_set.scp_levels]
    resource_policies = (policy_set.resource,) if policy_set.resource is not None else ()
    resource = _tally_every(resource_policies, request, action, has_boundary)
    identity = _tally_every(() if external else policy_set.identity, request, action)
    boundary = _tally_every(policy_set.boundary, request, action) if has_boundary and not external else None
    session = (
        _tally_every(policy_set.session, request, action)
        if policy_set.session is not None and not external
        else None
    )
    missing = _missing_context(policy_set, request, action)
    return _decide(
        policy_set, request, action, scp_tallies, resource, identity, boundary, session, missing, None
    )


def _decide(
    policy_set: PolicySet,
    request: Request,
    action: str,
    scp_tallies: list[_Tally],
    resource: _Tally,
    identity: _Tally,
    boundary: _Tally | None,
    session: _Tally | None,
    missing: tuple[str, ...],
    trace: tuple[PolicyTrace, ...] | None,
    results: dict[object, Evaluation] | None = None,
) -> Evaluation:
    """The flow chart over the matching statements of every group of policies (``action`` lower-cased).

    ``results`` (a program's) hands out one ``Evaluation`` per distinct answer (see ``_result``).
    """
    principal_kind = request.principal.kind
    external = principal_kind is _SERVICE or principal_kind is _ANONYMOUS  # ``in _EXTERNAL``
    if not external and action == NO_PERMISSION_ACTION:
        # AWS: "No permissions are required to perform this operation"; even an explicit Deny
        # does not stop an authenticated IAM principal from asking who it is.
        return (
            _NO_PERMISSION_NEEDED
            if not missing and trace is None
            else Evaluation(_ALLOWED, (), None, missing, trace)
        )
    # 1. An explicit deny in any applicable policy wins.
    if (
        resource.denies
        or identity.denies
        or (boundary is not None and boundary.denies)
        or (session is not None and session.denies)
        or _any_denies(scp_tallies)
    ):
        denies: list[CompiledStatement] = []
        first_kind: PolicyKind | None = None
        for tally in scp_tallies:  # the flow chart's order: SCP levels, resource, identity, ...
            if tally.denies:
                denies += tally.denies
                first_kind = _SCP
        for kind, group in (
            (_RESOURCE, resource),
            (_IDENTITY, identity),
            (_BOUNDARY, boundary),
            (_SESSION, session),
        ):
            if group is not None and group.denies:
                denies += group.denies
                if first_kind is None:
                    first_kind = kind
        return _result(results, _EXPLICIT_DENY, tuple(denies), first_kind, missing, trace)

    # 2. Every level of the organization, root to account, must allow.
    for tally in scp_tallies:
        if not tally.allows:
            return _implicit(_SCP, missing, trace)

    # 3. Grants: which side allows, and how far a resource-based grant reaches on its own.
    matches = resource.principal_matches
    resource_any = bool(matches)
    resource_alone = resource_any and _any_in(matches, _GRANTS_ALONE)
    # The account root user has full access within its account: only explicit denies, SCPs and
    # (across accounts) the resource owner's policy can stop it.
    identity_allows = bool(identity.allows) or principal_kind is _ROOT
    if external:
        if not _any_in(matches, _PASSES_BOUNDARY):
            return _implicit(_RESOURCE, missing, trace)
        return _allowed([], resource.allows, None, None, missing, trace, results)
    # ``request.is_cross_account``, without the property's call
    owner, caller_account = request.resource_account, request.principal.account
    cross_account = owner is not None and caller_account is not None and owner != caller_account
    if cross_account:
        # Across accounts both sides must allow; an account-level grant is enough on the resource side.
        if not resource_any:
            return _implicit(_RESOURCE, missing, trace)
        if not identity_allows:
            return _implicit(_IDENTITY, missing, trace)
        via_identity = True
    else:
        if action.startswith(_RESOURCE_POLICY_FIRST) and _resource_policy_required(
            request, action, policy_set.resource is not None
        ):
            # The resource's own policy must let the caller in (role trust policies, KMS key
            # policies); an account-level grant there delegates to the identity-based policies.
            if policy_set.resource is None:
                return _implicit(_RESOURCE, missing, trace)
            via_identity = identity_allows and resource_any
            if not resource_alone and not via_identity:
                return _implicit(_IDENTITY if resource_any else _RESOURCE, missing, trace)
        else:
            via_identity = identity_allows
            if not resource_alone and not via_identity:
                return _implicit(_IDENTITY, missing, trace)

    # 4. A permissions boundary and a session policy cap what the identity side grants; a
    #    resource-based policy naming the caller itself (or everyone) reaches past the boundary,
    #    and one naming the session itself reaches past the session policy.
    if boundary is not None and not boundary.allows:
        same_account_direct = not cross_account and _any_in(matches, _PASSES_BOUNDARY)
        if not same_account_direct:
            return _implicit(_BOUNDARY, missing, trace)
    # A federated user session (GetFederationToken) has only what its session policy grants: with
    # no session policy it gets nothing from the identity side.
    federated_without_policy = principal_kind is _FEDERATED_USER and session is None
    if federated_without_policy or (session is not None and not session.allows):
        names_session = not cross_account and any(m is _DIRECT for m in matches)
        if not names_session:
            return _implicit(_SESSION, missing, trace)
    return _allowed(
        identity.allows if via_identity else [],
        resource.allows,
        boundary,
        session,
        missing,
        trace,
        results,
    )


def _decide_identity_only(
    policy_set: PolicySet,
    request: Request,
    action: str,
    scp_tallies: list[_Tally],
    identity: _Tally,
    results: dict[object, Evaluation],
) -> Evaluation:
    """``_decide`` for a program that is ``identity_only``, for one of the organization's
    principals: the flow chart reduced to the branches such a request can reach (the usual
    uncached decision; ``_decide`` costs it ~1 µs of branches for groups it does not have).

    With no resource-policy candidate the resource tally is empty; with no boundary or session
    policy their caps never apply; the action is neither sts:GetCallerIdentity nor an sts:/kms:
    action (whose resource policy may be required). So: any Deny goes to ``_decide`` (the
    explicit deny and its statements, as ever); an SCP level without an Allow denies implicitly;
    across accounts nothing on the resource side allows (implicit, ``RESOURCE``); within the
    account the identity policies must allow (the account's root user needs none); a federated
    user session has no session policy, so nothing. ``tests/engine/test_identity_only.py``
    checks every answer against ``_decide``'s.
    """
    if identity.denies or _any_denies(scp_tallies):
        return _explicit_deny(scp_tallies, identity, results)
    for tally in scp_tallies:
        if not tally.allows:
            return _IMPLICIT[_SCP]
    principal = request.principal
    owner, caller_account = request.resource_account, principal.account
    if owner is not None and caller_account is not None and owner != caller_account:
        return _IMPLICIT[_RESOURCE]
    kind = principal.kind
    allows = identity.allows
    if not allows and kind is not _ROOT:
        return _IMPLICIT[_IDENTITY]
    if kind is _FEDERATED_USER:
        return _IMPLICIT[_SESSION]
    return _result(results, _ALLOWED, tuple(allows), None, (), None)


def _decide_identity_alone(group: _Group, request: Request, results: dict[object, Evaluation]) -> Evaluation:
    """``_run_split`` and ``_decide_identity_only`` in one, for a program that is ``identity_alone``
    (no SCP tally, the identity group split; ``has_boundary`` false as there): the same checks in
    the same order, without a tally. Any applying Deny denies; across accounts nothing allows (the
    Allows need not be scanned: no answer reads them); else the first applying Allow (the
    account's root user needs none; a federated user session has no session policy)."""
    denies, allows = group.split
    if denies:
        found = _denies_that_apply(denies, request, False)
        if found is not None:
            return _result(results, _EXPLICIT_DENY, tuple(found), _IDENTITY, (), None)
    principal = request.principal
    owner, caller_account = request.resource_account, principal.account
    if owner is not None and caller_account is not None and owner != caller_account:
        return _IMPLICIT_RESOURCE
    if group.always is not None:
        allow = allows[0]
    else:
        first = _first_allow(allows, request, False)
        allow = first[0] if first is not None else None
    kind = principal.kind
    if allow is None:
        if kind is not _ROOT:
            return _IMPLICIT_IDENTITY
        return _result(results, _ALLOWED, (), None, (), None)
    if kind is _FEDERATED_USER:
        return _IMPLICIT_SESSION
    # ``_result(results, _ALLOWED, (allow,), None, (), None)``, keyed by the statement itself (it
    # hashes by identity, and never equals ``_result``'s tuple keys): no tuple built per request.
    found = results.get(allow)
    if found is None:
        if len(results) >= RESULTS_KEPT:
            results.clear()
        found = results[allow] = Evaluation(_ALLOWED, (allow.ref,), None)
    return found


def _first_allow(
    allows: Sequence[CompiledStatement], request: Request, has_boundary: bool
) -> tuple[CompiledStatement, PrincipalMatch] | None:
    """The first of the Allow candidates (they match the action) that applies to ``request``, and
    how it names the caller (``_DIRECT`` when it names no principal); ``None`` when none does."""
    resource, parts, principal, context = (
        request.resource,
        request.resource_parts,
        request.principal,
        request.context,
    )
    for statement in allows:
        if not statement.any_resource:  # ``matches_resource``, inlined for Resource lists
            if statement.not_resource:
                if not statement.matches_resource(resource, context, parts):
                    continue
            else:
                for pattern in statement.resources:  # type: ignore[union-attr]
                    if pattern.matches_parts(parts, context):
                        break
                else:
                    continue
        if statement.names_principals:
            how = statement.principal_match(principal, has_boundary=has_boundary)
            if how is None:
                continue
        else:
            how = _DIRECT
        if statement.conditions and not _conditions_hold(statement.conditions, context):
            continue
        return statement, how
    return None


def _explicit_deny(
    scp_tallies: list[_Tally], identity: _Tally, results: dict[object, Evaluation]
) -> Evaluation:
    """``_decide``'s explicit deny for an ``identity_only`` program (no resource, boundary or
    session tally; no missing keys, no trace): the SCP levels' applying Denies, then the identity
    policies', and the kind of the first group holding one."""
    if not scp_tallies:
        return _result(results, _EXPLICIT_DENY, tuple(identity.denies), _IDENTITY, (), None)
    denies: list[CompiledStatement] = []
    for tally in scp_tallies:
        denies += tally.denies
    first_kind = _SCP if denies else _IDENTITY
    denies += identity.denies
    return _result(results, _EXPLICIT_DENY, tuple(denies), first_kind, (), None)


_NO_PERMISSION_NEEDED = Evaluation(_ALLOWED)
_IMPLICIT = {kind: Evaluation(Decision.IMPLICIT_DENY, (), kind) for kind in PolicyKind}
"""The implicit denies without missing keys or trace: immutable, so every request shares them."""
_IMPLICIT_RESOURCE = _IMPLICIT[_RESOURCE]
_IMPLICIT_IDENTITY = _IMPLICIT[_IDENTITY]
_IMPLICIT_SESSION = _IMPLICIT[_SESSION]


def _implicit(
    kind: PolicyKind, missing: tuple[str, ...], trace: tuple[PolicyTrace, ...] | None
) -> Evaluation:
    if not missing and trace is None:
        return _IMPLICIT[kind]
    return Evaluation(Decision.IMPLICIT_DENY, (), kind, missing, trace)


def _any_in(matches: Sequence[PrincipalMatch], wanted: frozenset[PrincipalMatch]) -> bool:
    for match in matches:  # noqa: SIM110 - a loop beats any() on the hot path
        if match in wanted:
            return True
    return False


def _any_denies(tallies: list[_Tally]) -> bool:
    for tally in tallies:  # noqa: SIM110 - a loop beats any() on the hot path
        if tally.denies:
            return True
    return False


_RESOURCE_POLICY_FIRST = ("sts:", "kms:")
"""The services ``_resource_policy_required`` can answer yes for (one ``startswith`` skips its call)."""


def _resource_policy_required(request: Request, action: str, has_resource_policy: bool) -> bool:
    """Services whose resource policy must itself admit the caller, even within one account.

    A role's trust policy must allow ``sts:AssumeRole`` explicitly; a KMS key's key policy must
    allow the caller or delegate to the account before IAM policies count. (A simulation that
    gives no trust policy simulates the identity side alone, as AWS's simulator does; the bundle
    never lets a role without a trust policy be assumed.)
    """
    if action.startswith("sts:"):
        return has_resource_policy
    if action.startswith("kms:"):
        parts = request.resource.split(":", 5)
        return len(parts) == 6 and parts[5].lower().startswith("key/")
    return False


def _allowed(identity_allows, resource_allows, boundary, session, missing, trace, results=None) -> Evaluation:
    if not resource_allows and boundary is None and session is None:  # the usual grant: no list built
        return _result(results, _ALLOWED, tuple(identity_allows), None, missing, trace)
    granting: list[CompiledStatement] = [*resource_allows, *identity_allows]
    if identity_allows:
        if boundary is not None:
            granting += boundary.allows
        if session is not None:
            granting += session.allows
    return _result(results, _ALLOWED, tuple(granting), None, missing, trace)


RESULTS_KEPT = 4
"""Distinct answers one program hands out as shared ``Evaluation`` objects (then it starts afresh)."""


def _result(
    results: dict[object, Evaluation] | None,
    decision: Decision,
    statements: tuple[CompiledStatement, ...],
    denied_by: PolicyKind | None,
    missing: tuple[str, ...],
    trace: tuple[PolicyTrace, ...] | None,
) -> Evaluation:
    """The evaluation naming ``statements`` as determining; with a program's ``results``, the same
    object for the same answer (immutable: equal answers need not be built, or compared, again)."""
    if results is None or missing or trace is not None:
        return Evaluation(decision, tuple(s.ref for s in statements), denied_by, missing, trace)
    key = (decision, statements, denied_by)  # statements hash by identity: cheap, and exact
    found = results.get(key)
    if found is None:
        if len(results) >= RESULTS_KEPT:
            results.clear()
        found = results[key] = Evaluation(decision, tuple(s.ref for s in statements), denied_by)
    return found


def _missing_context(policy_set: PolicySet, request: Request, action: str) -> tuple[str, ...]:
    """Condition keys of statements matching the action and resource that the request lacked.

    Only a statement's conditions name keys: statements without any are passed over before their
    action and resource are tested, and policies without any (``conditional_policies``) are not
    asked at all. The keys, and their order, are those of every statement walked in order."""
    policies = policy_set.conditional_policies
    if not policies:
        return ()
    context = request.context
    missing: dict[str, str] = {}
    for policy in policies:
        # The index offers every statement matching the action and the resource (tests/engine/
        # test_index.py); in statement order, so the keys come in the order a full walk finds them.
        candidates = [s for s in policy.candidates(action, request.resource) if s.conditions]
        if len(candidates) > 1:
            candidates.sort(key=_ref_index)
        for statement in candidates:
            if not statement.matches_action(action) or not statement.matches_resource(
                request.resource, context
            ):
                continue
            for condition in statement.conditions:
                for key in condition.reads:
                    if key not in context and key not in missing:
                        name = condition.clause.key if key == condition.key else key
                        missing[key] = name
    return tuple(missing.values())
