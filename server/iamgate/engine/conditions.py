"""Condition clauses compiled into testers.

Each clause becomes one object that knows its key, its family's per-value test and the AWS rules
for combining values: several policy values of one key are OR'd (NOR'd under a negated operator),
a missing key makes a positive operator false and a negated one true, ``IfExists`` makes a missing
key true, ``ForAllValues`` is true on a missing or empty key and ``ForAnyValue`` false.
Policy values are read once here, never at evaluation.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from iamgate.engine.arn import ArnPattern
from iamgate.engine.glob import Glob
from iamgate.engine.request import ContextValue
from iamgate.engine.variables import (
    Part,
    glob_from_parts,
    parse_template,
    substitute,
    template_keys,
)
from iamgate.policy import values as policy_values
from iamgate.policy.frozen import positional
from iamgate.policy.model import ConditionClause, SetOperator
from iamgate.policy.operators import Family, OperatorSpec, lookup_operator
from iamgate.policy.values import read_binary, read_bool, read_network

VALUES_REMEMBERED = 4096
"""Request values read as numbers, dates and addresses, remembered (bounded): the same source
address or request time is read by many conditions of many requests, and parsing an address
(``ipaddress``) cost more than the comparison. The results are immutable."""
read_address = lru_cache(maxsize=VALUES_REMEMBERED)(policy_values.read_address)
read_date = lru_cache(maxsize=VALUES_REMEMBERED)(policy_values.read_date)
read_number = lru_cache(maxsize=VALUES_REMEMBERED)(policy_values.read_number)

Context = Mapping[str, ContextValue]

MULTIVALUED_KEYS = frozenset(
    {
        "aws:calledvia",
        "aws:principalorgpaths",
        "aws:principalservicenameslist",
        "aws:resourceorgpaths",
        "aws:sourceorgpaths",
        "aws:tagkeys",
    }
)
"""Global condition keys AWS documents as multivalued (ArrayOf...): only set operators read them.
Other keys given several values are compared value by value (any value may match). The default
of ``MultivaluedKeys`` when no catalogue types the keys (``iamgate.catalogue`` adds every key the
service authorization reference or a bundle's services.json declares ``ArrayOf...``)."""

MultivaluedKeys = Callable[[str], bool]
"""Whether a lower-cased condition key is multivalued. Asked once per clause at compile time, never
at evaluation: a policy compiled under one typing keeps it."""


def documented_multivalued(key: str) -> bool:
    """The default typing: the global keys of ``MULTIVALUED_KEYS``."""
    return key in MULTIVALUED_KEYS


ValueTest = Callable[[str, Context], bool]

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "equals": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    clause: ConditionClause
    key: str
    """Lower-cased condition key."""
    spec: OperatorSpec
    value_test: ValueTest = field(repr=False)
    """Whether one request value matches any of the policy values."""
    reads: tuple[str, ...]
    """Every context key this clause looks at: its own key and those of its policy variables."""
    templates: tuple[tuple[Part, ...], ...] = ()
    """The policy values that hold policy variables."""
    readable: Callable[[str], bool] | None = field(default=None, repr=False)
    """Whether a request value can be read by this operator family (``None``: any can)."""
    multivalued: bool = False
    """The key is declared multivalued (``ArrayOf...``): a plain operator never matches a set of values."""
    holds: Callable[[Context], bool] | None = field(default=None, repr=False, compare=False)
    """``evaluate`` specialised at compile time for the common shapes (``_specialised``); ``None``
    for the others. The evaluator's hot path calls it in place of ``evaluate``."""

    def evaluate(self, context: Context) -> bool:
        clause = self.clause
        present = context.get(self.key)
        if self.spec.family is Family.NULL:
            # Null asks only whether the key is there; an empty list is there.
            is_null = present is None
            return any(read_bool(value) is is_null for value in clause.values)
        if present is None:
            # ForAnyValue needs a value to hold, IfExists or not (AWS answers a missing key with
            # "no policy allows" even for ForAnyValue:StringEqualsIfExists); ForAllValues holds.
            if clause.set_operator is SetOperator.FOR_ANY_VALUE:
                return False
            if clause.if_exists or clause.set_operator is SetOperator.FOR_ALL_VALUES:
                return True
            return self.spec.negated
        values = present.values
        test = self.value_test
        negated = self.spec.negated
        set_operator = clause.set_operator
        if set_operator is None and present.multi and self.multivalued:
            # AWS's multivalued keys need ForAllValues/ForAnyValue: a plain operator never matches.
            return False
        if negated:
            # A negated operator holds only for values it can read, against policy values that
            # all resolved: an unresolved policy variable or an unreadable value is no match.
            if self.templates and not self._resolved(context):
                return False
            readable = self.readable
            if (
                readable is not None
                and set_operator is not SetOperator.FOR_ANY_VALUE
                and not all(readable(value) for value in values)
            ):
                return False
        if set_operator is None:
            if not values:
                return False
            if negated:
                return not any(test(value, context) for value in values)
            return any(test(value, context) for value in values)
        if set_operator is SetOperator.FOR_ANY_VALUE:
            if negated:
                readable = self.readable
                return any(
                    not test(value, context) and (readable is None or readable(value)) for value in values
                )
            return any(test(value, context) for value in values)
        if negated:
            return all(not test(value, context) for value in values)
        return all(test(value, context) for value in values)

    def _resolved(self, context: Context) -> bool:
        return all(substitute(parts, context) is not None for parts in self.templates)


_new_condition = positional(CompiledCondition)


def compile_condition(
    clause: ConditionClause, *, variables: bool, multivalued: MultivaluedKeys = documented_multivalued
) -> CompiledCondition:
    """Compile one clause; ``variables`` is False under Version 2008-10-17 (values are literal).

    ``multivalued`` types the clause's key; the documented global multivalued keys stay multivalued
    whatever it says. What a clause compiles to depends only on its operator, key, values and
    ``variables``: equal clauses (a bundle repeats the same few hundred) share it (``_tester``).
    """
    key = clause.key.lower()
    key_multivalued = documented_multivalued(key) or bool(multivalued(key))
    tester = _tester(clause, key, variables)
    # The specialised test depends on IfExists, the set operator and the key's typing too, which
    # the tester memo does not key on: built per clause, after the shared tester.
    specialised = (
        None
        if tester.templates
        else _specialised(clause, tester.key, tester.spec, tester.value_test, key_multivalued)
    )
    return _new_condition(clause, *tester, key_multivalued, specialised)


class _Tester(NamedTuple):
    """The parts of a ``CompiledCondition`` that follow from (operator, key, values, variables)."""

    key: str
    spec: OperatorSpec
    value_test: ValueTest
    reads: tuple[str, ...]
    templates: tuple[tuple[Part, ...], ...]
    readable: Callable[[str], bool] | None


def _tester(clause: ConditionClause, key: str, variables: bool) -> _Tester:
    memo_key = (clause.base_operator, clause.key, clause.values, variables)
    known = _TESTERS.get(memo_key)
    if known is not None:
        return known
    spec = lookup_operator(clause.base_operator)
    if spec is None:  # the parser rejects unknown operators; stay fail-closed regardless
        raise ValueError(f"unknown condition operator {clause.base_operator!r}")
    templates = [parse_template(v) if variables and spec.variables else None for v in clause.values]
    reads = [key]
    for parts in templates:
        if parts is not None:
            reads.extend(k for k in template_keys(parts) if k not in reads)
    builder = _BUILDERS[spec.family]
    known = _Tester(
        key,
        spec,
        builder(spec, clause.values, templates),
        tuple(reads),
        tuple(t for t in templates if t is not None),
        _READABLE.get(spec.family),
    )
    # Only short clauses are kept, and only so many: session policies and Simulate documents are
    # caller-fed, and the memo lives as long as the process. Its entries are immutable.
    if len(clause.key) + sum(map(len, clause.values)) <= TESTER_TEXT_REMEMBERED:
        if len(_TESTERS) >= TESTERS_REMEMBERED:
            _TESTERS.clear()
        _TESTERS[memo_key] = known
    return known


_TESTERS: dict[tuple[str, str, tuple[str, ...], bool], _Tester] = {}
TESTERS_REMEMBERED = 4096
"""Compiled clause testers the process keeps (then it starts afresh)."""
TESTER_TEXT_REMEMBERED = 256
"""Clauses with more characters of key and values than this are compiled each time, never kept."""


def _specialised(
    clause: ConditionClause, key: str, spec: OperatorSpec, test: ValueTest, multivalued: bool
) -> Callable[[Context], bool] | None:
    """``CompiledCondition.evaluate`` for a clause without policy variables, with its branches
    decided once: ``Null``, positive and negated operators (``StringEquals``, ``StringNotEquals``,
    ``Bool``, ``DateGreaterThan``, ``IpAddress``..., with or without ``IfExists``), each plain or
    under ``ForAnyValue``/``ForAllValues``. Guardrail SCPs (``StringNotEquals`` on
    ``aws:RequestedRegion``) are read on nearly every request: each clause shape is a closure
    without the generic walk's branches or generators. ``test_condition_specialised.py`` checks
    every operator against ``evaluate``."""
    if spec.family is Family.NULL:
        wanted = {read_bool(value) for value in clause.values}
        when_missing, when_present = True in wanted, False in wanted

        def null(context: Context) -> bool:
            return when_missing if context.get(key) is None else when_present

        return null
    set_operator = clause.set_operator
    readable = _READABLE.get(spec.family)
    if set_operator is SetOperator.FOR_ANY_VALUE:
        return _for_any_value(key, test, readable if spec.negated else None, spec.negated)
    if set_operator is SetOperator.FOR_ALL_VALUES:
        return _for_all_values(key, test, readable if spec.negated else None, spec.negated)
    if spec.negated:
        return _negated(key, test, readable, multivalued)
    when_missing = clause.if_exists
    direct = getattr(test, "direct", None)
    if direct is not None:

        def positive_direct(context: Context) -> bool:
            present = context.get(key)
            if present is None:
                return when_missing
            if present.multi and multivalued:
                return False  # AWS's multivalued keys need ForAllValues/ForAnyValue
            for value in present.values:  # noqa: SIM110 - a loop beats any() on the hot path
                if direct(value):
                    return True
            return False

        return positive_direct

    def positive(context: Context) -> bool:
        present = context.get(key)
        if present is None:
            return when_missing
        if present.multi and multivalued:
            return False  # AWS's multivalued keys need ForAllValues/ForAnyValue
        for value in present.values:  # noqa: SIM110 - a loop beats any() on the hot path
            if test(value, context):
                return True
        return False

    return positive


def _negated(
    key: str, test: ValueTest, readable: Callable[[str], bool] | None, multivalued: bool
) -> Callable[[Context], bool]:
    """A negated operator without a set operator: true on a missing key (``IfExists`` or not);
    otherwise no value may match, and every value must be readable by the operator's family."""

    direct = getattr(test, "direct", None)
    if direct is not None and readable is None:  # ``StringNotEquals`` on a region: no frame per value

        def negated_direct(context: Context) -> bool:
            present = context.get(key)
            if present is None:
                return True
            if present.multi and multivalued:
                return False
            values = present.values
            if not values:
                return False
            for value in values:  # noqa: SIM110 - a loop beats any() on the hot path
                if direct(value):
                    return False
            return True

        return negated_direct

    def negated(context: Context) -> bool:
        present = context.get(key)
        if present is None:
            return True
        if present.multi and multivalued:
            return False
        values = present.values
        if not values:
            return False
        for value in values:
            if (readable is not None and not readable(value)) or test(value, context):
                return False
        return True

    return negated


def _for_any_value(
    key: str, test: ValueTest, readable: Callable[[str], bool] | None, negated: bool
) -> Callable[[Context], bool]:
    """``ForAnyValue``: false on a missing key; some value matches (under a negated operator: some
    readable value does not)."""

    def for_any_value(context: Context) -> bool:
        present = context.get(key)
        if present is None:
            return False
        for value in present.values:
            if negated:
                if not test(value, context) and (readable is None or readable(value)):
                    return True
            elif test(value, context):
                return True
        return False

    return for_any_value


def _for_all_values(
    key: str, test: ValueTest, readable: Callable[[str], bool] | None, negated: bool
) -> Callable[[Context], bool]:
    """``ForAllValues``: true on a missing or empty key; every value matches (under a negated
    operator: every value is readable and none matches)."""

    def for_all_values(context: Context) -> bool:
        present = context.get(key)
        if present is None:
            return True
        values = present.values
        if negated:
            for value in values:
                if (readable is not None and not readable(value)) or test(value, context):
                    return False
            return True
        for value in values:  # noqa: SIM110 - a loop beats all() on the hot path
            if not test(value, context):
                return False
        return True

    return for_all_values


def _never(_value: str, _context: Context) -> bool:
    return False


def _context_free(test: Callable[[str], bool]) -> ValueTest:
    """A value test that reads no context; ``_specialised`` calls ``test`` itself (``direct``),
    a Python frame less per value (``frozenset.__contains__`` is no Python frame at all)."""

    def with_context(value: str, _context: Context) -> bool:
        return test(value)

    with_context.direct = test  # type: ignore[attr-defined]
    return with_context


def _string_test(spec: OperatorSpec, values: tuple[str, ...], templates: list) -> ValueTest:
    fold = spec.ignore_case
    if spec.comparison == "like":
        static = [
            Glob.compile(v, ignore_case=fold) for v, t in zip(values, templates, strict=True) if t is None
        ]
        dynamic = [t for t in templates if t is not None]
        if not dynamic:
            if len(static) == 1:
                return _context_free(static[0].tester())
            return lambda value, _context: any(g.matches(value) for g in static)

        def like(value: str, context: Context) -> bool:
            if any(g.matches(value) for g in static):
                return True
            for parts in dynamic:
                glob = glob_from_parts(parts, context, ignore_case=fold)
                if glob is not None and glob.matches(value):
                    return True
            return False

        return like
    static_set = frozenset(
        v.lower() if fold else v for v, t in zip(values, templates, strict=True) if t is None
    )
    dynamic = [t for t in templates if t is not None]
    if not dynamic:
        if fold:
            return lambda value, _context: value.lower() in static_set
        return _context_free(static_set.__contains__)

    def equals(value: str, context: Context) -> bool:
        probe = value.lower() if fold else value
        if probe in static_set:
            return True
        for parts in dynamic:
            text = substitute(parts, context)
            if text is not None and (text.lower() if fold else text) == probe:
                return True
        return False

    return equals


def _ordered_test(
    read: Callable[[str], float | None],
) -> Callable[[OperatorSpec, tuple[str, ...], list], ValueTest]:
    def build(spec: OperatorSpec, values: tuple[str, ...], _templates: list) -> ValueTest:
        compare = _COMPARISONS[spec.comparison]
        numbers = [n for n in (read(v) for v in values) if n is not None]
        if not numbers:
            return _never

        def test(value: str, _context: Context) -> bool:
            number = read(value)
            return number is not None and any(compare(number, bound) for bound in numbers)

        return test

    return build


def _bool_test(_spec: OperatorSpec, values: tuple[str, ...], _templates: list) -> ValueTest:
    wanted = frozenset(b for b in (read_bool(v) for v in values) if b is not None)
    # "true" and "false" as callers send them (``aws:SecureTransport``, ``aws:MultiFactorAuthPresent``)
    # answered by one lookup, decided here by ``read_bool`` as any other text is per request.
    exact = {text: read_bool(text) in wanted for text in ("true", "false")}

    def test(value: str) -> bool:
        found = exact.get(value)
        return read_bool(value) in wanted if found is None else found

    return _context_free(test)


def _binary_test(_spec: OperatorSpec, values: tuple[str, ...], _templates: list) -> ValueTest:
    wanted = frozenset(b for b in (read_binary(v) for v in values) if b is not None)

    def test(value: str, _context: Context) -> bool:
        decoded = read_binary(value)
        return decoded is not None and decoded in wanted

    return test


def _ip_test(_spec: OperatorSpec, values: tuple[str, ...], _templates: list) -> ValueTest:
    networks = [n for n in (read_network(v) for v in values) if n is not None]

    def test(value: str, _context: Context) -> bool:
        address = read_address(value)
        if address is None:
            return False
        version = address.version
        for network in networks:  # noqa: SIM110 - a loop beats any() on the hot path
            if network.version == version and address in network:
                return True
        return False

    return test


def _arn_test(_spec: OperatorSpec, values: tuple[str, ...], templates: list) -> ValueTest:
    variables = any(t is not None for t in templates)
    patterns = [ArnPattern.compile(v, variables=variables) for v in values]
    if len(patterns) == 1:
        only = patterns[0]
        return only.matches

    def test(value: str, context: Context) -> bool:
        for pattern in patterns:  # noqa: SIM110 - a loop beats any() on the hot path
            if pattern.matches(value, context):
                return True
        return False

    return test


def _null_test(_spec: OperatorSpec, _values: tuple[str, ...], _templates: list) -> ValueTest:
    return _never  # Null is decided on presence alone (see CompiledCondition.evaluate)


def _is_arn(value: str) -> bool:
    return value.count(":") >= 5 and value.startswith("arn:")


_READABLE: dict[Family, Callable[[str], bool]] = {
    Family.NUMERIC: lambda value: read_number(value) is not None,
    Family.DATE: lambda value: read_date(value) is not None,
    Family.IP: lambda value: read_address(value) is not None,
    Family.ARN: _is_arn,
}


_BUILDERS: dict[Family, Callable[[OperatorSpec, tuple[str, ...], list], ValueTest]] = {
    Family.STRING: _string_test,
    Family.NUMERIC: _ordered_test(read_number),
    Family.DATE: _ordered_test(read_date),
    Family.BOOL: _bool_test,
    Family.BINARY: _binary_test,
    Family.IP: _ip_test,
    Family.ARN: _arn_test,
    Family.NULL: _null_test,
}
