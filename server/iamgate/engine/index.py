"""Statement indexes: an evaluation looks only at statements that can match.

An index answers "which statements can apply to this action and resource" through a *plan* per
action: the statements whose Action/NotAction matches that action, in policy order, each once.
Plans are built on an action's first use and remembered (bounded), so a decision pays neither for
finding the action's statements nor for filtering out those of other actions — what dominated a
principal with 5,000 statements. To build a plan without scanning every statement, large indexes
group their statements by action key on first use: the exact lower-cased action name, the
service prefix for wildcard patterns within a service, and a residue (``*``, NotAction).

A plan with many statements is indexed by resource: the exact ARN, the literal prefix of a
pattern cut at its last ``/`` or ``:`` before the first wildcard, and a residue (NotResource,
``*``, variables, no Resource). Its buckets hold positions in the plan, so merging several of them
back into policy order is a sort of small integers.

Nothing is built at compile time: ``iamgate simulate`` compiling a policy with thousands of
actions (ReadOnlyAccess) pays only for the actions it asks about. Plans and groups are immutable
once published; building one twice in two threads is harmless (the same result, the last kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import compress
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from iamgate.engine.arn import ArnPattern
    from iamgate.engine.compiled import CompiledStatement

RESOURCE_INDEX_THRESHOLD = 8
"""Plans smaller than this are scanned; a resource index would cost more than it saves."""
_DELIMITERS = ("/", ":")
ACTIONS_REMEMBERED = 1024
"""Per index, how many actions' plans are kept (callers choose actions: never grow without bound)."""
STATEMENTS_REMEMBERED = 1 << 17
"""Per index, how many statement references the remembered plans may hold in all."""
ACTION_TEXT_KEPT = 256
"""The longest action text the engine's memos (plans, programs, cached decisions) remember.

Callers choose the action: a count bound alone would let 60 KB names pin 1,024 x 60 KB per
index, 512 programs per policy set and 100,000 cached decisions. AWS action names are shorter
than 128 characters; a longer one is still evaluated, afresh each time."""
SHARED_GROUPS_FROM = 4
"""A plan holding at least 1/4 of a grouped index's statements uses the index's resource groups
(``_ResourceGroups``: one pass over every statement, once), filtering the positions found by a
mask (at most 4x what it keeps), rather than reading its own statements' keys; a small plan
builds its own (a principal's merged index has thousands of statements, its plans dozens)."""
GROUP_ABOVE = 32
"""Indexes with more statements group them by action key before building plans; smaller ones
build a plan by testing every statement's action."""


def resource_key(resource: str) -> str:
    """The form resource indexes are keyed by: ARN prefix parts folded to lower case.

    IAM compares partition, service, region and account case-insensitively and the resource
    part case-sensitively; folding the first five parts keeps both rules for literal prefixes.
    """
    cut = _fifth_colon(resource)
    return resource if cut < 0 else resource[:cut].lower() + resource[cut:]


def _fifth_colon(text: str) -> int:
    position = -1
    for _ in range(5):
        position = text.find(":", position + 1)
        if position < 0:
            return -1
    return position


def cut_at_delimiter(prefix: str) -> str:
    """``prefix`` shortened to end at its last ``/`` or ``:`` (lookups probe only those cuts)."""
    cut = max(prefix.rfind(d) for d in _DELIMITERS)
    return prefix[: cut + 1] if cut >= 0 else ""


def index_key(pattern: ArnPattern) -> tuple[bool, str]:
    """Where a resource index files an ARN pattern that has literal parts (see ``ArnPattern.index_key``)."""
    literal = pattern.literal_text
    if literal is not None:
        return True, resource_key(literal)
    return False, cut_at_delimiter(resource_key(pattern.literal_prefix))


def _resource_keys(statement: CompiledStatement) -> list[tuple[bool, str]] | None:
    """Where a statement sits in a resource index; ``None`` when it must always be checked."""
    if statement.resources is None or statement.not_resource:
        return None
    keys = []
    for pattern in statement.resources:
        if pattern.everything or pattern.template is not None:
            return None
        if pattern.matches_nothing:
            continue
        keys.append(pattern.index_key or index_key(pattern))
    return keys


