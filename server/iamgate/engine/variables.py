"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``...

A text with variables is compiled once into literal parts and key references; at evaluation the
references are looked up in the request context. A reference whose key is missing (and has no
default) leaves the whole value unresolved: that value then matches nothing, as AWS documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from iamgate.engine.glob import Glob
from iamgate.engine.request import ContextValue

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Variable:
    key: str
    """Lower-cased context key name."""
    name: str
    """As written, for explanations."""
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Literal:
    """Text that comes from the policy itself; wildcards in it keep their meaning."""

    text: str


@dataclass(frozen=True, slots=True)
class Escaped:
    """``${*}``, ``${?}`` or ``${$}``: the character itself, never a wildcard."""

    text: str


Part = Literal | Escaped | Variable


def parse_template(text: str) -> tuple[Part, ...] | None:
    """The parts of ``text``, or ``None`` when it has no variables (the common, fast case)."""
    if "${" not in text:
        return None
    parts: list[Part] = []
    position = 0
    for match in _REFERENCE.finditer(text):
        if match.start() > position:
            parts.append(Literal(text[position : match.start()]))
        inner = match.group(1)
        stripped = inner.strip()
        if stripped in _ESCAPES:
            parts.append(Escaped(_ESCAPES[stripped]))
        elif (default := _default(inner)) is not None:
            name = inner.split(", ", 1)[0].strip()
            parts.append(Variable(name.lower(), name, default or None))
        else:
            parts.append(Variable(stripped.lower(), stripped))
        position = match.end()
    if position < len(text):
        parts.append(Literal(text[position:]))
    return tuple(parts)


def _default(inner: str) -> str | None:
    """The default of ``name, 'default'``: AWS's syntax is a comma and a space, then a quoted value."""
    pieces = inner.split(", ")
    if len(pieces) != 2:
        return None
    quoted = pieces[1].strip()
    if len(quoted) >= 2 and quoted[0] == quoted[-1] == "'":
        return quoted[1:-1]
    return None


def template_keys(parts: tuple[Part, ...]) -> tuple[str, ...]:
    return tuple(part.key for part in parts if isinstance(part, Variable))


def resolve_variable(variable: Variable, context: Mapping[str, ContextValue]) -> str | None:
    """The single value a variable stands for, or ``None`` when it cannot be resolved.

    A multivalued key cannot be substituted into a single string, and an empty value names
    nothing, so both resolve like a missing key: to the default, if any.
    """
    value = context.get(variable.key)
    if value is None or value.multi or len(value.values) != 1 or not value.values[0]:
        return variable.default
    return value.values[0]


def substitute(parts: tuple[Part, ...], context: Mapping[str, ContextValue]) -> str | None:
    """Plain text with every reference replaced; ``None`` if any reference is unresolved."""
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, Variable):
            resolved = resolve_variable(part, context)
            if resolved is None:
                return None
            pieces.append(resolved)
        else:
            pieces.append(part.text)
    return "".join(pieces)


def resolved_values(parts: tuple[Part, ...], context: Mapping[str, ContextValue]) -> tuple[str, ...] | None:
    """The value each variable of ``parts`` stands for, in order; ``None`` if any is unresolved.

    With the parts, these values are all a substituted pattern depends on: a memo of patterns
    built from the same parts may key on them (``ArnPattern``'s)."""
    values: list[str] = []
    for part in parts:
        if type(part) is Variable:
            resolved = resolve_variable(part, context)
            if resolved is None:
                return None
            values.append(resolved)
    return tuple(values)


def glob_from_values(parts: tuple[Part, ...], values: tuple[str, ...], *, ignore_case: bool = False) -> Glob:
    """The pattern of ``parts`` with its variables replaced by ``values`` (``resolved_values``), in
    order; substituted text never acts as a wildcard.

    Built per evaluation from the caller's values, so it must cost no more than the values' length:
    substituted text goes in as whole literal strings (``Glob.from_pieces``), never as a matcher
    compiled from it character by character.
    """
    pieces: list[tuple[str, bool]] = []
    substituted = iter(values)
    for part in parts:
        if isinstance(part, Literal):
            pieces.append((part.text, True))
        elif isinstance(part, Escaped):
            pieces.append((part.text, False))
        else:
            pieces.append((next(substituted), False))
    return Glob.from_pieces(
        pieces, text="".join(getattr(p, "text", "") for p in parts), ignore_case=ignore_case
    )


def glob_from_parts(
    parts: tuple[Part, ...], context: Mapping[str, ContextValue], *, ignore_case: bool = False
) -> Glob | None:
    """A pattern from policy text and substituted values (``glob_from_values``); ``None`` when a
    variable is unresolved."""
    values = resolved_values(parts, context)
    if values is None:
        return None
    return glob_from_values(parts, values, ignore_case=ignore_case)
