"""JSON policy documents -> validated ``PolicyDocument``.

The parser collects every problem of a document before raising, each with its JSON path, so an
author fixes a policy in one round trip instead of one error at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from iamgate.policy.errors import PolicyParseError, PolicyProblem, Severity
from iamgate.policy.frozen import positional
from iamgate.policy.json_text import DEFAULT_MAX_DEPTH, JsonTextError, load_strict
from iamgate.policy.model import (
    VERSION_2008,
    VERSION_2012,
    ConditionClause,
    Effect,
    HashedTuple,
    PolicyDocument,
    PrincipalSpec,
    SetOperator,
    Statement,
)
from iamgate.policy.operators import Family, OperatorSpec, lookup_operator
from iamgate.policy.values import read_binary, read_bool, read_date, read_network, read_number
from iamgate.policy.warnings import statement_warnings

_TOP_LEVEL = ("Version", "Id", "Statement")
_TOP_LEVEL_SET = frozenset(_TOP_LEVEL)
_STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
)
_PLAIN_ELEMENTS = frozenset(("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"))
"""A statement of only these (no Principal, no Condition) may take ``_plain_statement``."""
_CONDITIONAL_ELEMENTS = _PLAIN_ELEMENTS | {"Condition"}
_EFFECTS = {"Allow": Effect.ALLOW, "Deny": Effect.DENY}
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?_.-]*")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_PLAIN_ACTION_CHARACTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-"
"""What ``_ACTION`` allows on both sides of the colon, ``?`` aside (the name may hold ``_`` and ``.`` too)."""
_BULK_ACTIONS_FROM = 8


def plainly_well_formed(joined: str, count: int) -> bool:
    """Whether ``count`` entries joined by newlines are each ``SERVICE:NAME`` without ``?``, ``_``
    or ``.``: then every one fullmatches ``_ACTION``. ``False`` says nothing either way.

    One pass at C speed over the text, not a regular-expression match per entry (~0.2 µs each;
    ReadOnlyAccess lists ~1,500 actions in one element): taking out every plain character must
    leave exactly one colon per entry between the newlines (so no entry held a newline, a second
    colon or anything else), and no entry may start with its colon.
    """
    if not joined.isascii():
        return False
    data = joined.encode("ascii")
    return (
        data.translate(None, _PLAIN_ACTION_CHARACTERS) == b":\n" * (count - 1) + b":"
        and not data.startswith(b":")
        and _EMPTY_SERVICE.search(data) is None
    )


_EMPTY_SERVICE = re.compile(rb"\n:")
"""An entry starting with its colon; a regular expression finds it ~3x faster than ``in``."""


def well_formed_actions(values: tuple[str, ...] | list[str]) -> bool:
    """Whether every entry (a string) fullmatches ``_ACTION``: ``SERVICE:NAME``.

    A long list is first checked in one pass (``plainly_well_formed``); anything that pass does not
    vouch for is decided entry by entry, so the answer is always exactly the regular expression's.
    """
    if len(values) >= _BULK_ACTIONS_FROM and plainly_well_formed("\n".join(values), len(values)):
        return True
    return all(map(_ACTION.fullmatch, values))


def _remembered(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """``read`` with its answers for short values remembered (bounded; the answers are immutable):
    a bundle repeats the same dates, numbers and networks in thousands of conditions."""
    known = lru_cache(maxsize=4096)(read)
    return lambda value: known(value) if len(value) <= 64 else read(value)


_VALUE_READERS = {
    Family.NUMERIC: (_remembered(read_number), "a number"),
    Family.DATE: (_remembered(read_date), "a date (ISO 8601 or epoch seconds)"),
    Family.BOOL: (read_bool, "true or false"),
    Family.NULL: (read_bool, "true or false"),
    Family.IP: (_remembered(read_network), "an IP address or CIDR block"),
    Family.BINARY: (read_binary, "base64-encoded binary"),
}
_OPERATORS: dict[str, tuple[SetOperator | None, bool, OperatorSpec]] = {}
"""Condition operators read well before (``_Parser.operator``), by their spelling."""


def parse_policy(
    source: str | bytes | Mapping[str, Any],
    *,
    source_name: str = "",
    max_depth: int = DEFAULT_MAX_DEPTH,
    remember: bool = False,
) -> PolicyDocument:
    """Read a policy from JSON text or an already-decoded object.

    Text is read strictly (``iamgate.policy.json_text``): a repeated key, nesting deeper than
    ``max_depth``, text that is not UTF-8 or NaN/Infinity are errors with their JSON path, as AWS
    refuses them. Raises ``PolicyParseError`` listing every problem found; warnings (suspicious
    but valid constructs) are returned on the document instead. ``remember``: an accepted text is
    kept (``_ParsedTexts``, bounded), and the same text read again returns the same document —
    for Simulate, whose requests repeat the same managed policies; callers with a memory budget
    of their own (bundles, session policies) leave it off.
    """
    remember = remember and isinstance(source, str | bytes) and len(source) >= _PARSED_TEXTS.min_length
    if remember:
        known = _PARSED_TEXTS.get(source, max_depth)  # type: ignore[arg-type]
        if known is not None:
            return known
    problems: list[PolicyProblem] = []
    document = _decode(source, problems, max_depth)
    if document is None:
        raise PolicyParseError(source_name, problems)
    parsed = _Parser(problems).document(document)
    errors = [p for p in problems if p.severity is Severity.ERROR] if problems else problems
    if errors or parsed is None:
        raise PolicyParseError(source_name, errors)
    if remember:
        _PARSED_TEXTS.put(source, max_depth, parsed)  # type: ignore[arg-type]
    return parsed


class _ParsedTexts:
    """Policy texts read before, with their documents (bounded by the characters held).

    A document is a pure function of its text (and the depth limit): the same text always reads
    the same, and a ``PolicyDocument`` is immutable, so it can be handed out again. Simulate
    requests name the same managed policies over and over (ReadOnlyAccess is 94 KB: ~0.6 ms to
    decode strictly and read, a hash to find here). Only texts that were accepted are kept; a
    text is never kept when it is longer than the whole bound; everything is forgotten when the
    texts held would exceed ``max_chars`` (1 Mi characters: a few MB of documents). Per process.
    """

    __slots__ = ("_known", "_size", "max_chars", "min_length")

    def __init__(self, *, min_length: int = 512, max_chars: int = 1 << 20) -> None:
        self.min_length = min_length
        self.max_chars = max_chars
        self._known: dict[tuple[str | bytes, int], PolicyDocument] = {}
        self._size = 0

    def get(self, text: str | bytes, max_depth: int) -> PolicyDocument | None:
        return self._known.get((text, max_depth))

    def put(self, text: str | bytes, max_depth: int, document: PolicyDocument) -> None:
        if len(text) > self.max_chars:
            return
        if self._size + len(text) > self.max_chars:
            self._known.clear()
            self._size = 0
        self._known[(text, max_depth)] = document
        self._size += len(text)


_PARSED_TEXTS = _ParsedTexts()


def _decode(
    source: str | bytes | Mapping[str, Any], problems: list[PolicyProblem], max_depth: int
) -> Mapping[str, Any] | None:
    if isinstance(source, Mapping):
        return source
    if not isinstance(source, str | bytes):
        problems.append(PolicyProblem("", f"unreadable policy text: {type(source).__name__}", code="json"))
        return None
    try:
        value = load_strict(source, max_depth=max_depth)
    except JsonTextError as error:
        problems.extend(PolicyProblem(p.path, p.message, code=p.code) for p in error.problems)
        return None
    if not isinstance(value, dict):
        problems.append(PolicyProblem("", f"a policy must be a JSON object, not {_kind(value)}", code="type"))
        return None
    return value


def _kind(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__


MAX_WILDCARD_SEGMENT = 512
"""Longest stretch between two ``*`` that may hold a ``?``: such a stretch is matched bit-parallel,
with one mask per distinct character as long as the stretch (characters x length bits), so a
40,000-character one took 108 MB, and the 1 MiB a Simulate may carry could take gigabytes."""


def _long_wildcard_segment(text: str) -> bool:
    return "?" in text and any("?" in part and len(part) > MAX_WILDCARD_SEGMENT for part in text.split("*"))


def _scalar_text(value: Any) -> str | None:
    """IAM reads JSON booleans and numbers in string positions as their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def _plain_strings(raw: Any) -> tuple[str, ...] | None:
    """A string or a non-empty list of strings as a tuple; ``None`` for anything else."""
    if type(raw) is str:
        return (raw,)
    if type(raw) is list and raw and set(map(type, raw)) == {str}:
        return tuple(raw)
    return None


