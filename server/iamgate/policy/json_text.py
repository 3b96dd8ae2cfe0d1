"""Strict JSON: the one reader for every JSON text iamgate is handed.

Python's ``json`` module is lenient where an authorization service must not be: a repeated key
silently keeps the last value (``"Effect": "Deny", "Effect": "Allow"`` reads as an Allow), ``NaN``
and ``Infinity`` are accepted, lone UTF-16 surrogates (``"\\ud800"``) come through as strings no
encoder can write back, and a document nested a few thousand levels deep raises ``RecursionError``
from deep inside the scanner. AWS refuses duplicate keys in policies; iamgate refuses all of the
above in every JSON input (policies, session policies, Simulate input, bundle files, manifest,
signatures, tests, CLI input), with the JSON path of the offending value.

The text is parsed once by the C scanner; an ``object_pairs_hook`` marks objects with repeated
keys, and one iterative walk over the result checks nesting depth, reports each marked object's
path, and (only when the text holds a surrogate escape) looks for lone surrogates.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any

from iamgate.policy.errors import PolicyError

DEFAULT_MAX_DEPTH = 64
"""Containers (objects and lists) nested inside each other; an IAM policy needs about six."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_BARE_KEY = re.compile(r"[A-Za-z0-9_:/-]+")
_PATH_PARTS_SHOWN = 12


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """One reason a text is not acceptable JSON; ``path`` is empty for the text as a whole."""

    path: str
    message: str
    code: str
    """``json`` (syntax), ``encoding``, ``depth``, ``duplicate-key``, ``number`` or ``size``."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class JsonTextError(PolicyError, ValueError):
    """The text is refused; ``problems`` lists why (every duplicate key, at most one depth problem).

    A ``ValueError`` too, so code that guarded ``json.loads`` with ``except ValueError`` still
    catches it.
    """

    def __init__(self, problems: Iterable[JsonProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class _Refused(ValueError):
    """Raised from inside the scanner's hooks; turned into a JsonProblem."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _Duplicated(dict):  # type: ignore[type-arg]
    """An object whose text repeated keys; never leaves this module (its text is refused)."""

    __slots__ = ("duplicates",)
    duplicates: tuple[str, ...]


def load_strict(
    data: str | bytes, *, max_depth: int = DEFAULT_MAX_DEPTH, max_bytes: int | None = None
) -> Any:
    """Decode JSON text strictly; raise ``JsonTextError`` naming the JSON path of each problem.

    ``data`` as bytes must be UTF-8 (a leading byte-order mark is ignored). ``max_bytes`` caps the
    size where the caller has no other bound.
    """
    if max_bytes is not None and len(data) > max_bytes:
        unit = "bytes" if isinstance(data, bytes) else "characters"
        raise JsonTextError(
            [JsonProblem("", f"is {len(data)} {unit}, more than the limit of {max_bytes}", "size")]
        )
    text = _text(data)
    reading = getattr(_THREAD, "reading", None)
    if reading is None or reading.busy:
        reading = _Reading()  # the first text of this thread (or one read from inside another)
        _THREAD.reading = reading
    reading.start()
    try:
        if text.startswith("\ufeff"):  # as json.loads says of a second byte-order mark
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = reading.decoder.decode(text)
    except json.JSONDecodeError as error:
        raise JsonTextError(
            [
                JsonProblem(
                    "", f"malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}", "json"
                )
            ]
        ) from None
    except RecursionError:
        raise JsonTextError([_too_deep("", max_depth)]) from None
    except _Refused as error:
        raise JsonTextError([JsonProblem("", error.message, error.code)]) from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise JsonTextError(
            [JsonProblem("", "malformed JSON: a number has too many digits", "number")]
        ) from None
    finally:
        reading.busy = False
    duplicated, objects = reading.duplicated, reading.objects
    # A backslash is found at memchr speed; most policies have none, so no escape to look into.
    surrogates = "\\" in text and _SURROGATE_ESCAPE.search(text) is not None
    if (
        not duplicated
        and not surrogates
        and (
            _few_brackets(text, max_depth)
            or _few_containers(text, objects, max_depth)
            or _shallow_enough(value, max_depth)
        )
    ):
        return value  # nothing for the walk below to find: it would report no problem
    problems = _check(value, max_depth, surrogates=surrogates)
    if problems:
        raise JsonTextError(problems)
    return value


