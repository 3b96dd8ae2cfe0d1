"""Edge cases where a value cannot be used as written: unresolved variables, unreadable values,
multivalued keys under plain operators, empty lists, and a role named by its own ARN.

Each follows AWS's documentation: a policy variable that cannot be resolved makes its value match
nothing (so a negated operator cannot hold either); multivalued keys need a set operator; Null
asks only whether a key is present; a resource-based policy naming a role ARN stays capped by the
role's permissions boundary.
"""

from __future__ import annotations

from typing import Any

from iamgate.engine.simulate import simulate

ALICE = "arn:aws:iam::111122223333:user/alice"
OWNER = "arn:aws:iam::111122223333:root"


def _decide(condition: dict, context: list[dict], *, caller: str = ALICE) -> str:
    request: dict[str, Any] = {
        "CallerArn": caller,
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::bucket/key"],
        "ResourceOwner": OWNER,
        "PolicyInputList": [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": condition}],
            }
        ],
        "ContextEntries": context,
    }
    return simulate(request)["EvaluationResults"][0]["EvalDecision"]


def _entry(name: str, values: list[str], kind: str = "string") -> dict:
    return {"ContextKeyName": name, "ContextKeyValues": values, "ContextKeyType": kind}


def test_string_not_equals_against_an_unresolved_variable_does_not_hold() -> None:
    condition = {"StringNotEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
    assert _decide(condition, [_entry("aws:PrincipalTag/team", ["red"])]) == "implicitDeny"


def test_string_not_equals_against_a_resolved_variable_holds() -> None:
    condition = {"StringNotEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
    context = [_entry("aws:PrincipalTag/team", ["red"]), _entry("aws:username", ["alice"])]
    assert _decide(condition, context) == "allowed"


def test_a_default_needs_a_comma_and_a_space() -> None:
    """``${aws:username,'x'}`` is not the default syntax: the variable stays unresolved."""
    condition = {"StringEquals": {"aws:PrincipalTag/team": "${aws:username,'red'}"}}
    assert _decide(condition, [_entry("aws:PrincipalTag/team", ["red"])]) == "implicitDeny"
    condition = {"StringEquals": {"aws:PrincipalTag/team": "${aws:username, 'red'}"}}
    assert _decide(condition, [_entry("aws:PrincipalTag/team", ["red"])]) == "allowed"


def test_numeric_not_equals_on_a_value_that_is_not_a_number_does_not_hold() -> None:
    condition = {"NumericNotEquals": {"s3:max-keys": "10"}}
    assert _decide(condition, [_entry("s3:max-keys", ["ten"])]) == "implicitDeny"


def test_a_plain_operator_never_matches_a_multivalued_key() -> None:
    condition = {"StringEquals": {"aws:TagKeys": "team"}}
    assert _decide(condition, [_entry("aws:TagKeys", ["team"], "stringList")]) == "implicitDeny"
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}}
    assert _decide(condition, [_entry("aws:TagKeys", ["team"], "stringList")]) == "allowed"


def test_an_empty_list_is_present_for_null() -> None:
    assert _decide({"Null": {"aws:TagKeys": "false"}}, [_entry("aws:TagKeys", [], "stringList")]) == "allowed"
    assert (
        _decide({"Null": {"aws:TagKeys": "true"}}, [_entry("aws:TagKeys", [], "stringList")])
        == "implicitDeny"
    )


def test_a_resource_policy_naming_the_role_arn_stays_capped_by_the_roles_boundary() -> None:
    role = "arn:aws:iam::111122223333:role/app"
    request = {
        "CallerArn": role,
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::bucket/key"],
        "ResourceOwner": OWNER,
        "PolicyInputList": [],
        "ResourcePolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": "*"}
            ],
        },
        "PermissionsBoundaryPolicyInputList": [
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
        ],
        "ContextEntries": [],
    }
    assert simulate(request)["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    del request["PermissionsBoundaryPolicyInputList"]
    assert simulate(request)["EvaluationResults"][0]["EvalDecision"] == "allowed"


def _with_resource_policy(caller: str, statement: dict) -> str:
    request = {
        "CallerArn": caller,
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::bucket/key"],
        "ResourceOwner": OWNER,
        "PolicyInputList": [],
        "ResourcePolicy": {"Version": "2012-10-17", "Statement": [statement]},
        "ContextEntries": [],
    }
    return simulate(request)["EvaluationResults"][0]["EvalDecision"]


def test_an_allow_with_not_principal_leaves_out_the_caller_it_names() -> None:
    """Allow + NotPrincipal grants to everyone *else*: naming the caller in any way excludes it."""
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": ALICE}, "Action": "s3:GetObject", "Resource": "*"}
    assert _with_resource_policy(ALICE, statement) == "implicitDeny"
    assert _with_resource_policy("arn:aws:iam::111122223333:user/bob", statement) == "allowed"


def test_a_role_caller_is_named_only_by_its_exact_arn() -> None:
    """A role ARN with another path names another role; a session ARN carries no path."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:role/team/app"},
        "Action": "s3:GetObject",
        "Resource": "*",
    }
    assert _with_resource_policy("arn:aws:iam::111122223333:role/app", statement) == "implicitDeny"
    assert _with_resource_policy("arn:aws:iam::111122223333:role/team/app", statement) == "allowed"
    session = "arn:aws:sts::111122223333:assumed-role/app/s1"
    assert _with_resource_policy(session, statement) == "allowed"


def test_a_simulation_without_a_trust_policy_simulates_the_identity_side_alone() -> None:
    """Like AWS's SimulateCustomPolicy, a simulation evaluates only the policies it is given: with
    no ResourcePolicy, sts:AssumeRole is decided by the identity-based policies. (A bundle never
    lets a role without a trust policy be assumed: tests/bundle/test_trust_required.py.)"""
    request = {
        "CallerArn": ALICE,
        "ActionNames": ["sts:AssumeRole"],
        "ResourceArns": ["arn:aws:iam::111122223333:role/admin"],
        "ResourceOwner": OWNER,
        "PolicyInputList": [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ],
        "ContextEntries": [],
    }
    assert simulate(request)["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_for_any_value_if_exists_on_a_missing_key_does_not_hold() -> None:
    """AWS answers ForAnyValue:StringEqualsIfExists on a request without the key with "no
    identity-based policy allows": ForAnyValue needs some value to hold, IfExists or not."""
    condition = {"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "team"}}
    assert _decide(condition, []) == "implicitDeny"
    condition = {"ForAllValues:StringEqualsIfExists": {"aws:TagKeys": "team"}}
    assert _decide(condition, []) == "allowed"
