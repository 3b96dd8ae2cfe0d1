"""Real sidecars for the trust-model regression tests: the embedded bundle and a small ABAC bundle.

The ABAC bundle holds what the embedded one lacks: a policy granting on ``aws:PrincipalTag``, a
bucket policy that denies everyone but one role (``aws:PrincipalArn``), and a role whose trust
policy lets its assumers tag sessions with a Department from a fixed list.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import iamgate_client as sdk
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

MAIN = "123456789012"
PROD_INSTANCE = f"arn:aws:ec2:us-east-1:{MAIN}:instance/i-0prod1234567890ab"
JOHN = f"arn:aws:iam::{MAIN}:user/john-developer"
UPLOADER = f"arn:aws:sts::{MAIN}:assumed-role/EC2-S3-Upload-Role/i-0abc"
UPLOAD = "arn:aws:s3:::my-app-uploads/images/cat.jpg"
IMAGE = "arn:aws:s3:::my-app-images/logo.png"

ABAC = "111122223333"
LEDGER = "arn:aws:s3:::ledger/2026/q1.csv"
VAULT = "arn:aws:s3:::vault/keys.txt"
AUDITOR = f"arn:aws:iam::{ABAC}:role/auditor"
ANALYST_SESSION = f"arn:aws:sts::{ABAC}:assumed-role/analyst/alice"
V = "2012-10-17"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": list(statements)}


ABAC_FILES: dict[str, Any] = {
    f"accounts/{ABAC}/users.json": {
        "Users": [
            {
                "UserName": "erin",
                "Tags": [{"Key": "Department", "Value": "Engineering"}],
                "UserPolicyList": [
                    {
                        "PolicyName": "Work",
                        "PolicyDocument": _doc(
                            {
                                "Sid": "FinanceReadsTheLedger",
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::ledger/*",
                                "Condition": {"StringEquals": {"aws:PrincipalTag/Department": "Finance"}},
                            },
                            {
                                "Sid": "Vault",
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::vault/*",
                            },
                        ),
                    }
                ],
            }
        ]
    },
    f"accounts/{ABAC}/roles.json": {
        "Roles": [
            {
                "RoleName": "auditor",
                "AssumeRolePolicyDocument": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ABAC}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ),
                "RolePolicyList": [
                    {
                        "PolicyName": "Vault",
                        "PolicyDocument": _doc(
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
                        ),
                    }
                ],
            },
            {
                "RoleName": "analyst",
                "Tags": [{"Key": "Department", "Value": "Engineering"}],
                "AssumeRolePolicyDocument": _doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ABAC}:root"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {
                            "StringEquals": {"aws:RequestTag/Department": ["Finance", "Engineering"]},
                            "ForAllValues:StringEquals": {"aws:TagKeys": ["Department"]},
                        },
                    }
                ),
                "RolePolicyList": [
                    {
                        "PolicyName": "Ledger",
                        "PolicyDocument": _doc(
                            {
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::ledger/*",
                                "Condition": {"StringEquals": {"aws:PrincipalTag/Department": "Finance"}},
                            }
                        ),
                    }
                ],
            },
        ]
    },
    f"accounts/{ABAC}/resource-policies.json": {
        "ResourcePolicies": [
            {
                "ResourceArn": "arn:aws:s3:::vault",
                "Policy": _doc(
                    {
                        "Sid": "OnlyTheAuditor",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::vault", "arn:aws:s3:::vault/*"],
                        "Condition": {"StringNotEquals": {"aws:PrincipalArn": AUDITOR}},
                    }
                ),
            }
        ]
    },
}


def write_abac_bundle(root: Path) -> Path:
    for path, value in ABAC_FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value, indent=2))
    return root


@contextlib.contextmanager
def sidecar_client(
    bundle: Path | None = None, *, trusted: tuple[str, ...] = ()
) -> Iterator[tuple[sdk.Client, Any]]:
    """A real sidecar on loopback (the embedded bundle unless ``bundle``) and a client of it."""
    if bundle is None and not trusted:
        source = default_source()
    else:
        settings = {"trusted_context_keys": trusted} if trusted else {}
        source = ManagedBundles(BundleSettings(bundle=str(bundle) if bundle else None, **settings))
    running = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_workers=4), source)
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            yield client, running
    finally:
        running.stop(0)
