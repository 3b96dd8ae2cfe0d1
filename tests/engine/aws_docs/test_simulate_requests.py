"""The SimulateCustomPolicy request and response shapes, and the policy grammar seen through them
("IAM JSON policy element reference" and the SimulateCustomPolicy API reference).
"""

from __future__ import annotations

import json

from .builders import (
    ALLOWED,
    BUCKET,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    OBJECT,
    allow,
    deny,
    policy,
    request,
)


def test_policy_document_given_as_a_json_string_is_read(decide):
    """SimulateCustomPolicy takes policy documents as JSON text."""
    assert decide(request(identity=[json.dumps(policy(allow("s3:GetObject", OBJECT)))])) == ALLOWED


def test_statement_may_be_a_single_object(decide):
    """The Statement element may hold one statement object instead of a list."""
    document = {"Version": "2012-10-17", "Statement": allow("s3:GetObject", OBJECT)}
    assert decide(request(identity=[document])) == ALLOWED


def test_action_names_are_case_insensitive(decide):
    """Action names are case-insensitive: S3:getobject is s3:GetObject."""
    assert decide(request(identity=[policy(allow("S3:getobject", OBJECT))])) == ALLOWED


def test_resource_arns_are_case_sensitive(decide):
    """Resource ARNs are case-sensitive: arn:aws:s3:::Example-Bucket is another bucket."""
    document = policy(allow("s3:GetObject", "arn:aws:s3:::Example-Bucket/*"))
    assert decide(request(identity=[document])) == IMPLICIT_DENY


def test_action_wildcard_question_mark_matches_one_character(decide):
    """Action names may use * and ?; ? matches exactly one character."""
    assert decide(request("s3:GetObject", identity=[policy(allow("s3:?etObject", "*"))])) == ALLOWED


def test_one_result_per_action_and_resource():
    """SimulateCustomPolicy answers each action for each resource."""
    from iamgate.engine.simulate import simulate

    body = request(identity=[policy(allow("s3:GetObject", f"{BUCKET}/*"))])
    body["ActionNames"] = ["s3:GetObject", "s3:DeleteObject"]
    body["ResourceArns"] = [OBJECT, "arn:aws:s3:::other-bucket/x"]
    results = simulate(body)["EvaluationResults"]
    decisions = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}
    assert len(results) == 4
    assert decisions == {
        ("s3:GetObject", OBJECT): ALLOWED,
        ("s3:GetObject", "arn:aws:s3:::other-bucket/x"): IMPLICIT_DENY,
        ("s3:DeleteObject", OBJECT): IMPLICIT_DENY,
        ("s3:DeleteObject", "arn:aws:s3:::other-bucket/x"): IMPLICIT_DENY,
    }


def test_matched_statements_name_the_deny_that_decided(simulate_one):
    """An explicit deny is reported with the statement that matched (its Sid)."""
    document = policy(allow("s3:*", "*", sid="AllowAll"), deny("s3:GetObject", OBJECT, sid="DenyReport"))
    result = simulate_one(request(identity=[document]))
    assert result["EvalDecision"] == EXPLICIT_DENY
    assert [m["Sid"] for m in result["MatchedStatements"]] == ["DenyReport"]


def test_matched_statements_name_the_allow_that_decided(simulate_one):
    """An allowed result is reported with the Allow statement that granted it."""
    document = policy(allow("ec2:*", "*", sid="Ec2"), allow("s3:GetObject", OBJECT, sid="ReadReport"))
    result = simulate_one(request(identity=[document]))
    assert result["EvalDecision"] == ALLOWED
    assert [m["Sid"] for m in result["MatchedStatements"]] == ["ReadReport"]


def test_implicit_deny_matches_no_statement(simulate_one):
    """An implicit deny is the absence of any applicable statement."""
    result = simulate_one(request(identity=[policy(allow("ec2:*", "*", sid="Ec2"))]))
    assert result["EvalDecision"] == IMPLICIT_DENY
    assert result["MatchedStatements"] == []


def test_missing_context_values_lists_keys_the_conditions_needed(simulate_one):
    """SimulateCustomPolicy reports condition keys a statement needed and the request did not supply."""
    document = policy(allow("s3:GetObject", "*", condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    result = simulate_one(request(identity=[document]))
    assert [key.lower() for key in result["MissingContextValues"]] == ["aws:sourceip"]
