"""Access Analyzer-level findings: a parsed policy checked against the service catalogue.

The parser knows the grammar; only the catalogue knows that ``s3:GetObjekt`` names no action, that
``aws:PrincipleTag/team`` is no key (so a Deny conditioned on it silently never applies), or that
``events:detail-type`` is multivalued. Each finding has a stable code (docs/validation.md lists
them), a default severity, and a JSON path relative to the document. A bundle's severity policy
(``validation.json``) may raise, lower or switch off any code; ``strict`` makes the codes that
mean "this names nothing" errors. Only errors refuse a bundle, so the defaults never turn a bundle
that loaded before into one that is refused.

No I/O here: the catalogue is handed in (``iamgate.catalogue`` reads the reference).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from iamgate.policy.errors import PolicyProblem, Severity
from iamgate.policy.model import Effect, PolicyDocument, Statement
from iamgate.policy.operators import Family, lookup_operator

if TYPE_CHECKING:
    from iamgate.catalogue import Action, Catalogue, ConditionKey

CODES: Mapping[str, str] = {
    "unknown-service": "the service prefix of an action is not in the catalogue",
    "unknown-action": "an action is not in the catalogue (with a 'did you mean')",
    "action-matches-nothing": "an action pattern with wildcards matches no action of its service",
    "action-whitespace": "an action has whitespace in it: it matches no request",
    "unknown-condition-key": "a condition key is not in the catalogue",
    "undeclared-key-prefix": "a condition key's prefix is no known service: declare it in services.json",
    "condition-key-not-applicable": "no action of the statement supports the condition key",
    "operator-type-mismatch": "the condition operator does not fit the key's declared type",
    "multivalued-key-plain-operator": "a multivalued key compared without ForAnyValue/ForAllValues",
    "set-operator-on-single-valued-key": "ForAnyValue/ForAllValues on a single-valued key",
    "resource-matches-no-type": "a resource ARN fits no resource type of the statement's actions",
    "resource-for-star-only-actions": "the statement's actions take only Resource '*' but none is given",
}
"""Every finding code of this module, with what it means (docs/validation.md says more)."""

STRICT_ERRORS = frozenset({"unknown-service", "unknown-action", "action-matches-nothing"})
"""Codes that strict mode makes errors: the policy names something that does not exist."""

MAX_EXPANDED_ACTIONS = 300
"""Statements whose action patterns cover more actions are not checked for resources and keys."""

MAX_COMPARED_ARN = 512
"""Longer resource patterns are not compared with ARN formats (the comparison is quadratic)."""

_FAMILY_TYPES = {
    Family.STRING: {"String", "ARN"},
    Family.ARN: {"ARN"},
    Family.NUMERIC: {"Numeric"},
    Family.DATE: {"Date"},
    Family.BOOL: {"Bool"},
    Family.IP: {"IPAddress"},
    Family.BINARY: {"Binary"},
}
"""Key types each operator family fits; ``Null`` fits every type."""


@dataclass(frozen=True, slots=True)
class CatalogueChecks:
    """What documents are checked against: a catalogue and the bundle's severity policy."""

    catalogue: Catalogue
    strict: bool = False
    severities: Mapping[str, Severity | None] = field(default_factory=dict)
    """Per code: the severity to report it with, or ``None`` to switch it off."""

    def severity(self, code: str, default: Severity) -> Severity | None:
        if code in self.severities:
            return self.severities[code]
        if self.strict and code in STRICT_ERRORS:
            return Severity.ERROR
        return default


def catalogue_findings(document: PolicyDocument, checks: CatalogueChecks) -> list[PolicyProblem]:
    """Every finding of ``document`` at its JSON path, with the severity ``checks`` gives it."""
    found: list[PolicyProblem] = []
    for statement in document.statements:
        _Statement(statement, checks, found).run()
    return found