class ActionPlan:
    """The statements one action can reach, in policy order, with a resource index when many."""

    __slots__ = (
        "_split",
        "_split_refs",
        "by_prefix",
        "cuts",
        "exact",
        "has_deny",
        "level_groups",
        "mask",
        "own_groups",
        "rest",
        "size",
        "statements",
        "universe",
    )

    def __init__(
        self,
        statements: tuple[CompiledStatement, ...],
        keys: _KeyMemo,
        shared: tuple[Sequence[int], _ResourceGroups] | None = None,
    ) -> None:
        """``shared``: the statements' positions among the grouped statements, and those statements'
        resource groups: the plan then looks its resources up in those groups and keeps the
        positions that are its own (a mask), instead of building a resource index statement by
        statement. The same candidates either way."""
        self.statements = statements
        self.size = len(statements)
        self.has_deny = any(s.is_deny for s in statements)
        """Whether any Deny can apply to the action: without one, the first applying Allow decides."""
        self.exact: dict[str, tuple[int, ...]] | None = None
        self.by_prefix: dict[str, tuple[int, ...]] = {}
        self.cuts: tuple[int, int] = _NO_CUTS
        """Where ``_sources`` probes ``by_prefix``: from the shortest non-empty key's last character
        to (excluded) the longest key's length (``_cut_range``)."""
        self.rest: Sequence[int] = ()
        self.mask: bytearray | None = None
        """With shared groups: which of ``universe`` (the grouped statements) are this plan's."""
        self.universe: Sequence[CompiledStatement] = statements
        self._split: dict[tuple[int, ...], Split] = {}
        """``split``'s answers by the buckets a key hit (bounded: ``SPLITS_KEPT``, ``SPLIT_REFS_KEPT``)."""
        self._split_refs = 0
        """Statement references the kept answers hold in all."""
        self.own_groups: dict[bool, object] | None = None
        """``evaluator._group_of_plan``'s groups of this plan's statements alone, by whether one
        applying Allow is as good as all (at most two; they never hold the plan)."""
        self.level_groups: dict[tuple[ActionPlan, ...], object] | None = None
        """SCP levels' groups (``evaluator._level``'s ``_Group``s) this plan is the first offering
        candidates of, by the level's other plans of the same action; bounded there. Never holds
        this plan itself (no reference cycle); not used on the shared empty plan."""
        if len(statements) < RESOURCE_INDEX_THRESHOLD:
            return
        if shared is not None:
            positions, groups = shared
            self.mask = mask = bytearray(len(groups.ordered))
            for position in positions:
                mask[position] = 1
            self.universe = groups.ordered
            self.exact, self.by_prefix, self.rest = groups.exact, groups.by_prefix, groups.rest
            self.cuts = groups.cuts
            return
        exact: dict[str, list[int]] = {}
        by_prefix: dict[str, list[int]] = {}
        rest: list[int] = []
        known = keys.known
        for position, statement in enumerate(statements):
            found = known.get(id(statement), False)
            if found is False:
                found = keys.of(statement)
            if found is None:
                rest.append(position)
                continue
            for is_exact, key in found:
                bucket = (exact if is_exact else by_prefix).setdefault(key, [])
                if not bucket or bucket[-1] != position:
                    bucket.append(position)
        self.exact = {k: tuple(v) for k, v in exact.items()}
        self.by_prefix = {k: tuple(v) for k, v in by_prefix.items()}
        self.cuts = _cut_range(by_prefix)
        self.rest = tuple(rest)

    def select(self, key: str | None) -> Sequence[CompiledStatement]:
        """The plan's statements that can match a resource of index key ``key`` (all if ``None``)."""
        if self.exact is None or key is None:
            return self.statements
        sources = self._sources(key)
        if not sources:
            return []
        return self._merge(sources)

    def split(self, key: str) -> Split:
        """``select(key)`` as (its Denies, its Allows), each in policy order; only for a plan with a
        resource index (``exact`` set).

        The candidates follow from which buckets ``key`` hits, not from the key itself, so the
        answer is remembered per set of buckets (bounded): requests on the same kinds of resource
        (a service's objects under the same prefixes) merge the buckets once, not per request.
        Where any one applying Allow is as good as all, the evaluator needs every Deny but only the
        first applying Allow, in policy order: it reads the two apart (``evaluator._scan_split``).
        """
        sources = self._sources(key)
        if not sources:
            return _NO_SPLIT
        # The buckets are the plan's own (or its shared groups'), alive as long as the plan: their
        # identities name them exactly.
        signature = tuple(map(id, sources))
        found = self._split.get(signature)
        if found is None:
            merged = self._merge(sources)
            found = Split(tuple(s for s in merged if s.is_deny), tuple(s for s in merged if not s.is_deny))
            split = self._split
            refs = len(merged)
            if len(split) >= SPLITS_KEPT or self._split_refs + refs > SPLIT_REFS_KEPT * (self.size + 16):
                split.clear()
                self._split_refs = 0
            split[signature] = found
            self._split_refs += refs
        return found

    def _sources(self, key: str) -> list[Sequence[int]]:
        """The buckets (positions) a resource of index key ``key`` hits: its exact ARN, each literal
        prefix of it cut at a delimiter, and the residue."""
        sources: list[Sequence[int]] = []
        hit = self.exact.get(key)  # type: ignore[union-attr]
        if hit:
            sources.append(hit)
        by_prefix = self.by_prefix
        if by_prefix:
            hit = by_prefix.get("")
            if hit:
                sources.append(hit)
            # Every key ends with a delimiter: only delimiters where some key could end are probed.
            start, end = self.cuts
            for delimiter in _DELIMITERS:
                position = key.find(delimiter, start, end)
                while position >= 0:
                    hit = by_prefix.get(key[: position + 1])
                    if hit:
                        sources.append(hit)
                    position = key.find(delimiter, position + 1, end)
        if self.rest:
            sources.append(self.rest)
        return sources

    def _merge(self, sources: list[Sequence[int]]) -> list[CompiledStatement]:
        # A statement with several resource patterns can sit in several buckets: keep one copy,
        # in policy order, so determining statements read the same as in an explanation.
        positions = sources[0] if len(sources) == 1 else sorted(set().union(*sources))
        mask = self.mask
        if mask is not None:
            universe = self.universe
            return [universe[i] for i in positions if mask[i]]
        statements = self.statements
        return [statements[i] for i in positions]


