"""Compiled objects are shared by identity (SCP id, policy ARN, entity ARN), never by display name.

Issue 14: two SCPs named "Guard" with different ids were compiled once, by name, so one account was
given the other account's SCP -- a wrong allow. AWS keys SCPs by id and IAM objects by ARN; so
does the snapshot, and two objects with equal names and different content are never confused.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.load import load_bundle, load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.result import Decision

from .helpers import NOON, with_manifest, write_files

A = "111111111111"
B = "222222222222"


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _two_guards(name_b="Guard"):
    """Root: FullAWSAccess; SCP p-a "Guard" (s3:*) on A; SCP p-b (ec2:*) on B; everyone may do *."""
    users = {
        "Users": [
            {"UserName": "u", "UserPolicyList": [{"PolicyName": "All", "PolicyDocument": _doc(_allow("*"))}]}
        ]
    }
    return {
        "organization.json": {
            "Accounts": [{"Id": A}, {"Id": B}],
            "ServiceControlPolicies": [
                {
                    "Id": "p-full",
                    "Name": "FullAWSAccess",
                    "Document": _doc(_allow("*")),
                    "Targets": ["r-root"],
                },
                {"Id": "p-a", "Name": "Guard", "Document": _doc(_allow("s3:*")), "Targets": [A]},
                {"Id": "p-b", "Name": name_b, "Document": _doc(_allow("ec2:*")), "Targets": [B]},
            ],
        },
        f"accounts/{A}/users.json": users,
        f"accounts/{B}/users.json": users,
    }


def _decide(snapshot, principal, action, resource="*"):
    return snapshot.authorize(AccessQuery(principal, action, resource), now=NOON).evaluation.decision


def test_two_scps_with_one_name_are_refused_as_aws_refuses_them(tmp_path):
    with pytest.raises(BundleValidationError) as raised:
        load_bundle(with_manifest(write_files(tmp_path, _two_guards())))
    (problem,) = raised.value.errors
    assert (problem.file, problem.path) == ("organization.json", "ServiceControlPolicies[2].Name")
    assert "'Guard'" in problem.message and "ServiceControlPolicies[1]" in problem.message


def test_each_account_gets_its_own_scp_even_when_validation_is_bypassed(tmp_path):
    """The compiler keys SCPs by id: even an unvalidated organization never swaps two SCPs' documents."""
    bundle = load_bundle(with_manifest(write_files(tmp_path, _two_guards(name_b="Guard2"))))
    tree = bundle.organization.tree
    same_names = tuple(replace(scp, name="Guard") for scp in tree.scps)
    organization = replace(bundle.organization, tree=replace(tree, scps=same_names))
    snapshot = build_snapshot(replace(bundle, organization=organization), activated_at=NOON)
    user_b = f"arn:aws:iam::{B}:user/u"
    assert _decide(snapshot, user_b, "ec2:DescribeInstances") is Decision.ALLOWED
    assert _decide(snapshot, user_b, "s3:ListAllMyBuckets") is Decision.IMPLICIT_DENY
    user_a = f"arn:aws:iam::{A}:user/u"
    assert _decide(snapshot, user_a, "s3:ListAllMyBuckets") is Decision.ALLOWED
    assert _decide(snapshot, user_a, "ec2:DescribeInstances") is Decision.IMPLICIT_DENY


def test_scps_with_distinct_names_apply_to_their_own_targets(tmp_path):
    snapshot = load_snapshot(with_manifest(write_files(tmp_path, _two_guards(name_b="Guard2"))))
    assert _decide(snapshot, f"arn:aws:iam::{B}:user/u", "s3:ListAllMyBuckets") is Decision.IMPLICIT_DENY
    assert _decide(snapshot, f"arn:aws:iam::{A}:user/u", "s3:ListAllMyBuckets") is Decision.ALLOWED


def _inline_user(name, document):
    return {"UserName": name, "UserPolicyList": [{"PolicyName": "Work", "PolicyDocument": document}]}


