"""The condition operators IAM knows, and how each reads its values.

Kept apart from the parser so the engine can share the same table: an operator's family decides
how its values are validated at load and compared at evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str
    family: Family
    negated: bool
    """A negated operator matches when no policy value matches (and when the key is missing)."""
    comparison: str
    """equals | like | lt | lte | gt | gte | in | null: what one request value is tested with."""
    ignore_case: bool = False
    variables: bool = False
    """Whether policy variables are substituted in this operator's values."""


def _spec(name: str, family: Family, comparison: str, **kwargs: bool) -> tuple[str, OperatorSpec]:
    return name, OperatorSpec(name, family, comparison=comparison, **kwargs)


OPERATORS: dict[str, OperatorSpec] = dict(
    [
        _spec("StringEquals", Family.STRING, "equals", negated=False, variables=True),
        _spec("StringNotEquals", Family.STRING, "equals", negated=True, variables=True),
        _spec(
            "StringEqualsIgnoreCase", Family.STRING, "equals", negated=False, ignore_case=True, variables=True
        ),
        _spec(
            "StringNotEqualsIgnoreCase",
            Family.STRING,
            "equals",
            negated=True,
            ignore_case=True,
            variables=True,
        ),
        _spec("StringLike", Family.STRING, "like", negated=False, variables=True),
        _spec("StringNotLike", Family.STRING, "like", negated=True, variables=True),
        _spec("NumericEquals", Family.NUMERIC, "equals", negated=False),
        _spec("NumericNotEquals", Family.NUMERIC, "equals", negated=True),
        _spec("NumericLessThan", Family.NUMERIC, "lt", negated=False),
        _spec("NumericLessThanEquals", Family.NUMERIC, "lte", negated=False),
        _spec("NumericGreaterThan", Family.NUMERIC, "gt", negated=False),
        _spec("NumericGreaterThanEquals", Family.NUMERIC, "gte", negated=False),
        _spec("DateEquals", Family.DATE, "equals", negated=False),
        _spec("DateNotEquals", Family.DATE, "equals", negated=True),
        _spec("DateLessThan", Family.DATE, "lt", negated=False),
        _spec("DateLessThanEquals", Family.DATE, "lte", negated=False),
        _spec("DateGreaterThan", Family.DATE, "gt", negated=False),
        _spec("DateGreaterThanEquals", Family.DATE, "gte", negated=False),
        _spec("Bool", Family.BOOL, "equals", negated=False),
        _spec("BinaryEquals", Family.BINARY, "equals", negated=False),
        _spec("IpAddress", Family.IP, "in", negated=False),
        _spec("NotIpAddress", Family.IP, "in", negated=True),
        _spec("ArnEquals", Family.ARN, "like", negated=False, variables=True),
        _spec("ArnLike", Family.ARN, "like", negated=False, variables=True),
        _spec("ArnNotEquals", Family.ARN, "like", negated=True, variables=True),
        _spec("ArnNotLike", Family.ARN, "like", negated=True, variables=True),
        _spec("Null", Family.NULL, "null", negated=False),
    ]
)

_BY_LOWER = {name.lower(): spec for name, spec in OPERATORS.items()}


def lookup_operator(name: str) -> OperatorSpec | None:
    """Find an operator by name; IAM accepts operator names in any letter case."""
    return _BY_LOWER.get(name.lower())
