"""Wildcard patterns (``*`` and ``?``) matched in linear time, without regular expressions.

IAM patterns come from policy authors and inputs from callers; a backtracking regex over them can
be driven into exponential time (``a*a*a*a*b``). Here a pattern is split at its stars into
segments; the first is anchored at the start, the last at the end, and each middle segment is
taken at its leftmost occurrence, which is always safe for globs. A segment without ``?`` is found
with ``str.find``; one with ``?`` with a bit-parallel (shift-and) scan, so every character of the
input is looked at a bounded number of times whatever the pattern.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import methodcaller


class _Token:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


STAR = _Token("STAR")
"""Token of a wildcard ``*`` in a pattern built from parts (see ``Glob.from_tokens``)."""
ANY_CHAR = _Token("ANY_CHAR")
"""Token of a wildcard ``?``. Characters in token lists are always literal, whatever they are."""


_SHIFT_AND_BITS = 1 << 22
"""Largest shift-and table (distinct characters x segment length, in bits; 512 KiB) a segment may
build. Policy text alone stays far below it (the parser caps a stretch holding ``?`` at 512
characters); only a long caller-supplied value substituted into a policy variable goes above."""
_SHIFT_AND_LENGTH = 4096
"""Longest segment scanned bit-parallel: each step of the scan shifts a segment-long integer."""


@dataclass(frozen=True, slots=True)
class Segment:
    """Text between two stars. ``wild`` lists the positions of ``?`` wildcards in it."""

    text: str
    wild: tuple[int, ...] = ()
    runs: tuple[tuple[int, str], ...] = field(default=(), compare=False)
    """The literal runs between wildcards, as (offset, text), for C-speed comparison."""
    masks: Mapping[str, int] = field(default_factory=dict, compare=False)
    """Shift-and masks per character (only for segments with wildcards and a small table)."""
    wild_mask: int = field(default=0, compare=False)
    anchor: tuple[int, str] = field(default=(0, ""), compare=False)
    """The longest literal run (offset, text): what ``find`` looks for when there are no masks."""

    @classmethod
    def build(cls, chars: Sequence[str | _Token]) -> Segment:
        text = "".join("?" if c is ANY_CHAR else c for c in chars)  # type: ignore[misc]
        wild = tuple(i for i, c in enumerate(chars) if c is ANY_CHAR)
        return cls.with_wildcards(text, wild)

    @classmethod
    def with_wildcards(cls, text: str, wild: tuple[int, ...]) -> Segment:
        """A segment whose ``?`` wildcards are at ``wild`` (any other ``?`` in ``text`` is literal).

        The runs cost one slice each. The shift-and masks (one segment-long integer per distinct
        character) are built only when that table is small: a 20,000-character value of distinct
        characters substituted next to a ``?`` would otherwise cost 50 MB and half a second per
        evaluation. Without masks, ``find`` anchors on the longest literal run instead.
        """
        if not wild:
            return cls(text)
        runs: list[tuple[int, str]] = []
        start = 0
        for position in (*wild, len(text)):
            if position > start:
                runs.append((start, text[start:position]))
            start = position + 1
        anchor = max(runs, key=lambda run: len(run[1]), default=(0, ""))
        wild_mask = 0
        for position in wild:
            wild_mask |= 1 << position
        masks: dict[str, int] = {}
        if len(text) <= _SHIFT_AND_LENGTH and len(set(text)) * len(text) <= _SHIFT_AND_BITS:
            for offset, run in runs:
                for position, char in enumerate(run, offset):
                    masks[char] = masks.get(char, wild_mask) | (1 << position)
        return cls(text, wild, tuple(runs), masks, wild_mask, anchor)

    def fits(self, value: str, start: int) -> bool:
        """Whether the segment matches ``value`` at ``start``."""
        if not self.wild:
            return value.startswith(self.text, start)
        if start + len(self.text) > len(value):
            return False
        return all(value.startswith(run, start + offset) for offset, run in self.runs)

    def find(self, value: str, start: int, end: int) -> int:
        """Leftmost position >= start where the segment matches and ends by ``end``; -1 if none."""
        if not self.wild:
            return value.find(self.text, start, end)
        length = len(self.text)
        if end - start < length:
            return -1
        if not self.masks:
            return self._find_by_anchor(value, start, end)
        masks, wild_mask = self.masks, self.wild_mask
        accept = 1 << (length - 1)
        state = 0
        for position in range(start, end):
            state = ((state << 1) | 1) & masks.get(value[position], wild_mask)
            if state & accept:
                return position - length + 1
        return -1

    def _find_by_anchor(self, value: str, start: int, end: int) -> int:
        """``find`` for a segment too large for masks: each occurrence of the longest run (found
        with ``str.find``, in C) is a candidate, checked run by run with ``str.startswith``.

        That is quick unless candidates keep failing (periodic text such as ``aaaa...`` against
        runs of ``a``), where each costs a run's length: after ``_ANCHOR_TRIES`` failures the rest
        of the range is searched in linear time (``_find_linear``).
        """
        offset, anchor = self.anchor
        if not anchor:  # only wildcards: the first position fits
            return start
        last = end - len(self.text)  # the last start that still ends by ``end``
        stop = last + offset + len(anchor)
        found = value.find(anchor, start + offset, stop)
        tries = 0
        while found >= 0:
            if tries >= _ANCHOR_TRIES:
                return self._find_linear(value, found - offset, last)
            if self.fits(value, found - offset):
                return found - offset
            tries += 1
            found = value.find(anchor, found + 1, stop)
        return -1

    def _find_linear(self, value: str, first: int, last: int) -> int:
        """Leftmost start in [first, last] where every run fits, in O(runs x (value + segment)).

        The occurrences of each distinct run are found with Knuth-Morris-Pratt (each character of
        the value looked at a bounded number of times); the rarest run's occurrences are the
        candidates, and a candidate fits when every other run occurs at its offset from it.
        """
        if first > last:
            return -1
        stop = last + len(self.text)
        found: dict[str, set[int]] = {}
        for _offset, run in self.runs:
            if run not in found:
                found[run] = set(_occurrences(value, run, first, stop))
                if not found[run]:
                    return -1
        placed = sorted(((offset, found[run]) for offset, run in self.runs), key=lambda item: len(item[1]))
        (offset, rarest), others = placed[0], placed[1:]
        for position in sorted(rarest):
            candidate = position - offset
            if first <= candidate <= last and all(candidate + o in places for o, places in others):
                return candidate
        return -1


_ANCHOR_TRIES = 32
"""Failed candidates of ``Segment._find_by_anchor`` before it switches to the linear search."""


def _occurrences(text: str, pattern: str, start: int, end: int) -> Iterator[int]:
    """Every position in ``text[start:end]`` where ``pattern`` begins (overlaps included), in
    increasing order, by Knuth-Morris-Pratt: linear in ``end - start`` plus the pattern's length."""
    length = len(pattern)
    fallback = [0] * length
    matched = 0
    for position in range(1, length):
        while matched and pattern[position] != pattern[matched]:
            matched = fallback[matched - 1]
        if pattern[position] == pattern[matched]:
            matched += 1
        fallback[position] = matched
    matched = 0
    for position in range(start, min(end, len(text))):
        char = text[position]
        while matched and char != pattern[matched]:
            matched = fallback[matched - 1]
        if char == pattern[matched]:
            matched += 1
            if matched == length:
                yield position - length + 1
                matched = fallback[matched - 1]


