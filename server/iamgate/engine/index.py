"""Statement indexes: an evaluation looks only at statements that can match.

Statements are reachable first by action — the exact lower-cased action name, the service prefix
for wildcard patterns within a service, and a residue (``*``, NotAction) — and then, in large
buckets, by resource: the exact ARN, the literal prefix of a pattern cut at its last ``/`` or
``:`` before the first wildcard, and a residue (NotResource, ``*``, variables, no Resource).

Buckets are immutable tuples built once at compile time, so lookups allocate nothing in the
common case and the index is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iamgate.engine.compiled import CompiledStatement

RESOURCE_INDEX_THRESHOLD = 8
"""Buckets smaller than this are scanned; an index would cost more than it saves."""
_DELIMITERS = ("/", ":")
ACTIONS_REMEMBERED = 1024
"""Per index, how many actions' candidate lists are kept (small policies only)."""


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


def _cut_at_delimiter(prefix: str) -> str:
    """``prefix`` shortened to end at its last ``/`` or ``:`` (lookups probe only those cuts)."""
    cut = max(prefix.rfind(d) for d in _DELIMITERS)
    return prefix[: cut + 1] if cut >= 0 else ""


@dataclass(frozen=True, slots=True)
class ResourceIndex:
    exact: Mapping[str, tuple[CompiledStatement, ...]]
    by_prefix: Mapping[str, tuple[CompiledStatement, ...]]
    rest: tuple[CompiledStatement, ...]

    @classmethod
    def build(cls, statements: Sequence[CompiledStatement]) -> ResourceIndex:
        exact: dict[str, list[CompiledStatement]] = {}
        by_prefix: dict[str, list[CompiledStatement]] = {}
        rest: list[CompiledStatement] = []
        for statement in statements:
            keys = _resource_keys(statement)
            if keys is None:
                rest.append(statement)
                continue
            for is_exact, key in keys:
                bucket = (exact if is_exact else by_prefix).setdefault(key, [])
                if not bucket or bucket[-1] is not statement:
                    bucket.append(statement)
        return cls(
            exact={k: tuple(v) for k, v in exact.items()},
            by_prefix={k: tuple(v) for k, v in by_prefix.items()},
            rest=tuple(rest),
        )

    def select(self, key: str) -> list[CompiledStatement]:
        found: list[CompiledStatement] = list(self.exact.get(key, ()))
        by_prefix = self.by_prefix
        if by_prefix:
            probe = by_prefix.get("")
            if probe:
                found.extend(probe)
            for delimiter in _DELIMITERS:
                position = key.find(delimiter)
                while position >= 0:
                    probe = by_prefix.get(key[: position + 1])
                    if probe:
                        found.extend(probe)
                    position = key.find(delimiter, position + 1)
        found.extend(self.rest)
        if len(found) > 1:
            # A statement with several resource patterns can sit in several places; keep one copy,
            # in policy order, so determining statements read the same as in an explanation.
            found = sorted({id(s): s for s in found}.values(), key=_order)
        return found


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
        literal = pattern.literal_text
        if literal is not None:
            keys.append((True, resource_key(literal)))
        else:
            keys.append((False, _cut_at_delimiter(resource_key(pattern.literal_prefix))))
    return keys


@dataclass(frozen=True, slots=True)
class Bucket:
    """Statements sharing an action key, with a resource index once there are many."""

    statements: tuple[CompiledStatement, ...]
    by_resource: ResourceIndex | None

    @classmethod
    def build(cls, statements: Sequence[CompiledStatement]) -> Bucket:
        ordered = tuple(statements)
        index = ResourceIndex.build(ordered) if len(ordered) >= RESOURCE_INDEX_THRESHOLD else None
        return cls(ordered, index)

    def select(self, key: str | None) -> Sequence[CompiledStatement]:
        if self.by_resource is None or key is None:
            return self.statements
        return self.by_resource.select(key)


_EMPTY = Bucket((), None)


@dataclass(frozen=True, slots=True)
class StatementIndex:
    """Statements of one or more policies, reachable by action, then by resource."""

    exact: Mapping[str, Bucket]
    by_service: Mapping[str, Bucket]
    residue: Bucket
    indexed_resources: bool
    by_action: dict[str, Sequence[CompiledStatement]] = field(default_factory=dict, compare=False, repr=False)
    """Candidates per action, remembered when they do not depend on the resource (bounded)."""

    @classmethod
    def build(cls, statements: Iterable[CompiledStatement]) -> StatementIndex:
        exact: dict[str, list[CompiledStatement]] = {}
        by_service: dict[str, list[CompiledStatement]] = {}
        residue: list[CompiledStatement] = []
        for statement in statements:
            if statement.not_action:
                residue.append(statement)
                continue
            in_residue = False
            for glob in statement.actions:
                text = glob.text.lower()
                service, _, name = text.partition(":")
                if glob.is_literal and name:
                    bucket = exact.setdefault(text, [])
                elif name:
                    bucket = by_service.setdefault(service, [])
                else:  # "*"
                    if not in_residue:
                        residue.append(statement)
                        in_residue = True
                    continue
                if not bucket or bucket[-1] is not statement:
                    bucket.append(statement)
        exact_buckets = {k: Bucket.build(v) for k, v in exact.items()}
        service_buckets = {k: Bucket.build(v) for k, v in by_service.items()}
        residue_bucket = Bucket.build(residue)
        indexed = any(
            b.by_resource is not None
            for b in (*exact_buckets.values(), *service_buckets.values(), residue_bucket)
        )
        return cls(exact_buckets, service_buckets, residue_bucket, indexed)

    def candidates(self, action: str, resource: str | None = None) -> Sequence[CompiledStatement]:
        """Statements that can apply to ``action`` (lower-cased) and ``resource``, in a stable order.

        Statements in several buckets appear once. Without ``resource`` every statement whose
        action can match is returned.
        """
        if not self.indexed_resources:
            known = self.by_action.get(action)
            if known is None:
                known = self._candidates(action, None)
                if len(self.by_action) >= ACTIONS_REMEMBERED:
                    self.by_action.clear()  # callers choose actions: never grow without bound
                self.by_action[action] = known
            return known
        key = resource_key(resource) if resource is not None else None
        return self._candidates(action, key)

    def _candidates(self, action: str, key: str | None) -> Sequence[CompiledStatement]:
        exact = self.exact.get(action, _EMPTY).select(key)
        service = self.by_service.get(action.partition(":")[0], _EMPTY).select(key)
        residue = self.residue.select(key)
        if not service and not residue:
            return exact
        if not exact and not residue:
            return service
        if not exact and not service:
            return residue
        merged = {id(s): s for s in (*exact, *service, *residue)}
        return sorted(merged.values(), key=_order)


def _order(statement: CompiledStatement) -> tuple[str, int]:
    return statement.ref.policy_id, statement.ref.index
