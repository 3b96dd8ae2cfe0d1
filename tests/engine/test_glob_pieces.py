"""Patterns built per evaluation from policy text and substituted values (issue 9, glob leftover).

``Glob.from_pieces`` takes policy text (``*`` and ``?`` are wildcards) and caller-supplied values
(every character literal) as whole strings. It must match exactly like the reference matcher over
the same characters, whether a segment is scanned bit-parallel (small tables) or by its longest
literal run (a long substituted value, where the masks would cost characters x length).
"""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import glob_texts, reference_match

from iamgate.engine import glob as glob_module
from iamgate.engine.glob import ANY_CHAR, STAR, Glob
from iamgate.engine.request import ContextValue
from iamgate.engine.variables import glob_from_parts, parse_template

ALPHABET = "ab:/*?"
EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PIECES = st.lists(st.tuples(glob_texts(ALPHABET, max_size=6), st.booleans()), max_size=5)


def _tokens(pieces: list[tuple[str, bool]], *, ignore_case: bool = False) -> list[object]:
    tokens: list[object] = []
    for text, wildcards in pieces:
        text = text.lower() if ignore_case else text
        if wildcards:
            tokens.extend(STAR if c == "*" else ANY_CHAR if c == "?" else c for c in text)
        else:
            tokens.extend(text)
    return tokens


@pytest.fixture(params=["shift-and", "longest-run", "linear"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the bit-parallel scan, the longest-run search and the linear (KMP) search.

    The setting is the same for every generated example, so a function-scoped fixture is safe.
    """
    if request.param in ("longest-run", "linear"):
        monkeypatch.setattr(glob_module, "_SHIFT_AND_LENGTH", 0)
    if request.param == "linear":
        monkeypatch.setattr(glob_module, "_ANCHOR_TRIES", 0)
    return request.param


@EXAMPLES
@given(pieces=PIECES, value=glob_texts(ALPHABET, max_size=14))
def test_from_pieces_agrees_with_the_reference_matcher(search, pieces, value):
    glob = Glob.from_pieces(pieces, text="pieces")
    assert glob.matches(value) is reference_match(_tokens(pieces), value)


@EXAMPLES
@given(pieces=PIECES, data=st.data())
def test_from_pieces_agrees_on_values_made_of_the_pieces(search, pieces, data):
    """Random values seldom match; a value made by filling the pieces in matches (or nearly) often."""
    out = []
    for text, wildcards in pieces:
        for char in text:
            if wildcards and char == "*":
                out.append(data.draw(st.text(alphabet="ab:/", max_size=3)))
            elif wildcards and char == "?":
                out.append(data.draw(st.sampled_from("ab:/")))
            else:
                out.append(char)
    value = "".join(out)
    if value and data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(value) - 1))
        value = value[:at] + data.draw(st.sampled_from("ab")) + value[at + 1 :]
    glob = Glob.from_pieces(pieces, text="pieces")
    assert glob.matches(value) is reference_match(_tokens(pieces), value)


@EXAMPLES
@given(
    pieces=st.lists(st.tuples(glob_texts("aAbB*?", max_size=5), st.booleans()), max_size=4),
    value=glob_texts("aAbB", max_size=10),
)
def test_from_pieces_with_ignore_case_agrees_on_folded_text(search, pieces, value):
    glob = Glob.from_pieces(pieces, text="pieces", ignore_case=True)
    assert glob.matches(value) is reference_match(_tokens(pieces), value, ignore_case=True)


@EXAMPLES
@given(pieces=PIECES)
def test_from_pieces_builds_what_from_tokens_builds(pieces):
    assert Glob.from_pieces(pieces, text="t") == Glob.from_tokens(_tokens(pieces), text="t")


def test_a_substituted_value_keeps_its_wildcard_characters_literal():
    glob = glob_from_parts(parse_template("home/?${aws:username}/*"), _context("a*"))
    assert glob is not None
    assert glob.matches("home/xa*/notes")
    assert not glob.matches("home/xab/notes")


DISTINCT = "".join(chr(0x4E00 + i) for i in range(20_000))


@pytest.mark.parametrize("template", ["b/?${s3:prefix}", "*?${s3:prefix}*", "*?${s3:prefix}b*"])
def test_a_long_value_of_distinct_characters_builds_no_large_table(template):
    """Before: one segment-long integer per distinct character, 50 MB and ~0.5 s per evaluation."""
    tracemalloc.start()
    try:
        glob = glob_from_parts(parse_template(template), _context(DISTINCT))
        assert glob is not None
        matched = (
            glob.matches("b/x" + DISTINCT) if template.startswith("b/") else glob.matches("z" + DISTINCT)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert matched is not template.endswith("b*")
    assert peak < 5_000_000, f"matching one 20,000-character value peaked at {peak / 1e6:.1f} MB"


def _context(value: str) -> dict[str, ContextValue]:
    return {
        "s3:prefix": ContextValue("s3:prefix", (value,)),
        "aws:username": ContextValue("aws:username", (value,)),
    }


def test_a_long_periodic_value_is_searched_in_linear_time():
    """``*${a}?${b}*`` with a = 8,000 x "a", b = 7,999 x "a" + "c" against 48,000 x "a": every start is
    a candidate for the longest run and fails on the other: checking each in turn costs value x
    segment length (~1 s here, ~4 s with the masks). The linear search reads each character of the
    value a bounded number of times per run."""
    context = {
        "s3:prefix": ContextValue("s3:prefix", ("a" * 8000,)),
        "s3:delimiter": ContextValue("s3:delimiter", ("a" * 7999 + "c",)),
    }
    glob = glob_from_parts(parse_template("*${s3:prefix}?${s3:delimiter}*"), context)
    assert glob is not None
    calls = 0
    real = glob_module._occurrences

    def counted(text, pattern, start, end):
        nonlocal calls
        calls += 1
        yield from real(text, pattern, start, end)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(glob_module, "_occurrences", counted)
        assert not glob.matches("a" * 48_000)
        assert glob.matches("a" * 20_000 + "x" + "a" * 7999 + "c")
    assert calls <= 4  # one scan per run and match, not one per candidate
