"""Review findings: a principal or S3 resource spelled another way must not skip a Deny.

A resource policy that denies one role session (or one service) names it the way AWS spells it;
a session ARN with a region, a path or whitespace, or a service name in capitals, resolved to the
same role but no longer matched the Deny. An S3 object ARN with a region or account field passed
an identity ``Resource: *`` but missed its bucket's policy. Each is now refused or denied.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import iamgate_client as sdk
from tests.security.trust_helpers import ABAC, ABAC_FILES, VAULT, _doc, sidecar_client

BLOCKED = f"arn:aws:sts::{ABAC}:assumed-role/analyst/blocked"
OPEN_OBJECT = "arn:aws:s3:::open/x"


def _bundle(root: Path) -> Path:
    files = copy.deepcopy(ABAC_FILES)
    files[f"accounts/{ABAC}/users.json"]["Users"].append(
        {
            "UserName": "wide",
            "UserPolicyList": [
                {
                    "PolicyName": "All",
                    "PolicyDocument": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                }
            ],
        }
    )
    files[f"accounts/{ABAC}/resource-policies.json"]["ResourcePolicies"].append(
        {
            "ResourceArn": "arn:aws:s3:::open",
            "Policy": _doc(
                {
                    "Sid": "NoBlockedSession",
                    "Effect": "Deny",
                    "Principal": {"AWS": BLOCKED},
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::open/*",
                },
                {
                    "Sid": "NoEc2",
                    "Effect": "Deny",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::open/*",
                },
                {
                    "Sid": "Everyone",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::open/*",
                },
            ),
        }
    )
    for path, value in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    with sidecar_client(_bundle(tmp_path_factory.mktemp("spellings"))) as (client, _running):
        yield client


def _not_allowed(client: sdk.Client, principal: str, resource: str) -> bool:
    try:
        return not client.authorize(principal, "s3:GetObject", resource).allowed
    except sdk.InvalidRequestError as error:
        return error.code == "INVALID_ARGUMENT"


def test_the_session_named_by_a_deny_is_denied(client: sdk.Client) -> None:
    assert client.authorize(BLOCKED, "s3:GetObject", OPEN_OBJECT).outcome == "explicitDeny"


@pytest.mark.parametrize(
    "spelling",
    [
        f"arn:aws:sts:us-east-1:{ABAC}:assumed-role/analyst/blocked",
        f"arn:aws-cn:sts::{ABAC}:assumed-role/analyst/blocked",
        f"arn:aws:sts::{ABAC}:assumed-role/some/path/analyst/blocked",
        f"arn:aws:sts::{ABAC}:assumed-role/analyst/blocked\t",
        f"arn:aws:sts::{ABAC}:assumed-role/analyst/blocked ",
    ],
)
def test_a_respelled_session_arn_never_escapes_the_deny_naming_it(client: sdk.Client, spelling: str) -> None:
    assert _not_allowed(client, spelling, OPEN_OBJECT)


@pytest.mark.parametrize("spelling", ["EC2.amazonaws.com", "ec2.amazonaws.com\n"])
def test_a_respelled_service_principal_never_escapes_the_deny_naming_it(
    client: sdk.Client, spelling: str
) -> None:
    assert client.authorize("ec2.amazonaws.com", "s3:GetObject", OPEN_OBJECT).outcome == "explicitDeny"
    assert _not_allowed(client, spelling, OPEN_OBJECT)


@pytest.mark.parametrize(
    "spelling", ["arn:aws:s3:us-east-1::vault/keys.txt", f"arn:aws:s3::{ABAC}:vault/keys.txt"]
)
def test_an_s3_object_with_a_region_or_account_never_skips_its_bucket_policy(
    client: sdk.Client, spelling: str
) -> None:
    assert client.authorize("wide", "s3:GetObject", VAULT).outcome == "explicitDeny"
    assert _not_allowed(client, "wide", spelling)


def test_s3_access_points_keep_their_region_and_account(client: sdk.Client) -> None:
    access_point = f"arn:aws:s3:us-east-1:{ABAC}:accesspoint/reports/object/a.csv"
    assert client.authorize("wide", "s3:GetObject", access_point).allowed