class _WellFormedActions:
    """Long Action lists already found well-formed, each kept as one shared tuple (bounded).

    AWS managed policies list thousands of actions (ReadOnlyAccess ~2,900), and every Simulate
    request naming the policy sends the same list again: checking each entry costs ~0.2 µs, finding
    the list here a hash. The tuple handed back is the remembered one, so the compiler's memo of
    Action elements (``engine.compiled``) finds it by identity. Holds only tuples of strings the
    full check accepted; forgets everything when it would hold more than ``max_chars`` characters
    (each string counted with 32 more for its overhead).
    """

    __slots__ = ("_known", "_size", "max_chars", "min_length")

    def __init__(self, *, min_length: int = 16, max_chars: int = 1 << 21) -> None:
        self.min_length = min_length
        self.max_chars = max_chars
        self._known: dict[str, tuple[str, ...]] = {}
        self._size = 0

    def of(self, raw: Any) -> tuple[str, ...] | None:
        """``raw`` as a tuple when it is a string or a non-empty list of well-formed actions
        without ``?`` (a ``?`` sends the statement to the full checks, which bound such patterns)."""
        if type(raw) is str:
            return (raw,) if _ACTION.fullmatch(raw) and "?" not in raw else None
        if type(raw) is not list or not raw:
            return None
        if len(raw) == 1 < self.min_length:  # the common element of a large policy: one action
            only = raw[0]
            return (only,) if type(only) is str and _ACTION.fullmatch(only) and "?" not in only else None
        try:
            joined = "\n".join(raw)  # raises for an entry that is not a string
        except TypeError:
            return None
        remember = len(raw) >= self.min_length
        if remember:
            # Keyed by the joined text (one hash, not one per entry). A kept list's entries hold no
            # newline, so a list of as many entries with the same text is the same list.
            known = self._known.get(joined)
            if known is not None and len(known) == len(raw):
                return known
        # A long list keeps its joined text and its hash: the compiler's element memos key on them.
        values = HashedTuple(raw) if remember else tuple(raw)
        if not (len(values) >= _BULK_ACTIONS_FROM and plainly_well_formed(joined, len(values))) and (
            "?" in joined or not all(map(_ACTION.fullmatch, values))
        ):
            return None
        if remember:
            # plainly_well_formed or _ACTION vouched for every entry: none empty, none with a newline
            values.keep_joined(joined)  # type: ignore[attr-defined]
            size = 2 * len(joined) + 31 * len(values)
            if size > self.max_chars:
                return values
            if self._size + size > self.max_chars:
                self._known.clear()
                self._size = 0
            self._known[joined] = values
            self._size += size
        return values