_NO_CUTS = (0, 0)


def _cut_range(by_prefix: Mapping[str, object]) -> tuple[int, int]:
    """``ActionPlan.cuts`` of these prefix keys: the positions a probe's last character (a
    delimiter) can take, as ``str.find``'s start and end; ``(0, 0)`` when only ``""`` (or nothing)
    is a key, which ``_sources`` looks up on its own."""
    lengths = [len(key) for key in by_prefix if key]
    if not lengths:
        return _NO_CUTS
    return min(lengths) - 1, max(lengths)


class Split(NamedTuple):
    """A plan's candidates for one resource, Denies and Allows apart (``ActionPlan.split``)."""

    denies: tuple[CompiledStatement, ...]
    allows: tuple[CompiledStatement, ...]


_NO_SPLIT = Split((), ())

SPLITS_KEPT = 16
"""Per plan, how many bucket sets' ``split`` answers are kept (then it starts afresh); real traffic
hits a few bucket sets per action."""
SPLIT_REFS_KEPT = 8
"""And at most this many times the plan's statements (plus 16) as references in all: the answers
cost at most ~8x the plan's own references, whatever the callers ask. Each answer repeats the
buckets every resource hits (the residue, ``""``), so a plan of a few hundred statements asked
about ~8 kinds of resource needs ~4-5x: at 4x, `make bench`'s heavy principal (5,000 statements,
median 8 bucket sets per action) started afresh on 18% of its requests, each rebuilding a merge of
~90 candidates; at 8x none (tracemalloc: its answers hold 1.0 -> 1.2 MB). Per index the plans hold
at most ``STATEMENTS_REMEMBERED`` references, so the answers at most ~8x that (~9 MB)."""


