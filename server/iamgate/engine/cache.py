"""The decision cache: answers keyed by only the context that can change them.

For a given policy set (``scope``), action and resource, the statements that can apply are fixed,
and so is the set of context keys their conditions and policy variables read. A *plan* records
those keys and, for each, how much of its value matters:

* a key compared only by ordering operators (Date*, Numeric*) against literal values matters
  only through where its value falls among those literals — so ``aws:CurrentTime`` yields one
  entry per interval between the dates written in the policies, valid until the next boundary;
* a key read only by Null matters only through its presence;
* any other key matters through its exact values.

Requests that differ in irrelevant context share an entry, and a cached answer is always the one
a fresh evaluation gives: the key captures everything the evaluation reads. Explanations never
come from the cache.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from iamgate.engine.compiled import CompiledPolicy
from iamgate.engine.evaluator import PolicySet, evaluate
from iamgate.engine.request import ContextValue, Request
from iamgate.engine.result import Evaluation
from iamgate.engine.variables import template_keys
from iamgate.policy.operators import Family
from iamgate.policy.values import read_date, read_number

MAX_PLAN_KEYS = 64
"""A plan reading more keys than this is not worth caching (the key would cost an evaluation)."""

MAX_CACHED_TEXT = 2048
"""A request whose resource, or whose compared context values together, are longer than this is
evaluated afresh and never kept: the cache holds up to ``maxsize`` keys, and a stream of huge
caller-chosen strings would otherwise pin ``maxsize`` x their size (S3 object ARNs fit)."""

_PRESENCE = "presence"
_RAW = "raw"


ORDERED_TEXTS_KEPT = 1024
"""Values of an order-compared key (dates, numbers) whose position is remembered per plan."""
_ORDERED_TEXT_LIMIT = 64
"""Dates and numbers are short; a longer text is placed afresh each time and never kept."""
SHAPES_KEPT = 1024
"""Signature functions kept per cache, one per shape of plan (its keys' uses in order)."""
_UNSEEN = object()


@dataclass(frozen=True, slots=True)
class _Ordered:
    """A key compared by order only: its value's position among ``bounds`` is all that matters.

    Reading a date is the dearest part of a cache key, and a stream of requests carries the same
    few (``aws:CurrentTime`` changes once a second), so each text's position is remembered.
    """

    read: Callable[[str], float | None]
    bounds: tuple[float, ...]
    positions: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    def position(self, text: str) -> object:
        number = self.read(text)
        if number is None:
            return None
        bounds = self.bounds
        at = bisect_left(bounds, number)
        return at, at < len(bounds) and bounds[at] == number

    def signature(self, value: ContextValue) -> tuple:
        positions = self.positions
        found = []
        for text in value.values:
            at = positions.get(text, _UNSEEN)
            if at is _UNSEEN:
                at = self.position(text)
                if len(text) <= _ORDERED_TEXT_LIMIT:
                    if len(positions) >= ORDERED_TEXTS_KEPT:
                        positions.clear()
                    positions[text] = at
            found.append(at)
        return value.multi, tuple(found)


Signer = Callable[[Callable[[str], ContextValue | None]], tuple]
"""A plan's cache-key function: given ``context.get``, the part of the key the context makes."""


@dataclass(frozen=True, slots=True, eq=False)
class CachePlan:
    """Which context a decision can depend on, for one (scope, action, resource, account).

    Compared by identity: an entry is keyed by its plan object and its signature, and a plan is
    only ever found under the one base it was built for (entries keep their plan alive).
    """

    keys: tuple[tuple[str, object], ...]
    """(lower-cased key, how it matters): ``_RAW``, ``_PRESENCE`` or an ``_Ordered``."""
    cacheable: bool = True
    raw: tuple[str, ...] = ()
    """The keys whose exact values go into the cache key."""
    names: frozenset[str] = frozenset()
    """Every key read (lower-cased): a decision whose plan reads no clock key holds at any time."""
    signer: Signer | None = field(default=None, compare=False, repr=False)
    """``signature`` as one straight-line function (``_signer``); ``None``: the loop below."""

    def raw_size(self, context: Mapping[str, ContextValue]) -> int:
        """Characters of the values the cache key would keep."""
        size = 0
        for key in self.raw:
            value = context.get(key)
            if value is not None:
                size += sum(map(len, value.values))
        return size

    def signature(self, context: Mapping[str, ContextValue]) -> tuple:
        if self.signer is not None:
            return self.signer(context.get)
        parts = []
        for key, use in self.keys:
            value = context.get(key)
            if value is None:
                parts.append(None)
            elif use is _RAW:
                parts.append((value.multi, value.values))
            elif use is _PRESENCE:
                parts.append(bool(value.values))
            else:
                parts.append(use.signature(value))  # type: ignore[attr-defined]
        return tuple(parts)


_PART = {
    "r": "None if v{i} is None else (v{i}.multi, v{i}.values)",
    "p": "None if v{i} is None else bool(v{i}.values)",
    "o": "None if v{i} is None else o{i}(v{i})",
}


def _signer(keys: tuple[tuple[str, object], ...], shapes: dict[str, Callable] | None) -> Signer:
    """``CachePlan.signature`` for these keys without the loop: what a hit pays most for.

    The code depends only on the plan's *shape* (each key's use, in order: "rro" ...); key names
    and ordered readers come in as default arguments, so no text of a policy ever becomes code.
    The compiled shape is kept in ``shapes`` (one per cache, bounded).
    """
    shape = "".join("r" if use is _RAW else "p" if use is _PRESENCE else "o" for _, use in keys)
    make = shapes.get(shape) if shapes is not None else None
    if make is None:
        count = len(shape)
        parameters = ", ".join([f"k{i}" for i in range(count)] + [f"o{i}" for i in range(count)])
        loads = "".join(f"    v{i} = get(k{i})\n" for i in range(count))
        parts = "".join(_PART[kind].format(i=i) + ", " for i, kind in enumerate(shape))
        body = f"  def signer(get):\n{loads}    return ({parts})\n  return signer\n"
        namespace: dict[str, object] = {}
        # The source holds nothing but the shape's letters turned into fixed snippets.
        exec(compile(f"def make({parameters}):\n{body}", f"<cache plan {shape}>", "exec"), namespace)
        make = namespace["make"]  # type: ignore[assignment]
        if shapes is not None:
            if len(shapes) >= SHAPES_KEPT:
                shapes.clear()
            shapes[shape] = make  # type: ignore[assignment]
    ordered = [use.signature if isinstance(use, _Ordered) else None for _, use in keys]
    return make(*(key for key, _ in keys), *ordered)  # type: ignore[misc]


def _policies(policy_set: PolicySet) -> list[CompiledPolicy]:
    policies = [p for level in policy_set.scp_levels for p in level]
    if policy_set.resource is not None:
        policies.append(policy_set.resource)
    policies.extend(policy_set.identity)
    policies.extend(policy_set.boundary or ())
    policies.extend(policy_set.session or ())
    return policies


_READERS = {Family.DATE: read_date, Family.NUMERIC: read_number}


def _may_apply_to(statement, request: Request) -> bool:
    """Whether the statement's Resource can admit the request's resource in *some* context.

    The resource is part of the cache key, so statements that can never match it cannot change
    the decision; a Resource with policy variables depends on the context and always counts.
    """
    if statement.any_resource or any(p.template is not None for p in statement.resources or ()):
        return True
    return statement.matches_resource(request.resource, _NO_CONTEXT, request.resource_parts)


_NO_CONTEXT: Mapping[str, ContextValue] = MappingProxyType({})


def build_plan(
    policy_set: PolicySet, request: Request, shapes: dict[str, Callable] | None = None
) -> CachePlan:
    """Which context keys (and which aspect of each) can change this request's decision.

    ``shapes``: where the plan's signature function is kept by shape (``_signer``).
    """
    action = request.action.lower()
    uses: dict[str, set[object]] = {}
    bounds: dict[str, set[float]] = {}
    for policy in _policies(policy_set):
        for statement in policy.candidates(action, request.resource):
            if not statement.matches_action(action) or not _may_apply_to(statement, request):
                continue
            for condition in statement.conditions:
                family = condition.spec.family
                for key in condition.reads:
                    if key != condition.key:
                        uses.setdefault(key, set()).add(_RAW)  # read through a policy variable
                    elif family is Family.NULL:
                        uses.setdefault(key, set()).add(_PRESENCE)
                    elif family in _READERS:
                        uses.setdefault(key, set()).add(family)
                        numbers = (_READERS[family](v) for v in condition.clause.values)
                        bounds.setdefault(key, set()).update(n for n in numbers if n is not None)
                    else:
                        uses.setdefault(key, set()).add(_RAW)
            for pattern in statement.resources or ():
                if pattern.template is not None:
                    for key in template_keys(pattern.template):
                        uses.setdefault(key, set()).add(_RAW)  # a Resource reads the exact value
    if len(uses) > MAX_PLAN_KEYS:
        return CachePlan((), cacheable=False)
    keys: list[tuple[str, object]] = []
    for key in sorted(uses):
        kinds = uses[key]
        if len(kinds) == 1:
            (only,) = kinds
            if only in _READERS:
                keys.append((key, _Ordered(_READERS[only], tuple(sorted(bounds.get(key, ()))))))  # type: ignore[index]
                continue
            keys.append((key, only))
        else:
            keys.append((key, _RAW))
    ordered = tuple(keys)
    return CachePlan(
        ordered,
        raw=tuple(key for key, use in keys if use is _RAW),
        names=frozenset(uses),
        signer=_signer(ordered, shapes),
    )


class _Lru:
    """A least-recently-used map of at most ``maxsize`` entries (not thread-safe: the cache locks).

    An ``OrderedDict``: a hit is two C calls, where cachetools' LRUCache pays several Python ones.
    Values are never ``None``.
    """

    __slots__ = ("_data", "_maxsize")

    def __init__(self, maxsize: int) -> None:
        self._data: OrderedDict = OrderedDict()
        self._maxsize = maxsize

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._data)

    def keys(self) -> KeysView:
        return self._data.keys()

    def get(self, key: Hashable) -> Any:
        data = self._data
        value = data.get(key)
        if value is not None:
            data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        data = self._data
        data[key] = value
        data.move_to_end(key)
        while len(data) > self._maxsize:
            data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()


