"""Red team: a context key with a stray space or invisible character is owned like the key it spells.

A policy may carry a mistyped key (``"aws:username "``, a no-break space pasted from a web page):
validation warns, the bundle loads. AWS never sets such a key, so the condition never holds. The
sidecar used to take that very spelling from the caller (it is not *literally* an owned key), so a
caller could satisfy the condition and be allowed. Ownership is now decided on the key without
whitespace or invisible characters, compatibility-normalised: such a spelling is refused.
"""

from __future__ import annotations

import json

import pytest

import iamgate_client as sdk

from .trust_helpers import sidecar_client

ACCOUNT = "123456789012"
TYPO_KEYS = ("aws:username ", "aws:username\u00a0", "\u200baws:username", "aws:\uff55sername")


def _bundle(root):
    statements = [
        {
            "Sid": f"Typo{index}",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::admin/{index}/*",
            "Condition": {"StringEquals": {key: "admin"}},
        }
        for index, key in enumerate(TYPO_KEYS)
    ]
    users = {
        "Users": [
            {
                "UserName": "mallory",
                "UserPolicyList": [
                    {"PolicyName": "P", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
                ],
            }
        ]
    }
    target = root / "accounts" / ACCOUNT / "users.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(users))
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sidecar_client(_bundle(tmp_path_factory.mktemp("typo"))) as (client, _):
        yield client


@pytest.mark.parametrize("index", range(len(TYPO_KEYS)))
def test_a_mistyped_owned_key_in_a_policy_cannot_be_satisfied_by_the_caller(client, index):
    key = TYPO_KEYS[index]
    resource = f"arn:aws:s3:::admin/{index}/x"
    assert client.authorize("mallory", "s3:PutObject", resource).outcome is sdk.Outcome.IMPLICIT_DENY
    with pytest.raises(sdk.InvalidRequestError, match="is set by the sidecar from the principal"):
        client.authorize("mallory", "s3:PutObject", resource, context={key: "admin"})


def test_a_tag_key_with_an_inner_space_stays_the_callers(client):
    decision = client.authorize(
        "mallory", "s3:PutObject", "arn:aws:s3:::admin/0/x", context={"aws:RequestTag/Cost Center": "x"}
    )
    assert decision.outcome is sdk.Outcome.IMPLICIT_DENY
