"""Resource patterns with policy variables remember the globs built from substituted values
(``ArnPattern.resource_glob``): bounded per pattern, keyed on every value substituted, in order,
and answering exactly as a pattern built afresh for each request."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import context

from iamgate.engine.arn import SUBSTITUTED_TEXT_REMEMBERED, SUBSTITUTIONS_KEPT, ArnPattern, ShortArn
from iamgate.engine.variables import glob_from_parts

TWO_VARIABLES = "arn:aws:s3:::home/${aws:username}/${aws:PrincipalTag/team, 'none'}/*"


def _fresh(text: str) -> ArnPattern:
    """A pattern of its own (not the process-wide compiled one), with an empty memo."""
    return ArnPattern._compile(text, variables=True, fold_prefix=True, short=ShortArn.PAD)


def _caller(user: str | None, team: str | None) -> dict:
    entries = {}
    if user is not None:
        entries["aws:username"] = user
    if team is not None:
        entries["aws:PrincipalTag/team"] = team
    return context(entries)


def test_the_memo_keys_on_every_value_in_order():
    """Swapping two callers' values, or dropping one to its default, must not reuse a glob."""
    pattern = _fresh(TWO_VARIABLES)
    assert pattern.matches("arn:aws:s3:::home/ann/ops/x", _caller("ann", "ops"))
    assert not pattern.matches("arn:aws:s3:::home/ann/ops/x", _caller("ops", "ann"))
    assert pattern.matches("arn:aws:s3:::home/ops/ann/x", _caller("ops", "ann"))
    assert not pattern.matches("arn:aws:s3:::home/ann/ops/x", _caller("ann", None))
    assert pattern.matches("arn:aws:s3:::home/ann/none/x", _caller("ann", None))
    assert not pattern.matches("arn:aws:s3:::home/ann/none/x", _caller(None, None))  # unresolved


def test_substituted_text_stays_literal_when_remembered():
    """A value holding a wildcard character matches only itself, first time and every time after."""
    pattern = _fresh("arn:aws:s3:::home/${aws:username}/*")
    for _ in range(2):
        assert pattern.matches("arn:aws:s3:::home/a*/key", _caller("a*", None))
        assert not pattern.matches("arn:aws:s3:::home/abc/key", _caller("a*", None))


def test_the_memo_is_bounded_and_keeps_no_long_values():
    pattern = _fresh("arn:aws:s3:::home/${aws:username}/*")
    for number in range(SUBSTITUTIONS_KEPT * 3):
        user = f"user{number}"
        assert pattern.matches(f"arn:aws:s3:::home/{user}/key", _caller(user, None))
        assert pattern.substituted is not None and len(pattern.substituted) <= SUBSTITUTIONS_KEPT
    long_user = "u" * (SUBSTITUTED_TEXT_REMEMBERED + 1)
    assert pattern.matches(f"arn:aws:s3:::home/{long_user}/key", _caller(long_user, None))
    assert all(len(values[0]) <= SUBSTITUTED_TEXT_REMEMBERED for values in pattern.substituted)


def test_a_pattern_without_variables_keeps_no_memo():
    assert _fresh("arn:aws:s3:::home/*").substituted is None


NAMES = st.sampled_from(["ann", "bob", "a*", "b?", "", "ANN", "ops"])


@pytest.mark.parametrize(
    "text",
    [
        TWO_VARIABLES,
        "arn:aws:s3:::home/${aws:username}/*",  # one variable: resolved without ``resolved_values``
        "arn:aws:s3:::home/${aws:PrincipalTag/team, 'none'}/*",
    ],
)
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.none() | NAMES, st.none() | NAMES, NAMES, NAMES), min_size=1, max_size=12))
def test_a_remembering_pattern_answers_as_one_built_per_request(text, requests):
    """The same pattern asked again and again answers as the glob built from that request alone."""
    pattern = _fresh(text)
    assert pattern.template is not None
    for user, team, first, second in requests:
        caller = _caller(user, team)
        arn = f"arn:aws:s3:::home/{first}/{second}/key"
        built = glob_from_parts(pattern.template, caller)
        expected = built is not None and built.matches(arn.split(":", 5)[5])
        assert pattern.matches(arn, caller) is expected
        assert pattern.resolvable(caller) is (built is not None)
