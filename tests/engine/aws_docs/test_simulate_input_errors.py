"""Malformed simulate requests: SimulateCustomPolicy rejects invalid input (InvalidInput) instead of guessing,
and iamgate names the offending field's path (issue 3, item 7; DEVELOPERS.md: bad input gets a clear error
naming the field, never a guess). Field rules from the SimulateCustomPolicy and ContextEntry API reference.
"""

from __future__ import annotations

import pytest

from .builders import allow, entry, policy, request

GOOD_POLICY = policy(allow("s3:GetObject", "*"))


def _input_error(body):
    from iamgate.engine.simulate import SimulationInputError, simulate

    with pytest.raises(SimulationInputError) as caught:
        simulate(body)
    return caught.value


def test_missing_action_names_is_an_input_error_naming_the_field():
    """ActionNames is a required member of SimulateCustomPolicy."""
    body = request(identity=[GOOD_POLICY])
    del body["ActionNames"]
    assert "ActionNames" in _input_error(body).path


def test_empty_action_name_is_an_input_error():
    """An action name has a service prefix and a name; the empty string is neither."""
    body = request(identity=[GOOD_POLICY])
    body["ActionNames"] = [""]
    assert "ActionNames" in _input_error(body).path


def test_unknown_context_key_type_is_an_input_error_naming_the_entry():
    """ContextKeyType is one of string, stringList, numeric, ..., dateList; anything else is invalid."""
    body = request(
        identity=[GOOD_POLICY],
        context=[entry("aws:username", "alice"), entry("s3:max-keys", "10", "decimal")],
    )
    error = _input_error(body)
    assert "ContextEntries" in error.path
    assert "1" in error.path
    assert "ContextKeyType" in error.path


def test_numeric_context_value_that_is_not_a_number_is_an_input_error():
    """ContextKeyType is the data type of the values: a numeric entry holding "ten" contradicts it."""
    body = request(identity=[GOOD_POLICY], context=[entry("s3:max-keys", "ten", "numeric")])
    error = _input_error(body)
    assert "ContextEntries" in error.path
    assert "ContextKeyValues" in error.path


def test_boolean_context_value_that_is_not_true_or_false_is_an_input_error():
    """ContextKeyType is the data type of the values: a boolean entry holding "yes" contradicts it."""
    body = request(identity=[GOOD_POLICY], context=[entry("aws:SecureTransport", "yes", "boolean")])
    assert "ContextKeyValues" in _input_error(body).path


def test_ip_context_value_that_is_not_an_address_is_an_input_error():
    """ContextKeyType is the data type of the values: an ip entry holding "300.1.1.1" contradicts it."""
    body = request(identity=[GOOD_POLICY], context=[entry("aws:SourceIp", "300.1.1.1", "ip")])
    assert "ContextKeyValues" in _input_error(body).path


def test_date_context_value_that_is_not_a_date_is_an_input_error():
    """ContextKeyType is the data type of the values: a date entry holding "tomorrow" contradicts it."""
    body = request(identity=[GOOD_POLICY], context=[entry("aws:CurrentTime", "tomorrow", "date")])
    assert "ContextKeyValues" in _input_error(body).path


def test_policy_text_that_is_not_json_is_an_input_error_naming_the_policy():
    """Each PolicyInputList member must be a valid policy document."""
    body = request(identity=[GOOD_POLICY, '{"Version": "2012-10-17", "Statement": ['])
    error = _input_error(body)
    assert "PolicyInputList" in error.path
    assert "1" in error.path


def test_invalid_policy_document_is_an_input_error_naming_the_policy():
    """A document with an invalid Effect is not a policy; the error names where it sits."""
    bad = policy({"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"})
    body = request(identity=[GOOD_POLICY], boundary=[bad])
    assert "PermissionsBoundaryPolicyInputList" in _input_error(body).path


def test_invalid_session_policy_is_an_input_error_naming_the_session_policy_list():
    """SessionPolicyList members are policy documents and are validated like the others."""
    body = request(caller="arn:aws:sts::111122223333:assumed-role/app-role/worker", session=["not json"])
    assert "SessionPolicyList" in _input_error(body).path


def test_caller_arn_that_is_not_an_arn_is_an_input_error():
    """CallerArn must be the ARN of a user, role, session or a service principal."""
    body = request(identity=[GOOD_POLICY], caller="alice")
    assert "CallerArn" in _input_error(body).path


def test_resource_owner_that_is_not_an_account_arn_is_an_input_error():
    """ResourceOwner is an account ARN such as arn:aws:iam::111122223333:root."""
    body = request(identity=[GOOD_POLICY])
    body["ResourceOwner"] = "somebody"
    assert "ResourceOwner" in _input_error(body).path


def test_scp_levels_that_are_not_lists_of_documents_are_an_input_error():
    """ServiceControlPolicyLevels is a list of levels, each a list of documents."""
    body = request(identity=[GOOD_POLICY])
    body["ServiceControlPolicyLevels"] = [GOOD_POLICY]
    assert "ServiceControlPolicyLevels" in _input_error(body).path


def test_input_error_message_says_what_is_wrong():
    """The error carries a message for people, not only a path: here it names the bad ContextKeyType."""
    body = request(identity=[GOOD_POLICY], context=[entry("s3:max-keys", "10", "decimal")])
    error = _input_error(body)
    assert "decimal" in error.message or "numeric" in error.message


def test_simulate_many_answers_the_good_requests_around_a_bad_one():
    """A malformed request gets an error naming its index and path, and the others are still answered."""
    from iamgate.engine.simulate import simulate_many

    good = request(identity=[GOOD_POLICY])
    bad = request(identity=[GOOD_POLICY])
    del bad["ActionNames"]
    answers = simulate_many([good, bad, good])
    assert answers[0]["EvaluationResults"][0]["EvalDecision"] == "allowed"
    assert answers[1]["Error"]["Index"] == 1
    assert "ActionNames" in answers[1]["Error"]["Path"]
    assert answers[2]["EvaluationResults"][0]["EvalDecision"] == "allowed"
