"""The linear-time wildcard matcher behind actions, resources and StringLike (issue 3, "Matching").

``Glob`` avoids regular expressions so that no policy pattern can make a check slow; these tests
hold it to an obviously correct (memoized, slow) reference matcher on generated patterns, and check
that the patterns that ruin backtracking matchers stay fast here.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import glob_texts, pattern_tokens, reference_glob, reference_match

from iamgate.engine.glob import ANY_CHAR, STAR, Glob

ALPHABET = "ab:/*?"
FOLDING_ALPHABET = "aAbB:/*?"
EXAMPLES = settings(max_examples=400, deadline=None)


@st.composite
def pattern_and_matching_value(draw: st.DrawFn, alphabet: str = ALPHABET) -> tuple[str, str]:
    """A pattern and a value built from it (stars and ``?`` filled in), then maybe mutated.

    Random values seldom match random patterns; building the value from the pattern makes the
    matching case as common as the failing one.
    """
    pattern = draw(glob_texts(alphabet))
    filler = alphabet.replace("*", "").replace("?", "")
    out = []
    for char in pattern:
        if char == "*":
            out.append(draw(st.text(alphabet=filler, max_size=4)))
        elif char == "?":
            out.append(draw(st.sampled_from(filler)))
        else:
            out.append(char)
    value = "".join(out)
    if value and draw(st.booleans()):
        at = draw(st.integers(0, len(value) - 1))
        value = value[:at] + draw(st.sampled_from(filler)) + value[at + 1 :]
    return pattern, value


@EXAMPLES
@given(glob_texts(ALPHABET), glob_texts(ALPHABET, max_size=12))
def test_matches_agrees_with_the_reference_matcher_on_random_values(pattern, value):
    """Segment-splitting plus leftmost search must decide exactly what a textbook glob decides."""
    assert Glob.compile(pattern).matches(value) is reference_glob(pattern, value)


@EXAMPLES
@given(pattern_and_matching_value())
def test_matches_agrees_with_the_reference_matcher_on_values_built_from_the_pattern(case):
    """The same agreement where most values do match (stars spanning ':' and '/', '?' one character)."""
    pattern, value = case
    assert Glob.compile(pattern).matches(value) is reference_glob(pattern, value)


@EXAMPLES
@given(pattern_and_matching_value(FOLDING_ALPHABET))
def test_ignore_case_agrees_with_the_reference_matcher_on_folded_text(case):
    """Action names compare case-insensitively: ``S3:get*`` must match ``s3:GetObject``."""
    pattern, value = case
    compiled = Glob.compile(pattern, ignore_case=True)
    assert compiled.matches(value) is reference_glob(pattern, value, ignore_case=True)
    assert compiled.matches(value.swapcase()) is reference_glob(pattern, value.swapcase(), ignore_case=True)


def test_matching_is_case_sensitive_unless_asked_otherwise():
    """Resource parts and StringLike values are case-sensitive in IAM."""
    assert not Glob.compile("Bucket/*").matches("bucket/key")
    assert Glob.compile("Bucket/*", ignore_case=True).matches("bucket/key")


def test_a_star_spans_colons_and_slashes():
    """A glob knows nothing of ARN structure; ``*`` crosses ':' and '/' (ARN parts are split earlier)."""
    assert Glob.compile("a*z").matches("a:b/c:d/z")
    assert Glob.compile("a?c").matches("a:c")
    assert Glob.compile("a?c").matches("a/c")


def test_question_mark_matches_exactly_one_character():
    """``?`` is one character: never zero, never two."""
    glob = Glob.compile("s3:?etObject")
    assert glob.matches("s3:GetObject")
    assert not glob.matches("s3:etObject")
    assert not glob.matches("s3:GGetObject")


@EXAMPLES
@given(glob_texts(ALPHABET), glob_texts(ALPHABET))
def test_literal_matches_only_its_own_text_wildcards_included(text, value):
    """``Glob.literal`` is for text that must not act as a pattern: its ``*`` and ``?`` are characters."""
    assert Glob.literal(text).matches(value) is (text == value)
    assert Glob.literal(text).matches(text)


@EXAMPLES
@given(glob_texts(FOLDING_ALPHABET), glob_texts(FOLDING_ALPHABET))
def test_literal_with_ignore_case_compares_folded_text(text, value):
    """A case-insensitive literal equals any value that differs from it only in letter case."""
    assert Glob.literal(text, ignore_case=True).matches(value) is (text.lower() == value.lower())


TOKENS = st.lists(st.sampled_from([STAR, ANY_CHAR, "a", "b", "*", "?", ":", "/"]), max_size=10)


@EXAMPLES
@given(TOKENS, glob_texts(ALPHABET, max_size=12))
def test_from_tokens_keeps_substituted_characters_literal(tokens, value):
    """Only STAR and ANY_CHAR tokens are wildcards: a ``*`` or ``?`` character (say, from a
    substituted policy variable) must match only itself."""
    glob = Glob.from_tokens(tokens, text="from tokens")
    assert glob.matches(value) is reference_match(tokens, value)


def test_from_tokens_treats_a_substituted_star_as_text():
    """A user named ``*`` must not get everyone's home folder through ``home/${aws:username}/*``."""
    glob = Glob.from_tokens([*"home/", "*", "/", STAR], text="home/${aws:username}/*")
    assert glob.matches("home/*/notes")
    assert not glob.matches("home/alice/notes")


