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

import itertools
import sys
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import FunctionType, MappingProxyType
from typing import Any

from iamgate.engine.compiled import CompiledPolicy
from iamgate.engine.evaluator import PolicySet, evaluate
from iamgate.engine.index import ACTION_TEXT_KEPT
from iamgate.engine.request import ContextValue, Request
from iamgate.engine.result import Evaluation
from iamgate.engine.variables import template_keys
from iamgate.policy.operators import Family
from iamgate.policy.values import read_date, read_number

MAX_PLAN_KEYS = 64
"""A plan reading more keys than this is not worth caching (the key would cost an evaluation)."""

MAX_CACHED_TEXT = 2048
"""A request whose resource, or whose compared context values together, are longer than this (or
whose action is longer than ``index.ACTION_TEXT_KEPT``) is evaluated afresh and never kept: the
cache holds up to ``maxsize`` keys, and a stream of huge caller-chosen strings would otherwise pin
``maxsize`` x their size (S3 object ARNs fit)."""

_PRESENCE = "presence"
_RAW = "raw"


ORDERED_TEXTS_KEPT = 1024
"""Values of an order-compared key (dates, numbers) whose positions are remembered per plan."""
_ORDERED_TEXT_LIMIT = 64
"""Dates and numbers are short; a value whose texts are longer together is placed afresh each
time and never kept."""
SHAPES_KEPT = 1024
"""Signature functions kept per cache, one per shape of plan (its keys' uses in order)."""
ORDERS_KEPT = 1024
"""Ordered keys' maps kept per cache for plans to share, one per reader and bounds."""


class _Ordered(dict):
    """A key compared by order only: its values' positions among ``bounds`` are all that matter.

    A dict from a value's ``ContextValue.part`` to its place, filled on first sight: reading a
    date is the dearest part of a cache key, and a stream of requests carries the same few
    (``aws:CurrentTime`` changes once a second). A hit reads it with one C-level subscript. A
    single value (a string part) places to one small int, ``2 * position + (equal to a bound)``
    or -1 when it does not read as a number or date; any other part, ``(multi, values)``, to
    ``(multi, positions)``; ``None`` (an absent key) to ``None``: equal places mean equal
    ``multi`` and positions, and a small int is hashed for nothing. Texts longer than
    ``_ORDERED_TEXT_LIMIT`` together are placed afresh each time and never kept; at
    ``ORDERED_TEXTS_KEPT`` entries it is emptied. Plans of one cache share the map of equal
    bounds (``build_plan``'s ``orders``): every plan reading the clock against the same dates
    finds a map the last hit already brought into the CPU's caches.
    """

    __slots__ = ("bounds", "read")

    def __init__(self, read: Callable[[str], float | None], bounds: tuple[float, ...]) -> None:
        super().__init__()
        self.read = read
        self.bounds = bounds

    __eq__ = object.__eq__  # type: ignore[assignment]
    __ne__ = object.__ne__  # type: ignore[assignment]
    __hash__ = object.__hash__  # type: ignore[assignment]

    def position(self, text: str) -> object:
        number = self.read(text)
        if number is None:
            return None
        bounds = self.bounds
        at = bisect_left(bounds, number)
        return at, at < len(bounds) and bounds[at] == number

    def place(self, text: str) -> int:
        """A single value's place: ``2 * position + (equal to a bound)``, -1 for no number."""
        position = self.position(text)
        return -1 if position is None else 2 * position[0] + position[1]  # type: ignore[index, operator]

    def __missing__(self, part: str | tuple[bool, tuple[str, ...]] | None) -> object:
        # An absent key (``None``) is kept too: a hit should not call this for it every time.
        if part is None:
            found: object = None
            size = 0
        elif part.__class__ is str:
            found = self.place(part)  # type: ignore[arg-type]
            size = len(part)
        else:
            multi, values = part
            found = (multi, tuple(map(self.position, values)))
            size = sum(map(len, values))
        if size <= _ORDERED_TEXT_LIMIT:
            if len(self) >= ORDERED_TEXTS_KEPT:
                self.clear()
            self[part] = found
        return found


class _Missing:
    """Stands for an absent key while a signer builds an entry key: a ``part`` that no
    ``ContextValue`` has (``None``), so absent and present never share an entry."""

    __slots__ = ()
    part = None


_ABSENT = _Missing()


Signer = Callable[[Callable[[str, Any], Any]], tuple]
"""A plan's entry-key function: given ``context.get``, the whole key of the entry (plan first)."""


