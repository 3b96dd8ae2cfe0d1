"""Review finding: two IAM users or roles with one unique id (``UserId``/``RoleId``) are refused.

AWS's unique ids are unique: policies say "deny everyone but AIDA...ADMIN" with ``aws:userid``
(the documented way to survive a user being deleted and re-created). A bundle in which a copied
user kept the original's ``UserId`` gave the copy the admin's ``aws:userid``, and the bucket
policy's guard let it through. Validation now refuses the second id, as issue 14 asks of every
identity, and a sidecar keeps serving its last good revision.
"""

from __future__ import annotations

import json

import pytest
from service.bundle_helpers import ConfigMapVolume, serving, wait_until

import iamgate_client as sdk
from iamgate.bundle import format as fmt

ACCOUNT = "111122223333"
ADMIN_ID = "AIDAADMINADMINADMIN1"
V = "2012-10-17"
SECRET = "arn:aws:s3:::secrets/key.txt"


def _files(revision: str, copy_id: str) -> dict[str, bytes]:
    everything = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    inline = [{"PolicyName": "All", "PolicyDocument": everything}]
    documents = {
        f"accounts/{ACCOUNT}/users.json": {
            "Users": [
                {"UserName": "admin", "UserId": ADMIN_ID, "UserPolicyList": inline},
                {"UserName": "intern", "UserId": copy_id, "UserPolicyList": inline},
            ]
        },
        f"accounts/{ACCOUNT}/resource-policies.json": {
            "ResourcePolicies": [
                {
                    "ResourceArn": "arn:aws:s3:::secrets",
                    "Policy": {
                        "Version": V,
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": "arn:aws:s3:::secrets/*",
                                "Condition": {"StringNotEquals": {"aws:userid": ADMIN_ID}},
                            }
                        ],
                    },
                }
            ]
        },
    }
    files = {path: json.dumps(value).encode() for path, value in documents.items()}
    manifest = fmt.manifest_object(
        name="ids", revision=revision, created="2026-01-01T00:00:00Z", files=fmt.file_hashes(files)
    )
    files[fmt.MANIFEST] = fmt.dump_manifest(manifest)
    return files


@pytest.mark.parametrize("copy_id", [ADMIN_ID, ADMIN_ID.lower()])
def test_a_second_user_with_the_admins_unique_id_is_refused(tmp_path, copy_id: str) -> None:
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(_files("good", copy_id="AIDAINTERNINTERNINT1"))
    with serving(bundle=str(volume.root)) as (_sidecar, client):
        intern = f"arn:aws:iam::{ACCOUNT}:user/intern"
        assert client.authorize(intern, "s3:GetObject", SECRET).outcome is sdk.Outcome.EXPLICIT_DENY
        volume.publish(_files("copied", copy_id=copy_id))
        wait_until(lambda: (s := client.status()).last_error or s.active.revision == "copied")
        status = client.status()
        assert status.active.revision == "good"
        assert ADMIN_ID.lower() in status.last_error.lower() and "unique id" in status.last_error
        assert client.authorize(intern, "s3:GetObject", SECRET).outcome is sdk.Outcome.EXPLICIT_DENY
