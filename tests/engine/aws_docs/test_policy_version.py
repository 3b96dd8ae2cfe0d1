"""The Version element, from "IAM JSON policy elements: Version" and the Version note of
"IAM policy elements: Variables and tags": policy variables exist only under 2012-10-17.
"""

from __future__ import annotations

from .builders import ALLOWED, IMPLICIT_DENY, allow, entry, policy, request

HOME = "arn:aws:s3:::home-bucket/${aws:username}/*"
ALICE_NAME = entry("aws:username", "alice")


def test_variable_in_resource_is_literal_text_under_version_2008(decide):
    """Under 2008-10-17, variables such as ${aws:username} are treated as literal strings."""
    home_policy = policy(allow("s3:GetObject", HOME), version="2008-10-17")
    decision = decide(
        request(resource="arn:aws:s3:::home-bucket/alice/a.txt", identity=[home_policy], context=[ALICE_NAME])
    )
    assert decision == IMPLICIT_DENY


def test_variable_under_version_2008_matches_only_its_literal_text(decide):
    """Under 2008-10-17 the text ${aws:username} is part of the resource pattern, character for character."""
    home_policy = policy(allow("s3:GetObject", HOME), version="2008-10-17")
    literal = "arn:aws:s3:::home-bucket/${aws:username}/a.txt"
    assert decide(request(resource=literal, identity=[home_policy], context=[ALICE_NAME])) == ALLOWED


def test_variable_in_condition_value_is_literal_text_under_version_2008(decide):
    """Under 2008-10-17, a variable in a condition value is compared as the literal string."""
    prefix_policy = policy(
        allow("s3:ListBucket", "*", condition={"StringEquals": {"s3:prefix": "${aws:username}"}}),
        version="2008-10-17",
    )
    decision = decide(
        request(
            "s3:ListBucket",
            "arn:aws:s3:::home-bucket",
            identity=[prefix_policy],
            context=[ALICE_NAME, entry("s3:prefix", "alice")],
        )
    )
    assert decision == IMPLICIT_DENY


def test_literal_variable_text_satisfies_condition_under_version_2008(decide):
    """Under 2008-10-17 the condition value "${aws:username}" equals exactly that text in the request."""
    prefix_policy = policy(
        allow("s3:ListBucket", "*", condition={"StringEquals": {"s3:prefix": "${aws:username}"}}),
        version="2008-10-17",
    )
    decision = decide(
        request(
            "s3:ListBucket",
            "arn:aws:s3:::home-bucket",
            identity=[prefix_policy],
            context=[ALICE_NAME, entry("s3:prefix", "${aws:username}")],
        )
    )
    assert decision == ALLOWED


def test_variable_is_literal_text_when_version_is_missing(decide):
    """Without a Version element, variables like ${aws:username} are treated as literal strings."""
    home_policy = policy(allow("s3:GetObject", HOME), version=None)
    decision = decide(
        request(resource="arn:aws:s3:::home-bucket/alice/a.txt", identity=[home_policy], context=[ALICE_NAME])
    )
    assert decision == IMPLICIT_DENY


def test_variable_is_substituted_under_version_2012(decide):
    """Variables were introduced in 2012-10-17: there ${aws:username} is replaced by the caller's name."""
    home_policy = policy(allow("s3:GetObject", HOME), version="2012-10-17")
    decision = decide(
        request(resource="arn:aws:s3:::home-bucket/alice/a.txt", identity=[home_policy], context=[ALICE_NAME])
    )
    assert decision == ALLOWED


def test_wildcards_still_match_under_version_2008(decide):
    """Version 2008-10-17 lacks only the newer features such as variables; * and ? still match."""
    old_policy = policy(allow("s3:Get*", "arn:aws:s3:::home-bucket/*"), version="2008-10-17")
    decision = decide(request(resource="arn:aws:s3:::home-bucket/alice/a.txt", identity=[old_policy]))
    assert decision == ALLOWED