@dataclass(frozen=True, slots=True, eq=False)
class CachePlan:
    """Which context a decision can depend on, for one (scope, action, resource, account).

    Compared by identity: an entry is keyed by its plan object and the parts of the context the
    plan reads, and a plan is only ever found under the one base it was built for (entries keep
    their plan alive).
    """

    keys: tuple[tuple[str, object], ...]
    """(lower-cased key, how it matters): ``_RAW``, ``_PRESENCE`` or an ``_Ordered``."""
    cacheable: bool = True
    raw: tuple[str, ...] = ()
    """The keys whose exact values go into the cache key."""
    names: frozenset[str] = frozenset()
    """Every key read (lower-cased): a decision whose plan reads no clock key holds at any time."""
    signer: Signer | None = field(default=None, compare=False, repr=False)
    """``entry_key`` as one straight-line function of ``context.get`` (``_signer``); ``None``
    when the plan is not cacheable."""

    def raw_size(self, context: Mapping[str, ContextValue]) -> int:
        """Characters of the values the cache key would keep."""
        size = 0
        for key in self.raw:
            value = context.get(key)
            if value is not None:
                size += sum(map(len, value.values))
        return size

    def entry_key(self, context: Mapping[str, ContextValue]) -> tuple:
        """The key of this request's entry, flat: the plan, then one item per key in order: the
        value's ``part`` (raw: ``multi`` and ``values`` as one hashable), ``absent`` (presence)
        or its place among the bounds (ordered); an absent key's part is ``None``. ``signer``
        computes the same tuple without the loop; this is its reference (the tests compare
        them)."""
        parts: list[object] = [self]
        for key, use in self.keys:
            value = context.get(key, _ABSENT)
            if use is _PRESENCE:
                parts.append(value is _ABSENT)
            elif use is _RAW:
                parts.append(value.part)
            else:
                parts.append(use[value.part])  # type: ignore[index]
        return tuple(parts)


_PART = {
    "r": "v{i}.part, ",
    "p": "v{i} is absent, ",
    "o": "o{i}[v{i}.part], ",
}


def _signer(plan: CachePlan, shapes: dict[str, Callable] | None) -> Signer:
    """``plan.entry_key`` without the loop, the calls or the nested tuples: what a hit pays for.

    Every absent key reads as ``_ABSENT`` (``get(key, absent)``), so the key is one flat tuple
    built in one step with no branch per key; an ordered key's positions are one subscript of
    its ``_Ordered``. The code depends only on the plan's *shape* (each key's use, in order:
    "rro" ...) and is compiled once per shape (kept in ``shapes``, one per cache, bounded); each
    plan gets a function of that code whose argument defaults are the plan, its key names and
    ``_Ordered`` maps (one tuple, which a hit reads in one piece: no closure cells, no
    ``partial`` copying its arguments per call), so no text of a policy ever becomes code.
    """
    keys = plan.keys
    shape = "".join("r" if use is _RAW else "p" if use is _PRESENCE else "o" for _, use in keys)
    sign = shapes.get(shape) if shapes is not None else None
    if sign is None:
        parameters = ["get", "plan", "absent"]
        for i, kind in enumerate(shape):
            parameters += [f"k{i}", f"o{i}"] if kind == "o" else [f"k{i}"]
        loads = "".join(f"    v{i} = get(k{i}, absent)\n" for i in range(len(shape)))
        parts = "".join(_PART[kind].format(i=i) for i, kind in enumerate(shape))
        source = f"def sign({', '.join(parameters)}):\n{loads}    return (plan, {parts})\n"
        namespace: dict[str, object] = {}
        # The source holds nothing but the shape's letters turned into fixed snippets.
        exec(compile(source, f"<cache plan {shape}>", "exec"), namespace)
        sign = namespace["sign"]  # type: ignore[assignment]
        if shapes is not None:
            if len(shapes) >= SHAPES_KEPT:
                shapes.clear()
            shapes[shape] = sign  # type: ignore[assignment]
    bound: list[object] = [plan, _ABSENT]
    for key, use in keys:
        bound += [key, use] if isinstance(use, _Ordered) else [key]
    return FunctionType(sign.__code__, sign.__globals__, "sign", tuple(bound))  # type: ignore[attr-defined]


def _refuse(get: Callable[[str, Any], Any], plan: CachePlan) -> None:
    """The stand-in signer of a plan that is not cacheable: no entry is ever keyed ``None``."""
    return None


