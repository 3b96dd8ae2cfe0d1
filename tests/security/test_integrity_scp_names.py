"""Issue 14 on a real sidecar: two SCPs named alike never hand one account the other's SCP.

The bundle of the issue: the root holds FullAWSAccess; SCP p-a "Guard" allows s3:* on account
111111111111, SCP p-b "Guard" allows ec2:* on 222222222222; every user may do anything. Compiled by
name, p-b's account got p-a's document and s3:ListAllMyBuckets was allowed there. AWS refuses two
SCPs of one name; so does the sidecar, and the last good revision keeps answering.
"""

from __future__ import annotations

import json

from service.bundle_helpers import ConfigMapVolume, serving, wait_until

import iamgate_client as sdk
from iamgate.bundle import format as fmt

A = "111111111111"
B = "222222222222"
USER_B = f"arn:aws:iam::{B}:user/u"


def _doc(action):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


def _files(revision: str, name_b: str) -> dict[str, bytes]:
    users = {
        "Users": [{"UserName": "u", "UserPolicyList": [{"PolicyName": "All", "PolicyDocument": _doc("*")}]}]
    }
    documents = {
        "organization.json": {
            "Accounts": [{"Id": A}, {"Id": B}],
            "ServiceControlPolicies": [
                {"Id": "p-full", "Name": "FullAWSAccess", "Document": _doc("*"), "Targets": ["r-root"]},
                {"Id": "p-a", "Name": "Guard", "Document": _doc("s3:*"), "Targets": [A]},
                {"Id": "p-b", "Name": name_b, "Document": _doc("ec2:*"), "Targets": [B]},
            ],
        },
        f"accounts/{A}/users.json": users,
        f"accounts/{B}/users.json": users,
    }
    files = {path: json.dumps(value).encode() for path, value in documents.items()}
    manifest = fmt.manifest_object(
        name="guards", revision=revision, created="2026-01-01T00:00:00Z", files=fmt.file_hashes(files)
    )
    files[fmt.MANIFEST] = fmt.dump_manifest(manifest)
    return files


def test_two_scps_with_one_name_are_refused_and_never_swap_accounts(tmp_path):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(_files("good", name_b="Fence"))
    with serving(bundle=str(volume.root)) as (_sidecar, client):
        assert client.authorize(USER_B, "s3:ListAllMyBuckets", "*").outcome is sdk.Outcome.IMPLICIT_DENY
        volume.publish(_files("clash", name_b="Guard"))
        wait_until(lambda: (s := client.status()).last_error or s.active.revision == "clash")
        answers = {
            action: client.authorize(USER_B, action, "*").outcome
            for action in ("s3:ListAllMyBuckets", "ec2:DescribeInstances")
        }
        assert answers == {
            "s3:ListAllMyBuckets": sdk.Outcome.IMPLICIT_DENY,
            "ec2:DescribeInstances": sdk.Outcome.ALLOWED,
        }
        status = client.status()
        assert (status.active.revision, status.last_error_step) == ("good", "validate")
        assert "SCP name 'Guard' is declared twice" in status.last_error
