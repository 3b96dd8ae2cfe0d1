"""In a bundle, only a role's trust policy lets anyone assume the role."""

from __future__ import annotations

from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.result import Decision

from .helpers import ACCOUNT, minimal_files

ASSUME_ANYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}


def _snapshot(make_bundle, roles: list[dict]):
    files = minimal_files(
        {
            f"accounts/{ACCOUNT}/users.json": {
                "Users": [
                    {
                        "UserName": "alice",
                        "UserPolicyList": [{"PolicyName": "assume", "PolicyDocument": ASSUME_ANYTHING}],
                    }
                ]
            },
            f"accounts/{ACCOUNT}/groups.json": None,
            f"accounts/{ACCOUNT}/roles.json": {"Roles": roles},
            "tests/basic.json": None,
        }
    )
    return load_snapshot(make_bundle(files))


def test_an_identity_policy_alone_cannot_assume_an_unknown_role(make_bundle) -> None:
    snapshot = _snapshot(make_bundle, [])
    outcome = snapshot.authorize(
        AccessQuery("alice", "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/nobody")
    )
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert "no trust policy" in outcome.message


def test_a_trust_policy_naming_the_user_lets_it_assume_the_role(make_bundle) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    snapshot = _snapshot(make_bundle, [{"RoleName": "deploy", "AssumeRolePolicyDocument": trust}])
    outcome = snapshot.authorize(
        AccessQuery("alice", "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/deploy")
    )
    assert outcome.evaluation.decision is Decision.ALLOWED