class _Statement:
    def __init__(self, statement: Statement, checks: CatalogueChecks, found: list[PolicyProblem]) -> None:
        self.statement = statement
        self.checks = checks
        self.catalogue = checks.catalogue
        self.found = found
        self.expanded: list[Action] | None = []
        """Every action the statement's Action names, or None when that is unknown or too many."""

    def report(self, path: str, message: str, default: Severity, code: str) -> None:
        severity = self.checks.severity(code, default)
        if severity is not None:
            self.found.append(PolicyProblem(path, message, severity, code))

    def run(self) -> None:
        statement = self.statement
        if statement.actions is not None:
            self.actions("Action", statement.actions)
        else:
            self.expanded = None
            self.actions("NotAction", statement.not_actions or ())
        if self.expanded is not None and len(self.expanded) > MAX_EXPANDED_ACTIONS:
            self.expanded = None
        for clause in statement.conditions:
            self.condition(clause)
        if statement.resources is not None and self.expanded:
            self.resources(statement.resources)

    # -- actions ----------------------------------------------------------------------------------

    def actions(self, element: str, actions: tuple[str, ...]) -> None:
        statement = self.statement
        # A name that never matches is a hole in a Deny or in an Allow's NotAction list.
        hole = statement.effect is Effect.DENY if element == "Action" else statement.effect is Effect.ALLOW
        default = Severity.SECURITY_WARNING if hole else Severity.WARNING
        for position, text in enumerate(actions):
            where = f"{statement.path}.{element}" + (f"[{position}]" if len(actions) > 1 else "")
            if text.strip("*") == "":
                self.expanded = None
                continue
            if text != "".join(text.split()):
                continue  # the parser warned already (action-whitespace): it matches nothing
            prefix, _, name = text.partition(":")
            service = self.catalogue.service(prefix)
            if service is None:
                self.expanded = None
                known = self.catalogue.knows_service(prefix)  # known, but its files did not load
                if "*" in prefix or "?" in prefix or not self.catalogue.available or known:
                    continue
                hint = self.catalogue.suggest_service(prefix)
                more = (
                    f"; did you mean {hint!r}?" if hint else " (declare your application's in services.json)"
                )
                self.report(
                    where, f"service {prefix!r} is not in the catalogue{more}", default, "unknown-service"
                )
                continue
            if "*" in name or "?" in name:
                matched = service.actions_matching(name)
                if not matched:
                    self.report(
                        where,
                        f"{text!r} matches no action of {service.name}",
                        default,
                        "action-matches-nothing",
                    )
                if self.expanded is not None:
                    self.expanded.extend(matched)
                continue
            action = service.action(name)
            if action is None:
                hint = service.suggest_action(name)
                more = f"; did you mean '{service.prefix}:{hint}'?" if hint else ""
                self.report(
                    where, f"{text!r} is not an action of {service.name}{more}", default, "unknown-action"
                )
                self.expanded = None
                continue
            if self.expanded is not None:
                self.expanded.append(action)

    # -- conditions -------------------------------------------------------------------------------

    def condition(self, clause) -> None:  # type: ignore[no-untyped-def]
        key = clause.key
        if "${" in key:
            return
        declared = self.catalogue.condition_key(key)
        if declared is None:
            self.unknown_key(clause)
            return
        self.applicable(clause, declared)
        spec = lookup_operator(clause.base_operator)
        if spec is None:
            return
        kinds = _FAMILY_TYPES.get(spec.family)
        if kinds is not None and declared.value_type not in kinds:
            self.report(
                clause.path,
                f"{clause.base_operator} compares {spec.family.value} values but {declared.name} is "
                f"{declared.type}; use the {_family_for(declared.value_type)} operators",
                Severity.WARNING,
                "operator-type-mismatch",
            )
        if spec.family.value == "Null":
            return
        if declared.multivalued and clause.set_operator is None:
            self.report(
                clause.path,
                f"{declared.name} is multivalued ({declared.type}): qualify {clause.operator} with "
                "ForAnyValue (some value) or ForAllValues (every value)",
                Severity.WARNING,
                "multivalued-key-plain-operator",
            )
        elif not declared.multivalued and clause.set_operator is not None:
            self.report(
                clause.path,
                f"{declared.name} is single-valued: drop {clause.set_operator.value}",
                Severity.SUGGESTION,
                "set-operator-on-single-valued-key",
            )

    def unknown_key(self, clause) -> None:  # type: ignore[no-untyped-def]
        key = clause.key
        if not self.catalogue.available and key.partition(":")[0].lower() != "aws":
            return
        if not self.catalogue.knows_key_prefix(key):
            self.report(
                clause.path,
                f"condition key {key!r}: prefix {key.partition(':')[0]!r} is no service of the catalogue; "
                "if the application sets it, declare it in services.json",
                Severity.SUGGESTION,
                "undeclared-key-prefix",
            )
            return
        hint = _suggest_key(self.catalogue, key)
        more = f"; did you mean {hint!r}?" if hint else ""
        # A Deny conditioned on a key no request carries never applies: that is a hole.
        default = Severity.SECURITY_WARNING if self.statement.effect is Effect.DENY else Severity.WARNING
        self.report(
            clause.path,
            f"condition key {key!r} is not in the catalogue{more}",
            default,
            "unknown-condition-key",
        )

    def applicable(self, clause, declared: ConditionKey) -> None:  # type: ignore[no-untyped-def]
        prefix = declared.name.partition(":")[0].lower()
        if prefix == "aws" or not self.expanded:
            return
        for action in self.expanded:
            if _supports(self.catalogue, action, declared):
                return
        self.report(
            clause.path,
            f"no action of the statement supports {clause.key!r}: their requests never carry it",
            Severity.WARNING,
            "condition-key-not-applicable",
        )

    # -- resources --------------------------------------------------------------------------------

    def resources(self, resources: tuple[str, ...]) -> None:
        statement = self.statement
        actions = self.expanded or []
        star_only = [action for action in actions if not action.resource_types]
        formats = _formats(self.catalogue, actions)
        gives_star = any(text.strip("*") == "" for text in resources)
        for position, text in enumerate(resources):
            where = f"{statement.path}.Resource" + (f"[{position}]" if len(resources) > 1 else "")
            if text.strip("*") == "" or not text.startswith("arn:"):
                continue
            if len(star_only) == len(actions) and not gives_star:
                names = ", ".join(a.name for a in star_only[:3]) + (", ..." if len(star_only) > 3 else "")
                self.report(
                    where,
                    f"{names} take only Resource '*': this ARN never matches their requests",
                    Severity.WARNING,
                    "resource-for-star-only-actions",
                )
                continue
            if not formats or any(_overlap(text, arn) for arn in formats):
                continue
            kinds = sorted({name for name, _ in formats.values()})[:5]
            self.report(
                where,
                f"{text} fits no resource type of the statement's actions ({', '.join(kinds)})",
                Severity.WARNING,
                "resource-matches-no-type",
            )