class DecisionCache:
    """A bounded cache of decisions; thread-safe; one per compiled bundle (never shared across).

    ``scope`` names the policy set a request is evaluated against (for example the bundle
    revision, the principal ARN and any session policy); everything else the decision depends on
    is derived here.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self._entries = _Lru(maxsize)
        self._plans = _Lru(max(1024, maxsize // 4))
        self._shapes: dict[str, Callable] = {}
        """Compiled signature functions by plan shape (``_signer``); bounded by SHAPES_KEPT."""
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.uncacheable = 0

    @property
    def size(self) -> int:
        return len(self._entries)

    def evaluate(self, scope: Hashable, policy_set: PolicySet, request: Request) -> Evaluation:
        """The decision, from the cache when an entry holds it (``decide`` without the plan).

        The hit path is ``decide``'s, repeated here without the call and the pair it returns:
        this is the engine's cached decision (``make bench``'s "cached p50").
        """
        resource = request.resource
        if len(resource) <= MAX_CACHED_TEXT:
            base = (scope, request.action, resource, request.resource_account)
            plans = self._plans._data
            with self._lock:
                plan = plans.get(base)
                if plan is not None and plan.signer is not None:
                    plans.move_to_end(base)
                    key = (plan, plan.signer(request.context.get))
                    entries = self._entries._data
                    found = entries.get(key)
                    if found is not None:
                        entries.move_to_end(key)
                        self.hits += 1
                        return found
        return self.decide(scope, policy_set, request)[0]

    def decide(
        self, scope: Hashable, policy_set: PolicySet, request: Request
    ) -> tuple[Evaluation, CachePlan | None]:
        """``evaluate``, with the request's plan: what its decision can depend on (``None``: not
        known, as for a resource too long to cache).

        A hit takes the lock once and makes two lookups (plan, then entry); the entry key is the
        plan's straight-line signature. The size limit on the values a key keeps
        (MAX_CACHED_TEXT) is checked before an entry is stored: a hit found an entry stored with
        the same values, which passed it.
        """
        lock = self._lock
        resource = request.resource
        if len(resource) > MAX_CACHED_TEXT:
            with lock:
                self.uncacheable += 1
            return evaluate(policy_set, request), None
        base = (scope, request.action, resource, request.resource_account)
        context = request.context
        key = None
        plans = self._plans._data
        with lock:
            plan = plans.get(base)
            if plan is not None:
                plans.move_to_end(base)
                if plan.signer is not None:
                    key = (plan, plan.signer(context.get))
                    entries = self._entries._data
                    found = entries.get(key)
                    if found is not None:
                        entries.move_to_end(key)
                        self.hits += 1
                        return found, plan
        if plan is None:
            plan = build_plan(policy_set, request, self._shapes)  # outside the lock: immutable
            if plan.signer is not None:
                key = (plan, plan.signer(context.get))
            with lock:
                self._plans.put(base, plan)
                found = self._entries.get(key) if key is not None else None
                if found is not None:
                    self.hits += 1
                    return found, plan
        if key is not None and plan.raw and plan.raw_size(context) > MAX_CACHED_TEXT:
            key = None  # huge caller-chosen values are never kept
        if key is None:
            with lock:
                self.uncacheable += 1
            return evaluate(policy_set, request), plan
        evaluation = evaluate(policy_set, request)
        with lock:
            self.misses += 1
            self._entries.put(key, evaluation)
        return evaluation, plan

    def count_hits(self, count: int) -> None:
        """Count decisions answered from a memo of this cache's answers (``Snapshot.authorize``)."""
        with self._lock:
            self.hits += count

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._plans.clear()