class _KeyMemo:
    """Resource keys per statement, computed once per index (a statement sits in many plans)."""

    __slots__ = ("known",)

    def __init__(self) -> None:
        self.known: dict[int, list[tuple[bool, str]] | None] = {}
        """By ``id`` of the statement (the index holds every statement it has keys for)."""

    def of(self, statement: CompiledStatement) -> list[tuple[bool, str]] | None:
        known = self.known.get(id(statement), False)
        if known is False:
            known = self.known[id(statement)] = _resource_keys(statement)
        return known  # type: ignore[return-value]


class _ResourceGroups:
    """Grouped statements (``_ActionGroups.ordered``) by resource key, as positions, built once per
    index: a plan holding a large share of them looks resources up here and keeps its own (a
    mask) instead of reading its statements' keys again (a policy of 5,000 statements about one
    service has plans of thousands)."""

    __slots__ = ("by_prefix", "cuts", "exact", "ordered", "rest")

    def __init__(self, ordered: Sequence[CompiledStatement], keys: _KeyMemo) -> None:
        self.ordered = ordered
        exact: dict[str, list[int]] = {}
        by_prefix: dict[str, list[int]] = {}
        rest: list[int] = []
        for position, statement in enumerate(ordered):
            found = keys.of(statement)
            if found is None:
                rest.append(position)
                continue
            for is_exact, key in found:
                bucket = (exact if is_exact else by_prefix).setdefault(key, [])
                if not bucket or bucket[-1] != position:
                    bucket.append(position)
        self.exact = exact
        self.by_prefix = by_prefix
        self.cuts = _cut_range(by_prefix)
        self.rest = rest


class _ActionGroups:
    """Statements by action key — exact names, service prefixes of wildcards, and a residue — as
    positions in ``ordered`` (the statements in policy order), so a plan merges them by sorting ints."""

    __slots__ = ("by_service", "elements", "exact", "ordered", "representatives", "residue")

    def __init__(self, statements: Iterable[CompiledStatement]) -> None:
        self.ordered = ordered = tuple(sorted(statements, key=_order))
        exact: dict[str, list[int]] = {}
        by_service: dict[str, list[int]] = {}
        residue: list[int] = []
        numbers: dict[tuple[int, bool], int] = {}
        self.elements: list[int] = []
        """Per position, the number of its statement's Action element (see ``_matching``)."""
        self.representatives: list[CompiledStatement] = []
        """Per element number, the first statement compiled from it."""
        for position, statement in enumerate(ordered):
            element = (id(statement.actions), statement.not_action)
            number = numbers.get(element)
            if number is None:
                number = numbers[element] = len(self.representatives)
                self.representatives.append(statement)
            self.elements.append(number)
            if statement.not_action or statement.any_action:
                residue.append(position)
                continue
            for text in statement.exact_actions:
                bucket = exact.setdefault(text, [])
                if not bucket or bucket[-1] != position:
                    bucket.append(position)
            for glob in statement.wild_actions:
                bucket = by_service.setdefault(glob.text.partition(":")[0].lower(), [])
                if not bucket or bucket[-1] != position:
                    bucket.append(position)
        self.exact = exact
        self.by_service = by_service
        self.residue = residue

    def reach(self, action: str) -> Sequence[int]:
        """Positions of the statements whose Action/NotAction can match ``action`` (a superset), in
        policy order, once each."""
        sources = [
            found
            for found in (self.exact.get(action), self.by_service.get(action.partition(":")[0]), self.residue)
            if found
        ]
        if not sources:
            return []
        return sources[0] if len(sources) == 1 else sorted(set().union(*sources))

    def matching(self, action: str) -> list[int]:
        """Positions of the statements whose Action/NotAction matches ``action``, in policy order.

        Statements compiled from equal Action elements share one tuple of patterns (``compiled``'s
        element memos), and whether they match follows from those patterns and NotAction alone: the
        test is made once per element among the reachable statements (a policy of 5,000
        statements names a few dozen elements), the rest at C speed.
        """
        reach = self.reach(action)
        elements = self.elements
        representatives = self.representatives
        verdicts = {
            number: representatives[number].matches_action(action)
            for number in set(map(elements.__getitem__, reach))
        }
        return list(compress(reach, map(verdicts.__getitem__, map(elements.__getitem__, reach))))