def _family_for(value_type: str) -> str:
    return {
        "ARN": "Arn or String",
        "Numeric": "Numeric",
        "Date": "Date",
        "Bool": "Bool",
        "IPAddress": "IpAddress",
        "Binary": "Binary",
    }.get(value_type, "String")


def _supports(catalogue: Catalogue, action: Action, declared: ConditionKey) -> bool:
    wanted = declared.name.lower()
    if any(k.lower() == wanted for k in action.condition_keys):
        return True
    service = catalogue.service(action.service)
    for name in action.resource_types:
        found = service.resource_types.get(name.lower()) if service else None
        if found and any(k.lower() == wanted for k in found.condition_keys):
            return True
    return False


def _formats(catalogue: Catalogue, actions: list[Action]) -> dict[str, tuple[str, str]]:
    """ARN formats of the actions' resource types: format -> (type name, service)."""
    formats: dict[str, tuple[str, str]] = {}
    for action in actions:
        if not action.resource_types:
            continue
        service = catalogue.service(action.service)
        if service is None:
            return {}
        for name in action.resource_types:
            resource_type = service.resource_types.get(name.lower())
            if resource_type is None:
                return {}  # the reference names a type it does not describe: do not guess
            for arn in resource_type.arn_formats:
                formats[arn] = (name, service.prefix)
    return formats


def _suggest_key(catalogue: Catalogue, key: str) -> str | None:
    import difflib

    prefix = key.partition(":")[0].lower()
    names: list[str] = []
    if prefix == "aws":
        from iamgate.catalogue import GLOBAL_KEYS

        names = list(GLOBAL_KEYS)
    else:
        service = catalogue.service(prefix)
        names = [k.name for k in service.condition_keys.values()] if service else []
    stem = key.split("/", 1)[0].lower()
    stems = {name.split("/", 1)[0].lower(): name for name in names}
    close = difflib.get_close_matches(stem, list(stems), n=1, cutoff=0.8)
    return stems[close[0]] if close else None


@functools.lru_cache(maxsize=8192)
def _overlap(pattern: str, arn_format: str) -> bool:
    """Whether a policy's resource pattern and a reference ARN format can name the same ARN.

    Both are patterns: the policy's has ``*``/``?`` and policy variables, the format has
    ``${Placeholders}``; each wildcard or placeholder stands for any text. Compared
    case-insensitively, so a finding means no ARN of that shape can ever match.
    """
    if len(pattern) > MAX_COMPARED_ARN or len(arn_format) > MAX_COMPARED_ARN:
        return True
    left = _tokens(pattern, policy=True)
    right = _tokens(arn_format, policy=False)
    n, m = len(left), len(right)
    # fits[i][j]: left[i:] and right[j:] can produce a common string (filled from the ends, no recursion).
    fits = [[False] * (m + 1) for _ in range(n + 1)]
    fits[n][m] = True
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            if i < n and left[i] == "*":
                fits[i][j] = fits[i + 1][j] or (j < m and fits[i][j + 1])
            elif j < m and right[j] == "*":
                fits[i][j] = fits[i][j + 1] or (i < n and fits[i + 1][j])
            elif i < n and j < m:
                fits[i][j] = (left[i] == right[j] or left[i] == "?") and fits[i + 1][j + 1]
    return fits[0][0]


def _tokens(text: str, *, policy: bool) -> tuple[str, ...]:
    """Characters, with every wildcard or ``${...}`` as ``*`` (and a policy's ``?`` as ``?``)."""
    out: list[str] = []
    i = 0
    lowered = text.lower()
    while i < len(lowered):
        if lowered.startswith("${", i) and "}" in lowered[i:]:
            out.append("*")
            i = lowered.index("}", i) + 1
            continue
        char = lowered[i]
        if policy and char in "*?":
            out.append(char)
        elif char == "*":
            out.append("\0")
        else:
            out.append(char)
        i += 1
    return tuple(out)
