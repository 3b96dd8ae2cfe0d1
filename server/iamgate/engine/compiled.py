"""Policies compiled once, at load, into matchers and an action index.

A ``CompiledStatement`` holds ready-to-run matchers for each element; a ``CompiledPolicy`` indexes
its statements by action so an evaluation only looks at statements that can apply. Compiled
policies are immutable and shared by every principal that attaches them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from iamgate.engine.arn import ArnPattern, ShortArn
from iamgate.engine.conditions import (
    CompiledCondition,
    MultivaluedKeys,
    compile_condition,
    documented_multivalued,
)
from iamgate.engine.glob import Glob
from iamgate.engine.index import StatementIndex, index_key, resource_key
from iamgate.engine.principals import (
    INDEXED_ENTRIES,
    PrincipalIndex,
    PrincipalMatch,
    match_principal,
    not_principal_spares,
)
from iamgate.engine.reach_index import ReachIndex
from iamgate.engine.request import ContextValue, Principal
from iamgate.engine.result import PolicyKind, StatementRef
from iamgate.engine.variables import template_keys
from iamgate.policy.frozen import positional
from iamgate.policy.model import Effect, HashedTuple, PolicyDocument, PrincipalSpec, Statement

Context = Mapping[str, ContextValue]

# Enum members bound once (a module global reads ~10x faster than a member off its class on
# Python 3.11): ``principal_match`` runs per resource-policy statement per request.
_DIRECT = PrincipalMatch.DIRECT
_RESOURCE = PolicyKind.RESOURCE


@dataclass(frozen=True, slots=True, eq=False)
class CompiledStatement:
    ref: StatementRef
    statement: Statement
    is_deny: bool
    actions: tuple[Glob, ...]
    not_action: bool
    resources: tuple[ArnPattern, ...] | None
    """``None`` when the statement has neither Resource nor NotResource (trust policies)."""
    not_resource: bool
    principal: PrincipalSpec | None
    not_principal: bool
    names_principals: bool
    """True in resource-based policies, where a statement applies only to the principals it names."""
    conditions: tuple[CompiledCondition, ...]
    reads: frozenset[str] = field(default=frozenset())
    """Context keys whose values can change whether this statement applies."""
    any_action: bool = False
    """Action ``*``: no need to look at the action."""
    any_resource: bool = False
    """No Resource element, or Resource ``*``: no need to look at the resource."""
    exact_actions: frozenset[str] = frozenset()
    wild_actions: tuple[Glob, ...] = ()
    """Every wildcard action pattern (the index groups statements by their services)."""
    action_prefixes: tuple[str, ...] = ()
    """The lower-cased literal heads of ``service:Name*`` patterns: one ``str.startswith`` call
    tests them all (ReadOnlyAccess holds thousands)."""
    other_wild_actions: tuple[Glob, ...] = ()
    """Wildcard action patterns of any other shape, tested one by one."""
    principal_index: PrincipalIndex | None = None
    """The Principal element as sets, when it is long (``principals.INDEXED_ENTRIES``)."""

    def matches_action(self, action: str) -> bool:
        """``action`` is lower-cased by the caller."""
        if self.any_action:
            return True
        hit = _element_matches(self.exact_actions, self.action_prefixes, self.other_wild_actions, action)
        return hit is not self.not_action

    def matches_resource(self, resource: str, context: Context, parts: Sequence[str] | None = ()) -> bool:
        """Whether Resource/NotResource admit ``resource``; ``parts`` is its split form, if known."""
        if self.any_resource:
            return True
        if parts == ():
            split = resource.split(":", 5)
            parts = split if len(split) == 6 and split[0] == "arn" else None
        resources = self.resources or ()
        if not self.not_resource:
            for pattern in resources:  # noqa: SIM110 - a loop beats any() on the hot path
                if pattern.matches_parts(parts, context):
                    return True
            return False
        for pattern in resources:  # noqa: SIM110 - a loop beats any() on the hot path
            # An entry that cannot be read (an unresolved variable) never turns into a match.
            if pattern.excludes(parts, context):
                return False
        return True

    def principal_match(self, principal: Principal, *, has_boundary: bool = False) -> PrincipalMatch | None:
        """How the statement names the caller.

        Identity-side policies name no principal: they apply to whoever holds them. In a
        resource-based policy a statement without Principal names nobody; NotPrincipal names
        everyone it does not list, as a direct grant. AWS documents that a Deny with NotPrincipal
        always applies to a caller with a permissions boundary, whatever it lists.
        """
        if not self.names_principals:
            return _DIRECT
        if self.principal is None:
            return None
        if self.not_principal:
            if not self.is_deny:
                # Allow with NotPrincipal: whoever it names in any way is left out (fail closed).
                named = match_principal(self.principal, principal) is not None
                return None if named else _DIRECT
            if has_boundary:
                return _DIRECT
            return None if not_principal_spares(self.principal, principal) else _DIRECT
        return match_principal(self.principal, principal, self.principal_index)

    def conditions_hold(self, context: Context) -> bool:
        for condition in self.conditions:  # noqa: SIM110 - a loop beats all() on the hot path
            if not condition.evaluate(context):
                return False
        return True


class _ActionPattern(NamedTuple):
    """An action pattern compiled and classified once per text (see ``_action_pattern``)."""

    glob: Glob | None
    """``None`` for a pattern that can match nothing."""
    literal: str | None
    """The lower-cased action when the pattern has no wildcard."""
    prefix: str | None
    """The lower-cased head of a ``service:Head*`` pattern."""
    everything: bool


def _action_pattern(text: str) -> _ActionPattern:
    """An action pattern, compiled and classified.

    Wildcards work in the action name only: ``s3:Get*`` and ``*`` match, ``s3*:GetObject`` and
    ``*:GetObject`` match no action, as in IAM. Remembered per text (AWS managed policies repeat
    the same few thousand patterns), bounded like the globs themselves.
    """
    known = _ACTION_PATTERNS.get(text)
    if known is None:
        glob = _action_glob(text)
        known = _ActionPattern(
            glob,
            None if glob is None else glob.literal_text,
            None if glob is None else glob.prefix_text,
            glob is not None and glob.matches_everything,
        )
        if len(text) <= _ACTION_TEXT_REMEMBERED:  # caller-fed documents must not grow the memo
            if len(_ACTION_PATTERNS) >= _ACTION_PATTERNS_REMEMBERED:
                _ACTION_PATTERNS.clear()
            _ACTION_PATTERNS[text] = known
    return known


_ACTION_PATTERNS: dict[str, _ActionPattern] = {}
_ACTION_PATTERNS_REMEMBERED = 4096
_ACTION_TEXT_REMEMBERED = 128
"""Longer action patterns are compiled each time, never kept (the memo lives as long as the process)."""


class _Actions(NamedTuple):
    """An Action or NotAction element compiled and sorted by how it is tested."""

    globs: tuple[Glob, ...]
    exact: frozenset[str]
    wild: tuple[Glob, ...]
    prefixes: tuple[str, ...]
    others: tuple[Glob, ...]
    everything: bool

    def matches(self, action: str) -> bool:
        """Whether some pattern of the element matches ``action`` (lower-cased), as
        ``CompiledStatement.matches_action`` tests an Action element."""
        return self.everything or _element_matches(self.exact, self.prefixes, self.others, action)


def _element_matches(
    exact: frozenset[str], prefixes: tuple[str, ...], others: tuple[Glob, ...], action: str
) -> bool:
    """Whether an Action element's patterns, sorted by how they are tested (exact names, literal
    heads of ``service:Name*``, any other glob), match ``action`` (lower-cased): the one rule
    ``CompiledStatement.matches_action`` and ``_Actions.matches`` share."""
    if action in exact or (prefixes and action.startswith(prefixes)):
        return True
    for glob in others:  # noqa: SIM110 - a loop beats any() here
        if glob.matches(action):
            return True
    return False


def _element_key(texts: tuple[str, ...]) -> tuple[str, ...] | str:
    """What the element memos key an Action element on: the parser's joined text of a long element
    it vouched for (``HashedTuple.joined``: equal exactly when the elements are; one hash of one
    text, not a hash of each of ReadOnlyAccess's 1,500 fresh strings), else the tuple itself. A text
    and a tuple never compare equal, so the two kinds of key cannot be confused."""
    if type(texts) is HashedTuple:
        joined = texts.joined
        if joined is not None:
            return joined
    return texts


def _actions_of(texts: tuple[str, ...], key: tuple[str, ...] | str | None = None) -> _Actions:
    """The element's patterns, remembered per element (bounded): AWS managed policies such as
    ReadOnlyAccess list thousands of actions, and a simulation may give the same ones again.
    ``key``: ``_element_key(texts)``, if the caller has it."""
    key = key if key is not None else _element_key(texts)
    known = _ACTION_ELEMENTS.get(key)
    if known is not None:
        return known
    globs: list[Glob] = []
    exact: list[str] = []
    wild: list[Glob] = []
    prefixes: list[str] = []
    others: list[Glob] = []
    everything = False
    for glob, literal, prefix, matches_everything in map(_action_pattern, texts):
        if glob is None:
            continue
        globs.append(glob)
        if literal is not None:
            exact.append(literal)
            continue
        wild.append(glob)
        if prefix is not None:
            prefixes.append(prefix)
        else:
            everything = everything or matches_everything
            others.append(glob)
    known = _Actions(tuple(globs), frozenset(exact), tuple(wild), tuple(prefixes), tuple(others), everything)
    if len(texts) >= _ELEMENT_MEMO_FROM:
        global _element_texts_kept
        size = sum(map(len, texts))
        if size <= _ELEMENT_TEXT_REMEMBERED // 4:
            if _element_texts_kept + size > _ELEMENT_TEXT_REMEMBERED:
                _ACTION_ELEMENTS.clear()
                _element_texts_kept = 0
            _ACTION_ELEMENTS[key] = known
            _element_texts_kept += size
    return known


_ACTION_ELEMENTS: dict[tuple[str, ...] | str, _Actions] = {}
_ELEMENT_TEXT_REMEMBERED = 1 << 18
"""Characters of action text the element memo keeps in all (then it starts afresh): ReadOnlyAccess
lists ~2,900 actions (~90,000 characters), and caller-fed documents must not grow it without bound."""
_element_texts_kept = 0
_ELEMENT_MEMO_FROM = 16
"""Elements shorter than this are compiled each time (cheap, and too many to remember)."""


def _action_glob(text: str) -> Glob | None:
    if text.strip("*") == "":
        return Glob.compile("*")
    service, colon, name = text.partition(":")
    if not colon or not name or "*" in service or "?" in service or len(text.split()) != 1:
        return None
    return Glob.compile(text, ignore_case=True)


class _Resources(NamedTuple):
    """A Resource or NotResource element compiled, with what a statement derives from it."""

    patterns: tuple[ArnPattern, ...]
    everything: bool
    """Some pattern matches every resource."""
    reads: frozenset[str]
    """Context keys of the policy variables in the patterns."""


def _resources_of(texts: tuple[str, ...], variables: bool, short: ShortArn) -> _Resources:
    patterns = tuple(ArnPattern.compile(r, variables=variables, fold_prefix=True, short=short) for r in texts)
    reads: set[str] = set()
    for pattern in patterns:
        if pattern.template is not None:
            reads.update(template_keys(pattern.template))
    return _Resources(patterns, any(p.everything for p in patterns), frozenset(reads))


_NO_READS: frozenset[str] = frozenset()


class _ElementMemo:
    """Elements compiled once per ``compile_policy`` call: statements of one policy repeat the same
    Action and Resource lists (a policy of thousands of statements names a few dozen of each)."""

    __slots__ = ("actions", "resources")

    def __init__(self) -> None:
        self.actions: dict[tuple[str, ...] | str, _Actions] = {}
        """Keyed by ``_element_key``."""
        self.resources: dict[tuple[tuple[str, ...], bool, ShortArn], _Resources] = {}


def compile_statement(
    statement: Statement,
    ref: StatementRef,
    *,
    variables: bool,
    multivalued: MultivaluedKeys = documented_multivalued,
    memo: _ElementMemo | None = None,
) -> CompiledStatement:
    """Compile one statement; policy variables are substituted only when ``variables`` is set."""
    memo = memo if memo is not None else _ElementMemo()
    actions = statement.actions if statement.actions is not None else statement.not_actions or ()
    resource_texts = statement.resources if statement.resources is not None else statement.not_resources
    not_resource = statement.not_resources is not None
    resources = None
    any_resource = True
    reads = _NO_READS
    if resource_texts is not None:
        short = ShortArn.PAD_IF_WILDCARD if ref.kind is _RESOURCE else ShortArn.PAD
        key = (resource_texts, variables, short)
        element = memo.resources.get(key)
        if element is None:
            element = memo.resources[key] = _resources_of(resource_texts, variables, short)
        resources = element.patterns
        any_resource = not not_resource and element.everything
        reads = element.reads
    if statement.conditions:
        conditions = tuple(
            compile_condition(c, variables=variables, multivalued=multivalued) for c in statement.conditions
        )
        reads = reads.union(key for condition in conditions for key in condition.reads)
    else:
        conditions = ()
    principal = statement.principal if statement.principal is not None else statement.not_principal
    not_action = statement.not_actions is not None
    # _element_key, without a call for the plain tuples of a bundle's statements
    key = _element_key(actions) if type(actions) is HashedTuple else actions
    actions_of = memo.actions.get(key)
    if actions_of is None:
        actions_of = memo.actions[key] = _actions_of(actions, key)
    return _new_statement(
        ref,
        statement,
        statement.effect is Effect.DENY,
        actions_of.globs,
        not_action,
        resources,
        not_resource,
        principal,
        statement.not_principal is not None,
        ref.kind is _RESOURCE,
        conditions,
        reads,
        not not_action and actions_of.everything,
        any_resource,
        actions_of.exact,
        actions_of.wild,
        actions_of.prefixes,
        actions_of.others,
        PrincipalIndex.of(principal)
        if principal is not None and len(principal.entries) > INDEXED_ENTRIES
        else None,
    )


_new_statement = positional(CompiledStatement)
"""``CompiledStatement(...)`` with every field given, at half the cost (``policy.frozen``)."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPolicy:
    """A policy ready for evaluation: its statements, compiled, and an index over them."""

    policy_id: str
    kind: PolicyKind
    document: PolicyDocument
    statements: tuple[CompiledStatement, ...]
    index: StatementIndex
    conditional: bool = True
    """Some statement has a Condition (``compile_policy`` says; ``True`` unless told): only those
    name keys a request can lack (``evaluator._missing_context`` skips the others)."""

    def candidates(self, action: str, resource: str | None = None) -> Sequence[CompiledStatement]:
        """Statements that can apply to ``action`` (lower-cased) and ``resource``."""
        return self.index.candidates(action, resource)


def compile_policy(
    document: PolicyDocument,
    *,
    policy_id: str,
    kind: PolicyKind,
    multivalued: MultivaluedKeys = documented_multivalued,
    reach: Reach | None = None,
) -> CompiledPolicy:
    """Compile a parsed document once; the result is immutable and can be shared freely.

    ``multivalued`` says which condition keys are multivalued (``Catalogue.multivalued``: the
    service authorization reference's and a bundle's own ``ArrayOf...`` keys); by default the
    global keys AWS documents as multivalued. ``reach`` (a simulation's actions and resources)
    leaves out the statements that none of them can reach: the policy then answers only requests
    within that reach, through its index, and not an explanation (which lists every statement).
    """
    variables = document.variables_enabled
    memo = _ElementMemo()
    kept = document.statements
    if reach is not None:
        short = ShortArn.PAD_IF_WILDCARD if kind is _RESOURCE else ShortArn.PAD
        kept = reach.reachable(document, variables, short, memo)
    statements = tuple(
        compile_statement(
            s,
            StatementRef(policy_id, kind, s.index, s.sid),
            variables=variables,
            multivalued=multivalued,
            memo=memo,
        )
        for s in kept
    )
    # Compiled for a reach, the policy is asked the same few (action, resource) pairs again and
    # again: its index remembers their candidates (``reach_index``).
    index = StatementIndex.build(statements) if reach is None else ReachIndex.build(statements)
    conditional = any(statement.conditions for statement in statements)
    return CompiledPolicy(policy_id, kind, document, statements, index, conditional)


class Reach(NamedTuple):
    """The actions and resources a simulation asks about, as the statement index looks them up.

    A statement none of them can reach need not be compiled (a policy of 5,000 statements asked
    about ten buckets reaches a few dozen). Reaching is decided the way the index offers candidates
    (``index.StatementIndex.candidates``), which offers every statement that can match: by the
    Action patterns, and by each Resource pattern's index key — the ARN itself, or its literal
    prefix cut at a delimiter, found among the prefixes of a resource cut at its delimiters.
    NotAction, NotResource, no Resource, ``*`` and patterns with policy variables always reach.
    """

    actions: frozenset[str]
    """Lower-cased, as the evaluator asks the index."""
    exact: frozenset[str]
    """``index.resource_key`` of every resource."""
    cuts: frozenset[str]
    """Every prefix of those keys that ends at a ``/`` or ``:``, and the empty one."""

    @classmethod
    def of(cls, actions: Iterable[str], resources: Iterable[str]) -> Reach:
        """The reach of ``actions`` x ``resources`` (``*`` is always added: an action that takes no
        resource is evaluated on ``*``)."""
        keys = {resource_key(resource) for resource in resources}
        keys.add("*")
        cuts = {""}
        for key in keys:
            for delimiter in _DELIMITERS:
                position = key.find(delimiter)
                while position >= 0:
                    cuts.add(key[: position + 1])
                    position = key.find(delimiter, position + 1)
        return cls(frozenset(action.lower() for action in actions), frozenset(keys), frozenset(cuts))

    def covers(self, actions: Iterable[str], resources: Iterable[str]) -> bool:
        """Whether every one of ``actions`` and ``resources`` is within this reach."""
        return self.actions.issuperset(a.lower() for a in actions) and self.exact.issuperset(
            map(resource_key, resources)
        )

    def reachable(
        self, document: PolicyDocument, variables: bool, short: ShortArn, memo: _ElementMemo
    ) -> tuple[Statement, ...]:
        """Those of ``document``'s statements that some action and resource of the reach can be
        offered (a superset of those they apply to), in order. The statements are looked up by
        resource in the document's ``ReachTable`` (built once per document, ``reach_table``), so
        a reach costs what it reaches, not the document's length; then each surviving statement's
        Action element is tested once per distinct element (the elements compiled on the way are
        kept in ``memo`` for the compilation that follows). ``reachable_by_scan`` decides alike."""
        statements = document.statements
        table = reach_table(document, variables, short)
        found = set(table.always)
        for wanted, filed in ((self.exact, table.exact), (self.cuts, table.cuts)):
            if len(wanted) <= len(filed):
                for key in wanted:
                    hit = filed.get(key)
                    if hit is not None:
                        found.update(hit)
            else:
                for key, hit in filed.items():
                    if key in wanted:
                        found.update(hit)
        by_actions: dict[tuple[str, ...] | str, bool] = {}
        kept = []
        for position in sorted(found):
            statement = statements[position]
            if statement.actions is not None and not self._reaches_actions(
                statement.actions, memo, by_actions
            ):
                continue
            kept.append(statement)
        return tuple(kept)

    def reachable_by_scan(
        self, statements: Sequence[Statement], variables: bool, short: ShortArn, memo: _ElementMemo
    ) -> tuple[Statement, ...]:
        """``reachable``, statement by statement: the reference its table must agree with (tests)."""
        by_actions: dict[tuple[str, ...] | str, bool] = {}
        by_resources: dict[tuple[str, ...], bool] = {}
        by_text: dict[str, bool] = {}
        kept = []
        for statement in statements:
            actions = statement.actions
            # NotAction: it can match any action but those listed
            if actions is not None and not self._reaches_actions(actions, memo, by_actions):
                continue
            texts = statement.resources
            if texts is not None:  # NotResource, or no Resource element: any resource
                verdict = by_resources.get(texts)
                if verdict is None:
                    verdict = by_resources[texts] = any(
                        self._reaches_resource(text, variables, short, by_text) for text in texts
                    )
                if not verdict:
                    continue
            kept.append(statement)
        return tuple(kept)

    def _reaches_actions(
        self, actions: tuple[str, ...], memo: _ElementMemo, known: dict[tuple[str, ...] | str, bool]
    ) -> bool:
        """Whether some action of the reach matches the Action element ``actions``."""
        key = _element_key(actions) if type(actions) is HashedTuple else actions
        verdict = known.get(key)
        if verdict is None:
            element = memo.actions.get(key)
            if element is None:
                element = memo.actions[key] = _actions_of(actions, key)
            verdict = known[key] = any(map(element.matches, self.actions))
        return verdict

    def _reaches_resource(self, text: str, variables: bool, short: ShortArn, known: dict[str, bool]) -> bool:
        """Whether the index can offer a statement with Resource pattern ``text`` for some resource
        of the reach (``index._resource_keys``, ``StatementIndex.candidates``)."""
        verdict = known.get(text)
        if verdict is None:
            filed = _filed_under(text, variables, short)
            if filed is True or filed is None:
                verdict = filed is True
            else:
                exact, key = filed
                verdict = key in (self.exact if exact else self.cuts)
            known[text] = verdict
        return verdict


def _filed_under(text: str, variables: bool, short: ShortArn) -> tuple[bool, str] | bool | None:
    """Where the statement index files Resource pattern ``text`` (``index._resource_keys``): its
    index key, ``True`` when it is offered for every resource (``*``, a policy variable), ``None``
    when it can match nothing."""
    pattern = ArnPattern.compile(text, variables=variables, fold_prefix=True, short=short)
    if pattern.everything or pattern.template is not None:
        return True
    if pattern.matches_nothing:
        return None
    return pattern.index_key or index_key(pattern)


class ReachTable(NamedTuple):
    """A document's statements by where their Resource element lets the index offer them, as
    positions (in no particular order): the statements some resource of a reach can reach are
    those filed under its exact keys or its cuts, and ``always``."""

    exact: dict[str, list[int]]
    """By the index key of a literal Resource pattern."""
    cuts: dict[str, list[int]]
    """By the cut literal prefix of a wildcard Resource pattern."""
    always: list[int]
    """No Resource element, NotResource, or a pattern offered for every resource."""

    @classmethod
    def of(cls, statements: Sequence[Statement], variables: bool, short: ShortArn) -> ReachTable:
        """Statements grouped by Resource element first (a document of thousands of statements
        names far fewer), then each element's patterns filed once."""
        always: list[int] = []
        by_element: dict[tuple[str, ...], list[int]] = {}
        for position, statement in enumerate(statements):
            texts = statement.resources
            if texts is None:
                always.append(position)
                continue
            group = by_element.get(texts)
            if group is None:
                by_element[texts] = [position]
            else:
                group.append(position)
        exact: dict[str, list[int]] = {}
        cuts: dict[str, list[int]] = {}
        for texts, positions in by_element.items():
            keys = _element_filed_under(texts, variables, short)
            if keys is None:
                always += positions
                continue
            for is_exact, key in keys:
                filed = exact if is_exact else cuts
                bucket = filed.get(key)
                if bucket is None:
                    filed[key] = positions.copy()
                else:
                    bucket += positions
        return cls(exact, cuts, always)


def _element_filed_under(
    texts: tuple[str, ...], variables: bool, short: ShortArn
) -> list[tuple[bool, str]] | None:
    """Where a Resource element's patterns are filed (``_filed_under``), each place once; ``None``
    when some pattern is offered for every resource."""
    keys: list[tuple[bool, str]] = []
    for text in texts:
        filed = _filed_under(text, variables, short)
        if filed is True:
            return None
        if filed is not None and filed not in keys:
            keys.append(filed)
    return keys


REACH_TABLES_KEPT = 8
"""Documents whose ``ReachTable`` is kept (then all are forgotten)."""
REACH_TABLE_STATEMENTS_KEPT = 1 << 13
"""And at most this many statements over the kept documents: more than the largest document a call
may give by default (``max_simulate_statements``, 5,000), about what the parser's memo of 1 Mi
characters of text can hand out again. An entry keeps its document alive (a document of 5,000
statements: 2.9 MB, its table 0.4 MB, tracemalloc), also once the parser has forgotten its text:
at most ~5 MB of such documents."""
_REACH_TABLES: dict[tuple[int, bool, ShortArn], tuple[PolicyDocument, ReachTable]] = {}
_reach_table_statements = 0
_REACH_TABLES_LOCK = threading.Lock()


def reach_table(document: PolicyDocument, variables: bool, short: ShortArn) -> ReachTable:
    """``document``'s ``ReachTable``, built on first use and kept (bounded: ``REACH_TABLES_KEPT``,
    ``REACH_TABLE_STATEMENTS_KEPT``), per process. A parsed document is immutable and the parser
    hands out the same one for the same text (``parse_policy(remember=True)``): Simulate calls
    asking other actions or resources about one large document then pay only for what they
    reach. Keyed by the document's identity, which the entry keeps alive (so it is not reused)."""
    global _reach_table_statements
    key = (id(document), variables, short)
    known = _REACH_TABLES.get(key)
    if known is not None and known[0] is document:
        return known[1]
    table = ReachTable.of(document.statements, variables, short)
    size = len(document.statements)
    if size <= REACH_TABLE_STATEMENTS_KEPT:
        with _REACH_TABLES_LOCK:
            if (
                len(_REACH_TABLES) >= REACH_TABLES_KEPT
                or _reach_table_statements + size > REACH_TABLE_STATEMENTS_KEPT
            ):
                _REACH_TABLES.clear()
                _reach_table_statements = 0
            if key not in _REACH_TABLES:
                _reach_table_statements += size
            _REACH_TABLES[key] = (document, table)
    return table


_DELIMITERS = ("/", ":")
"""Where the statement index cuts resource keys (``index._DELIMITERS``)."""
