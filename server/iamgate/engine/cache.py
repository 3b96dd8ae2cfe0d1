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
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _Ordered:
    """A key compared by order only: its value's position among ``bounds`` is all that matters."""

    read: Callable[[str], float | None]
    bounds: tuple[float, ...]

    def signature(self, value: ContextValue) -> tuple:
        bounds = self.bounds
        positions = []
        for text in value.values:
            number = self.read(text)
            if number is None:
                positions.append(None)
            else:
                at = bisect_left(bounds, number)
                positions.append((at, at < len(bounds) and bounds[at] == number))
        return value.multi, tuple(positions)


@dataclass(frozen=True, slots=True)
class CachePlan:
    keys: tuple[tuple[str, object], ...]
    """(lower-cased key, how it matters): ``_RAW``, ``_PRESENCE`` or an ``_Ordered``."""
    cacheable: bool = True
    raw: tuple[str, ...] = ()
    """The keys whose exact values go into the cache key."""

    def raw_size(self, context: Mapping[str, ContextValue]) -> int:
        """Characters of the values the cache key would keep."""
        size = 0
        for key in self.raw:
            value = context.get(key)
            if value is not None:
                size += sum(map(len, value.values))
        return size

    def signature(self, context: Mapping[str, ContextValue]) -> tuple:
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


def build_plan(policy_set: PolicySet, request: Request) -> CachePlan:
    """Which context keys (and which aspect of each) can change this request's decision."""
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
    return CachePlan(tuple(keys), raw=tuple(key for key, use in keys if use is _RAW))


def _entry_key(plan: CachePlan, base: tuple, context: Mapping[str, ContextValue]) -> tuple | None:
    """The cache key of a request under ``plan``; ``None``: not to be cached (see MAX_CACHED_TEXT)."""
    if not plan.cacheable or (plan.raw and plan.raw_size(context) > MAX_CACHED_TEXT):
        return None
    return (base, plan.signature(context))


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
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.uncacheable = 0

    @property
    def size(self) -> int:
        return len(self._entries)

    def evaluate(self, scope: Hashable, policy_set: PolicySet, request: Request) -> Evaluation:
        lock = self._lock
        if len(request.resource) > MAX_CACHED_TEXT:
            with lock:
                self.uncacheable += 1
            return evaluate(policy_set, request)
        base = (scope, request.action, request.resource, request.resource_account)
        context = request.context
        key = None
        with lock:  # a hit takes the lock once: plan, key (pure and cheap) and entry
            plan = self._plans.get(base)
            if plan is not None:
                key = _entry_key(plan, base, context)
                if key is not None:
                    found = self._entries.get(key)
                    if found is not None:
                        self.hits += 1
                        return found
        if plan is None:
            plan = build_plan(policy_set, request)  # outside the lock: plans are immutable
            key = _entry_key(plan, base, context)
            with lock:
                self._plans.put(base, plan)
                found = self._entries.get(key) if key is not None else None
                if found is not None:
                    self.hits += 1
                    return found
        if key is None:
            with lock:
                self.uncacheable += 1
            return evaluate(policy_set, request)
        evaluation = evaluate(policy_set, request)
        with lock:
            self.misses += 1
            self._entries.put(key, evaluation)
        return evaluation

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._plans.clear()
