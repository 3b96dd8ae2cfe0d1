"""ARN patterns, matched the way IAM matches the Resource element and the Arn operators.

An ARN has six colon-separated parts, ``arn:partition:service:region:account:resource``; the
resource part may itself contain colons. Each part is matched on its own, so a ``*`` in the region
never swallows the account, while a ``*`` in the resource part spans ``/`` and ``:``. Policy
variables are substituted in the resource part only, as IAM documents; elsewhere ``${...}`` is
plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from iamgate.engine.glob import WILDCARDS_REMEMBERED, Glob
from iamgate.engine.index import cut_at_delimiter
from iamgate.engine.request import ContextValue
from iamgate.engine.variables import (
    Part,
    Variable,
    glob_from_values,
    parse_template,
    resolve_variable,
    resolved_values,
)


class ShortArn(Enum):
    """What a pattern with fewer than six parts means."""

    PAD = "pad"
    """Identity-side policies: ``arn:aws:s3`` reads as ``arn:aws:s3:*:*:*``."""
    PAD_IF_WILDCARD = "pad-if-wildcard"
    """Resource-based policies: padded only when it has a wildcard; otherwise it matches nothing."""
    NEVER = "never"
    """Arn condition operators: a malformed ARN matches nothing."""


def _all_stars(text: str) -> bool:
    return bool(text) and text.strip("*") == ""


@dataclass(frozen=True, slots=True)
class ArnPattern:
    text: str
    everything: bool = False
    prefix: tuple[Glob, ...] = ()
    """Partition, service, region and account patterns (empty when the pattern matches nothing)."""
    resource: Glob | None = None
    template: tuple[Part, ...] | None = None
    index_key: tuple[bool, str] | None = field(default=None, compare=False)
    """Where a statement index files the pattern, ``(exact, key)``: its ARN (``literal_text``) or
    the literal prefix of its matches cut at a delimiter; ``None`` when it matches nothing, every
    ARN, or depends on policy variables. Set by ``compile``, so an index does not recompute it."""
    literal_parts: tuple[tuple[int, str], ...] = field(default=(), init=False, compare=False, repr=False)
    """The prefix parts without wildcard, as (position in the split ARN, text), service first: each
    one string comparison (``matches_parts``). Derived from ``prefix``."""
    glob_parts: tuple[tuple[int, Glob], ...] = field(default=(), init=False, compare=False, repr=False)
    """The prefix parts with wildcards other than a lone ``*`` (which matches any part)."""
    fold: bool = field(default=False, init=False, compare=False, repr=False)
    """Prefix parts compare without regard to letter case (their literal texts are lower-cased)."""
    resource_test: Callable[[str], bool] | None = field(default=None, init=False, compare=False, repr=False)
    """``resource``'s test (``Glob.tester``: a C-level call for the usual ``path/*``); ``None`` with
    policy variables (``resource_glob``) or without ``resource``."""
    substituted: dict[tuple[str, ...], Glob] | None = field(
        default=None, init=False, compare=False, repr=False
    )
    """With policy variables: the resource globs built so far, by the variables' values
    (``resource_glob``; at most ``SUBSTITUTIONS_KEPT``, then it starts afresh). ``None`` without."""
    single_variable: Variable | None = field(default=None, init=False, compare=False, repr=False)
    """The template's variable when it has exactly one (``user/${aws:username}``): ``resource_glob``
    resolves it with one call, no list. Derived from ``template``."""

    def __post_init__(self) -> None:
        prefix = self.prefix
        if prefix:  # else the pattern matches nothing (or everything): no parts to compare
            literal: list[tuple[int, str]] = []
            wild: list[tuple[int, Glob]] = []
            for position in (2, 1, 3, 4):  # the service tells ARNs apart first
                glob = prefix[position - 1]
                if glob.is_literal:
                    literal.append((position, str(glob.literal_text)))
                elif not glob.matches_everything:
                    wild.append((position, glob))
            object.__setattr__(self, "literal_parts", tuple(literal))
            object.__setattr__(self, "glob_parts", tuple(wild))
            # Every prefix glob is compiled with the same ``fold_prefix``: the first one says.
            object.__setattr__(self, "fold", prefix[0].ignore_case)
        resource = self.resource
        if resource is not None:
            # An exact resource part (most of a bundle's tens of thousands of distinct ARNs): its
            # text's own ``__eq__``, 48 bytes, where ``Glob.tester``'s set costs ~290. The parts of
            # a split ARN are always ``str``, so it answers True or False, never NotImplemented.
            literal = None if resource.ignore_case else resource.literal_text
            test = literal.__eq__ if literal is not None else resource.tester()
            object.__setattr__(self, "resource_test", test)
        if self.template is not None:
            object.__setattr__(self, "substituted", {})
            variables = [part for part in self.template if type(part) is Variable]
            if len(variables) == 1:
                object.__setattr__(self, "single_variable", variables[0])

    @classmethod
    def compile(
        cls, text: str, *, variables: bool = True, fold_prefix: bool = False, short: ShortArn = ShortArn.NEVER
    ) -> ArnPattern:
        """The compiled pattern; equal arguments share one immutable object (bundles repeat ARNs).

        Only short texts with few wildcards are remembered, and only so many: session policies and
        Simulate documents are caller-fed, and the memo lives as long as the process (a pattern
        holds its globs: each wildcard costs a segment, ~18 KB for 256 characters of ``a*a*...``,
        as in ``glob.WILDCARDS_REMEMBERED``)."""
        if len(text) > PATTERN_TEXT_REMEMBERED or (
            len(text) > 2 * WILDCARDS_REMEMBERED and text.count("*") + text.count("?") > WILDCARDS_REMEMBERED
        ):
            return _build(text, variables, fold_prefix, short)
        return _compiled(text, variables, fold_prefix, short)

    @classmethod
    def _compile(cls, text: str, *, variables: bool, fold_prefix: bool, short: ShortArn) -> ArnPattern:
        if _all_stars(text) and short is not ShortArn.NEVER:
            return cls(text, True)
        pieces = text.split(":", 5)
        if len(pieces) < 6:
            pad = short is ShortArn.PAD or (short is ShortArn.PAD_IF_WILDCARD and "*" in text)
            if not pad:
                return cls(text)
            pieces += ["*"] * (6 - len(pieces))
        if pieces[0] != "arn" and not _all_stars(pieces[0]):
            return cls(text)
        compile_glob = Glob.compile
        prefix = (
            compile_glob(pieces[1], ignore_case=fold_prefix),
            compile_glob(pieces[2], ignore_case=fold_prefix),
            compile_glob(pieces[3], ignore_case=fold_prefix),
            compile_glob(pieces[4], ignore_case=fold_prefix),
        )
        template = parse_template(pieces[5]) if variables else None
        if template is not None:
            return cls(text, False, prefix, None, template)
        return cls(text, False, prefix, compile_glob(pieces[5]), None, _index_key(pieces, fold_prefix))

    @property
    def matches_nothing(self) -> bool:
        return not self.everything and not self.prefix

    @property
    def literal_prefix(self) -> str:
        """Characters every matching ARN starts with, prefix parts lower-cased (for indexing)."""
        if self.everything or not self.prefix:
            return ""
        out = ["arn:"]
        for glob in self.prefix:
            if not glob.is_literal:
                out.append(glob.literal_prefix)
                return "".join(out)
            out.append(f"{glob.literal_text}:")
        if self.resource is not None:
            out.append(self.resource.literal_prefix)
        return "".join(out)

    @property
    def literal_text(self) -> str | None:
        """The ARN itself when the pattern has no wildcard at all (folded prefix parts excepted)."""
        if self.everything or not self.prefix or self.resource is None or not self.resource.is_literal:
            return None
        if not all(glob.is_literal for glob in self.prefix):
            return None
        head = ":".join(str(glob.literal_text) for glob in self.prefix)
        return f"arn:{head}:{self.resource.literal_text}"

    def resolvable(self, context: Mapping[str, ContextValue]) -> bool:
        """Whether every policy variable of the pattern has a value in ``context``."""
        return self.template is None or resolved_values(self.template, context) is not None

    def resource_glob(self, context: Mapping[str, ContextValue]) -> Glob | None:
        """The resource part's pattern for ``context`` of a pattern with policy variables (one
        without has it as ``resource``); ``None``: a policy variable is unresolved.

        It is built from the values substituted, and remembered by them: the glob follows from
        the pattern's own parts and those values alone, and the same few users' home folders
        (``${aws:username}``) are asked about again and again. Bounded per pattern; values longer
        in all than ``SUBSTITUTED_TEXT_REMEMBERED`` are never kept."""
        assert self.template is not None
        single = self.single_variable
        if single is not None:  # ``resolved_values`` of a one-variable template
            value = resolve_variable(single, context)
            values = None if value is None else (value,)
        else:
            values = resolved_values(self.template, context)
        if values is None:
            return None
        memo = self.substituted
        assert memo is not None
        glob = memo.get(values)
        if glob is None:
            glob = glob_from_values(self.template, values)
            if sum(map(len, values)) <= SUBSTITUTED_TEXT_REMEMBERED:
                if len(memo) >= SUBSTITUTIONS_KEPT:
                    memo.clear()
                memo[values] = glob
        return glob

    def matches(self, value: str, context: Mapping[str, ContextValue]) -> bool:
        if self.everything:
            return True
        if not self.prefix:
            return False
        pieces = value.split(":", 5)
        if len(pieces) != 6 or pieces[0] != "arn":
            return False
        return self.matches_parts(pieces, context)

    def excludes(self, pieces: Sequence[str] | None, context: Mapping[str, ContextValue]) -> bool:
        """A NotResource entry's test: the ARN (split, ``None``: not an ARN) matches, or the entry
        cannot be read (an unresolved policy variable never turns into a match). Variables are
        resolved once."""
        if self.template is None:
            return self.matches_parts(pieces, context)
        resource = self.resource_glob(context)
        if resource is None:
            return True
        return pieces is not None and self._prefix_matches(pieces) and resource.matches(pieces[5])

    def _prefix_matches(self, pieces: Sequence[str]) -> bool:
        """Partition, service, region and account of a split ARN match (``prefix`` not empty)."""
        fold = self.fold
        for position, text in self.literal_parts:
            value = pieces[position]
            if value != text and (not fold or value.lower() != text):
                return False
        for position, glob in self.glob_parts:  # noqa: SIM110 - as matches_parts
            if not glob.matches(pieces[position]):
                return False
        return True

    def matches_parts(self, pieces: Sequence[str] | None, context: Mapping[str, ContextValue]) -> bool:
        """Match an ARN already split into its six parts (``None``: not an ARN)."""
        if self.everything:
            return True
        if pieces is None or not self.prefix:
            return False
        # ``_prefix_matches``, inlined: this is the uncached decision's hottest test.
        fold = self.fold
        for position, text in self.literal_parts:
            value = pieces[position]
            # ``text`` is lower-cased when folding: an equal value needs no ``lower()``.
            if value != text and (not fold or value.lower() != text):
                return False
        for position, glob in self.glob_parts:
            if not glob.matches(pieces[position]):
                return False
        test = self.resource_test
        if test is None:  # policy variables (a pattern with prefix has ``resource`` or a template)
            resource = self.resource_glob(context)
            if resource is None:
                return False
            return resource.matches(pieces[5])
        return test(pieces[5])


SUBSTITUTIONS_KEPT = 16
"""Per pattern with policy variables, how many substituted resource globs are kept. Compiled
patterns are shared process-wide (``PATTERNS_REMEMBERED``), so the worst case, 4,096 distinct
variable patterns each asked with 16 value sets of the longest kept length, holds ~50 MB; a
bundle's few home-folder patterns asked by its users hold a few KB."""
SUBSTITUTED_TEXT_REMEMBERED = 128
"""Substituted values longer than this in all (caller-fed context) are built each time, never kept."""
PATTERNS_REMEMBERED = 4096
"""Compiled ARN patterns the process keeps (least recently used dropped first)."""
PATTERN_TEXT_REMEMBERED = 256
"""Longer pattern texts are compiled each time, never kept."""