def test_equal_names_in_two_accounts_keep_their_own_documents(tmp_path):
    """Users, groups, roles, inline and managed policies named alike in two accounts are distinct."""
    deny_all = _doc({"Effect": "Deny", "Action": "*", "Resource": "*"})
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"})
    files = {}
    for account, action in ((A, "s3:GetObject"), (B, "ec2:RunInstances")):
        policy_arn = f"arn:aws:iam::{account}:policy/Shared"
        files[f"accounts/{account}/policies.json"] = {
            "Policies": [{"PolicyName": "Shared", "Document": _doc(_allow(action))}]
        }
        files[f"accounts/{account}/groups.json"] = {
            "Groups": [{"GroupName": "Team", "AttachedManagedPolicies": [{"PolicyArn": policy_arn}]}]
        }
        files[f"accounts/{account}/users.json"] = {
            "Users": [{**_inline_user("u", _doc(_allow(action))), "GroupList": ["Team"]}]
        }
        files[f"accounts/{account}/roles.json"] = {
            "Roles": [
                {
                    "RoleName": "r",
                    "AssumeRolePolicyDocument": trust,
                    "AttachedManagedPolicies": [{"PolicyArn": policy_arn}],
                    "RolePolicyList": [
                        {"PolicyName": "Work", "PolicyDocument": deny_all if account == B else _doc()}
                    ],
                }
            ]
        }
    snapshot = load_snapshot(with_manifest(write_files(tmp_path, files)))
    for principal in (
        f"arn:aws:iam::{A}:user/u",
        f"arn:aws:iam::{A}:role/r",
        f"arn:aws:sts::{A}:assumed-role/r/s",
    ):
        assert _decide(snapshot, principal, "s3:GetObject") is Decision.ALLOWED
        assert _decide(snapshot, principal, "ec2:RunInstances") is Decision.IMPLICIT_DENY
    assert _decide(snapshot, f"arn:aws:iam::{B}:user/u", "ec2:RunInstances") is Decision.ALLOWED
    assert _decide(snapshot, f"arn:aws:iam::{B}:user/u", "s3:GetObject") is Decision.IMPLICIT_DENY
    assert (
        _decide(snapshot, f"arn:aws:sts::{B}:assumed-role/r/s", "ec2:RunInstances") is Decision.EXPLICIT_DENY
    )


def test_the_compiler_refuses_a_second_object_under_one_identity(tmp_path):
    """An organization that skipped validation fails to build (closed) instead of picking one of two."""
    files = {
        f"accounts/{A}/resource-policies.json": {
            "ResourcePolicies": [
                {
                    "ResourceArn": "arn:aws:s3:::data",
                    "Policy": _doc({**_allow("s3:GetObject"), "Principal": "*"}),
                }
            ]
        }
    }
    bundle = load_bundle(with_manifest(write_files(tmp_path, files)))
    (declared,) = bundle.organization.resource_policies
    twin = replace(declared, resource_arn="arn:aws:S3:::data")
    organization = replace(bundle.organization, resource_policies=(declared, twin))
    with pytest.raises(BundleValidationError, match="declared twice"):
        build_snapshot(replace(bundle, organization=organization))


def test_the_compiler_refuses_a_group_reference_that_matches_nothing(tmp_path):
    bundle = load_bundle(
        with_manifest(write_files(tmp_path, {f"accounts/{A}/users.json": {"Users": [{"UserName": "u"}]}}))
    )
    (user,) = bundle.organization.users
    organization = replace(bundle.organization, users=(replace(user, groups=("Ghosts",), group_origins=()),))
    with pytest.raises(BundleValidationError, match="group 'Ghosts' does not exist"):
        build_snapshot(replace(bundle, organization=organization))


def test_merged_identity_indexes_of_equally_named_users_are_never_shared(tmp_path):
    """Users with many policies get a merged index, memoised per user ARN: never per name."""
    files = {}
    for account, action in ((A, "s3:GetObject"), (B, "ec2:RunInstances")):
        inline = [
            {"PolicyName": f"P{i}", "PolicyDocument": _doc(_allow(action if i == 0 else f"sqs:Action{i}"))}
            for i in range(6)
        ]
        files[f"accounts/{account}/users.json"] = {"Users": [{"UserName": "u", "UserPolicyList": inline}]}
    snapshot = load_snapshot(with_manifest(write_files(tmp_path, files)), cache_size=100)
    user_a, user_b = f"arn:aws:iam::{A}:user/u", f"arn:aws:iam::{B}:user/u"
    for _ in range(2):  # the second round is answered from the memoised indexes and the cache
        assert _decide(snapshot, user_a, "s3:GetObject") is Decision.ALLOWED
        assert _decide(snapshot, user_b, "s3:GetObject") is Decision.IMPLICIT_DENY
        assert _decide(snapshot, user_b, "ec2:RunInstances") is Decision.ALLOWED
        assert _decide(snapshot, user_a, "ec2:RunInstances") is Decision.IMPLICIT_DENY
    assert len(snapshot.memo.merged_identities) == 2
