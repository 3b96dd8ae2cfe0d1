"""The Snapshot: one bundle revision, fully compiled, answering access queries.

A snapshot is built completely (``compiler.build_snapshot``) before anyone sees it and never
changes afterwards, so swapping the active bundle is replacing one reference: a request in flight
finishes on the revision it started with. Every policy document was compiled once; a principal
holds references to the compiled policies it uses, so memory grows with the bundle, not with
principals x policies. Per request the snapshot only resolves the principal, picks the policies
and fills the context; it does no parsing unless the query carries a session policy.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType

from cachetools import LRUCache

from iamgate.bundle import context as ctx
from iamgate.bundle import session_tags as tagging
from iamgate.bundle.http_routes import NO_ROUTES, HttpRoutes
from iamgate.bundle.model import Manifest, PolicyTest
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.trust import (
    NO_TRUSTED_KEYS,
    TIME_KEYS,
    DefinedKeys,
    ResourceKnowledge,
    TrustedKeys,
    caller_context,
    caller_context_over,
    knowledge_of,
)
from iamgate.engine.cache import MAX_CACHED_TEXT, CachePlan, DecisionCache
from iamgate.engine.compiled import CompiledPolicy, compile_policy
from iamgate.engine.conditions import MultivaluedKeys, documented_multivalued
from iamgate.engine.errors import RequestError
from iamgate.engine.evaluator import MERGED_INDEX_THRESHOLD, PolicySet, evaluate, merge_identity
from iamgate.engine.identity import (
    _UNPRINTABLE,
    IamNameKey,
    canonical_resource,
    canonical_resource_or_none,
    check_action,
    iam_name_key,
)
from iamgate.engine.index import StatementIndex
from iamgate.engine.request import ContextValue, Principal, PrincipalKind, Request, request_on, resource_parts
from iamgate.engine.result import Decision, Evaluation, PolicyKind, access_message
from iamgate.engine.wildcard_only import WildcardOnlyActions
from iamgate.policy import PolicyParseError, parse_policy

TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)
"""Actions on a role ARN whose resource-based policy is the role's trust policy."""

MERGED_INDEXES_KEPT = 4096
DEFAULT_SESSION_MEMO_BYTES = 16 << 20
"""Estimated bytes of compiled session policies kept per revision, and as many again of session-tag
checks (``iamgate serve --session-policy-memo-bytes``; 0 keeps none)."""
COMPILED_BYTES_PER_CHARACTER = 64
"""What one character of a session policy costs compiled, at most: measured with tracemalloc on
10 KiB policies of many shapes (16x for IP lists, 31-48x for statements, actions and resources,
57x for wildcard resources with ``?``); a 10 KiB policy is kept as ~650 KiB."""
_MEMO_ENTRY_BYTES = 4096
"""Fixed cost of a kept entry (its key, tuple, cache node) beyond what its size counts."""
_TAG_BYTES = 160
"""A kept session tag: its (key, value) tuple and two strings, beyond their characters."""
RESOURCES_KEPT = 4096
"""Request resources whose canonical spelling and bundle facts are remembered (then all are dropped)."""
MEMO_TEXT_LIMIT = 1024
"""Longer resource texts (S3 keys reach 1,024 bytes) are canonicalised afresh each time."""
PRINCIPALS_KEPT = 4096
"""Request principal spellings whose resolution is remembered (then all are dropped)."""
LAYERS_KEPT = 4096
"""Merged filled-context layers remembered per (principal, session, resource, second)."""
POLICY_SETS_KEPT = 4096
"""Policy sets remembered per (principal, resource policy, session policy)."""
REQUESTS_KEPT = 4096
"""Context-free requests (and their last outcome) remembered per (principal, resource, second, action)."""
ROUTES_KEPT = 4096
"""Questions (principal, action, resource as sent) whose resolution, checks and policy set are
remembered (then all are dropped)."""
ROUTE_OUTCOMES_KEPT = 4
"""Outcomes of requests with caller context one route keeps, most recent first (then the oldest
is dropped): a question asked with contexts that give a few different answers hands out one
outcome object per answer, so its response's encoding is reused (``AuthorizerServicer._encoded``).
Outcome objects, not answers: every request is evaluated, and an outcome is handed out only for
an equal evaluation and equal filled keys (its message is a function of the route and those)."""
ANSWERS_KEPT = 4096
"""Whole answers remembered per raw request (then all are dropped); see ``Snapshot.authorize``."""
ANSWER_TEXT_LIMIT = 1024
"""A request whose texts (principal, action, resource, context, session policy and tags) are
longer than this together is never remembered whole.

A remembered answer holds ~14x its request's text (the key, the query, the outcome's message,
the servicer's response templates): at 2,048, 2,003 requests of 1.9 KB principals kept 53.7 MB
(tests/security/test_review_memory_amplification.py). Ordinary requests are a few hundred bytes."""
DEFAULT_CACHE_SIZE = 100_000
"""Decisions kept per revision (``iamgate serve --cache-size``; 0 or ``--no-cache`` switches off)."""

SERVICE_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".amazon.com")
_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\Z")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{1,64}\Z", re.ASCII)
"""AWS's RoleSessionName (AWS asks for 2 or more): up to 64 of letters, digits and ``_+=,.@-``."""
_EMPTY: Mapping[str, ContextValue] = MappingProxyType({})
_TAGGED_IAM = frozenset({"user", "role"})


@dataclass(frozen=True, slots=True)
class SnapshotCounts:
    principals: int
    policies: int
    statements: int
    accounts: int = 0
    tests: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class PrincipalEntry:
    """A user or role with everything an evaluation needs, resolved once at build time."""

    kind: PrincipalKind
    arn: str
    account: str
    name: str
    unique_id: str
    identity: tuple[CompiledPolicy, ...]
    boundary: tuple[CompiledPolicy, ...] | None
    scp_levels: tuple[tuple[CompiledPolicy, ...], ...]
    context: Mapping[str, ContextValue]
    """aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalTag/..., by lower-cased key."""


@dataclass(frozen=True, slots=True, eq=False)
class ResourceFacts:
    """A request resource in its one canonical spelling, with everything the bundle holds about it."""

    arn: str
    """``canonical_resource`` of the request's text; an IAM entity of the bundle by its real ARN."""
    knowledge: ResourceKnowledge
    context: Mapping[str, ContextValue]
    """Its tags (``aws:ResourceTag/K``, ``SERVICE:ResourceTag/K``) and ``aws:ResourceAccount``."""
    owner: str | None
    policy: CompiledPolicy | None
    """Its resource-based policy (for an S3 object: its bucket's)."""
    trust: CompiledPolicy | None
    """For a role: its trust policy, the resource policy of the TRUST_ACTIONS."""
    untrusting_role: bool
    """A role ARN the bundle holds no trust policy for (unknown roles included)."""
    parts: tuple[str, ...] | None = field(init=False, repr=False)
    """``engine.request.resource_parts(arn)``, split once: a request built on these facts takes
    them (``request_on``) instead of splitting the ARN again."""

    def __init__(
        self,
        arn: str,
        knowledge: ResourceKnowledge,
        context: Mapping[str, ContextValue],
        owner: str | None,
        policy: CompiledPolicy | None,
        trust: CompiledPolicy | None,
        untrusting_role: bool,
    ) -> None:
        # Slots set directly (as AccessQuery's): every request for a resource not seen before builds one.
        _f_arn(self, arn)
        _f_knowledge(self, knowledge)
        _f_context(self, context)
        _f_owner(self, owner)
        _f_policy(self, policy)
        _f_trust(self, trust)
        _f_untrusting_role(self, untrusting_role)
        _f_parts(self, resource_parts(arn))


_f_arn = ResourceFacts.arn.__set__  # type: ignore[attr-defined]
_f_knowledge = ResourceFacts.knowledge.__set__  # type: ignore[attr-defined]
_f_context = ResourceFacts.context.__set__  # type: ignore[attr-defined]
_f_owner = ResourceFacts.owner.__set__  # type: ignore[attr-defined]
_f_policy = ResourceFacts.policy.__set__  # type: ignore[attr-defined]
_f_trust = ResourceFacts.trust.__set__  # type: ignore[attr-defined]
_f_untrusting_role = ResourceFacts.untrusting_role.__set__  # type: ignore[attr-defined]
_f_parts = ResourceFacts.parts.__set__  # type: ignore[attr-defined]


class _Memo:
    """Bounded memos of one snapshot; entries are immutable, so a race only costs duplicate work."""

    __slots__ = (
        "accounts",
        "bases",
        "layers",
        "lock",
        "merged_identities",
        "policy_sets",
        "principals",
        "requests",
        "resources",
        "routes",
        "session_memo_bytes",
        "session_policies",
        "session_tags",
    )

    def __init__(self, session_memo_bytes: int = DEFAULT_SESSION_MEMO_BYTES) -> None:
        self.lock = threading.Lock()
        self.merged_identities: LRUCache = LRUCache(maxsize=MERGED_INDEXES_KEPT)
        self.session_memo_bytes = session_memo_bytes
        # Bounded by estimated bytes, not by count: one 10 KiB session policy compiles to
        # hundreds of KiB, so a count bound of a thousand let one revision hold hundreds of MiB.
        # Values are (what is kept, its estimated size); one entry may take a quarter at most.
        self.session_policies: LRUCache = LRUCache(maxsize=max(1, session_memo_bytes), getsizeof=_kept_size)
        self.session_tags: LRUCache = LRUCache(maxsize=max(1, session_memo_bytes), getsizeof=_kept_size)
        self.resources: dict[str, ResourceFacts] = {}
        """Request text -> facts; a plain dict (atomic get/set), emptied when it reaches RESOURCES_KEPT."""
        self.principals: dict[str, tuple[Principal, PrincipalEntry | None] | str] = {}
        """Request principal text -> what ``_resolve`` found; a plain dict emptied at PRINCIPALS_KEPT."""
        self.layers: dict[tuple, tuple] = {}
        self.accounts: dict[str, ContextValue] = {}
        """Owning account -> its aws:ResourceAccount value; emptied at RESOURCES_KEPT."""
        self.bases: dict[tuple, tuple] = {}
        """(principal, session, second) -> its and the clock's filled layers, merged (``_base_layers``);
        emptied at LAYERS_KEPT."""
        """(principal, session, facts, second) -> merged filled context; emptied at LAYERS_KEPT."""
        self.policy_sets: dict[tuple, PolicySet] = {}
        self.routes: dict[tuple[str, str, str], tuple] = {}
        """(principal, action, resource) as sent -> what ``authorize`` resolved and checked for them
        (see ``Snapshot.authorize``); emptied at ROUTES_KEPT."""
        self.requests: dict[tuple, tuple] = {}
        """(principal, session, facts, second, action) -> (Request, filled names, last evaluation, its
        outcome), for requests without caller context; emptied at REQUESTS_KEPT."""
        """(principal entry, resource policy, session policy) -> PolicySet; emptied at POLICY_SETS_KEPT."""

    def keeps(self, size: int) -> bool:
        """Whether an entry of ``size`` estimated bytes may be kept at all."""
        return size <= self.session_memo_bytes // 4


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """An immutable, fully compiled bundle revision."""

    name: str
    revision: str
    source: str
    activated_at: datetime
    counts: SnapshotCounts
    manifest: Manifest
    signature: str
    tests: tuple[PolicyTest, ...]
    by_arn: Mapping[str, PrincipalEntry] = field(repr=False)
    by_name: Mapping[str, tuple[PrincipalEntry, ...]] = field(repr=False)
    roles: Mapping[tuple[str, str], PrincipalEntry] = field(repr=False)
    """(account, role name) -> role, for assumed-role session ARNs (which carry no path)."""
    resource_policies: Mapping[str, CompiledPolicy] = field(repr=False)
    trust_policies: Mapping[str, CompiledPolicy] = field(repr=False)
    owners: Mapping[str, str] = field(repr=False)
    """Resource ARN -> owning account, for ARNs without an account field (S3 buckets)."""
    resource_tags: Mapping[str, Mapping[str, ContextValue]] = field(repr=False)
    iam_arns: Mapping[IamNameKey, str] = field(default_factory=dict, repr=False)
    """IAM users, roles, groups and policies by ``iam_name_key``: a request naming one in any case
    (or path) is evaluated on its real ARN, as AWS does."""
    http_routes: HttpRoutes = field(default=NO_ROUTES, repr=False)
    """How Envoy's HTTP requests map to access queries (``http-routes.json``; none: all unmapped)."""
    trusted_keys: TrustedKeys = field(default=NO_TRUSTED_KEYS, repr=False)
    """Sidecar-owned context keys this deployment lets callers assert (``--trust-context-key``)."""
    defined_keys: DefinedKeys = field(default_factory=DefinedKeys, repr=False)
    """Which context keys exist (AWS's and the bundle's services.json): callers may not assert
    one AWS never sets (``bundle/trust.py``)."""
    decision_cache: DecisionCache | None = field(default=None, repr=False)
    """Decisions of this revision; a new revision starts with an empty cache of its own."""
    multivalued_keys: MultivaluedKeys = field(default=documented_multivalued, repr=False)
    """Which condition keys are multivalued, as the bundle's policies were compiled (the catalogue's
    ``ArrayOf...`` keys); session policies are compiled with it too."""
    wildcard_only: WildcardOnlyActions = field(default_factory=WildcardOnlyActions, repr=False)
    """Actions the catalogue (AWS's reference plus the bundle's ``services.json``) lists without
    resource types: evaluated on ``*`` whatever the request names, as AWS does (``wildcard_only.py``)."""
    memo: _Memo = field(default_factory=lambda: _Memo(), repr=False)
    """Derived, immutable things built on first use: merged identity indexes of active principals,
    compiled session policies, resolved principals, canonical resources and merged context layers
    (all bounded)."""
    answers: dict[Hashable, tuple] = field(default_factory=dict, repr=False)
    """Raw request -> (its outcome, the second it holds for or ``None``: any second, *extra): the
    answers of the decision cache, by what the caller sent (see ``authorize``). A plain dict
    (atomic get/set), emptied at ANSWERS_KEPT; only successful answers are kept, so a hit never
    skips a refusal. Never shared with a copy that answers differently (``with_cache``,
    ``with_trust``)."""

    def with_cache(self, maxsize: int, *, session_memo_bytes: int | None = None) -> Snapshot:
        """This snapshot with a fresh decision cache of ``maxsize`` entries (0: no cache) and, given
        ``session_memo_bytes``, fresh memos whose session-policy and session-tag memos keep that
        many (estimated) bytes each."""
        cache = DecisionCache(maxsize) if maxsize > 0 else None
        if session_memo_bytes is None:
            return replace(self, decision_cache=cache, answers={})
        return replace(self, decision_cache=cache, answers={}, memo=_Memo(session_memo_bytes))

    def with_trust(self, trusted_keys: TrustedKeys) -> Snapshot:
        """This snapshot trusting callers with ``trusted_keys`` (it shares the decision cache: the
        keys a caller may assert are part of each cached request's context; not the answers: a
        request refused under one set of keys may be answered under another)."""
        if trusted_keys == self.trusted_keys:
            return self
        return replace(self, trusted_keys=trusted_keys, answers={})

    def with_identity_policies(self, arn: str, policies: tuple[CompiledPolicy, ...]) -> Snapshot:
        """This revision with one user's or role's identity policies replaced, for the access
        report's replay of logged requests against a suggested policy (``bundle/access_report``):
        a fresh memo and no decision cache, so nothing of the original answers for it."""
        entry = replace(self.by_arn[arn], identity=policies)

        def swapped(other: PrincipalEntry) -> PrincipalEntry:
            return entry if other.arn == arn else other

        return replace(
            self,
            by_arn=MappingProxyType({**self.by_arn, arn: entry}),
            by_name=MappingProxyType({n: tuple(map(swapped, es)) for n, es in self.by_name.items()}),
            roles=MappingProxyType({key: swapped(e) for key, e in self.roles.items()}),
            decision_cache=None,
            memo=_Memo(),
        )

    def authorize(
        self,
        query: AccessQuery,
        *,
        explain: bool = False,
        now: datetime | None = None,
        cache: DecisionCache | None = None,
    ) -> AccessOutcome:
        """Resolve the principal, assemble its policies and context, and evaluate.

        The trust model (``iamgate.bundle.trust``) holds here, for every path that asks: the
        action must be concrete, the resource is canonicalised once and its facts looked up by
        that spelling, and a context key the sidecar owns is refused unless the deployment trusts
        callers with it. Decisions go through ``cache`` (default: the snapshot's own) unless an
        explanation is asked for: explanations are always evaluated afresh. An unknown principal
        is an implicit deny (never an exception); a malformed field raises ``RequestError``
        naming it.

        With the snapshot's own cache, whole answers are also remembered by the raw request
        (principal, action, resource, context, session policy and tags as sent: ``answers``)
        and a repeated request is answered before anything is resolved, checked or assembled.
        That is sound because everything here is a function of those inputs, this snapshot and
        its trusted keys, and of the clock: an answer is kept for any second only when its
        cache plan reads neither aws:CurrentTime nor aws:EpochTime, otherwise for its second.
        Only answers are kept, never refusals, so a hit skips no check that would refuse.
        """
        if (
            now is None
            and cache is None
            and not explain
            and self.decision_cache is None
            and not query.context
            and not query.session_tags
            and not query.session_policy
        ):
            outcome = self._uncached_on_route(query)
            if outcome is not None:
                return outcome
        answer_key = None
        if cache is None and not explain and self.decision_cache is not None:
            answer_key = (
                query.principal,
                query.action,
                query.resource,
                query.context,
                query.session_policy,
                query.session_tags,
            )
            try:
                found = self.answers.get(answer_key)
            except TypeError:  # a caller's list in place of a tuple: not remembered
                found = answer_key = None
            if found is not None and (found[1] is None or found[1] == self._time_key(now)[0]):
                self.decision_cache.count_hits(1)
                return found[0]
        # What follows up to the clock is a function of (principal, action, resource) as sent and
        # this snapshot, but for the caller's context: a question seen before takes its route
        # (every check below passed for it; only the context's trust-model pass is per request).
        session_tags = query.session_tags
        routes = self.memo.routes
        route_key = route = None
        if not session_tags and not query.session_policy:
            route_key = (query.principal, query.action, query.resource)
            route = routes.get(route_key)
        if route is not None:
            knowledge, settled, principal, entry, who, policy_set, action, facts, cell = route
            supplied = (
                caller_context(query.context, knowledge, self.trusted_keys, defined=self.defined_keys)
                if query.context
                else None
            )
            if settled is not None:
                if answer_key is not None:
                    self._keep_answer(answer_key, query, settled, None, None, clock_free=True)
                return settled
            session = None
        else:
            if not query.principal:
                raise RequestError("principal", "must not be empty")
            action = check_action(query.action)
            named = self.resource_facts(query.resource)  # checked; what it owns stays the sidecar's
            # An action that takes no resource is evaluated on '*' (and cached so), as AWS does.
            evaluated = self.wildcard_only.evaluated_resource(action, query.resource)
            facts = named if evaluated is query.resource else self.resource_facts(evaluated)
            # No context, nothing to check: an empty request asserts no owned key.
            supplied = None
            if query.context:
                supplied = caller_context(
                    query.context, named.knowledge, self.trusted_keys, defined=self.defined_keys
                )
            if session_tags:
                tagging.check_session_tags(session_tags)
            resolved = self._resolve(query.principal)
            if isinstance(resolved, str):
                outcome = self._unknown(query, resolved)
                self._keep_route(
                    route_key, (named.knowledge, outcome, None, None, None, None, action, facts, None)
                )
                if answer_key is not None:  # no evaluation, no clock: the same answer at any time
                    self._keep_answer(answer_key, query, outcome, None, None, clock_free=True)
                return outcome
            principal, entry = resolved
            trust_action = action.lower() in TRUST_ACTIONS
            if trust_action and facts.untrusting_role:
                # Only a role's trust policy can let anyone assume it; without one, nobody may.
                evaluation = Evaluation(Decision.IMPLICIT_DENY, denied_by=PolicyKind.RESOURCE)
                message = (
                    f"{access_message(principal.arn, action, facts.arn, evaluation)}: "
                    f"the role has no trust policy in bundle {self.name!r}"
                )
                outcome = AccessOutcome(evaluation, principal.arn, message, (), self.revision)
                self._keep_route(
                    route_key, (named.knowledge, outcome, None, None, None, None, action, facts, None)
                )
                if answer_key is not None:
                    self._keep_answer(answer_key, query, outcome, None, None, clock_free=True)
                return outcome
            session = self._session_policy(query, principal) if query.session_policy else None
            resource_policy = facts.trust if trust_action and facts.trust else facts.policy
            if entry is not None:
                assumed = principal.kind is PrincipalKind.ASSUMED_ROLE
                if session_tags and not assumed:
                    raise _not_a_session(principal)
                who: object = (entry, principal.session_name, session_tags) if assumed else entry
                policy_set = self._policy_set(entry, resource_policy, session)
            else:
                if session_tags:
                    raise _not_a_session(principal)
                who = principal.arn
                policy_set = self._policy_set(None, resource_policy, None)
            cell = [None, ()] if route_key is not None else None
            self._keep_route(
                route_key, (named.knowledge, None, principal, entry, who, policy_set, action, facts, cell)
            )
        resource = facts.arn
        time_key, now = (int(time.time()), None) if now is None else self._time_key(now)
        requests = self.memo.requests
        slot = memo_key = None
        if supplied is None:  # the request is a function of these alone: built once, shared read-only
            if cell is not None:  # the route's own slot: (second, slot) of its last request
                kept = cell[0]
                if kept is not None and kept[0] == time_key:
                    slot = kept[1]
            else:
                memo_key = (who, facts, time_key, action)
                slot = requests.get(memo_key)
        if slot is None:
            layers = self._layers(who, facts, time_key, now, query.resource, principal, session_tags)
            context, filled = ctx.over_layers(supplied, *layers)
            request = Request(principal, action, resource, context, facts.owner)
            if cell is not None and supplied is None:
                slot = (request, filled, None, None)
            elif memo_key is not None:
                size = len(query.resource) + len(action) + sum(len(k) + len(v) for k, v in session_tags)
                if size <= MEMO_TEXT_LIMIT:
                    slot = (request, filled, None, None)
                else:
                    memo_key = None
        else:
            request, filled = slot[0], slot[1]
        cache = cache if cache is not None else self.decision_cache
        plan = None
        if cache is None or explain:
            evaluation = evaluate(policy_set, request, explain=explain)
        else:
            scope: tuple = (self.revision, principal.arn, query.session_policy, query.session_tags)
            size = len(principal.arn) + len(query.session_policy or "")
            if query.session_tags:
                size += sum(len(key) + len(value) for key, value in query.session_tags)
            if size > MAX_CACHED_TEXT:  # kept by digest (repr is injective here), never pinned whole
                scope = (self.revision, hashlib.sha256(repr(scope).encode("utf-8", "surrogatepass")).digest())
            evaluation, plan = cache.decide(scope, policy_set, request)
        if slot is not None and (evaluation is slot[2] or (not explain and evaluation == slot[2])):
            # The same answer (cached, or evaluated afresh to an equal one; a kept evaluation has
            # no trace): the same outcome, whose message is a function of the slot's key and it.
            outcome = slot[3]
        elif (
            slot is None
            and cell is not None
            and not explain
            and (kept_outcome := _route_outcome(cell[1], evaluation, filled)) is not None
        ):
            # With caller context: one of the route's last outcomes when this one would equal it
            # (the message is a function of the route and the evaluation), so that its encoding
            # can be reused too (``AuthorizerServicer._encoded``; ``ROUTE_OUTCOMES_KEPT``).
            outcome = kept_outcome
        else:
            message = access_message(principal.arn, action, resource, evaluation)
            outcome = AccessOutcome(evaluation, principal.arn, message, filled, self.revision)
            if slot is None and cell is not None and not explain:
                cell[1] = _with_route_outcome(cell[1], evaluation, filled, outcome)  # one assignment
            elif slot is not None and not explain:
                if cell is not None:  # one assignment: a reader sees the old pair or the new one
                    cell[0] = (time_key, (request, filled, evaluation, outcome))
                else:
                    if len(requests) >= REQUESTS_KEPT:
                        requests.clear()
                    requests[memo_key] = (request, filled, evaluation, outcome)
        if answer_key is not None:
            self._keep_answer(answer_key, query, outcome, plan, time_key)
        return outcome

    def _uncached_on_route(self, query: AccessQuery) -> AccessOutcome | None:
        """``authorize`` of a context-free query without session policy or tags, with no decision
        cache, no explanation and the clock's own time, when its route and this second's request
        are kept; ``None``: ask the general path (nothing was evaluated). See ``uncached_on_route``.
        """
        return self.uncached_on_route(query.principal, query.action, query.resource)

    def uncached_on_route(self, principal: str, action: str, resource: str) -> AccessOutcome | None:
        """``authorize(AccessQuery(principal, action, resource))`` — no context, session policy or
        tags, no explanation, the clock's own time — on a snapshot without a decision cache, when
        the question's route and this second's request are kept; ``None`` otherwise (ask
        ``authorize``: nothing was evaluated, nothing checked or kept).

        The uncached batch's common item: what the general path does for it, in the same order
        and with the same memos, less its branches for what this query cannot carry. The engine
        still evaluates it; only the outcome is the kept one when the evaluation equals the kept
        evaluation (its message is a function of the route and the evaluation). The servicer's
        batch path asks it with an item's fields, before building a query
        (``AuthorizerServicer._decide_items``); a snapshot with a cache always answers ``None``.
        ``tests/bundle/test_snapshot_fast_route.py`` compares it with the general path.
        """
        if self.decision_cache is not None:
            return None
        route = self.memo.routes.get((principal, action, resource))
        if route is None:
            return None
        settled = route[1]
        if settled is not None:
            return settled
        kept = route[8][0]
        time_key = int(time.time())
        if kept is None or kept[0] != time_key:
            return None
        request, filled, last, outcome = kept[1]
        evaluation = evaluate(route[5], request)
        if evaluation is last or evaluation == last:
            return outcome
        principal_arn = route[2].arn
        message = access_message(principal_arn, route[6], request.resource, evaluation)
        outcome = AccessOutcome(evaluation, principal_arn, message, filled, self.revision)
        route[8][0] = (time_key, (request, filled, evaluation, outcome))  # one assignment, as authorize's
        return outcome

    def uncached_on_route_with(
        self, principal: str, action: str, resource: str, context: tuple[ContextValue, ...]
    ) -> AccessOutcome | None:
        """``uncached_on_route`` for a query with caller ``context`` (non-empty; still no session
        policy or tags): ``authorize(AccessQuery(principal, action, resource, context))`` on a
        snapshot without a decision cache, when the question's route is kept; ``None`` otherwise
        (ask ``authorize``: nothing was evaluated, nothing kept). Raises ``RequestError`` as
        ``authorize`` does for a context key the caller may not assert.

        What the general path does for such a query on a kept route, with the same memos: the
        context's trust-model pass (``caller_context``) and the route's settled answer if it has
        one; else the filled layers of this second, the trust pass and the merge in one
        (``trust.caller_context_over``: the same refusals; a key repeated or filled goes the
        general way, ``caller_context`` and ``over_layers``), the request on the facts' split ARN
        (``request_on``), the engine, and one of the route's kept outcomes when the evaluation
        and the filled keys equal its. ``tests/bundle/test_snapshot_context_route.py`` compares
        it with the general path.
        """
        if self.decision_cache is not None:
            return None
        route = self.memo.routes.get((principal, action, resource))
        if route is None:
            return None
        knowledge, settled, who_principal, _, who, policy_set, checked_action, facts, cell = route
        trusted, defined = self.trusted_keys, self.defined_keys
        if settled is not None:
            caller_context(context, knowledge, trusted, defined=defined)  # refuses what authorize refuses
            return settled
        time_key = int(time.time())
        layers = self.memo.layers.get((who, facts, time_key))  # ``_layers``' hit, inlined
        if layers is None:
            layers = self._layers(who, facts, time_key, None, resource, who_principal, ())
        # The trust pass and the merge in one (the usual context: keys named once, none filled).
        merged = caller_context_over(context, knowledge, trusted, defined, layers[0])
        if merged is not None:
            filled = layers[2]
        else:
            supplied = caller_context(context, knowledge, trusted, defined=defined)
            merged, filled = ctx.over_layers(supplied, *layers)
        request = request_on(who_principal, checked_action, facts.arn, merged, facts.owner, facts.parts)
        evaluation = evaluate(policy_set, request)
        kept = cell[1]
        outcome = _route_outcome(kept, evaluation, filled)
        if outcome is not None:
            return outcome
        message = access_message(who_principal.arn, checked_action, facts.arn, evaluation)
        outcome = AccessOutcome(evaluation, who_principal.arn, message, filled, self.revision)
        cell[1] = _with_route_outcome(kept, evaluation, filled, outcome)  # one assignment, as authorize's
        return outcome

    def _keep_route(self, key: tuple[str, str, str] | None, route: tuple) -> None:
        """Remember what ``authorize`` worked out for a question without session policy or tags."""
        if key is None or len(key[0]) + len(key[1]) + len(key[2]) > MEMO_TEXT_LIMIT:
            return
        routes = self.memo.routes
        if len(routes) >= ROUTES_KEPT:
            routes.clear()
        routes[key] = route

    # -- whole answers --------------------------------------------------------------------------

    def _keep_answer(
        self,
        key: tuple,
        query: AccessQuery,
        outcome: AccessOutcome,
        plan: CachePlan | None,
        second: object,
        *,
        clock_free: bool = False,
    ) -> None:
        """Remember ``outcome`` under the raw request ``key``: for any second when the decision
        cannot depend on the clock (its plan reads no clock key), else for ``second``."""
        size = len(query.principal) + len(query.action) + len(query.resource)
        size += len(query.session_policy or "")
        for value in query.context:
            size += len(value.name) + sum(map(len, value.values))
        for tag, text in query.session_tags:
            size += len(tag) + len(text)
        if size > ANSWER_TEXT_LIMIT:
            return
        if not clock_free:
            clock_free = plan is not None and plan.signer is not None and plan.names.isdisjoint(TIME_KEYS)
        answers = self.answers
        if len(answers) >= ANSWERS_KEPT:
            answers.clear()
        answers[key] = (outcome, None if clock_free else second)

    def remembered(self, key: Hashable) -> tuple | None:
        """What ``remember`` kept under ``key``, if it holds this second: (outcome, second, *extra).

        For callers that recognise a repeated request before converting it (the servicer's batch
        path keys by the request's bytes); ``None``: ask ``authorize``.
        """
        found = self.answers.get(key)
        if found is not None and (found[1] is None or found[1] == int(time.time())):
            return found
        return None

    def remember(self, key: Hashable, query: AccessQuery, outcome: AccessOutcome, *extra: object) -> None:
        """Keep the answer ``authorize`` just gave to ``query`` (``outcome``) under the caller's own
        ``key`` too, with ``extra`` beside it. ``key`` must stand for exactly this query (its
        request id aside) for whoever asks ``remembered``; kept only if ``authorize`` kept it."""
        try:
            found = self.answers.get(
                (
                    query.principal,
                    query.action,
                    query.resource,
                    query.context,
                    query.session_policy,
                    query.session_tags,
                )
            )
        except TypeError:
            return
        if found is not None and found[0] is outcome:
            answers = self.answers
            if len(answers) >= ANSWERS_KEPT:
                answers.clear()
            answers[key] = (outcome, found[1], *extra)

    def count_remembered(self, count: int) -> None:
        """Count answers served from ``remembered`` as the decision cache's hits."""
        if count and self.decision_cache is not None:
            self.decision_cache.count_hits(count)

    # -- the request's resource -----------------------------------------------------------------

    def resource_facts(self, text: str) -> ResourceFacts:
        """The request resource's canonical spelling and facts; ``RequestError`` when malformed.

        Remembered per spelling (bounded), so the hot path pays for canonicalising a resource
        once, not per request.
        """
        memo = self.memo.resources
        facts = memo.get(text)
        if facts is not None:
            return facts
        arn = canonical_resource(text)
        key = iam_name_key(arn)
        if key is not None:
            arn = self.iam_arns.get(key, arn)
        tags = self.resource_tags.get(arn)
        owner = self._owner(arn)
        # Read-only either way: the bundle's tag layers are MappingProxyType already (shared as they are).
        layer: Mapping[str, ContextValue] = tags if tags is not None else _EMPTY
        if owner is not None:
            with_account = layer.copy()  # type: ignore[attr-defined]
            with_account["aws:resourceaccount"] = self._account_value(owner)
            layer = MappingProxyType(with_account)
        facts = ResourceFacts(
            arn=arn,
            knowledge=knowledge_of(
                # An IAM user or role the bundle defines has a known tag set, even an empty one.
                tags_known=tags is not None
                or (key is not None and key[2] in _TAGGED_IAM and key in self.iam_arns),
                owner_known=owner is not None,
            ),
            context=layer,
            owner=owner,
            policy=self._resource_policy(arn),
            trust=self.trust_policies.get(arn),
            untrusting_role=self._untrusting_role(arn),
        )
        if len(text) <= MEMO_TEXT_LIMIT:  # a hostile stream of huge ARNs must not fill memory
            if len(memo) >= RESOURCES_KEPT:
                memo.clear()
            memo[text] = facts
        return facts

    def _account_value(self, owner: str) -> ContextValue:
        """``aws:ResourceAccount`` of ``owner``, one immutable value per account (bounded)."""
        memo = self.memo.accounts
        value = memo.get(owner)
        if value is None:
            value = ContextValue("aws:ResourceAccount", (owner,))
            if len(owner) <= MEMO_TEXT_LIMIT:
                if len(memo) >= RESOURCES_KEPT:
                    memo.clear()
                memo[owner] = value
        return value

    # -- session tags ---------------------------------------------------------------------------

    def _session_tag_keys(
        self, role: PrincipalEntry, tags: tuple[tuple[str, str], ...]
    ) -> dict[str, ContextValue]:
        """The session's aws:PrincipalTag keys, if the role's trust policy allows sts:TagSession with them."""
        memo = self.memo
        memo_key = (role.arn, tags)
        with memo.lock:
            kept = memo.session_tags.get(memo_key)
        if kept is not None:
            allowed = kept[0]
        else:
            allowed = self._tag_session_allowed(role, tags)
            size = _MEMO_ENTRY_BYTES + len(role.arn) + sum(len(k) + len(v) + _TAG_BYTES for k, v in tags)
            if memo.keeps(size):
                with memo.lock:
                    memo.session_tags[memo_key] = (allowed, size)
        if not allowed:
            raise RequestError(
                "session_tags",
                f"the trust policy of {role.arn} does not allow sts:TagSession with these tags "
                f"(keys {', '.join(key for key, _ in tags)}) for any principal it names (docs/security.md)",
            )
        return tagging.principal_tag_entries(tags)

    def _tag_session_allowed(self, role: PrincipalEntry, tags: tuple[tuple[str, str], ...]) -> bool:
        """Would the role's trust policy, for some principal it names, allow sts:TagSession with ``tags``?"""
        trust = self.trust_policies.get(canonical_resource_or_none(role.arn) or role.arn)
        if trust is None:
            return False
        requested = tagging.tag_session_context(tags)
        policy_set = PolicySet(resource=trust)
        for candidate in tagging.named_principals(trust):
            known = self.by_arn.get(candidate.arn)
            if known is not None:
                candidate = self._entry_principal(known)
                keys = known.context
            elif candidate.kind is PrincipalKind.ROOT:
                keys = tagging.root_entries(candidate)
            elif candidate.kind is PrincipalKind.SERVICE and candidate.arn.endswith(SERVICE_SUFFIXES):
                keys = ctx.service_entries(candidate.arn)
            else:
                keys = _EMPTY
            context, _ = ctx.merge(requested, keys)
            request = Request(candidate, "sts:TagSession", role.arn, context)
            if evaluate(policy_set, request).allowed:
                return True
        return False

    def _time_key(self, now: datetime | None) -> tuple[object, datetime | None]:
        """What identifies the request's second for aws:CurrentTime/aws:EpochTime, without building them."""
        if now is None:
            return int(time.time()), None
        moment = now if now.tzinfo else now.replace(tzinfo=UTC)
        stamp = moment.timestamp()
        # Both keys are functions of the whole second; before 1970 int() and the clock disagree, so exact.
        return (int(stamp) if stamp >= 0 else stamp), moment

    def _layers(
        self,
        who: object,
        facts: ResourceFacts,
        time_key: object,
        now: datetime | None,
        resource_text: str,
        principal: Principal,
        session_tags: tuple[tuple[str, str], ...],
    ) -> ctx.Layers:
        """The sidecar-filled context layers merged once per (principal, session, resource facts, second).

        ``who`` is the principal's bundle entry (plus session name and tags for a session) or a
        service name. A hit means every check made on a miss (the session tags' trust policy)
        passed for exactly these inputs in this snapshot. Bounded; huge inputs are never kept.
        """
        memo = self.memo.layers
        key = (who, facts, time_key)
        found = memo.get(key)
        if found is not None:
            return found
        found = ctx.extended(self._base_layers(who, time_key, now, principal, session_tags), facts.context)
        size = len(resource_text) + sum(len(k) + len(v) for k, v in session_tags)
        if size <= MEMO_TEXT_LIMIT:  # facts of a longer resource text are not memoised either
            if len(memo) >= LAYERS_KEPT:
                memo.clear()
            memo[key] = found
        return found

    def _base_layers(
        self,
        who: object,
        time_key: object,
        now: datetime | None,
        principal: Principal,
        session_tags: tuple[tuple[str, str], ...],
    ) -> ctx.Layers:
        """The principal's (and session's) and the clock's layers merged, per (principal, second).

        What ``_layers`` puts each resource's keys on: a request for a resource not seen this
        second merges only those, instead of the principal's dozen keys and the clock's (formatted
        afresh: ``strftime``) again. A hit means the session tags' trust policy check passed for
        exactly this role and these tags. Bounded (LAYERS_KEPT); long tags or names never kept.
        """
        memo = self.memo.bases
        key = (who, time_key)
        found = memo.get(key)
        if found is not None:
            return found
        moment = now if now is not None else datetime.fromtimestamp(time_key, UTC)  # type: ignore[arg-type]
        time_keys = ctx.time_entries(moment)
        if isinstance(who, str):
            found = ctx.with_names(ctx.layered(ctx.service_entries(who), time_keys))
        else:
            entry = who[0] if isinstance(who, tuple) else who
            if principal.kind is PrincipalKind.ASSUMED_ROLE:  # overrides the role's own aws:userid
                userid = ContextValue("aws:userid", (f"{entry.unique_id}:{principal.session_name}",))
                session_keys: dict[str, ContextValue] = {"aws:userid": userid}
                if session_tags:  # override the role's tags of the same keys, as in AWS
                    session_keys.update(self._session_tag_keys(entry, session_tags))
                found = ctx.with_names(ctx.layered(session_keys, entry.context, time_keys))
            else:
                found = ctx.with_names(ctx.layered(entry.context, time_keys))
        size = sum(len(k) + len(v) for k, v in session_tags) + (len(who) if isinstance(who, str) else 0)
        if size <= MEMO_TEXT_LIMIT:
            if len(memo) >= LAYERS_KEPT:
                memo.clear()
            memo[key] = found
        return found

    def _policy_set(
        self,
        entry: PrincipalEntry | None,
        resource_policy: CompiledPolicy | None,
        session: tuple[CompiledPolicy, ...] | None,
    ) -> PolicySet:
        """The request's policies, kept per (principal, resource policy, session policy): immutable,
        and kept sets keep what the engine builds on first use (the identity index). Bounded."""
        memo = self.memo.policy_sets
        key = (entry, resource_policy, session)
        found = memo.get(key) if session is None else None
        if found is not None:
            return found
        if entry is None:
            found = PolicySet(resource=resource_policy)
        else:
            found = PolicySet(
                identity=entry.identity,
                resource=resource_policy,
                boundary=entry.boundary,
                session=session,
                scp_levels=entry.scp_levels,
                merged_identity=self._merged_identity(entry),
            )
        if session is None:  # a kept set would keep its session policy beyond the session memo's bound
            if len(memo) >= POLICY_SETS_KEPT:
                memo.clear()
            memo[key] = found
        return found

    def _merged_identity(self, entry: PrincipalEntry) -> StatementIndex | None:
        if len(entry.identity) < MERGED_INDEX_THRESHOLD:
            return None
        memo = self.memo
        with memo.lock:
            merged = memo.merged_identities.get(entry.arn)
        if merged is None:
            merged = merge_identity(entry.identity)  # outside the lock: pure and immutable
            with memo.lock:
                memo.merged_identities[entry.arn] = merged
        return merged

    # -- resolution -----------------------------------------------------------------------------

    def _resolve(self, text: str) -> tuple[Principal, PrincipalEntry | None] | str:
        """The caller and its bundle entry (``None`` for a service), or why it is unknown.

        Remembered per spelling (bounded; a malformed one raises afresh each time).
        """
        memo = self.memo.principals
        found = memo.get(text)
        if found is not None:
            return found
        found = self._resolve_afresh(text)
        if len(text) <= MEMO_TEXT_LIMIT:
            if len(memo) >= PRINCIPALS_KEPT:
                memo.clear()
            memo[text] = found
        return found

    def _resolve_afresh(self, text: str) -> tuple[Principal, PrincipalEntry | None] | str:
        if _UNPRINTABLE.search(text):
            raise RequestError("principal", f"{text!r} contains whitespace or a control character")
        named = self.by_name.get(text)
        if named is not None:
            if len(named) > 1:
                where = ", ".join(entry.arn for entry in named)
                return f"the name {text!r} is ambiguous in bundle {self.name!r} ({where}); use the ARN"
            return self._entry_principal(named[0]), named[0]
        if not text.startswith("arn:"):
            if text.endswith(SERVICE_SUFFIXES) and _SERVICE_NAME.match(text):
                # Service principals are lower-case names: a policy naming one must see it so.
                return Principal(arn=text, kind=PrincipalKind.SERVICE, account=None, name=text), None
            return f"the principal {text!r} is unknown to bundle {self.name!r}"
        principal = Principal.parse(text)
        if principal.kind is PrincipalKind.ASSUMED_ROLE:
            role = self.roles.get((principal.account or "", principal.name))
            if role is None:
                who = f"the role {principal.name!r} of account {principal.account}"
                return f"{who} is unknown to bundle {self.name!r}"
            # One spelling per session, the one AWS gives it: a Principal element or condition naming
            # the session must see that spelling, not a variant with a region, path or odd partition.
            canonical = f"arn:{role.arn.split(':', 2)[1]}:sts::{role.account}:assumed-role/{role.name}/"
            session = principal.session_name or ""
            if text != canonical + session or not _SESSION_NAME.match(session):
                return (
                    f"the session ARN {text!r} is not spelled as AWS spells it "
                    f"({canonical}SESSION, SESSION up to 64 letters, digits and _+=,.@-)"
                )
            return principal.with_role_arn(role.arn), role
        entry = self.by_arn.get(text)
        if entry is None or principal.kind not in (PrincipalKind.USER, PrincipalKind.ROLE):
            hint = ""
            if principal.kind in (PrincipalKind.USER, PrincipalKind.ROLE):
                close = [
                    e.arn for e in self.by_name.get(principal.name, ()) if e.account == principal.account
                ]
                hint = f" (did you mean {close[0]}?)" if close else ""
            return f"the principal {text!r} is unknown to bundle {self.name!r}{hint}"
        return self._entry_principal(entry), entry

    @staticmethod
    def _entry_principal(entry: PrincipalEntry) -> Principal:
        if entry.kind is PrincipalKind.ROLE:
            return Principal(entry.arn, PrincipalKind.ROLE, entry.account, entry.name, role_arn=entry.arn)
        return Principal(entry.arn, entry.kind, entry.account, entry.name)

    def _session_policy(self, query: AccessQuery, principal: Principal) -> tuple[CompiledPolicy, ...] | None:
        text = query.session_policy
        if not text:
            return None
        if principal.kind not in (PrincipalKind.ROLE, PrincipalKind.ASSUMED_ROLE):
            raise RequestError(
                "session_policy",
                f"applies only to role sessions; {principal.arn} is a {principal.kind.value}",
            )
        memo = self.memo
        with memo.lock:
            kept = memo.session_policies.get(text)
        if kept is not None:  # applications tend to send the same few session policies
            return kept[0]
        try:
            document = parse_policy(text, source_name="session_policy")
        except PolicyParseError as error:
            raise RequestError(
                "session_policy", "; ".join(str(problem) for problem in error.problems)
            ) from None
        if any(s.principal is not None or s.not_principal is not None for s in document.statements):
            raise RequestError("session_policy", "Principal/NotPrincipal is not allowed in a session policy")
        compiled = (
            compile_policy(
                document,
                policy_id="session-policy",
                kind=PolicyKind.SESSION,
                multivalued=self.multivalued_keys,
            ),
        )
        size = _MEMO_ENTRY_BYTES + len(text) * (1 + COMPILED_BYTES_PER_CHARACTER)
        if memo.keeps(size):  # else compiled afresh each time, and never pinned
            with memo.lock:
                memo.session_policies[text] = (compiled, size)
        return compiled

    def _untrusting_role(self, resource: str) -> bool:
        """A role ARN the bundle holds no trust policy for (unknown roles included)."""
        parts = resource.split(":", 5)
        is_role = len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/")
        return is_role and resource not in self.trust_policies

    def _resource_policy(self, resource: str) -> CompiledPolicy | None:
        policy = self.resource_policies.get(resource)
        if policy is None and resource.startswith("arn:") and ":s3:::" in resource and "/" in resource:
            policy = self.resource_policies.get(resource.split("/", 1)[0])
        return policy

    def _owner(self, resource: str) -> str | None:
        """The account owning the resource: the ARN's account field, else what the bundle knows."""
        pieces = resource.split(":", 5)
        if len(pieces) != 6 or pieces[0] != "arn":
            return None
        if pieces[4].isdigit():
            return pieces[4]
        owner = self.owners.get(resource)
        if owner is None and pieces[2] == "s3" and "/" in resource:
            owner = self.owners.get(resource.split("/", 1)[0])
        return owner

    def _unknown(self, query: AccessQuery, reason: str) -> AccessOutcome:
        evaluation = Evaluation(Decision.IMPLICIT_DENY)
        message = (
            f"User: {query.principal} is not authorized to perform: {query.action} on resource: "
            f"{query.resource} because {reason} (revision {self.revision})"
        )
        return AccessOutcome(evaluation, query.principal, message, (), self.revision, principal_known=False)


def _route_outcome(kept: tuple, evaluation: Evaluation, filled: tuple[str, ...]) -> AccessOutcome | None:
    """The outcome a route keeps (``ROUTE_OUTCOMES_KEPT``) for an equal evaluation and equal filled
    keys, if any."""
    for entry in kept:
        names, last = entry[1], entry[0]
        if (names is filled or names == filled) and (evaluation is last or evaluation == last):
            return entry[2]
    return None


def _with_route_outcome(
    kept: tuple, evaluation: Evaluation, filled: tuple[str, ...], outcome: AccessOutcome
) -> tuple:
    """A route's kept outcomes with ``outcome`` first (the oldest dropped past the bound)."""
    return ((evaluation, filled, outcome), *kept[: ROUTE_OUTCOMES_KEPT - 1])


def _kept_size(kept: tuple) -> int:
    return kept[1]


def _not_a_session(principal: Principal) -> RequestError:
    return RequestError(
        "session_tags",
        f"apply only to assumed-role sessions (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION); "
        f"{principal.arn} is a {principal.kind.value} (docs/security.md)",
    )
