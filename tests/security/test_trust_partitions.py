"""A resource policy naming a principal of one partition never names one of another.

Account ids and roles are per partition: ``arn:aws-cn:iam::111122223333:role/deployer`` (China) is
not ``arn:aws:iam::111122223333:role/deployer``, and AWS never lets the one act as the other. The
sidecar used to match a role session and an account root by account and role name alone, so a
China role's session got what a bucket policy granted the commercial partition's role of the same
name, and a NotPrincipal Deny listing the commercial role spared the China one.
"""

from __future__ import annotations

import json

import pytest

import iamgate_client as sdk

from .trust_helpers import sidecar_client

ACCOUNT = "111122223333"
CN_ROLE = f"arn:aws-cn:iam::{ACCOUNT}:role/deployer"
CN_SESSION = f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/deployer/build-7"
V = "2012-10-17"


def _statement(effect: str, principal_key: str, principal: object, resource: str) -> dict:
    return {
        "Effect": effect,
        principal_key: {"AWS": principal},
        "Action": "s3:GetObject",
        "Resource": resource,
    }


def _bundle(root):
    files = {
        f"accounts/{ACCOUNT}/roles.json": {
            "Roles": [
                {
                    "RoleName": "deployer",
                    "Arn": CN_ROLE,
                    "AssumeRolePolicyDocument": {
                        "Version": V,
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "RolePolicyList": [
                        {
                            "PolicyName": "ReadLocked",
                            "PolicyDocument": {
                                "Version": V,
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "s3:GetObject",
                                        "Resource": "arn:*:s3:::locked/*",
                                    }
                                ],
                            },
                        }
                    ],
                }
            ]
        },
        f"accounts/{ACCOUNT}/resource-policies.json": {
            "ResourcePolicies": [
                {
                    "ResourceArn": "arn:aws:s3:::global",
                    "Policy": {
                        "Version": V,
                        "Statement": [
                            _statement(
                                "Allow",
                                "Principal",
                                f"arn:aws:iam::{ACCOUNT}:role/deployer",
                                "arn:aws:s3:::global/*",
                            )
                        ],
                    },
                },
                {
                    "ResourceArn": "arn:aws:s3:::shared",
                    "Policy": {
                        "Version": V,
                        "Statement": [
                            _statement(
                                "Deny",
                                "NotPrincipal",
                                [f"arn:aws:iam::{ACCOUNT}:root", CN_ROLE, CN_SESSION],
                                "arn:aws:s3:::shared/*",
                            ),
                        ],
                    },
                },
                {
                    "ResourceArn": "arn:aws-cn:s3:::cn-builds",
                    "Policy": {
                        "Version": V,
                        "Statement": [
                            _statement("Allow", "Principal", CN_ROLE, "arn:aws-cn:s3:::cn-builds/*")
                        ],
                    },
                },
                {
                    "ResourceArn": "arn:aws:s3:::locked",
                    "Policy": {
                        "Version": V,
                        "Statement": [
                            _statement(
                                "Deny",
                                "NotPrincipal",
                                [
                                    f"arn:aws:iam::{ACCOUNT}:root",
                                    f"arn:aws:iam::{ACCOUNT}:role/deployer",
                                    f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-7",
                                    CN_SESSION,
                                ],
                                "arn:aws:s3:::locked/*",
                            )
                        ],
                    },
                },
            ]
        },
    }
    for path, value in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    return root


@pytest.fixture(scope="module")
def china(tmp_path_factory):
    with sidecar_client(_bundle(tmp_path_factory.mktemp("partitions"))) as (client, _):
        yield client


def test_a_china_role_session_gets_nothing_granted_to_the_commercial_role_of_the_same_name(china):
    decision = china.authorize(CN_SESSION, "s3:GetObject", "arn:aws:s3:::global/build.tar")
    assert decision.outcome is sdk.Outcome.IMPLICIT_DENY


def test_a_not_principal_deny_listing_the_commercial_account_does_not_spare_the_china_account(china):
    decision = china.authorize(CN_SESSION, "s3:GetObject", "arn:aws:s3:::shared/a.txt")
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY


def test_a_not_principal_deny_listing_the_commercial_role_and_account_does_not_spare_a_china_session(china):
    decision = china.authorize(CN_SESSION, "s3:GetObject", "arn:aws:s3:::locked/key")
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY


def test_a_session_is_still_named_by_its_own_partitions_role(china):
    decision = china.authorize(CN_SESSION, "s3:GetObject", "arn:aws-cn:s3:::cn-builds/build.tar")
    assert decision.outcome is sdk.Outcome.ALLOWED
