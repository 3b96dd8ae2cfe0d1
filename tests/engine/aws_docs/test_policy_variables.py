"""Policy variables, from "IAM policy elements: Variables and tags" (reference_policies_variables.html)."""

from __future__ import annotations

from .builders import (
    ACCOUNT,
    ALLOWED,
    IMPLICIT_DENY,
    allow,
    allow_when,
    entry,
    policy,
    request,
)

ALICE_NAME = entry("aws:username", "alice")


def _get_object(resource_pattern: str, resource: str, *context):
    return request(
        resource=resource, identity=[policy(allow("s3:GetObject", resource_pattern))], context=context
    )


def test_username_variable_in_resource_part_selects_the_callers_own_queue(decide):
    """A variable in the resource part of an ARN takes the request's value (the doc's own-queue example)."""
    queue_policy = policy(allow("sqs:*", "arn:aws:sqs:us-east-2:*:${aws:username}-queue"))
    queue = f"arn:aws:sqs:us-east-2:{ACCOUNT}:alice-queue"
    assert decide(request("sqs:SendMessage", queue, identity=[queue_policy], context=[ALICE_NAME])) == ALLOWED


def test_username_variable_in_resource_part_does_not_match_another_users_queue(decide):
    """${aws:username} stands for the current user only: another user's queue does not match."""
    queue_policy = policy(allow("sqs:*", "arn:aws:sqs:us-east-2:*:${aws:username}-queue"))
    queue = f"arn:aws:sqs:us-east-2:{ACCOUNT}:bob-queue"
    decision = decide(request("sqs:SendMessage", queue, identity=[queue_policy], context=[ALICE_NAME]))
    assert decision == IMPLICIT_DENY


def test_username_variable_in_string_like_value_is_substituted(decide):
    """Policy variables may be used in String condition values (the doc's sns:endpoint example)."""
    condition = {"StringLike": {"sns:endpoint": "https://example.com/${aws:username}/"}}
    decision = decide(allow_when(condition, ALICE_NAME, entry("sns:endpoint", "https://example.com/alice/")))
    assert decision == ALLOWED


def test_username_variable_in_string_like_value_rejects_other_values(decide):
    """After substitution, the StringLike value matches only the current user's endpoint."""
    condition = {"StringLike": {"sns:endpoint": "https://example.com/${aws:username}/"}}
    decision = decide(allow_when(condition, ALICE_NAME, entry("sns:endpoint", "https://example.com/bob/")))
    assert decision == IMPLICIT_DENY


def test_principal_tag_variable_in_resource_selects_the_department_bucket(decide):
    """A tag can replace part of an ARN: bucket/${aws:PrincipalTag/department} is the caller's."""
    decision = decide(
        _get_object(
            "arn:aws:s3:::bucket/${aws:PrincipalTag/department}",
            "arn:aws:s3:::bucket/finance",
            entry("aws:PrincipalTag/department", "finance"),
        )
    )
    assert decision == ALLOWED


def test_two_variables_in_one_resource_are_both_substituted(decide):
    """Each ${...} placeholder is replaced by its own value from the request context."""
    decision = decide(
        _get_object(
            "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/${aws:username}/*",
            "arn:aws:s3:::bucket/data/alice/notes.txt",
            entry("aws:PrincipalTag/team", "data"),
            ALICE_NAME,
        )
    )
    assert decision == ALLOWED


def test_variable_key_name_is_case_insensitive(decide):
    """Key names are case-insensitive: ${AWS:UserName} reads the aws:username key."""
    decision = decide(
        _get_object("arn:aws:s3:::home/${AWS:UserName}/*", "arn:aws:s3:::home/alice/a.txt", ALICE_NAME)
    )
    assert decision == ALLOWED


def test_default_value_is_used_when_the_key_is_missing(decide):
    """${aws:username, 'guest'} takes the default 'guest' when the request lacks aws:username."""
    decision = decide(
        _get_object("arn:aws:s3:::home/${aws:username, 'guest'}/*", "arn:aws:s3:::home/guest/a.txt")
    )
    assert decision == ALLOWED


