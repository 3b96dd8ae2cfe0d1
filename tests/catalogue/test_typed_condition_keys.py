"""Multivalued condition keys come from their declared types, not from a hard-coded list.

AWS's "Single-valued vs. multivalued context keys": a multivalued key (``ArrayOf...`` in the service
authorization reference, "Multivalued" for the global keys) carries a set of values, and only the
set operators ``ForAnyValue``/``ForAllValues`` compare sets: a plain operator on a set of values
never matches (nor does its negation). A single-valued key given several values is compared value
by value. ``ForAllValues`` holds on a missing key and ``ForAnyValue`` does not. The typing is fixed
when a policy is compiled (AWS's reference, plus a bundle's own ``services.json``), never per request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamgate.bundle.activation import BundleManager
from iamgate.bundle.query import AccessQuery
from iamgate.catalogue import aws_catalogue, empty_catalogue
from iamgate.engine.compiled import compile_policy
from iamgate.engine.conditions import MULTIVALUED_KEYS
from iamgate.engine.evaluator import PolicySet, evaluate
from iamgate.engine.request import ContextValue, Principal, Request, build_context
from iamgate.engine.result import Decision, PolicyKind
from iamgate.engine.simulate import simulate
from iamgate.policy import parse_policy
from tests.bundle.helpers import ACCOUNT, NOON, minimal_files, write_files

ALICE = "arn:aws:iam::111122223333:user/alice"


def _simulate(condition: dict, context: list[dict], action: str = "events:PutEvents") -> str:
    request: dict[str, Any] = {
        "CallerArn": ALICE,
        "ActionNames": [action],
        "ResourceArns": ["arn:aws:events:us-east-1:111122223333:event-bus/default"],
        "PolicyInputList": [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}],
            }
        ],
        "ContextEntries": context,
    }
    return simulate(request)["EvaluationResults"][0]["EvalDecision"]


def _list(name: str, *values: str) -> dict:
    return {"ContextKeyName": name, "ContextKeyValues": list(values), "ContextKeyType": "stringList"}


def _string(name: str, value: str) -> dict:
    return {"ContextKeyName": name, "ContextKeyValues": [value], "ContextKeyType": "string"}


# -- the catalogue's typing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["events:detail-type", "EVENTS:Detail-Type", "kms:EncryptionContextKeys", "sts:TransitiveTagKeys"],
)
def test_service_keys_declared_array_of_are_multivalued(key):
    assert aws_catalogue().multivalued(key)


@pytest.mark.parametrize(
    "key", ["s3:prefix", "aws:PrincipalTag/team", "ec2:ResourceTag/env", "aws:SourceVpce"]
)
def test_keys_declared_single_valued_are_not(key):
    assert not aws_catalogue().multivalued(key)


def test_every_documented_global_multivalued_key_is_multivalued_in_the_catalogue():
    assert all(aws_catalogue().multivalued(key) for key in MULTIVALUED_KEYS)


def test_aws_vpce_org_paths_is_multivalued_too():
    """AWS documents aws:VpceOrgPaths as multivalued; the hard-coded list of six never held it."""
    assert "aws:vpceorgpaths" not in MULTIVALUED_KEYS
    assert aws_catalogue().multivalued("aws:VpceOrgPaths")


def test_a_key_the_catalogue_does_not_know_is_not_multivalued():
    assert not aws_catalogue().multivalued("docs:Labels")
    assert not empty_catalogue().multivalued("events:detail-type")


# -- evaluation (simulate types keys by AWS's reference) -------------------------------------------


def test_a_plain_operator_never_matches_a_multivalued_service_key_given_as_a_list():
    condition = {"StringEquals": {"events:detail-type": "Order Placed"}}
    assert _simulate(condition, [_list("events:detail-type", "Order Placed")]) == "implicitDeny"


def test_a_negated_plain_operator_never_matches_a_multivalued_service_key_either():
    condition = {"StringNotEquals": {"events:detail-type": "Order Placed"}}
    assert _simulate(condition, [_list("events:detail-type", "Order Shipped")]) == "implicitDeny"


def test_for_any_value_compares_a_multivalued_service_key():
    condition = {"ForAnyValue:StringEquals": {"events:detail-type": "Order Placed"}}
    context = [_list("events:detail-type", "Order Shipped", "Order Placed")]
    assert _simulate(condition, context) == "allowed"


def test_for_all_values_needs_every_request_value_in_the_policy():
    condition = {"ForAllValues:StringEquals": {"events:detail-type": ["Order Placed", "Order Shipped"]}}
    assert _simulate(condition, [_list("events:detail-type", "Order Placed")]) == "allowed"
    context = [_list("events:detail-type", "Order Placed", "Refund")]
    assert _simulate(condition, context) == "implicitDeny"


def test_for_all_values_holds_on_a_missing_multivalued_key_and_for_any_value_does_not():
    assert _simulate({"ForAllValues:StringEquals": {"events:detail-type": "Order Placed"}}, []) == "allowed"
    assert (
        _simulate({"ForAnyValue:StringEquals": {"events:detail-type": "Order Placed"}}, []) == "implicitDeny"
    )


def test_a_single_valued_key_given_several_values_is_compared_value_by_value():
    """s3:prefix is a String key: a plain operator matches when any given value matches."""
    condition = {"StringEquals": {"s3:prefix": "home/"}}
    context = [_list("s3:prefix", "tmp/", "home/")]
    assert _simulate(condition, context, action="s3:ListBucket") == "allowed"


def test_a_set_operator_on_a_single_valued_key_compares_its_one_value():
    """AWS warns against it (overly permissive), but a set operator still reads the one value."""
    condition = {"ForAnyValue:StringEquals": {"s3:prefix": "home/"}}
    assert _simulate(condition, [_string("s3:prefix", "home/")], action="s3:ListBucket") == "allowed"
    condition = {"ForAllValues:StringEquals": {"s3:prefix": "home/"}}
    assert _simulate(condition, [], action="s3:ListBucket") == "allowed"


def test_a_deny_with_a_plain_operator_on_a_multivalued_key_does_not_apply():
    """The reason ``iamgate validate`` flags multivalued-key-plain-operator: this Deny never denies."""
    request: dict[str, Any] = {
        "CallerArn": ALICE,
        "ActionNames": ["events:PutEvents"],
        "ResourceArns": ["arn:aws:events:us-east-1:111122223333:event-bus/default"],
        "PolicyInputList": [
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "events:*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Action": "events:*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"events:detail-type": "Refund"}},
                    },
                ],
            }
        ],
        "ContextEntries": [_list("events:detail-type", "Refund")],
    }
    assert simulate(request)["EvaluationResults"][0]["EvalDecision"] == "allowed"
    request["PolicyInputList"][0]["Statement"][1]["Condition"] = {
        "ForAnyValue:StringEquals": {"events:detail-type": "Refund"}
    }
    assert simulate(request)["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"


def test_a_single_string_value_of_a_multivalued_key_is_compared_as_given():
    """As before for the global keys: only a list (or a key given several values) is a set."""
    condition = {"StringEquals": {"events:detail-type": "Order Placed"}}
    assert _simulate(condition, [_string("events:detail-type", "Order Placed")]) == "allowed"


# -- the engine's typing is a compile-time input ---------------------------------------------------


def _decide(policy: dict, context: list[ContextValue], *, multivalued=None) -> Decision:
    kwargs = {} if multivalued is None else {"multivalued": multivalued}
    compiled = compile_policy(parse_policy(policy), policy_id="p", kind=PolicyKind.IDENTITY, **kwargs)
    request = Request(
        Principal.parse(ALICE), "docs:Update", "arn:aws:docs:::document/a", build_context(context)
    )
    return evaluate(PolicySet(identity=(compiled,)), request).decision


LABELS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "docs:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"docs:Labels": "x"}},
        }
    ],
}


def test_without_a_typing_the_engine_keeps_the_documented_global_keys_only():
    context = [ContextValue("docs:Labels", ("x",), multi=True)]
    assert _decide(LABELS_POLICY, context) is Decision.ALLOWED
    assert (
        _decide(LABELS_POLICY, context, multivalued=lambda key: key == "docs:labels")
        is Decision.IMPLICIT_DENY
    )


def test_a_typing_cannot_make_a_documented_global_multivalued_key_single_valued():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:TagKeys": "x"}},
            }
        ],
    }
    context = [ContextValue("aws:TagKeys", ("x",), multi=True)]
    assert _decide(policy, context, multivalued=lambda _key: False) is Decision.IMPLICIT_DENY


# -- a bundle types its own services' keys (services.json) -----------------------------------------

DOCS_SERVICE = {
    "Services": [
        {
            "Name": "docs",
            "Actions": [
                {
                    "Name": "UpdateDocument",
                    "AccessLevel": "Write",
                    "Resources": [{"Name": "document"}],
                    "ActionConditionKeys": ["docs:Labels"],
                }
            ],
            "Resources": [{"Name": "document", "ARNFormats": ["arn:${Partition}:docs:::document/${Id}"]}],
            "ConditionKeys": [{"Name": "docs:Labels", "Types": ["ArrayOfString"]}],
        }
    ]
}


READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def _bundle_decision(tmp_path: Path, operator: str, *, services: bool = True) -> Decision:
    statement = {
        "Effect": "Allow",
        "Action": "docs:UpdateDocument",
        "Resource": "*",
        "Condition": {operator: {"docs:Labels": "draft"}},
    }
    files: dict[str, Any] = {
        f"accounts/{ACCOUNT}/policies.json": {
            "Policies": [
                {
                    "PolicyName": "S3Read",
                    "Document": {"Version": "2012-10-17", "Statement": [READ, statement]},
                }
            ]
        }
    }
    if services:
        files["services.json"] = DOCS_SERVICE
    snapshot = BundleManager().activate_path(write_files(tmp_path / "bundle", minimal_files(files)))
    query = AccessQuery(
        "alice",
        "docs:UpdateDocument",
        "arn:aws:docs:::document/a",
        (ContextValue("docs:Labels", ("draft",), multi=True),),
    )
    return snapshot.authorize(query, now=NOON).evaluation.decision


def test_a_bundles_own_multivalued_key_needs_a_set_operator(tmp_path):
    assert _bundle_decision(tmp_path, "StringEquals") is Decision.IMPLICIT_DENY
    assert _bundle_decision(tmp_path / "any", "ForAnyValue:StringEquals") is Decision.ALLOWED


def test_without_services_json_the_same_key_is_compared_value_by_value(tmp_path):
    assert _bundle_decision(tmp_path, "StringEquals", services=False) is Decision.ALLOWED


def test_an_explanation_says_why_a_plain_operator_missed_a_multivalued_key():
    request: dict[str, Any] = {
        "CallerArn": ALICE,
        "ActionNames": ["events:PutEvents"],
        "ResourceArns": ["arn:aws:events:us-east-1:111122223333:event-bus/default"],
        "PolicyInputList": [
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"events:detail-type": "Order Placed"}},
                    }
                ],
            }
        ],
        "ContextEntries": [_list("events:detail-type", "Order Placed")],
    }
    explanation = simulate(request, explain=True)["EvaluationResults"][0]["Explanation"]
    [condition] = explanation["Policies"][0]["Statements"][0]["Conditions"]
    assert condition["Matched"] is False
    assert "a plain operator never matches a set of values" in condition["Note"]


def test_the_catalogue_imports_no_layer_above_the_policy_language():
    """The engine (simulate) and the bundle both ask it for key types: it must stay beneath them."""
    import ast

    import iamgate.catalogue

    tree = ast.parse(Path(iamgate.catalogue.__file__).read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in modules if m.startswith("iamgate.")} <= {"iamgate.policy.json_text"}


def test_a_session_policy_is_compiled_with_the_bundles_typing(tmp_path):
    role = {
        "RoleName": "worker",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "RolePolicyList": [
            {
                "PolicyName": "Docs",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "docs:*", "Resource": "*"}],
                },
            }
        ],
    }
    files = {f"accounts/{ACCOUNT}/roles.json": {"Roles": [role]}, "services.json": DOCS_SERVICE}
    snapshot = BundleManager().activate_path(write_files(tmp_path / "bundle", minimal_files(files)))

    def decide(operator: str) -> Decision:
        statement = {
            "Effect": "Allow",
            "Action": "docs:*",
            "Resource": "*",
            "Condition": {operator: {"docs:Labels": "draft"}},
        }
        query = AccessQuery(
            f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/task-1",
            "docs:UpdateDocument",
            "arn:aws:docs:::document/a",
            (ContextValue("docs:Labels", ("draft",), multi=True),),
            session_policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        return snapshot.authorize(query, now=NOON).evaluation.decision

    assert decide("StringEquals") is Decision.IMPLICIT_DENY
    assert decide("ForAnyValue:StringEquals") is Decision.ALLOWED
