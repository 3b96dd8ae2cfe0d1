"""The statement index of a policy compiled for a simulation's reach (``compile_policy(reach=)``).

A policy compiled for a reach answers only requests within it: a known, finite set of actions and
resources, each (action, resource) pair asked by every request of a batch that names it, and twice
per evaluation (``evaluator._tally_every``, then ``_missing_context``). At 5,000 statements its
plans are large enough to be indexed by resource, and each of those lookups cuts the resource's
key, probes the buckets and merges them (~2 µs): more than the evaluation of the few statements
they offer. ``ReachIndex`` remembers the candidates per (action, resource), bounded. Candidates
are a function of the index alone (which statements can apply), never of a request's context or
principal: every statement is still matched and its conditions evaluated per request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from iamgate.engine.index import StatementIndex

if TYPE_CHECKING:
    from iamgate.engine.compiled import CompiledStatement

PAIRS_KEPT = 1024
"""Per index, how many (action, resource) pairs' candidates are kept (then it starts afresh):
a batch's reach holds at most ``simulate.BATCH_REACH_UP_TO`` of each, far fewer in practice."""
PAIR_REFS_KEPT = 1 << 15
"""Per index, how many statement references the kept candidates may hold in all (256 KiB)."""
PAIR_TEXT_KEPT = 256
"""Longer actions or resources are looked up each time, never kept (they are the memo's keys)."""


class ReachIndex(StatementIndex):
    """A ``StatementIndex`` that remembers ``candidates`` per (action, resource), bounded.

    The kept answers are tuples (immutable, shared by every caller); the memo is replaced whole
    when full, under a lock, so several threads may use one index (a Simulate policy remembered
    between calls)."""

    __slots__ = ("_lock", "_pair_count", "_pair_refs", "_pairs")

    def __init__(self, statements: tuple[CompiledStatement, ...]) -> None:
        super().__init__(statements)
        self._pairs: dict[str, dict[str | None, Sequence[CompiledStatement]]] = {}
        """By action, then by resource."""
        self._pair_count = self._pair_refs = 0
        self._lock = threading.Lock()

    def candidates(self, action: str, resource: str | None = None) -> Sequence[CompiledStatement]:
        """``StatementIndex.candidates``, remembered per (action, resource)."""
        by_resource = self._pairs.get(action)
        if by_resource is not None:
            found = by_resource.get(resource)
            if found is not None:
                return found
        found = tuple(StatementIndex.candidates(self, action, resource))
        if len(action) <= PAIR_TEXT_KEPT and (resource is None or len(resource) <= PAIR_TEXT_KEPT):
            self._keep(action, resource, found)
        return found

    def _keep(self, action: str, resource: str | None, found: tuple[CompiledStatement, ...]) -> None:
        if len(found) > PAIR_REFS_KEPT:
            return
        with self._lock:
            if self._pair_count >= PAIRS_KEPT or self._pair_refs + len(found) > PAIR_REFS_KEPT:
                self._pairs = {}
                self._pair_count = self._pair_refs = 0
            by_resource = self._pairs.get(action)
            if by_resource is None:
                by_resource = self._pairs[action] = {}
            if resource not in by_resource:
                by_resource[resource] = found
                self._pair_count += 1
                self._pair_refs += len(found)

    @property
    def remembered_pairs(self) -> int:
        """How many (action, resource) pairs' candidates the index holds now."""
        return self._pair_count
