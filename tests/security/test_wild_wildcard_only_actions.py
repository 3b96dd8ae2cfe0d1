"""Issue 10: an action that takes no resource is evaluated on ``*``, whatever resource the caller names.

AWS authorizes ``s3:ListAllMyBuckets`` (no resource types in the service authorization reference)
on resource ``*``: ``Allow s3:ListAllMyBuckets on arn:aws:s3:::*`` grants nothing, because
``arn:aws:s3:::*`` does not match ``*``. iamgate evaluated the ARN the caller named instead, so a
caller passing ``arn:aws:s3:::foo`` was allowed what AWS never allows. Now the catalogue (AWS's
reference and the bundle's ``services.json``) decides: only statements whose Resource matches ``*``
apply, Allow and Deny alike, and no facts of the named ARN (its bucket policy) are consulted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import iamgate_client as sdk

from .trust_helpers import sidecar_client

ACCOUNT = "444455556666"
V = "2012-10-17"


def _user(name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    document = {"Version": V, "Statement": list(statements)}
    return {"UserName": name, "UserPolicyList": [{"PolicyName": "Work", "PolicyDocument": document}]}


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _deny(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


USERS = [
    # AWS grants this user nothing: ListAllMyBuckets is authorized on '*', which arn:aws:s3:::* is not.
    _user("carol", _allow("s3:ListAllMyBuckets", "arn:aws:s3:::*")),
    _user(
        "dave",
        _allow("s3:ListAllMyBuckets", "*"),
        _deny("s3:ListAllMyBuckets", "arn:aws:s3:::secret"),
        _allow("s3:GetObject", "arn:aws:s3:::data/*"),
        _deny("s3:GetObject", "arn:aws:s3:::data/secret"),
    ),
    _user(
        "erin",
        _allow("docs:ListDocuments", f"arn:aws:docs:us-east-1:{ACCOUNT}:document/*"),
        _allow("docs:UpdateDocument", f"arn:aws:docs:us-east-1:{ACCOUNT}:document/*"),
        _allow("wiki:ReadPage", f"arn:aws:wiki:us-east-1:{ACCOUNT}:page/*"),
    ),
    {"UserName": "frank"},
]

BUCKET_POLICY = {
    "Version": V,
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/frank"},
            "Action": "s3:ListAllMyBuckets",
            "Resource": "arn:aws:s3:::frank-bucket",
        }
    ],
}

SERVICES = {
    "Services": [
        {
            "Name": "docs",
            "Actions": [
                {"Name": "ListDocuments", "AccessLevel": "List"},
                {"Name": "UpdateDocument", "AccessLevel": "Write", "Resources": [{"Name": "document"}]},
            ],
            "Resources": [
                {
                    "Name": "document",
                    "ARNFormats": ["arn:${Partition}:docs:${Region}:${Account}:document/${Id}"],
                }
            ],
        }
    ]
}


def _write(root: Path, files: dict[str, Any]) -> Path:
    import json

    for path, value in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    bundle = _write(
        tmp_path_factory.mktemp("wildcard-only"),
        {
            f"accounts/{ACCOUNT}/users.json": {"Users": USERS},
            f"accounts/{ACCOUNT}/resource-policies.json": {
                "ResourcePolicies": [{"ResourceArn": "arn:aws:s3:::frank-bucket", "Policy": BUCKET_POLICY}]
            },
            "services.json": SERVICES,
        },
    )
    with sidecar_client(bundle) as (client, _):
        yield client


def _outcome(client: sdk.Client, user: str, action: str, resource: str) -> sdk.Outcome:
    return client.authorize(f"arn:aws:iam::{ACCOUNT}:user/{user}", action, resource).outcome


def test_an_arn_pattern_does_not_grant_an_action_that_takes_no_resource(client):
    assert _outcome(client, "carol", "s3:ListAllMyBuckets", "arn:aws:s3:::foo") is sdk.Outcome.IMPLICIT_DENY


def test_asking_on_star_is_answered_alike(client):
    assert _outcome(client, "carol", "s3:ListAllMyBuckets", "*") is sdk.Outcome.IMPLICIT_DENY


def test_the_over_allow_is_closed_in_batches_too(client):
    principal = f"arn:aws:iam::{ACCOUNT}:user/carol"
    decisions = client.authorize_batch([sdk.Check(principal, "s3:ListAllMyBuckets", "arn:aws:s3:::foo")] * 2)
    assert [d.outcome for d in decisions] == [sdk.Outcome.IMPLICIT_DENY] * 2


def test_a_deny_of_one_arn_does_not_reach_an_action_that_takes_no_resource(client):
    """As in AWS: the request is on '*', which the Deny's ARN does not match; the Allow of '*' grants."""
    assert _outcome(client, "dave", "s3:ListAllMyBuckets", "arn:aws:s3:::secret") is sdk.Outcome.ALLOWED


def test_an_action_with_resource_types_is_evaluated_on_the_arn_given(client):
    assert _outcome(client, "dave", "s3:GetObject", "arn:aws:s3:::data/x") is sdk.Outcome.ALLOWED
    assert _outcome(client, "dave", "s3:GetObject", "arn:aws:s3:::data/secret") is sdk.Outcome.EXPLICIT_DENY


def test_a_services_json_action_without_resources_takes_no_resource(client):
    document = f"arn:aws:docs:us-east-1:{ACCOUNT}:document/1"
    assert _outcome(client, "erin", "docs:ListDocuments", document) is sdk.Outcome.IMPLICIT_DENY
    assert _outcome(client, "erin", "docs:UpdateDocument", document) is sdk.Outcome.ALLOWED


def test_an_action_the_catalogue_does_not_know_is_evaluated_on_the_arn_given(client):
    page = f"arn:aws:wiki:us-east-1:{ACCOUNT}:page/home"
    assert _outcome(client, "erin", "wiki:ReadPage", page) is sdk.Outcome.ALLOWED


def test_the_named_resource_s_policy_is_not_consulted(client):
    """frank-bucket's policy names the action on the bucket's ARN: AWS never evaluates it there."""
    assert (
        _outcome(client, "frank", "s3:ListAllMyBuckets", "arn:aws:s3:::frank-bucket")
        is sdk.Outcome.IMPLICIT_DENY
    )


def test_a_malformed_resource_is_still_refused(client):
    with pytest.raises(sdk.InvalidRequestError, match="resource"):
        client.authorize(f"arn:aws:iam::{ACCOUNT}:user/dave", "s3:ListAllMyBuckets", "not an arn")


def test_explain_says_the_request_was_evaluated_on_star(client):
    explanation = client.explain(
        f"arn:aws:iam::{ACCOUNT}:user/carol", "s3:ListAllMyBuckets", "arn:aws:s3:::foo"
    )
    assert explanation.decision.outcome is sdk.Outcome.IMPLICIT_DENY
    assert any(
        "s3:ListAllMyBuckets takes no resource: evaluated on '*'" in h for h in explanation.decision.hints
    )
