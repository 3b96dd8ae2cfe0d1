"""Policy variables: ``${aws:username}``, defaults, the ``${*}`` ``${?}`` ``${$}`` escapes (issue 3, item 4).

A policy variable turns one statement into a per-caller rule ("each user their own folder"). The
rules that keep it safe: a key missing, empty or multivalued resolves to the default or to nothing
(never to an empty string that widens a pattern), key names are case-insensitive, and substituted
text is data, never a wildcard.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import context

from iamgate.engine.variables import (
    Escaped,
    Literal,
    Variable,
    glob_from_parts,
    parse_template,
    resolve_variable,
    substitute,
    template_keys,
)

ALICE = context({"aws:username": "alice"})


def _resolve(text: str, ctx=ALICE) -> str | None:
    parts = parse_template(text)
    assert parts is not None, f"{text!r} should parse as a template"
    return substitute(parts, ctx)


def test_text_without_a_variable_is_not_a_template():
    """The common case stays on the fast path: no parts, no per-request work."""
    assert parse_template("arn:aws:s3:::bucket/*") is None
    assert parse_template("cost $5 {not a variable}") is None


def test_a_variable_is_substituted_from_the_context():
    assert parse_template("home/${aws:username}/") == (
        Literal("home/"),
        Variable("aws:username", "aws:username"),
        Literal("/"),
    )
    assert _resolve("home/${aws:username}/") == "home/alice/"


def test_variable_key_lookup_is_case_insensitive():
    """IAM key names are case-insensitive: ``${AWS:UserName}`` reads ``aws:username``."""
    assert _resolve("${AWS:UserName}") == "alice"
    assert _resolve("${aws:username}", context({"AWS:USERNAME": "alice"})) == "alice"


def test_several_variables_are_all_substituted():
    ctx = context({"aws:username": "alice", "aws:PrincipalTag/team": "red"})
    assert _resolve("${aws:PrincipalTag/team}/${aws:username}", ctx) == "red/alice"
    assert template_keys(parse_template("${aws:PrincipalTag/Team}/${AWS:username}")) == (
        "aws:principaltag/team",
        "aws:username",
    )


def test_a_default_is_written_with_a_comma_a_space_and_single_quotes():
    """AWS documents ``${aws:username, 'guest'}``: comma, space, the default in single quotes."""
    parts = parse_template("${aws:username, 'guest'}")
    assert parts == (Variable("aws:username", "aws:username", "guest"),)
    assert substitute(parts, context()) == "guest"
    assert substitute(parts, ALICE) == "alice"


def test_a_default_tolerates_spaces_inside_the_braces():
    assert _resolve("${ aws:username , 'guest' }", context()) == "guest"


def test_a_default_keeps_its_letter_case():
    """Keys fold, values do not: the default is used exactly as written."""
    assert _resolve("${aws:username, 'Guest-User'}", context()) == "Guest-User"


@pytest.mark.parametrize(("escape", "char"), [("${*}", "*"), ("${?}", "?"), ("${$}", "$")])
def test_escapes_stand_for_the_character_itself(escape, char):
    """``${*}``, ``${?}`` and ``${$}`` let a policy name a literal ``*``, ``?`` or ``$``."""
    parts = parse_template(f"a{escape}b")
    assert parts == (Literal("a"), Escaped(char), Literal("b"))
    assert substitute(parts, context()) == f"a{char}b"


def test_escaped_wildcards_are_literal_in_patterns():
    """``a${*}b`` matches the three characters ``a*b``, not ``axb``; a bare ``*`` still globs."""
    glob = glob_from_parts(parse_template("a${*}b${?}*"), context())
    assert glob.matches("a*b?")
    assert glob.matches("a*b?tail")
    assert not glob.matches("axb?")
    assert not glob.matches("a*bx")


def test_a_dollar_escape_spells_a_variable_without_substituting_it():
    """``${$}{aws:username}`` is the text ``${aws:username}``, which is how a policy names it literally."""
    assert _resolve("${$}{aws:username}") == "${aws:username}"


@pytest.mark.parametrize("text", ["home/${aws:username", "${", "a${b", "tail ${aws:username, 'x'"])
def test_an_unclosed_reference_is_literal_text(text):
    """A ``${`` without its ``}`` is not a variable: the text stays as written and reads nothing."""
    parts = parse_template(text)
    assert parts is not None
    assert template_keys(parts) == ()
    assert substitute(parts, ALICE) == text
    glob = glob_from_parts(parts, ALICE)
    assert glob.matches(text)


def test_an_unclosed_reference_after_a_variable_keeps_the_variable():
    assert _resolve("${aws:username}/${aws:username") == "alice/${aws:username"


def test_a_missing_key_without_default_leaves_the_text_unresolved():
    """AWS: a missing key makes the value match nothing. ``None`` here, never an empty string."""
    assert _resolve("home/${aws:username}/", context()) is None
    assert glob_from_parts(parse_template("home/${aws:username}/*"), context()) is None


@pytest.mark.parametrize(
    "value",
    [["alice", "bob"], ["alice"], "", None],
    ids=["multivalued", "single-element-list", "empty-string", "no-values"],
)
def test_multivalued_and_empty_values_resolve_to_the_default_or_none(value):
    """A list cannot go into one string and an empty value names nothing: like a missing key."""
    ctx = context({"aws:username": value})
    assert resolve_variable(Variable("aws:username", "aws:username"), ctx) is None
    assert resolve_variable(Variable("aws:username", "aws:username", "guest"), ctx) == "guest"


def test_a_single_value_resolves_to_itself():
    assert resolve_variable(Variable("aws:username", "aws:username", "guest"), ALICE) == "alice"


def test_substitute_is_unresolved_if_any_one_variable_is():
    ctx = context({"aws:username": "alice"})
    assert _resolve("${aws:username}/${aws:PrincipalTag/team}", ctx) is None
    assert _resolve("${aws:username}/${aws:PrincipalTag/team, 'none'}", ctx) == "alice/none"


def test_wildcards_written_in_the_policy_keep_their_meaning_around_a_variable():
    """Policy text is a pattern; only the substituted part is literal."""
    glob = glob_from_parts(parse_template("home/${aws:username}/*"), ALICE)
    assert glob.matches("home/alice/a/b")
    assert not glob.matches("home/bob/a")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab*?$/:{}", min_size=1, max_size=8), st.text(alphabet="ab*?/", max_size=8))
def test_substituted_text_matches_only_itself(name, other):
    """Whatever a caller's username contains (``*``, ``?``, ``${``), ``home/${aws:username}`` matches
    exactly ``home/<that name>``: substituted text is never a wildcard."""
    glob = glob_from_parts(parse_template("home/${aws:username}"), context({"aws:username": name}))
    assert glob.matches(f"home/{name}")
    assert glob.matches(f"home/{other}") is (other == name)


def test_a_substituted_nul_character_is_not_a_wildcard():
    """Context values come from callers over gRPC and may contain any character, NUL included.
    A username of ``"\\x00"`` must get ``home/\\x00`` only, not every one-letter folder."""
    glob = glob_from_parts(parse_template("home/${aws:username}"), context({"aws:username": "\x00"}))
    assert glob.matches("home/\x00")
    assert not glob.matches("home/x")