_WELL_FORMED_ACTIONS = _WellFormedActions()


def _plain_statement(index: int, path: str, raw: dict[str, Any], parser: _Parser | None = None) -> Any:
    """The statement, when it is plainly valid; ``None`` sends it to the full checks.

    Most statements (thousands in a large policy) are an Effect, a Sid, lists of well-formed
    actions and resources, and perhaps a Condition: this accepts exactly those, at a few C-speed
    checks each, and leaves everything else — any problem, warning-worthy entry or other element —
    to ``_Parser.statement``, which reports it with its path. It accepts nothing the full checks
    would refuse. With ``parser``, the statement's Condition is read by ``parser.conditions``, as
    the full checks read it (the same problems, in the same order, nothing else having any);
    ``_REFUSED`` then says the Condition had errors and the statement is left out.
    """
    effect = raw.get("Effect")
    if type(effect) is not str or effect not in _EFFECTS:
        return None
    sid = raw.get("Sid")
    if sid is not None and type(sid) is not str:
        return None
    # "*", whitespace, malformed entries: the full checks tell them apart
    if "Action" in raw:
        if "NotAction" in raw:
            return None
        actions, not_actions = _WELL_FORMED_ACTIONS.of(raw["Action"]), None
        checked = actions
    elif "NotAction" in raw:
        actions, not_actions = None, _WELL_FORMED_ACTIONS.of(raw["NotAction"])
        checked = not_actions
    else:
        return None
    if checked is None:
        return None
    resources = not_resources = None
    if "Resource" in raw:
        if "NotResource" in raw:
            return None
        resources = _plain_strings(raw["Resource"])
        if resources is None:
            return None
    elif "NotResource" in raw:
        not_resources = _plain_strings(raw["NotResource"])
        if not_resources is None:
            return None
    if "?" in "".join(resources or not_resources or ()):
        return None  # bounded_patterns decides on those (``of`` refused actions with one)
    conditions: tuple[ConditionClause, ...] = ()
    if parser is not None:
        problems = parser.problems
        before = len(problems)
        conditions = parser.conditions(f"{path}.Condition", raw["Condition"])
        if any(p.severity is Severity.ERROR for p in problems[before:]):
            return _REFUSED
    return _new_statement(
        index,
        sid or None,
        _EFFECTS[effect],
        actions,
        not_actions,
        resources,
        not_resources,
        None,
        None,
        conditions,
        path,
    )