@EXAMPLES
@given(pattern_and_matching_value())
def test_every_match_starts_with_the_literal_prefix(case):
    """The resource index files a pattern under its literal prefix; a match outside it would be lost."""
    pattern, value = case
    glob = Glob.compile(pattern)
    if glob.matches(value):
        assert value.startswith(glob.literal_prefix)


@EXAMPLES
@given(glob_texts(ALPHABET))
def test_is_literal_exactly_when_the_pattern_has_no_wildcard(pattern):
    """Literal patterns go in the index's exact buckets; a wildcard must never land there."""
    assert Glob.compile(pattern).is_literal is ("*" not in pattern and "?" not in pattern)


def test_compile_agrees_with_from_tokens_of_the_same_text():
    """``compile`` is ``from_tokens`` over the pattern's characters; the two entry points agree."""
    pattern = "a*b?c*"
    assert Glob.compile(pattern) == Glob.from_tokens(pattern_tokens(pattern), text=pattern)


# --------------------------------------------------------------------------------------------------
# Pathological patterns. A backtracking matcher needs minutes (or forever) on these inputs; a linear
# one needs milliseconds. The bound is deliberately generous: it only catches the blow-up.

SLOW = 2.0


def _elapsed(glob: Glob, value: str) -> tuple[bool, float]:
    start = time.perf_counter()
    result = glob.matches(value)
    return result, time.perf_counter() - start


def test_many_stars_against_a_long_run_of_one_letter_finish_fast():
    """``a*a*a*...b`` against ``aaaa...`` is the classic exponential case for backtracking regexes."""
    value = "a" * 50_000
    cases = [
        ("a*" * 200 + "b", value, False),
        ("*a" * 200 + "*b*", value, False),
        ("a*" * 1_000 + "b", value[:-1] + "b", True),
        ("*a*" * 500 + "b", value, False),
    ]
    for pattern, subject, expected in cases:
        result, seconds = _elapsed(Glob.compile(pattern), subject)
        assert result is expected
        assert seconds < SLOW, f"{pattern[:20]}... took {seconds:.2f}s on {len(subject)} characters"


def test_question_marks_between_letters_against_long_inputs_finish_fast():
    """``*a?a?a?b*`` forces a check at every position; each check must stay short."""
    glob = Glob.compile("*a?a?a?b*")
    for subject, expected in [
        ("a" * 100_000, False),
        ("ab" * 50_000, False),
        ("b" + "a" * 100_000, False),
        ("a" * 100_000 + "b", True),
    ]:
        result, seconds = _elapsed(glob, subject)
        assert result is expected
        assert seconds < SLOW, f"took {seconds:.2f}s on {len(subject)} characters"


def test_ignore_case_pathological_pattern_finishes_fast():
    """Folding case must not reintroduce the blow-up (actions are matched case-insensitively)."""
    result, seconds = _elapsed(Glob.compile("S3:" + "A*" * 300 + "B", ignore_case=True), "s3:" + "a" * 50_000)
    assert result is False
    assert seconds < SLOW


def test_long_question_mark_segment_does_not_multiply_pattern_length_by_input_length():
    """Issue 3: "no pattern can make it slow". A segment like ``a?a?...a?b`` between stars is
    checked character by character at every candidate position, so the cost is pattern length x
    input length: a 32x longer pattern costs about 32x the time (1.6 s for a 1,000-character pattern
    against a 50,000-character resource). A linear (e.g. bit-parallel) search stays near flat."""
    subject = "a" * 10_000
    short = Glob.compile("*" + "a?" * 25 + "b*")
    long = Glob.compile("*" + "a?" * 800 + "b*")
    # The best of several runs of the short pattern, so that a stall elsewhere cannot raise the bar.
    short_result, short_seconds = min(_elapsed(short, subject) for _ in range(5))
    long_result, long_seconds = _elapsed(long, subject)
    assert short_result is False and long_result is False
    assert long_seconds < 4 * short_seconds + 0.05, (
        f"32x longer pattern took {long_seconds / max(short_seconds, 1e-9):.1f}x as long "
        f"({short_seconds:.3f}s -> {long_seconds:.3f}s)"
    )