def _build(text: str, variables: bool, fold_prefix: bool, short: ShortArn) -> ArnPattern:
    return ArnPattern._compile(text, variables=variables, fold_prefix=fold_prefix, short=short)


def _literal_head(text: str) -> str:
    """``text`` up to its first wildcard (``*`` or ``?``)."""
    star, mark = text.find("*"), text.find("?")
    if star < 0:
        return text if mark < 0 else text[:mark]
    return text[:star] if mark < 0 or star < mark else text[:mark]


def _index_key(pieces: list[str], fold_prefix: bool) -> tuple[bool, str]:
    """``index.index_key`` of the pattern of these six parts (no variables), read off the text: the
    same key as from the compiled globs (``literal_text``, ``literal_prefix`` and ``resource_key``),
    without walking them (a bundle of 100,000 statements holds ~40,000 distinct ARNs). The four
    prefix parts hold no colon (``split(":", 5)``)."""
    heads = pieces[1:5]
    resource = pieces[5]
    for position, head in enumerate(heads):
        if "*" in head or "?" in head:
            # Fewer than five colons: ``resource_key`` leaves the case as the globs have it.
            known = "".join(f"{literal}:" for literal in heads[:position])
            text = f"arn:{known}{_literal_head(head)}"
            return False, cut_at_delimiter(text.lower() if fold_prefix else text)
    head = ":".join(heads).lower()
    if "*" in resource or "?" in resource:
        return False, cut_at_delimiter(f"arn:{head}:{_literal_head(resource)}")
    return True, f"arn:{head}:{resource}"


_compiled = lru_cache(maxsize=PATTERNS_REMEMBERED)(_build)