_REFUSED = object()
"""``_plain_statement``: the statement's Condition had errors (reported); the statement is left out."""
_new_statement = positional(Statement)
_new_document = positional(PolicyDocument)
_new_clause = positional(ConditionClause)


class _Parser:
    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        self.plain: set[int] = set()
        """Indexes of the statements ``_plain_statement`` read: their Action entries are well-formed
        (``SERVICE:NAME``), so none is ``*`` (ReadOnlyAccess's 1,500 need not be searched for one)."""

    def error(self, path: str, message: str, code: str = "invalid") -> None:
        self.problems.append(PolicyProblem(path, message, Severity.ERROR, code))

    def warn(self, path: str, message: str, code: str) -> None:
        self.problems.append(PolicyProblem(path, message, Severity.WARNING, code))

    def document(self, raw: Mapping[str, Any]) -> PolicyDocument | None:
        for key in raw if not _TOP_LEVEL_SET.issuperset(raw) else ():
            if key not in _TOP_LEVEL:
                self.error(
                    str(key), f"unknown element {key!r} (expected Version, Id or Statement)", "element"
                )
        version = raw.get("Version")
        if version is not None and version not in (VERSION_2012, VERSION_2008):
            self.error(
                "Version",
                f"{json.dumps(version)} is not a policy version (2012-10-17 or 2008-10-17)",
                "version",
            )
        policy_id = raw.get("Id")
        if policy_id is not None and not isinstance(policy_id, str):
            self.error("Id", f"must be a string, not {_kind(policy_id)}", "type")
        if "Statement" not in raw:
            self.error("Statement", "is missing: a policy needs at least one statement", "missing")
            return None
        raw_statements = raw["Statement"]
        if isinstance(raw_statements, dict):
            items = [("Statement", raw_statements)]
        elif isinstance(raw_statements, list):
            items = [(f"Statement[{i}]", item) for i, item in enumerate(raw_statements)]
            if not items:
                self.warn("Statement", "is empty: the policy grants and denies nothing", "empty")
        else:
            self.error(
                "Statement", f"must be an object or a list of objects, not {_kind(raw_statements)}", "type"
            )
            return None
        statements = []
        sids: dict[str, str] = {}
        for index, (path, item) in enumerate(items):
            statement = self.statement(index, path, item)
            if statement is None:
                continue
            if statement.sid:
                if statement.sid in sids:
                    self.warn(
                        f"{path}.Sid", f"duplicate Sid {statement.sid!r} (also {sids[statement.sid]})", "sid"
                    )
                sids.setdefault(statement.sid, path)
            statements.append(statement)
        plain = self.plain
        for warning in (w for s in statements for w in statement_warnings(s, s.index not in plain)):
            self.problems.append(warning)
        warnings = tuple(p for p in self.problems if p.severity is Severity.WARNING) if self.problems else ()
        return _new_document(
            version if isinstance(version, str) else None,
            policy_id if isinstance(policy_id, str) else None,
            tuple(statements),
            warnings,
        )

    def statement(self, index: int, path: str, raw: Any) -> Statement | None:
        if type(raw) is dict:
            plain = None
            if _PLAIN_ELEMENTS.issuperset(raw):
                plain = _plain_statement(index, path, raw)
            elif "Condition" in raw and _CONDITIONAL_ELEMENTS.issuperset(raw):
                plain = _plain_statement(index, path, raw, self)
            if plain is not None:
                if plain is _REFUSED:
                    return None
                self.plain.add(index)
                return plain
        if not isinstance(raw, dict):
            self.error(path, f"a statement must be an object, not {_kind(raw)}", "type")
            return None
        before = len(self.problems)
        for key in raw:
            if key not in _STATEMENT_ELEMENTS:
                self.error(f"{path}.{key}", f"unknown statement element {key!r}", "element")
        sid = raw.get("Sid")
        if sid is not None and not isinstance(sid, str):
            self.error(f"{path}.Sid", f"must be a string, not {_kind(sid)}", "type")
            sid = None
        effect = self.effect(path, raw.get("Effect"))
        actions, not_actions = self.exclusive_pair(path, raw, "Action", "NotAction", required=True)
        for name, values in (("Action", actions), ("NotAction", not_actions)):
            if values and well_formed_actions(values):
                continue  # every entry well-formed, checked at C speed (ReadOnlyAccess has thousands)
            for position, action in enumerate(values or ()):
                if _ACTION.fullmatch(action) or action == "*":
                    continue  # the common case, decided before any message is formatted
                where = f"{path}.{name}" if len(values or ()) == 1 else f"{path}.{name}[{position}]"
                if action != "*" and _ACTION.fullmatch("".join(action.split())) and action.strip():
                    if action != "".join(action.split()):
                        # AWS accepted published managed policies with "lambda:ListFunctions ": such
                        # an entry matches no request (engine.compiled), the rest of the policy stands.
                        self.warn(
                            where,
                            f"{json.dumps(action)} has whitespace in it: it matches no action",
                            "action-whitespace",
                        )
                    continue
                if action != "*" and not _ACTION.fullmatch(action):
                    self.error(
                        where,
                        f"{json.dumps(action)} is not an action: expected SERVICE:ACTION, e.g. s3:GetObject",
                    )
        resources, not_resources = self.exclusive_pair(path, raw, "Resource", "NotResource", required=False)
        for name, values in (
            ("Action", actions),
            ("NotAction", not_actions),
            ("Resource", resources),
            ("NotResource", not_resources),
        ):
            self.bounded_patterns(f"{path}.{name}", values or ())
        principal, not_principal = None, None
        if "Principal" in raw and "NotPrincipal" in raw:
            self.error(path, "has both Principal and NotPrincipal: use one", "exclusive")
        if "Principal" in raw:
            principal = self.principal(f"{path}.Principal", raw["Principal"])
        if "NotPrincipal" in raw:
            not_principal = self.principal(f"{path}.NotPrincipal", raw["NotPrincipal"])
        conditions = self.conditions(f"{path}.Condition", raw["Condition"]) if "Condition" in raw else ()
        if effect is None or any(p.severity is Severity.ERROR for p in self.problems[before:]):
            return None
        return Statement(
            index=index,
            sid=sid or None,
            effect=effect,
            actions=actions,
            not_actions=not_actions,
            resources=resources,
            not_resources=not_resources,
            principal=principal,
            not_principal=not_principal,
            conditions=conditions,
            path=path,
        )

    def effect(self, path: str, raw: Any) -> Effect | None:
        if raw is None:
            self.error(f"{path}.Effect", "is missing: every statement needs Effect Allow or Deny", "missing")
            return None
        if raw == "Allow":
            return Effect.ALLOW
        if raw == "Deny":
            return Effect.DENY
        self.error(f"{path}.Effect", f"{json.dumps(raw)} is not an effect: use Allow or Deny", "effect")
        return None

    def exclusive_pair(
        self, path: str, raw: Mapping[str, Any], name: str, not_name: str, *, required: bool
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        if name in raw and not_name in raw:
            self.error(path, f"has both {name} and {not_name}: use one", "exclusive")
            return None, None
        if name in raw:
            return self.strings(f"{path}.{name}", raw[name]), None
        if not_name in raw:
            return None, self.strings(f"{path}.{not_name}", raw[not_name])
        if required:
            self.error(path, f"has neither {name} nor {not_name}: one is required", "missing")
        return None, None

    def strings(self, path: str, raw: Any, *, allow_empty: bool = False) -> tuple[str, ...] | None:
        """A string or a list of strings (JSON numbers and booleans read as their text)."""
        if isinstance(raw, list) and raw and set(map(type, raw)) == {str}:
            return tuple(raw)  # the common case, without a loop in Python
        items = raw if isinstance(raw, list) else [raw]
        values = []
        for position, item in enumerate(items):
            text = item if type(item) is str else _scalar_text(item)
            if text is None:
                where = f"{path}[{position}]" if isinstance(raw, list) else path
                self.error(where, f"must be a string, not {_kind(item)}", "type")
                continue
            values.append(text)
        if not items and not allow_empty:
            self.error(path, "must not be an empty list", "empty")
        return tuple(values)

    def bounded_patterns(self, path: str, values: tuple[str, ...]) -> None:
        """Refuse a wildcard pattern whose ``?``-holding stretch would cost too much to match."""
        if "?" not in "".join(values):
            return
        for position, value in enumerate(values):
            if "?" in value and _long_wildcard_segment(value):
                where = path if len(values) == 1 else f"{path}[{position}]"
                self.error(
                    where,
                    f"a pattern may have at most {MAX_WILDCARD_SEGMENT} characters between two * where "
                    "it uses ?",
                    "pattern",
                )

    def principal(self, path: str, raw: Any) -> PrincipalSpec | None:
        if raw == "*":
            return PrincipalSpec(everyone=True)
        if not isinstance(raw, dict):
            self.error(
                path, f'must be "*" or an object such as {{"AWS": ARN}}, not {_kind(raw)}', "principal"
            )
            return None
        entries: list[tuple[str, str]] = []
        everyone = False
        for kind, values in raw.items():
            if kind not in _PRINCIPAL_TYPES:
                self.error(
                    f"{path}.{kind}",
                    f"unknown principal type {kind!r} (AWS, Service, Federated or CanonicalUser)",
                    "principal",
                )
                continue
            for value in self.strings(f"{path}.{kind}", values) or ():
                if value == "*" and kind == "AWS":
                    everyone = True
                entries.append((kind, value))
        return PrincipalSpec(everyone=everyone, entries=tuple(entries))

    def conditions(self, path: str, raw: Any) -> tuple[ConditionClause, ...]:
        if not isinstance(raw, dict):
            self.error(path, f"must be an object of operator -> {{key: values}}, not {_kind(raw)}", "type")
            return ()
        clauses: list[ConditionClause] = []
        for operator, block in raw.items():
            clauses.extend(self.condition_operator(f"{path}.{operator}", operator, block))
        return tuple(clauses)

    def condition_operator(self, path: str, operator: str, block: Any) -> list[ConditionClause]:
        known = _OPERATORS.get(operator)
        if known is None:
            known = self.operator(path, operator)
            if known is None:
                return []
        set_operator, if_exists, spec = known
        if not isinstance(block, dict):
            self.error(path, f"must be an object of condition key -> values, not {_kind(block)}", "type")
            return []
        clauses = []
        for key, raw_values in block.items():
            key_path = f"{path}.{key}"
            values = self.strings(key_path, raw_values, allow_empty=True)
            if values is None:
                continue
            if spec.comparison == "like" or spec.family is Family.ARN:
                self.bounded_patterns(key_path, values)
            reader = _VALUE_READERS.get(spec.family)
            if reader is not None:
                read, expected = reader
                for position, value in enumerate(values):
                    if read(value) is None:
                        where = f"{key_path}[{position}]" if isinstance(raw_values, list) else key_path
                        family = spec.family.value
                        hint = (
                            f" (policy variables work only in String and Arn conditions, not {family})"
                            if _VARIABLE.search(value)
                            else ""
                        )
                        self.error(where, f"{json.dumps(value)} is not {expected}{hint}", "value")
            clauses.append(_new_clause(operator, spec.name, set_operator, if_exists, key, values, key_path))
        return clauses

    def operator(self, path: str, operator: str) -> tuple[SetOperator | None, bool, OperatorSpec] | None:
        """A condition operator read: set operator, IfExists, spec; ``None`` after an error."""
        set_operator: SetOperator | None = None
        name = operator
        prefix, colon, rest = operator.partition(":")
        if colon:
            matched = next((s for s in SetOperator if s.value.lower() == prefix.lower()), None)
            if matched is None:
                self.error(path, f"unknown set operator {prefix!r} (ForAllValues or ForAnyValue)", "operator")
                return None
            set_operator, name = matched, rest
        if_exists = name.lower().endswith("ifexists")
        base_name = name[: -len("IfExists")] if if_exists else name
        spec = lookup_operator(base_name)
        if spec is None:
            self.error(path, f"unknown condition operator {operator!r}", "operator")
            return None
        if if_exists and spec.family is Family.NULL:
            self.error(path, "Null cannot take the IfExists suffix", "operator")
            return None
        known = (set_operator, if_exists, spec)
        if len(operator) <= 64:  # operators read well are few; a caller's odd spellings stay bounded
            if len(_OPERATORS) >= 1024:
                _OPERATORS.clear()
            _OPERATORS[operator] = known
        return known