def _stored_signer(plan: CachePlan) -> Signer:
    """What ``DecisionCache`` keeps under a plan's base: its signer, or for a plan that is not
    cacheable a function refusing every key; either has the plan as its first argument default
    (``_plan_of``), so a hit reaches the signer without reading the plan object."""
    if plan.signer is not None:
        return plan.signer
    return FunctionType(_refuse.__code__, _refuse.__globals__, "refuse", (plan,))  # type: ignore[return-value]


_NO_ENTRY = object()
"""The key in a new plan's slot: equal to no key a signer returns (nor to ``None``, which a plan
that is not cacheable returns)."""


def _plan_of(signer: Signer) -> CachePlan:
    return signer.__defaults__[0]  # type: ignore[attr-defined]


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


def _ordered(
    read: Callable[[str], float | None], bounds: tuple[float, ...], orders: dict[tuple, _Ordered] | None
) -> _Ordered:
    """The map placing values among ``bounds``: the one kept in ``orders`` for them, or a new one."""
    if orders is None:
        return _Ordered(read, bounds)
    found = orders.get((read, bounds))
    if found is None:
        found = _Ordered(read, bounds)
        if len(orders) >= ORDERS_KEPT:
            orders.clear()
        orders[(read, bounds)] = found
    return found


def build_plan(
    policy_set: PolicySet,
    request: Request,
    shapes: dict[str, Callable] | None = None,
    orders: dict[tuple, _Ordered] | None = None,
) -> CachePlan:
    """Which context keys (and which aspect of each) can change this request's decision.

    ``shapes``: where the plan's signature function is kept by shape (``_signer``). ``orders``:
    where the ordered keys' maps are kept by reader and bounds, so that plans comparing a key
    against the same values share one (bounded by ORDERS_KEPT).
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
        # One object per key name across plans (a hit reads each plan's key names): fewer to keep warm.
        key = sys.intern(key)
        if len(kinds) == 1:
            (only,) = kinds
            if only in _READERS:
                keys.append((key, _ordered(_READERS[only], tuple(sorted(bounds.get(key, ()))), orders)))  # type: ignore[index]
                continue
            keys.append((key, only))
        else:
            keys.append((key, _RAW))
    plan = CachePlan(tuple(keys), raw=tuple(key for key, use in keys if use is _RAW), names=frozenset(uses))
    object.__setattr__(plan, "signer", _signer(plan, shapes))  # it holds the plan: made after it
    return plan


def _count_of(counter: itertools.count) -> int:
    """How far ``counter`` has counted (``itertools.count`` shows it only in its repr)."""
    return int(repr(counter)[len("count(") : -1])


class DecisionCache:
    """A bounded cache of decisions; thread-safe; one per compiled bundle (never shared across).

    ``scope`` names the policy set a request is evaluated against (for example the bundle
    revision, the principal ARN and any session policy); everything else the decision depends on
    is derived here.

    A hit takes no lock: it is one dict lookup (the plan's *slot* by ``(scope, action, resource,
    account)``), the plan's signer, and either a compare with the entry the slot holds or a
    second lookup (the entry by its key), then a count; each lookup is one C call that the GIL
    makes atomic. Only storing (a plan, an entry, evictions) and the other statistics take the
    lock. Entries and plans are evicted oldest-stored first (a hit does not reorder them: that
    would cost a hit more than it saves): a busy entry that ages out costs one evaluation and is
    stored anew.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[tuple, Evaluation] = OrderedDict()
        self._plans: OrderedDict[tuple, tuple[Signer, tuple | None, Evaluation | None]] = OrderedDict()
        """Each plan's slot by its base: ``(signer, key, answer)``, the plan's signer
        (``_stored_signer``; ``_plan_of`` reads the plan back) and the entry last stored for the
        plan. A hit whose key equals the slot's (compared by value: equal values made of other
        objects are equal) is answered from the slot, without hashing its key or looking it up;
        a plan reading no context at all has only that one entry. The slot's entry is an entry
        of the cache (stored with its full key, never stale), so it adds at most one answer per
        plan kept to what the cache holds."""
        self._plans_kept = max(1024, maxsize // 4)
        self._shapes: dict[str, Callable] = {}
        """Compiled signature functions by plan shape (``_signer``); bounded by SHAPES_KEPT."""
        self._orders: dict[tuple, _Ordered] = {}
        """Ordered keys' maps by reader and bounds (``build_plan``); bounded by ORDERS_KEPT."""
        self._lock = threading.Lock()
        self._hit_count = itertools.count()
        self._hits_counted = 0
        """Hits reported by ``count_hits`` (the hit path counts with ``_hit_count``: no lock)."""
        self.misses = 0
        self.uncacheable = 0
        # The hit path's lookups, bound once (``clear`` empties these maps in place).
        self._slot_of = self._plans.get
        self._entry_of = self._entries.get
        self._hit = self._hit_count.__next__

    @property
    def size(self) -> int:
        return len(self._entries)

    @property
    def hits(self) -> int:
        """Decisions answered from the cache (and from memos of its answers: ``count_hits``)."""
        return _count_of(self._hit_count) + self._hits_counted

    def evaluate(self, scope: Hashable, policy_set: PolicySet, request: Request) -> Evaluation:
        """The decision, from the cache when an entry holds it (``decide`` without the plan).

        The hit path is ``decide``'s, repeated here without the call and the pair it returns:
        this is the engine's cached decision (``make bench``'s "cached p50"). A base whose
        resource is longer than MAX_CACHED_TEXT (or whose action is longer than ACTION_TEXT_KEPT)
        is never stored, so such a request misses here and ``_miss`` evaluates it afresh.
        """
        base = (scope, request.action, request.resource, request.resource_account)
        slot = self._slot_of(base)
        if slot is not None:
            signer, last_key, last = slot
            key = signer(request.context.get)
            if key == last_key:
                self._hit()
                return last  # type: ignore[return-value]
            found = self._entry_of(key)
            if found is not None:
                self._hit()
                return found
            return self._miss(base, _plan_of(signer), key, policy_set, request)[0]
        return self._miss(base, None, None, policy_set, request)[0]

    def decide(
        self, scope: Hashable, policy_set: PolicySet, request: Request
    ) -> tuple[Evaluation, CachePlan | None]:
        """``evaluate``, with the request's plan: what its decision can depend on (``None``: not
        known, as for a resource too long to cache).

        A hit makes one or two lookups (the plan's slot; the entry, unless the slot holds it)
        and takes no lock. The size limit on the values a key keeps (MAX_CACHED_TEXT) is
        checked before an entry is stored: a hit found an entry stored with the same values,
        which passed it.
        """
        base = (scope, request.action, request.resource, request.resource_account)
        slot = self._slot_of(base)
        if slot is not None:
            signer, last_key, last = slot
            key = signer(request.context.get)
            if key == last_key:
                self._hit()
                return last, _plan_of(signer)  # type: ignore[return-value]
            found = self._entry_of(key)
            if found is not None:
                self._hit()
                return found, _plan_of(signer)
            return self._miss(base, _plan_of(signer), key, policy_set, request)
        return self._miss(base, None, None, policy_set, request)

    def _miss(
        self,
        base: tuple,
        plan: CachePlan | None,
        key: tuple | None,
        policy_set: PolicySet,
        request: Request,
    ) -> tuple[Evaluation, CachePlan | None]:
        """Evaluate afresh; store the plan (when new) and the answer (when cacheable)."""
        lock = self._lock
        if len(request.resource) > MAX_CACHED_TEXT or len(request.action) > ACTION_TEXT_KEPT:
            with lock:
                self.uncacheable += 1
            return evaluate(policy_set, request), None
        context = request.context
        plans = self._plans
        if plan is None:
            plan = build_plan(policy_set, request, self._shapes, self._orders)  # outside the lock: immutable
            with lock:
                plans[base] = (_stored_signer(plan), _NO_ENTRY, None)
                while len(plans) > self._plans_kept:
                    plans.popitem(last=False)
            if plan.signer is not None:
                key = plan.signer(context.get)  # a new plan has no entries yet: nothing to look up
        if key is not None and plan.raw and plan.raw_size(context) > MAX_CACHED_TEXT:
            key = None  # huge caller-chosen values are never kept
        if key is None:
            with lock:
                self.uncacheable += 1
            return evaluate(policy_set, request), plan
        evaluation = evaluate(policy_set, request)
        with lock:
            self.misses += 1
            entries = self._entries
            entries[key] = evaluation
            while len(entries) > self._maxsize:
                entries.popitem(last=False)
            slot = plans.get(base)
            if slot is not None and _plan_of(slot[0]) is plan:  # still this plan's slot: it holds the entry
                plans[base] = (slot[0], key, evaluation)
        return evaluation, plan

    def count_hits(self, count: int) -> None:
        """Count decisions answered from a memo of this cache's answers (``Snapshot.authorize``)."""
        with self._lock:
            self._hits_counted += count

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._plans.clear()