class StatementIndex:
    """Statements of one or more policies, reachable by action (a plan), then by resource."""

    __slots__ = ("_groups", "_keys", "_plans", "_remembered", "_resources", "statements")

    def __init__(self, statements: tuple[CompiledStatement, ...]) -> None:
        self.statements = statements
        self._groups: _ActionGroups | None = None
        self._resources: _ResourceGroups | None = None
        self._keys = _KeyMemo()
        self._plans: dict[str, ActionPlan] = {}
        self._remembered = 0

    @classmethod
    def build(cls, statements: Iterable[CompiledStatement]) -> StatementIndex:
        """An index over ``statements``; nothing is computed until an action is asked for."""
        return cls(tuple(statements))

    @property
    def remembered_actions(self) -> int:
        """How many actions' plans the index holds now."""
        return len(self._plans)

    @property
    def indexed_resources(self) -> bool:
        """Whether a plan of this index can be large enough to get a resource index."""
        return len(self.statements) >= RESOURCE_INDEX_THRESHOLD

    def candidates(self, action: str, resource: str | None = None) -> Sequence[CompiledStatement]:
        """Statements that can apply to ``action`` (lower-cased) and ``resource``, in a stable order.

        Every statement offered matches the action; statements in several buckets appear once.
        Without ``resource`` every statement whose action matches is returned.
        """
        plan = self._plans.get(action)
        if plan is None:
            plan = self.plan(action)
        if plan.exact is None or resource is None:
            return plan.statements
        return plan.select(resource_key(resource))

    def plan(self, action: str) -> ActionPlan:
        """The plan of ``action`` (lower-cased), built and remembered on first use."""
        plan = self._plans.get(action)
        if plan is not None:
            return plan
        shared = None
        if len(self.statements) > GROUP_ABOVE:
            groups = self._groups
            if groups is None:
                groups = self._groups = _ActionGroups(self.statements)
            positions = groups.matching(action)
            ordered = tuple(map(groups.ordered.__getitem__, positions))
            if len(positions) >= RESOURCE_INDEX_THRESHOLD and len(positions) * SHARED_GROUPS_FROM >= len(
                groups.ordered
            ):
                resources = self._resources
                if resources is None:
                    resources = self._resources = _ResourceGroups(groups.ordered, self._keys)
                shared = (positions, resources)
        else:
            statements = sorted(self.statements, key=_order)
            kept = _matching(statements, range(len(statements)), action)
            ordered = tuple(map(statements.__getitem__, kept))
        # Most (policy, action) pairs a bundle is asked about match nothing: they share one plan.
        plan = ActionPlan(ordered, self._keys, shared) if ordered else _NO_PLAN
        if len(action) > ACTION_TEXT_KEPT:
            return plan
        if len(self._plans) >= ACTIONS_REMEMBERED or self._remembered + plan.size > STATEMENTS_REMEMBERED:
            self._plans = {}
            self._remembered = 0
        self._plans[action] = plan
        self._remembered += plan.size
        return plan


_NO_PLAN = ActionPlan((), _KeyMemo())


def _matching(statements: Sequence[CompiledStatement], positions: Iterable[int], action: str) -> list[int]:
    """Those of ``positions`` whose statement's Action/NotAction matches ``action``, in their order.

    Statements compiled from equal Action elements share one tuple of patterns (``compiled``'s
    element memos), and whether they match follows from those patterns and NotAction alone: the
    test is made once per element (a policy of 5,000 statements names a few dozen elements).
    """
    verdicts: dict[tuple[int, bool], bool] = {}
    kept = []
    for position in positions:
        statement = statements[position]
        element = (id(statement.actions), statement.not_action)
        verdict = verdicts.get(element)
        if verdict is None:
            verdict = verdicts[element] = statement.matches_action(action)
        if verdict:
            kept.append(position)
    return kept


def _order(statement: CompiledStatement) -> tuple[str, int]:
    return statement.ref.policy_id, statement.ref.index
