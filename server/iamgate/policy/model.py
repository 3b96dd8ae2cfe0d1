"""The typed form of an IAM policy document.

Everything here is data: frozen, hashable, with the JSON path of where it came from, so that the
engine can compile it once and explanations can point back at the source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from iamgate.policy.errors import PolicyProblem

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class SetOperator(StrEnum):
    """The qualifier that makes a condition operator compare sets of values."""

    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


class HashedTuple(tuple):  # type: ignore[type-arg]
    """A tuple that computes its hash once, and compares by one text when it has one.

    A long Action list (ReadOnlyAccess lists ~1,500 actions in one element) is a dictionary key
    several times while one policy is read and compiled (the parser's memo, the compiler's element
    memos): a tuple hashes every entry each time (~10 µs for 1,500), and comparing it with an equal
    tuple kept by a memo compares every entry (~35 µs). ``joined``, given only by the parser for
    entries it checked hold no newline and are not empty, is the entries joined by newlines: two
    such tuples are equal exactly when their texts are (one ``memcmp``). Equal to, and hashing as,
    the plain tuple of the same entries; pickled and copied as a plain tuple (string hashes differ
    between processes, so the kept hash must not travel).
    """

    def __hash__(self) -> int:
        known: int | None = self.__dict__.get("hash")
        if known is None:
            known = self.__dict__["hash"] = tuple.__hash__(self)
        return known

    def __eq__(self, other: object) -> bool:
        if type(other) is HashedTuple:
            mine, theirs = self.__dict__.get("joined"), other.__dict__.get("joined")
            if mine is not None and theirs is not None:
                return bool(mine == theirs)
        return tuple.__eq__(self, other)  # type: ignore[no-any-return]

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    @property
    def joined(self) -> str | None:
        """The entries joined by newlines when the parser vouched for them (``keep_joined``): equal
        exactly when the tuples are, so a memo may key on it (a hash of one text, not of every entry)."""
        return self.__dict__.get("joined")  # type: ignore[no-any-return]

    def keep_joined(self, joined: str) -> None:
        """Remember ``joined`` = ``"\n".join(self)``; only for entries without a newline, none empty."""
        self.__dict__["joined"] = joined

    def __reduce__(self) -> tuple[type[tuple], tuple[tuple[str, ...]]]:  # type: ignore[type-arg]
        return tuple, (tuple(self),)


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """The Principal or NotPrincipal element.

    ``everyone`` is the bare ``"*"`` (or ``{"AWS": "*"}``); ``entries`` are ``(type, value)``
    pairs with type one of ``AWS``, ``Service``, ``Federated``, ``CanonicalUser``.
    """

    everyone: bool
    entries: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One ``operator -> key -> values`` triple of a Condition block."""

    operator: str
    """As written, e.g. ``ForAnyValue:StringLikeIfExists``."""
    base_operator: str
    """The operator family member without qualifiers, e.g. ``StringLike``."""
    set_operator: SetOperator | None
    if_exists: bool
    key: str
    """The condition key as written; compared case-insensitively."""
    values: tuple[str, ...]
    """Values in their string form (JSON booleans and numbers become their text)."""
    path: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    conditions: tuple[ConditionClause, ...] = ()
    path: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """How explanations name this statement: its Sid, else its position."""
        return self.sid if self.sid else f"Statement[{self.index}]"


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    warnings: tuple[PolicyProblem, ...] = field(default=(), compare=False)

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are substituted only under Version 2012-10-17; otherwise literal."""
        return self.version == VERSION_2012