def test_default_value_is_ignored_when_the_key_is_present(decide):
    """The default stands in only for a missing key; a present aws:username wins over it."""
    condition = {"StringEquals": {"s3:prefix": "${aws:username, 'guest'}"}}
    assert decide(allow_when(condition, ALICE_NAME, entry("s3:prefix", "guest"))) == IMPLICIT_DENY


def test_default_value_is_used_in_a_condition_when_the_key_is_missing(decide):
    """A variable with a default may appear in String condition values; the default fills a missing key."""
    condition = {"StringLike": {"s3:prefix": "home/${aws:username, 'guest'}/*"}}
    assert decide(allow_when(condition, entry("s3:prefix", "home/guest/photos"))) == ALLOWED


def test_star_escape_matches_a_literal_asterisk(decide):
    """${*} is used where you need a literal * character."""
    decision = decide(_get_object("arn:aws:s3:::bucket/file${*}.txt", "arn:aws:s3:::bucket/file*.txt"))
    assert decision == ALLOWED


def test_star_escape_is_not_a_wildcard(decide):
    """${*} is a literal asterisk, so it does not match other characters as the * wildcard would."""
    decision = decide(_get_object("arn:aws:s3:::bucket/file${*}.txt", "arn:aws:s3:::bucket/fileX.txt"))
    assert decision == IMPLICIT_DENY


def test_question_mark_escape_matches_a_literal_question_mark(decide):
    """${?} is used where you need a literal ? character."""
    condition = {"StringLike": {"aws:PrincipalTag/label": "what${?}"}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/label", "what?"))) == ALLOWED


def test_dollar_escape_matches_a_literal_dollar_sign(decide):
    """${$} is used where you need a literal $ character."""
    condition = {"StringEquals": {"aws:PrincipalTag/price": "${$}5"}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/price", "$5"))) == ALLOWED


def test_variables_are_not_substituted_in_action(decide):
    """Policy variables can be used only in Resource and in String/ARN condition values, not in Action.

    An Action holding ${...} is either rejected as malformed or compared as literal text; it never grants.
    """
    from iamgate.engine.simulate import SimulationInputError

    action_policy = policy(allow("s3:${aws:PrincipalTag/verb}Object", "*"))
    try:
        decision = decide(
            request("s3:GetObject", identity=[action_policy], context=[entry("aws:PrincipalTag/verb", "Get")])
        )
    except SimulationInputError:
        decision = "rejected"
    assert decision in (IMPLICIT_DENY, "rejected")


def test_missing_variable_without_default_makes_resource_match_nothing(decide):
    """An unresolved variable does not become an empty string: bucket/${aws:username}* matches no object."""
    decision = decide(_get_object("arn:aws:s3:::bucket/${aws:username}*", "arn:aws:s3:::bucket/anything"))
    assert decision == IMPLICIT_DENY


def test_missing_variable_without_default_makes_condition_value_match_nothing(decide):
    """A key that is not present makes any attempt to match it fail: ${aws:username}/* matches no prefix."""
    condition = {"StringLike": {"s3:prefix": "${aws:username}/*"}}
    assert decide(allow_when(condition, entry("s3:prefix", "/photos"))) == IMPLICIT_DENY


def test_missing_variable_disables_only_the_value_that_uses_it(decide):
    """Values of one key are OR'd: a value with an unresolved variable fails, the others still match."""
    condition = {"StringLike": {"s3:prefix": ["${aws:username}/*", "public/*"]}}
    assert decide(allow_when(condition, entry("s3:prefix", "public/readme"))) == ALLOWED


def test_variable_in_arn_like_value_is_substituted(decide):
    """You can use a policy variable with the ARN condition operators."""
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:${{aws:username}}-topic"}}
    source = entry("aws:SourceArn", f"arn:aws:sns:us-east-1:{ACCOUNT}:alice-topic")
    assert decide(allow_when(condition, ALICE_NAME, source)) == ALLOWED


def test_substituted_value_is_compared_case_sensitively(decide):
    """Resource ARNs are case-sensitive, so a substituted name must match in case too."""
    decision = decide(
        _get_object(
            "arn:aws:s3:::home/${aws:username}/*",
            "arn:aws:s3:::home/alice/a.txt",
            entry("aws:username", "Alice"),
        )
    )
    assert decision == IMPLICIT_DENY