_GENERAL, _ALL, _EXACT, _PREFIX, _SUFFIX, _HEAD_TAIL, _STARS = range(7)


def _shape(segments: tuple[Segment, ...]) -> int:
    """The common pattern shapes get a one-call test: ``*``, ``exact``, ``prefix*``, ``*suffix``,
    ``head*tail`` (``arn:aws:iam::*:root``); other patterns without ``?`` (``_STARS``) are matched
    with ``str.find`` alone; ``_GENERAL`` is left for patterns with ``?``."""
    if any(segment.wild for segment in segments):
        return _GENERAL
    if len(segments) == 1:
        return _EXACT
    if len(segments) == 2:
        head, tail = segments
        if not head.text and not tail.text:
            return _ALL
        if not tail.text:
            return _PREFIX
        if not head.text:
            return _SUFFIX
        return _HEAD_TAIL
    return _STARS


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled pattern: one segment (no star) or ``[head, *middles, tail]`` around stars."""

    text: str
    segments: tuple[Segment, ...]
    ignore_case: bool
    shape: int = field(default=_GENERAL, compare=False)
    """Set by the constructors: which fast test ``matches`` may use."""

    @classmethod
    def compile(cls, pattern: str, *, ignore_case: bool = False) -> Glob:
        """The compiled pattern; equal short texts with few wildcards share one immutable object
        (``_compiled``); longer ones, or with more than ``WILDCARDS_REMEMBERED`` wildcards, are
        compiled each time (equal, not identical)."""
        size = len(pattern)
        if size <= _SHORT or (
            size <= PATTERN_TEXT_REMEMBERED
            and pattern.count("*") + pattern.count("?") <= WILDCARDS_REMEMBERED
        ):
            return _compiled(pattern, ignore_case)
        return _compile(pattern, ignore_case)  # caller-fed texts must not grow the memo

    @classmethod
    def literal(cls, text: str, *, ignore_case: bool = False) -> Glob:
        """A pattern that matches ``text`` exactly: its ``*`` and ``?`` are plain characters."""
        return cls(text, (Segment(text.lower() if ignore_case else text),), ignore_case, _EXACT)

    @classmethod
    def from_tokens(cls, tokens: Sequence[object], *, text: str, ignore_case: bool = False) -> Glob:
        """Build from characters, ``ANY_CHAR`` and ``STAR`` tokens (substituted text stays literal)."""
        groups: list[list[str | _Token]] = [[]]
        for token in tokens:
            if token is STAR:
                groups.append([])
            elif token is ANY_CHAR:
                groups[-1].append(ANY_CHAR)
            else:
                groups[-1].append(token.lower() if ignore_case else token)  # type: ignore[union-attr]
        segments = tuple(Segment.build(g) for g in groups)
        return cls(text, segments, ignore_case, _shape(segments))

    @classmethod
    def from_pieces(cls, pieces: Sequence[tuple[str, bool]], *, text: str, ignore_case: bool = False) -> Glob:
        """Build from ``(text, wildcards)`` pieces: in a piece with ``wildcards`` (policy text) ``*``
        and ``?`` are wildcards, in one without (a substituted value) every character is literal.

        Same result as ``from_tokens`` of the pieces' characters, but a substituted value is
        copied as one string, never looked at character by character: a caller's long value costs
        one slice, not a token per character (see ``Segment.with_wildcards`` for the masks).
        """
        segments: list[Segment] = []
        current: list[str] = []
        wild: list[int] = []
        length = 0
        for piece, wildcards in pieces:
            if ignore_case:
                piece = piece.lower()
            if not wildcards:
                current.append(piece)
                length += len(piece)
                continue
            for number, chunk in enumerate(piece.split("*")):
                if number:
                    segments.append(Segment.with_wildcards("".join(current), tuple(wild)))
                    current, wild, length = [], [], 0
                if "?" in chunk:
                    wild.extend(length + i for i, char in enumerate(chunk) if char == "?")
                current.append(chunk)
                length += len(chunk)
        segments.append(Segment.with_wildcards("".join(current), tuple(wild)))
        return cls(text, tuple(segments), ignore_case, _shape(tuple(segments)))

    @property
    def is_literal(self) -> bool:
        return len(self.segments) == 1 and not self.segments[0].wild

    @property
    def literal_text(self) -> str | None:
        """The one string this pattern matches, if it has no wildcard."""
        return self.segments[0].text if self.is_literal else None

    @property
    def literal_prefix(self) -> str:
        """The characters every match starts with (up to the first wildcard)."""
        head = self.segments[0]
        return head.text[: head.wild[0]] if head.wild else head.text

    @property
    def matches_everything(self) -> bool:
        return self.shape == _ALL

    @property
    def prefix_text(self) -> str | None:
        """For a ``head*`` pattern (no other wildcard), the head every match starts with."""
        return self.segments[0].text if self.shape == _PREFIX else None

    def tester(self) -> Callable[[str], bool]:
        """``matches`` as the cheapest callable for this pattern's shape, for a caller that keeps
        it and tests many values (a condition clause, an ARN pattern's resource part): a C-level
        call for ``exact``, ``prefix*`` and ``*suffix`` (no Python frame), a closure without the
        shape dispatch for ``head*tail``, else ``matches`` itself. Case-insensitive patterns
        lower-case the value first: ``matches``. ``tests/engine/test_glob_tester.py`` compares
        every shape with ``matches`` and a reference matcher."""
        if self.ignore_case:
            return self.matches
        shape, segments = self.shape, self.segments
        if shape == _EXACT:
            return frozenset((segments[0].text,)).__contains__
        if shape == _PREFIX:
            return methodcaller("startswith", segments[0].text)
        if shape == _SUFFIX:
            return methodcaller("endswith", segments[1].text)
        if shape == _HEAD_TAIL:
            return _head_tail(segments[0].text, segments[1].text)
        return self.matches

    def matches(self, value: str) -> bool:
        if self.ignore_case:
            value = value.lower()
        shape = self.shape
        if shape == _EXACT:
            return value == self.segments[0].text
        if shape == _ALL:
            return True
        if shape == _PREFIX:
            return value.startswith(self.segments[0].text)
        if shape == _SUFFIX:
            return value.endswith(self.segments[1].text)
        segments = self.segments
        if shape in (_HEAD_TAIL, _STARS):
            head, tail = segments[0].text, segments[-1].text
            if len(head) + len(tail) > len(value) or not value.startswith(head) or not value.endswith(tail):
                return False
            if shape == _HEAD_TAIL:
                return True
            position, end = len(head), len(value) - len(tail)
            for middle in segments[1:-1]:  # leftmost occurrences: always safe for stars alone
                text = middle.text
                if text:
                    found = value.find(text, position, end)
                    if found < 0:
                        return False
                    position = found + len(text)
            return True
        if len(segments) == 1:
            only = segments[0]
            return len(value) == len(only.text) and only.fits(value, 0)
        head, tail = segments[0], segments[-1]
        head_length, tail_length = len(head.text), len(tail.text)
        if head_length + tail_length > len(value):
            return False
        if head_length and not head.fits(value, 0):
            return False
        end = len(value) - tail_length
        if tail_length and not tail.fits(value, end):
            return False
        position = head_length
        for middle in segments[1:-1]:
            if not middle.text:
                continue
            found = middle.find(value, position, end)
            if found < 0:
                return False
            position = found + len(middle.text)
        return True


def _head_tail(head: str, tail: str) -> Callable[[str], bool]:
    """``Glob.matches`` of a case-sensitive ``head*tail`` pattern (``Glob.tester``)."""
    least = len(head) + len(tail)

    def head_tail(value: str) -> bool:
        return len(value) >= least and value.startswith(head) and value.endswith(tail)

    return head_tail


PATTERN_TEXT_REMEMBERED = 256
"""Longer patterns are compiled each time, never kept: the memo lives as long as the process."""
WILDCARDS_REMEMBERED = 8
"""Patterns with more wildcards (``*`` and ``?``) than this are compiled each time, never kept.

Each wildcard costs its compiled form a segment (~140 bytes), so a short text is not a small
entry: Simulate documents and session policies of 256-character ``a*a*a*...`` patterns filled the
16,384 entries with 290 MB (~18 KB each). Patterns of bundles have a few wildcards (an ARN part
``logs/*/*.gz``, a condition value ``*@example.com``); kept entries now hold ~2 KB at most."""
_SHORT = 2 * WILDCARDS_REMEMBERED
"""Texts this short are kept without counting: even all wildcards, they cost what the cap allows
(most of an ARN's parts: ``aws``, ``s3``, an account, ``*``)."""


def _compile(pattern: str, ignore_case: bool) -> Glob:
    """Compile a pattern (``_compiled``, the memo over this builder, shares the result between
    equal texts that ``Glob.compile`` lets it keep).

    A bundle repeats the same few partitions, services, regions, accounts and action patterns
    thousands of times; sharing their compiled form cuts compile time and memory. The memo is a
    pure function's (immutable results, bounded size), not state a worker could diverge on.
    """
    text = pattern.lower() if ignore_case else pattern
    if "?" not in text:
        segments = tuple(Segment(piece) for piece in text.split("*"))
        return Glob(pattern, segments, ignore_case, _shape(segments))
    tokens = [STAR if c == "*" else ANY_CHAR if c == "?" else c for c in pattern]
    return Glob.from_tokens(tokens, text=pattern, ignore_case=ignore_case)


_compiled = lru_cache(maxsize=1 << 14)(_compile)
"""Equal short texts share one compiled Glob (16,384 kept, least recently used dropped first)."""
