"""Wildcard patterns (``*`` and ``?``) matched in linear time, without regular expressions.

IAM patterns come from policy authors and inputs from callers; a backtracking regex over them can
be driven into exponential time (``a*a*a*a*b``). Here a pattern is split at its stars into
segments; the first is anchored at the start, the last at the end, and each middle segment is
taken at its leftmost occurrence, which is always safe for globs. ``?`` matches one character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STAR = object()
"""Token of a ``*`` in a pattern built from parts (see ``Glob.from_tokens``)."""
ANY_CHAR = "\x00"
"""Stands for ``?`` inside a segment; policy text never contains NUL."""


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled pattern. ``segments`` are the texts between stars; NUL marks a ``?``."""

    text: str
    segments: tuple[str, ...]
    """One segment: no star. Several: ``[head, *middles, tail]``, head and tail possibly empty."""
    ignore_case: bool

    @classmethod
    def compile(cls, pattern: str, *, ignore_case: bool = False) -> Glob:
        tokens: list[object] = []
        for char in pattern:
            if char == "*":
                tokens.append(STAR)
            elif char == "?":
                tokens.append(ANY_CHAR)
            else:
                tokens.append(char)
        return cls.from_tokens(tokens, text=pattern, ignore_case=ignore_case)

    @classmethod
    def literal(cls, text: str, *, ignore_case: bool = False) -> Glob:
        """A pattern that matches ``text`` exactly: its ``*`` and ``?`` are plain characters."""
        if ignore_case:
            text = text.lower()
        return cls(text, (text,), ignore_case)

    @classmethod
    def from_tokens(cls, tokens: Sequence[object], *, text: str, ignore_case: bool = False) -> Glob:
        """Build from characters, ``ANY_CHAR`` and ``STAR`` tokens (substituted text stays literal)."""
        segments: list[str] = []
        current: list[str] = []
        for token in tokens:
            if token is STAR:
                segments.append("".join(current))
                current = []
            else:
                current.append(token)  # type: ignore[arg-type]
        segments.append("".join(current))
        if ignore_case:
            segments = [s.lower() for s in segments]
        return cls(text, tuple(segments), ignore_case)

    @property
    def is_literal(self) -> bool:
        return len(self.segments) == 1 and ANY_CHAR not in self.segments[0]

    @property
    def literal_prefix(self) -> str:
        """The characters every match starts with (up to the first wildcard)."""
        head = self.segments[0]
        cut = head.find(ANY_CHAR)
        return head if cut < 0 else head[:cut]

    def matches(self, value: str) -> bool:
        if self.ignore_case:
            value = value.lower()
        segments = self.segments
        if len(segments) == 1:
            only = segments[0]
            if ANY_CHAR not in only:
                return value == only
            return len(value) == len(only) and _fits(only, value, 0)
        head, tail = segments[0], segments[-1]
        if len(head) + len(tail) > len(value):
            return False
        if head and not _fits(head, value, 0):
            return False
        end = len(value) - len(tail)
        if tail and not _fits(tail, value, end):
            return False
        position = len(head)
        for middle in segments[1:-1]:
            if not middle:
                continue
            found = _find(middle, value, position, end)
            if found < 0:
                return False
            position = found + len(middle)
        return True


def _fits(segment: str, value: str, start: int) -> bool:
    """Whether ``segment`` (with NUL for ``?``) matches ``value`` at ``start``."""
    if ANY_CHAR not in segment:
        return value.startswith(segment, start)
    if start + len(segment) > len(value):
        return False
    for offset, char in enumerate(segment):
        if char != ANY_CHAR and value[start + offset] != char:
            return False
    return True


def _find(segment: str, value: str, start: int, end: int) -> int:
    """Leftmost position >= start where ``segment`` matches and ends by ``end``; -1 if none."""
    if ANY_CHAR not in segment:
        return value.find(segment, start, end)
    # Anchor on the segment's longest literal run so the scan stays near-linear.
    runs = [run for run in segment.split(ANY_CHAR) if run]
    last = end - len(segment)
    if not runs:
        return start if start <= last else -1
    anchor = max(runs, key=len)
    anchor_offset = segment.find(anchor)
    position = start
    while position <= last:
        hit = value.find(anchor, position + anchor_offset, last + anchor_offset + len(anchor))
        if hit < 0:
            return -1
        candidate = hit - anchor_offset
        if _fits(segment, value, candidate):
            return candidate
        position = candidate + 1
    return -1
