"""Wildcard patterns (``*`` and ``?``) matched in linear time, without regular expressions.

IAM patterns come from policy authors and inputs from callers; a backtracking regex over them can
be driven into exponential time (``a*a*a*a*b``). Here a pattern is split at its stars into
segments; the first is anchored at the start, the last at the end, and each middle segment is
taken at its leftmost occurrence, which is always safe for globs. A segment without ``?`` is found
with ``str.find``; one with ``?`` with a bit-parallel (shift-and) scan, so every character of the
input is looked at a bounded number of times whatever the pattern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache


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


@dataclass(frozen=True, slots=True)
class Segment:
    """Text between two stars. ``wild`` lists the positions of ``?`` wildcards in it."""

    text: str
    wild: tuple[int, ...] = ()
    runs: tuple[tuple[int, str], ...] = field(default=(), compare=False)
    """The literal runs between wildcards, as (offset, text), for C-speed comparison."""
    masks: Mapping[str, int] = field(default_factory=dict, compare=False)
    """Shift-and masks per character (only for segments with wildcards)."""
    wild_mask: int = field(default=0, compare=False)

    @classmethod
    def build(cls, chars: Sequence[str | _Token]) -> Segment:
        text = "".join("?" if c is ANY_CHAR else c for c in chars)  # type: ignore[misc]
        wild = tuple(i for i, c in enumerate(chars) if c is ANY_CHAR)
        if not wild:
            return cls(text)
        runs: list[tuple[int, str]] = []
        start = 0
        for position in (*wild, len(text)):
            if position > start:
                runs.append((start, text[start:position]))
            start = position + 1
        wild_mask = 0
        for position in wild:
            wild_mask |= 1 << position
        masks: dict[str, int] = {}
        for position, char in enumerate(chars):
            if char is not ANY_CHAR:
                masks[char] = masks.get(char, wild_mask) | (1 << position)  # type: ignore[index]
        return cls(text, wild, tuple(runs), masks, wild_mask)

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
        masks, wild_mask = self.masks, self.wild_mask
        accept = 1 << (length - 1)
        state = 0
        for position in range(start, end):
            state = ((state << 1) | 1) & masks.get(value[position], wild_mask)
            if state & accept:
                return position - length + 1
        return -1


_GENERAL, _ALL, _EXACT, _PREFIX, _SUFFIX = range(5)


def _shape(segments: tuple[Segment, ...]) -> int:
    """The common pattern shapes get a one-call test: ``*``, ``exact``, ``prefix*``, ``*suffix``."""
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
    return _GENERAL


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
        """The compiled pattern; equal texts share one immutable object (see ``_compiled``)."""
        return _compiled(pattern, ignore_case)

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


@lru_cache(maxsize=1 << 16)
def _compiled(pattern: str, ignore_case: bool) -> Glob:
    """Compile a pattern, sharing the result between equal texts.

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
