"""``Glob.tester``: the cheapest callable per pattern shape (``frozenset.__contains__``,
``methodcaller`` for ``startswith``/``endswith``, a ``head*tail`` closure). Condition clauses and
ARN patterns keep it instead of ``Glob.matches``, so it must decide exactly what ``matches`` and
the reference matcher decide, on every shape, case-sensitive or not."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import compile_document, glob_texts, make_request, reference_glob

from iamgate.engine import PolicyKind, PolicySet, evaluate
from iamgate.engine.arn import ArnPattern
from iamgate.engine.glob import _EXACT, _HEAD_TAIL, _PREFIX, _SUFFIX, Glob

EXAMPLES = settings(max_examples=500, deadline=None)
SHAPED = st.sampled_from(["", "a", "ab", "a*", "*b", "a*b", "ab*ba", "*", "**", "a**", "*a*", "a?b", "a:*:b"])
VALUES = st.text(alphabet="aAbB:/", max_size=8)


@EXAMPLES
@given(st.one_of(SHAPED, glob_texts("ab:/*?")), VALUES, st.booleans())
def test_the_tester_decides_as_matches_and_the_reference(pattern, value, ignore_case):
    glob = Glob.compile(pattern, ignore_case=ignore_case)
    expected = reference_glob(pattern, value, ignore_case=ignore_case)
    assert glob.matches(value) is expected
    assert bool(glob.tester()(value)) is expected


def test_each_fast_shape_gets_its_own_tester():
    for pattern, shape in (("ab", _EXACT), ("a*", _PREFIX), ("*b", _SUFFIX), ("a*b", _HEAD_TAIL)):
        glob = Glob.compile(pattern)
        assert glob.shape == shape
        assert glob.tester() != glob.matches
    assert Glob.compile("a*b", ignore_case=True).tester() == Glob.compile("a*b", ignore_case=True).matches


def test_head_tail_needs_room_for_both_ends():
    tester = Glob.compile("ab*ba").tester()
    assert not tester("aba")
    assert tester("abba") and tester("ab-ba")


def test_an_arn_pattern_tests_its_resource_part_with_the_tester():
    pattern = ArnPattern.compile("arn:aws:s3:::bucket/*")
    assert pattern.resource_test is not None
    assert pattern.matches("arn:aws:s3:::bucket/key", {})
    assert not pattern.matches("arn:aws:s3:::Bucket/key", {})
    assert ArnPattern.compile("arn:aws:s3:::home/${aws:username}/*").resource_test is None


def test_conditions_through_the_tester_decide_as_the_traced_walk():
    """StringLike with one pattern of each shape, and StringNotEquals (its direct test), each
    decided by ``evaluate`` as by the traced walk, which calls the generic ``evaluate``."""
    for pattern in (
        "arn:aws:iam::*:root",
        "arn:aws:iam::1*",
        "*:root",
        "arn:aws:iam::111122223333:root",
        "a?",
    ):
        for negated in (False, True):
            operator = "StringNotLike" if negated else "StringLike"
            policy = compile_document(
                [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {operator: {"aws:PrincipalArn": pattern}},
                    },
                    {
                        "Effect": "Deny",
                        "Action": "s3:PutObject",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
                    },
                ],
                kind=PolicyKind.IDENTITY,
            )
            policy_set = PolicySet(identity=(policy,))
            for arn in ("arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/a", "ab", "a", ""):
                for region in ("us-east-1", "eu-west-2", None):
                    entries = {"aws:PrincipalArn": arn}
                    if region is not None:
                        entries["aws:RequestedRegion"] = region
                    for action in ("s3:GetObject", "s3:PutObject"):
                        request = make_request(action=action, entries=entries)
                        fast = evaluate(policy_set, request)
                        traced = evaluate(policy_set, request, explain=True)
                        assert (fast.decision, fast.determining) == (traced.decision, traced.determining)


def test_an_exact_resource_part_is_compared_as_text_and_answers_a_bool():
    pattern = ArnPattern.compile("arn:aws:s3:::bucket/key")
    assert pattern.resource_test is not None
    assert pattern.resource_test("bucket/key") is True
    assert pattern.resource_test("bucket/Key") is False
    assert pattern.matches("arn:aws:s3:::bucket/key", {})
    assert not pattern.matches("arn:aws:s3:::bucket/key2", {})
    assert not pattern.matches("arn:aws:s3:::bucket/ke", {})