class _Reading:
    """One thread's decoder and what its object hook saw of the text being read.

    ``json.loads`` with hooks builds a ``JSONDecoder`` and its C scanner for every text (~3 µs, as
    much as decoding a small policy); a thread keeps one and resets its counts per text instead.
    ``busy`` while a text is read, so that a text read meanwhile on the same thread (none is today:
    the hooks read nothing) gets a decoder of its own.
    """

    __slots__ = ("busy", "decoder", "duplicated", "objects")

    def __init__(self) -> None:
        self.busy = False
        self.duplicated = False
        self.objects = 0
        self.decoder = json.JSONDecoder(
            object_pairs_hook=self.read_object, parse_constant=_constant, parse_float=_float
        )

    def start(self) -> None:
        self.busy = True
        self.duplicated = False
        self.objects = 0

    def read_object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        """Counts objects (``_few_containers``) and marks those that repeat a key."""
        self.objects += 1
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self.duplicated = True
        return _object(pairs)


_THREAD = threading.local()


def json_path(parts: Iterable[str | int]) -> str:
    """``("Statement", 0, "Effect")`` -> ``Statement[0].Effect``; odd keys are quoted: ``["a b"]``."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _BARE_KEY.fullmatch(part):
            path += f".{part}" if path else part
        else:
            # a key holding a lone surrogate is shown escaped: it cannot be printed as it is
            readable = _LONE_SURROGATE.search(part) is None
            path += f"[{json.dumps(part, ensure_ascii=not readable)}]"
    return path


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            return bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            bad = bytes(data)[error.start : error.start + 1].hex()
            raise JsonTextError(
                [JsonProblem("", f"not UTF-8 text: invalid byte 0x{bad} at offset {error.start}", "encoding")]
            ) from None
    if not data.isascii():
        # A str may carry lone surrogates (from surrogateescape, e.g. a command-line argument).
        match = _LONE_SURROGATE.search(data)
        if match is not None:
            raise JsonTextError(
                [JsonProblem("", f"not UTF-8 text: lone surrogate at character {match.start()}", "encoding")]
            )
    return data.removeprefix("\ufeff")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    marked = _Duplicated(obj)
    marked.duplicates = tuple(repeated)
    return marked


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (NaN and Infinity are refused)", "number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text} is out of range for a number", "number")
    return value


def _too_deep(path: str, max_depth: int) -> JsonProblem:
    return JsonProblem(
        path, f"nested too deeply (the limit is {max_depth} levels of objects and lists)", "depth"
    )


_CONTAINERS = frozenset({dict, list, _Duplicated})

_Link = tuple[Any, str | int] | None
"""A path as a chain of (parent link, key): built for every container, joined only for a problem."""


def _path(link: _Link) -> str:
    parts: list[str | int] = []
    while link is not None:
        link, part = link
        parts.append(part)
    parts.reverse()
    if len(parts) > _PATH_PARTS_SHOWN:
        return json_path(parts[:_PATH_PARTS_SHOWN]) + "..."
    return json_path(parts)


_IS_DICT = frozenset({dict, _Duplicated}).__contains__
_IS_LIST = frozenset({list}).__contains__
_IS_CONTAINER = _CONTAINERS.__contains__


def _few_brackets(text: str, max_depth: int) -> bool:
    """Whether ``text`` is short and holds no more ``[`` and ``{`` than ``max_depth`` allows levels:
    then nothing in it can be nested deeper (inside strings, they only make the count larger).
    Counting costs ~2 ns a character: less than a walk over the decoded containers for a short
    text (most policies), more for a long one (ReadOnlyAccess, 94 KB: ~340 µs against ~150)."""
    return len(text) <= _COUNT_BRACKETS_UP_TO and text.count("{") + text.count("[") <= max_depth


_COUNT_BRACKETS_UP_TO = 4096


def _few_containers(text: str, objects: int, max_depth: int) -> bool:
    """Whether the decoded value holds too few containers to be nested deeper than ``max_depth``:
    no path from the top can pass more containers than there are. ``objects`` is how many objects
    the scanner decoded (exactly: the hook sees each one); every list opens with a ``[`` of the
    text (one inside a string only makes the count larger). A long policy of a few statements
    (ReadOnlyAccess, 94 KB: four objects, seven lists) is answered by one count (~25 µs) instead of
    a walk over its ~2,900 strings (~65 µs); a text of many objects is not counted at all."""
    return objects <= max_depth and objects + text.count("[") <= max_depth


def _shallow_enough(value: Any, max_depth: int) -> bool:
    """Whether no container is nested deeper than ``max_depth``, one level at a time at C speed.

    ``_check`` walks every container in Python, with its path, to report problems in document
    order; for the common text without any, this answers the one question left (duplicate keys are
    flagged while decoding) without a Python step per container: ReadOnlyAccess or a policy of
    5,000 statements holds tens of thousands of them. ``False`` sends the text to ``_check``.
    """
    level = [value]
    depth = 1
    while level:
        if depth > max_depth:
            return False
        kinds = list(map(type, level))
        dicts = list(compress(level, map(_IS_DICT, kinds)))
        lists = list(compress(level, map(_IS_LIST, kinds)))
        level = _containers_among(lambda dicts=dicts: chain.from_iterable(map(dict.values, dicts)))
        level += _containers_among(lambda lists=lists: chain.from_iterable(lists))
        depth += 1
    return True


def _containers_among(children: Callable[[], Iterator[Any]]) -> list[Any]:
    """The containers among ``children()`` (asked for twice); most lists hold only strings (an
    Action list of thousands), which one join at C speed finds without building anything."""
    try:
        "".join(children())
    except TypeError:  # something other than a string: a container, or a number, true, false, null
        pass
    else:
        return []
    if _CONTAINERS.isdisjoint(map(type, children())):
        return []
    items = list(children())
    return list(compress(items, map(_IS_CONTAINER, map(type, items))))


def _check(value: Any, max_depth: int, *, surrogates: bool) -> list[JsonProblem]:
    """Walk the decoded value once, iteratively (depth is what is being checked), in document order."""
    problems: list[JsonProblem] = []
    too_deep = False
    stack: list[tuple[Any, int, _Link]] = [(value, 1, None)]
    while stack:
        node, depth, link = stack.pop()
        if depth > max_depth:
            if not too_deep:  # once is enough: the rest of the text is as deep for the same reason
                problems.append(_too_deep(_path(link), max_depth))
                too_deep = True
            continue
        if isinstance(node, list):
            if not surrogates and _CONTAINERS.isdisjoint(map(type, node)):
                continue  # a list of scalars (e.g. thousands of actions): nothing below to check
            for index in range(len(node) - 1, -1, -1):
                child = node[index]
                if child.__class__ in _CONTAINERS or (surrogates and isinstance(child, str)):
                    stack.append((child, depth + 1, (link, index)))
            continue
        if isinstance(node, dict):
            if type(node) is _Duplicated:
                problems.extend(
                    JsonProblem(
                        _path((link, key)),
                        "duplicate key (an object may give each key once)",
                        "duplicate-key",
                    )
                    for key in node.duplicates
                )
            for key, child in reversed(node.items()):
                if surrogates and _LONE_SURROGATE.search(key):
                    problems.append(
                        JsonProblem(_path((link, key)), "a key holds a lone UTF-16 surrogate", "encoding")
                    )
                if child.__class__ in _CONTAINERS or (surrogates and isinstance(child, str)):
                    stack.append((child, depth + 1, (link, key)))
            continue
        if surrogates and isinstance(node, str) and _LONE_SURROGATE.search(node):
            problems.append(JsonProblem(_path(link), "a lone UTF-16 surrogate is not text", "encoding"))
    return problems
