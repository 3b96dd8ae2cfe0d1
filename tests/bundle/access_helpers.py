"""Bundles with known access changes, for the access question and diff tests."""

from __future__ import annotations

from typing import Any

from .helpers import ACCOUNT, ALLOW_S3_READ

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
POLICIES = f"accounts/{ACCOUNT}/policies.json"
USERS = f"accounts/{ACCOUNT}/users.json"
RESOURCE_POLICIES = f"accounts/{ACCOUNT}/resource-policies.json"


def users(*, alice_groups: tuple[str, ...] = ("Readers",), alice_inline: Any = None) -> dict[str, Any]:
    alice: dict[str, Any] = {"UserName": "alice", "GroupList": list(alice_groups)}
    if alice_inline is not None:
        alice["UserPolicyList"] = [{"PolicyName": "extra", "PolicyDocument": alice_inline}]
    return {USERS: {"Users": [alice, {"UserName": "bob"}]}}


def s3_read(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = dict(ALLOW_S3_READ["Statement"][0], Resource="arn:aws:s3:::data/*")
    if condition is not None:
        statement["Condition"] = condition
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return {POLICIES: {"Policies": [{"PolicyName": "S3Read", "Document": document}]}}


def bucket_policy(principal: str) -> dict[str, Any]:
    statement = {
        "Sid": "Share",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::data/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    return {RESOURCE_POLICIES: {"ResourcePolicies": [{"ResourceArn": "arn:aws:s3:::data", "Policy": policy}]}}


PUT_DATA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Put", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::data/*"}
    ],
}
SOURCE_IP = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
