"""Red team: a resource policy attached where no request can reach it is refused, never silently inert.

A bucket policy written under ``arn:aws:s3:::vault/*`` (the objects, not the bucket), with a
stray space, or with a region and account (which S3 bucket ARNs never carry) used to load
without a word: requests look bucket policies up under the bucket's ARN, so its Deny denied
nothing and the vault was open to every identity policy that allowed it. Such a revision is now
a validation error naming the file and JSON path, and the last good revision keeps answering.
"""

from __future__ import annotations

import json

import pytest
from service.bundle_helpers import ConfigMapVolume, serving, wait_until

import iamgate_client as sdk
from iamgate.bundle import format as fmt

ACCOUNT = "123456789012"
SECRET = "arn:aws:s3:::vault/keys.txt"


def _files(revision: str, attached_to: str) -> dict[str, bytes]:
    allow_all = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    deny_all = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::vault/*"}
        ],
    }
    documents = {
        f"accounts/{ACCOUNT}/users.json": {
            "Users": [
                {"UserName": "eve", "UserPolicyList": [{"PolicyName": "All", "PolicyDocument": allow_all}]}
            ]
        },
        f"accounts/{ACCOUNT}/resource-policies.json": {
            "ResourcePolicies": [{"ResourceArn": attached_to, "Policy": deny_all}]
        },
    }
    files = {path: json.dumps(value).encode() for path, value in documents.items()}
    manifest = fmt.manifest_object(
        name="vault", revision=revision, created="2026-01-01T00:00:00Z", files=fmt.file_hashes(files)
    )
    files[fmt.MANIFEST] = fmt.dump_manifest(manifest)
    return files


@pytest.mark.parametrize(
    ("attached_to", "why"),
    [
        ("arn:aws:s3:::vault/*", "a bucket policy is attached to its bucket"),
        ("arn:aws:s3:::vault/", "a bucket policy is attached to its bucket"),
        ("arn:aws:s3:::vault ", "contains whitespace"),
        (f"arn:aws:s3:us-east-1:{ACCOUNT}:vault", "an S3 bucket or object ARN has no region or account"),
    ],
)
def test_a_bucket_policy_no_request_can_reach_is_refused_and_the_vault_stays_locked(
    tmp_path, attached_to, why
):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(_files("good", "arn:aws:s3:::vault"))
    with serving(bundle=str(volume.root)) as (_sidecar, client):
        assert client.authorize("eve", "s3:GetObject", SECRET).outcome is sdk.Outcome.EXPLICIT_DENY
        volume.publish(_files("unreachable", attached_to))
        wait_until(lambda: (s := client.status()).last_error or s.active.revision == "unreachable")
        assert client.authorize("eve", "s3:GetObject", SECRET).outcome is sdk.Outcome.EXPLICIT_DENY
        status = client.status()
        assert (status.active.revision, status.last_error_step) == ("good", "validate")
        assert "resource-policies.json: ResourcePolicies[0].ResourceArn" in status.last_error
        assert why in status.last_error
