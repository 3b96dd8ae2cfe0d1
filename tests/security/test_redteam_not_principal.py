"""Red team: a Deny with NotPrincipal spares a role session only when it names the session, role and account.

AWS evaluates a session as the session, its role and the role's account; its NotPrincipal example
lists all three and warns that without the role "the policy might deny access to the role". The
sidecar used to spare a session whose NotPrincipal listed only the session and the account, so a
bucket policy meant to lock everyone out but one fully named session let a half-named one in.
"""

from __future__ import annotations

import json

import pytest

import iamgate_client as sdk

from .trust_helpers import sidecar_client

ACCOUNT = "111122223333"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/app"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reader"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
V = "2012-10-17"


def _bundle(root):
    files = {
        f"accounts/{ACCOUNT}/roles.json": {
            "Roles": [
                {
                    "RoleName": "reader",
                    "AssumeRolePolicyDocument": {
                        "Version": V,
                        "Statement": [
                            {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}
                        ],
                    },
                    "RolePolicyList": [
                        {
                            "PolicyName": "Read",
                            "PolicyDocument": {
                                "Version": V,
                                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                            },
                        }
                    ],
                }
            ]
        },
        f"accounts/{ACCOUNT}/resource-policies.json": {
            "ResourcePolicies": [
                {
                    "ResourceArn": f"arn:aws:s3:::{bucket}",
                    "Policy": {
                        "Version": V,
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "NotPrincipal": {"AWS": listed},
                                "Action": "s3:*",
                                "Resource": f"arn:aws:s3:::{bucket}/*",
                            }
                        ],
                    },
                }
                for bucket, listed in (
                    ("half-named", [SESSION, ROOT]),
                    ("fully-named", [SESSION, ROLE, ROOT]),
                )
            ]
        },
    }
    for path, document in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document))
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sidecar_client(_bundle(tmp_path_factory.mktemp("notprincipal"))) as (client, _):
        yield client


def test_a_session_listed_with_its_role_and_account_is_spared(client):
    assert (
        client.authorize(SESSION, "s3:GetObject", "arn:aws:s3:::fully-named/x").outcome is sdk.Outcome.ALLOWED
    )


def test_a_session_listed_without_its_role_is_still_denied(client):
    decision = client.authorize(SESSION, "s3:GetObject", "arn:aws:s3:::half-named/x")
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY
