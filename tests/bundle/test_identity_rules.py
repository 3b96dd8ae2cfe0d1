"""One identity per object, one object per reference: each rule on a minimal bundle.

AWS refuses a second SCP with the same name, a second OU with the same name under one parent, a
second user, group, role or managed policy with the same name in an account (names compared
case-insensitively), a second inline policy with the same name on one entity. A bundle that holds
such duplicates, or a reference that matches nothing or more than one object, is refused with the
file and JSON path; `iamgate validate` lists the problem and activation keeps the last good bundle.
"""

from __future__ import annotations

import json

import pytest

from iamgate.bundle.commands import validate_command
from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.load import load_bundle, load_snapshot
from iamgate.bundle.loader import load_files
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.reader import read_organization
from iamgate.engine.result import Decision

from .helpers import ACCOUNT, ALLOW_S3_READ

OTHER = "210987654321"
USERS = f"accounts/{ACCOUNT}/users.json"
GROUPS = f"accounts/{ACCOUNT}/groups.json"
ROLES = f"accounts/{ACCOUNT}/roles.json"
POLICIES = f"accounts/{ACCOUNT}/policies.json"
RESOURCE_POLICIES = f"accounts/{ACCOUNT}/resource-policies.json"
RESOURCE_TAGS = f"accounts/{ACCOUNT}/resource-tags.json"
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject", "Resource": "*"}
    ],
}


def _problems(make_bundle, overrides):
    return read_organization(load_files(make_bundle(overrides))).problems


def _errors(make_bundle, overrides):
    return [(p.file, p.path, p.message) for p in _problems(make_bundle, overrides) if p.is_error]


def _one_error(make_bundle, overrides):
    (error,) = _errors(make_bundle, overrides)
    return error


def _organization(**fields):
    return {"organization.json": {"Accounts": [{"Id": ACCOUNT}], **fields}}


def _scp(scp_id, name, targets=("r-root",)):
    return {"Id": scp_id, "Name": name, "Document": ALL, "Targets": list(targets)}


# -- AWS Organizations: SCPs, OUs, accounts ------------------------------------------------------


def test_two_scps_with_one_name_are_an_error_at_the_second_name(make_bundle):
    organization = _organization(ServiceControlPolicies=[_scp("p-a", "Guard"), _scp("p-b", "Guard")])
    file, path, message = _one_error(make_bundle, organization)
    assert (file, path) == ("organization.json", "ServiceControlPolicies[1].Name")
    assert (
        "SCP name 'Guard' is declared twice (first at organization.json: ServiceControlPolicies[0]" in message
    )


def test_two_scps_with_one_id_are_an_error_at_the_second_id(make_bundle):
    organization = _organization(ServiceControlPolicies=[_scp("p-a", "Guard"), _scp("p-a", "Fence")])
    _file, path, message = _one_error(make_bundle, organization)
    assert (path, "SCP id 'p-a'" in message) == ("ServiceControlPolicies[1].Id", True)


def test_an_scp_attached_twice_to_one_target_is_an_error(make_bundle):
    organization = _organization(ServiceControlPolicies=[_scp("p-a", "Guard", ["r-root", "r-root"])])
    _, path, message = _one_error(make_bundle, organization)
    assert path == "ServiceControlPolicies[0].Targets[1]" and "attached to 'r-root' twice" in message


def test_two_ous_with_one_id_are_an_error(make_bundle):
    units = [{"Id": "ou-a", "Name": "Work"}, {"Id": "ou-a", "Name": "Play"}]
    _, path, message = _one_error(make_bundle, _organization(OrganizationalUnits=units))
    assert path == "OrganizationalUnits[1].Id" and "OU id 'ou-a'" in message


def test_two_ous_with_one_name_under_one_parent_are_an_error(make_bundle):
    units = [{"Id": "ou-a", "Name": "Work"}, {"Id": "ou-b", "Name": "Work"}]
    _, path, message = _one_error(make_bundle, _organization(OrganizationalUnits=units))
    assert path == "OrganizationalUnits[1].Name" and "'Work' is used twice under 'r-root'" in message


def test_ous_with_one_name_under_different_parents_are_fine(make_bundle):
    units = [
        {"Id": "ou-a", "Name": "Work"},
        {"Id": "ou-b", "Name": "Teams"},
        {"Id": "ou-c", "Name": "Work", "ParentId": "ou-b"},
    ]
    assert _errors(make_bundle, _organization(OrganizationalUnits=units)) == []


def test_an_ou_whose_id_is_an_account_id_is_an_error(make_bundle):
    units = [{"Id": ACCOUNT, "Name": "Confusing"}]
    _, path, message = _one_error(make_bundle, _organization(OrganizationalUnits=units))
    assert path == "OrganizationalUnits[0].Id" and "also the id of an account" in message


def test_a_root_whose_id_is_an_account_id_is_an_error(make_bundle):
    _, path, message = _one_error(make_bundle, {"organization.json": {"Root": {"Id": ACCOUNT}}})
    assert path == "Root.Id" and "also an account id" in message


def test_an_account_listed_twice_is_an_error(make_bundle):
    organization = {"organization.json": {"Accounts": [{"Id": ACCOUNT}, {"Id": ACCOUNT, "ParentId": "ou-x"}]}}
    _, path, message = _one_error(make_bundle, organization)
    assert path == "Accounts[1].Id" and f"account {ACCOUNT} is listed twice" in message


def test_an_account_parent_that_matches_nothing_is_an_error_at_its_parent_id(make_bundle):
    organization = {"organization.json": {"Accounts": [{"Id": ACCOUNT, "ParentId": "ou-gone"}]}}
    _, path, message = _one_error(make_bundle, organization)
    assert path == "Accounts[0].ParentId" and "'ou-gone'" in message


def test_an_ou_parent_that_matches_nothing_is_an_error(make_bundle):
    units = [{"Id": "ou-a", "Name": "Work", "ParentId": "ou-gone"}]
    _, path, message = _one_error(make_bundle, _organization(OrganizationalUnits=units))
    assert path == "OrganizationalUnits[0]" and "parent 'ou-gone'" in message


# -- IAM: users, groups, roles, managed and inline policies ----------------------------------------


def test_two_users_with_one_name_on_different_paths_are_an_error(make_bundle):
    users = {"Users": [{"UserName": "alice", "GroupList": ["Readers"]}, {"UserName": "ALICE", "Path": "/x/"}]}
    _, path, message = _one_error(make_bundle, {USERS: users})
    assert path == "Users[1]" and "user 'alice' in account" in message


def test_users_with_one_name_in_two_accounts_are_two_users(make_bundle):
    assert _errors(make_bundle, {f"accounts/{OTHER}/users.json": {"Users": [{"UserName": "alice"}]}}) == []


def test_two_groups_whose_names_differ_only_in_case_are_an_error(make_bundle):
    groups = {"Groups": [{"GroupName": "Readers"}, {"GroupName": "readers"}]}
    _, path, message = _one_error(make_bundle, {GROUPS: groups})
    assert path == "Groups[1]" and "group 'readers'" in message


def test_two_roles_whose_names_differ_only_in_case_are_an_error(make_bundle):
    roles = {
        "Roles": [
            {"RoleName": "Deploy", "AssumeRolePolicyDocument": TRUST},
            {"RoleName": "deploy", "Path": "/ci/", "AssumeRolePolicyDocument": TRUST},
        ]
    }
    _, path, message = _one_error(make_bundle, {ROLES: roles})
    assert path == "Roles[1]" and "role 'deploy'" in message


def test_two_managed_policies_with_one_name_on_different_paths_are_an_error(make_bundle):
    policies = {
        "Policies": [
            {"PolicyName": "S3Read", "Document": ALLOW_S3_READ},
            {"PolicyName": "s3read", "Path": "/other/", "Document": ALL},
        ]
    }
    _, path, message = _one_error(make_bundle, {POLICIES: policies})
    assert path == "Policies[1]" and "managed policy name 's3read' is used twice" in message


def test_two_inline_policies_of_one_user_whose_names_differ_only_in_case_are_an_error(make_bundle):
    inline = [
        {"PolicyName": "Work", "PolicyDocument": ALLOW_S3_READ},
        {"PolicyName": "WORK", "PolicyDocument": ALL},
    ]
    users = {"Users": [{"UserName": "alice", "GroupList": ["Readers"], "UserPolicyList": inline}]}
    _, path, message = _one_error(make_bundle, {USERS: users})
    assert path == "Users[0].UserPolicyList[1].PolicyName" and "appears twice" in message


def test_inline_policies_with_one_name_on_two_users_are_two_policies(make_bundle):
    inline = [{"PolicyName": "Work", "PolicyDocument": ALLOW_S3_READ}]
    users = {
        "Users": [
            {"UserName": "alice", "UserPolicyList": inline},
            {"UserName": "bob", "UserPolicyList": inline},
        ]
    }
    assert _errors(make_bundle, {USERS: users}) == []


def test_a_group_reference_in_another_case_is_an_error_with_the_right_spelling(make_bundle):
    users = {"Users": [{"UserName": "alice", "GroupList": ["readers"]}]}
    _, path, message = _one_error(make_bundle, {USERS: users})
    assert path == "Users[0].GroupList[0]" and "did you mean 'Readers'?" in message


def test_a_group_listed_twice_is_a_warning(make_bundle):
    users = {"Users": [{"UserName": "alice", "GroupList": ["Readers", "Readers"]}]}
    problems = _problems(make_bundle, {USERS: users})
    assert [(p.path, p.is_error) for p in problems] == [("Users[0].GroupList[1]", False)]


# -- resources: policies, tags, owners ---------------------------------------------------------------


def test_two_resource_policies_for_one_resource_spelled_differently_are_an_error(make_bundle):
    policies = {
        "ResourcePolicies": [
            {"ResourceArn": "arn:aws:s3:::data", "Policy": BUCKET_POLICY},
            {"ResourceArn": "arn:aws:S3:::data", "Policy": BUCKET_POLICY},
        ]
    }
    _, path, message = _one_error(make_bundle, {RESOURCE_POLICIES: policies})
    assert (
        path == "ResourcePolicies[1]" and "resource policy 'arn:aws:s3:::data' is declared twice" in message
    )


def test_two_tag_sets_for_one_resource_spelled_differently_are_an_error(make_bundle):
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    tags = {
        "ResourceTags": [
            {"ResourceArn": queue, "Tags": {"env": "prod"}},
            {"ResourceArn": queue.replace("us-east-1", "US-EAST-1"), "Tags": {"env": "dev"}},
        ]
    }
    _, path, message = _one_error(make_bundle, {RESOURCE_TAGS: tags})
    assert path == "ResourceTags[1]" and "resource tag set" in message


def test_a_resource_declared_by_two_accounts_is_an_error(make_bundle):
    overrides = {
        RESOURCE_POLICIES: {
            "ResourcePolicies": [{"ResourceArn": "arn:aws:s3:::data", "Policy": BUCKET_POLICY}]
        },
        f"accounts/{OTHER}/resource-tags.json": {
            "ResourceTags": [{"ResourceArn": "arn:aws:s3:::data", "Tags": {"env": "prod"}}]
        },
    }
    file, _, message = _one_error(make_bundle, overrides)
    assert file == f"accounts/{OTHER}/resource-tags.json" and "a resource has one owner" in message


def test_resource_tags_for_a_user_of_the_bundle_are_an_error(make_bundle):
    tags = {"ResourceTags": [{"ResourceArn": f"arn:aws:iam::{ACCOUNT}:user/alice", "Tags": {"team": "ops"}}]}
    _, path, message = _one_error(make_bundle, {RESOURCE_TAGS: tags})
    assert path == "ResourceTags[0]" and "declare its Tags where it is declared" in message


def test_a_resource_policy_for_a_role_of_the_bundle_is_an_error(make_bundle):
    overrides = {
        ROLES: {"Roles": [{"RoleName": "deploy", "AssumeRolePolicyDocument": TRUST}]},
        RESOURCE_POLICIES: {
            "ResourcePolicies": [
                {"ResourceArn": f"arn:aws:iam::{ACCOUNT}:role/deploy", "Policy": BUCKET_POLICY}
            ]
        },
    }
    _, path, message = _one_error(make_bundle, overrides)
    assert (
        path == "ResourcePolicies[0]" and "its only resource-based policy is a role's trust policy" in message
    )


# -- get-account-authorization-details exports -------------------------------------------------------


def _details(account, *, users=(), policies=()):
    return {
        "UserDetailList": [
            {
                "UserName": name,
                "Path": "/",
                "Arn": f"arn:aws:iam::{account}:user/{name}",
                "AttachedManagedPolicies": [],
            }
            for name in users
        ],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": list(policies),
    }


def _aws_managed(document):
    return {
        "PolicyName": "ReadOnlyAccess",
        "Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "Path": "/",
        "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
    }


def test_one_aws_managed_policy_in_the_exports_of_two_accounts_is_one_policy(make_bundle):
    overrides = {
        f"accounts/{ACCOUNT}/authorization-details.json": _details(ACCOUNT, policies=[_aws_managed(ALL)]),
        f"accounts/{OTHER}/authorization-details.json": _details(OTHER, policies=[_aws_managed(ALL)]),
    }
    assert _errors(make_bundle, overrides) == []
    snapshot = load_snapshot(make_bundle(overrides, manifest=True))
    assert snapshot.counts.policies == 2  # S3Read, and ReadOnlyAccess once


def test_one_aws_managed_policy_exported_with_two_documents_is_an_error(make_bundle):
    overrides = {
        f"accounts/{ACCOUNT}/authorization-details.json": _details(ACCOUNT, policies=[_aws_managed(ALL)]),
        f"accounts/{OTHER}/authorization-details.json": _details(
            OTHER, policies=[_aws_managed(ALLOW_S3_READ)]
        ),
    }
    file, path, message = _one_error(make_bundle, overrides)
    assert (file, path) == (f"accounts/{OTHER}/authorization-details.json", "Policies[0]")
    assert "declared twice with a different document" in message


def test_a_user_both_exported_and_written_by_hand_is_an_error(make_bundle):
    overrides = {f"accounts/{ACCOUNT}/authorization-details.json": _details(ACCOUNT, users=["alice"])}
    _, _path, message = _one_error(make_bundle, overrides)
    assert "user 'alice'" in message and "declared twice" in message


def test_a_duplicate_user_inside_one_export_is_an_error(make_bundle):
    overrides = {f"accounts/{OTHER}/authorization-details.json": _details(OTHER, users=["bob", "Bob"])}
    file, path, _ = _one_error(make_bundle, overrides)
    assert (file, path) == (f"accounts/{OTHER}/authorization-details.json", "UserDetailList[1]")


# -- the errors reach every entry point ----------------------------------------------------------


def test_activation_refuses_a_bundle_with_a_duplicate(make_bundle):
    root = make_bundle(
        _organization(ServiceControlPolicies=[_scp("p-a", "Guard"), _scp("p-b", "Guard")]), manifest=True
    )
    with pytest.raises(BundleValidationError, match=r"ServiceControlPolicies\[1\]\.Name"):
        load_bundle(root)


def test_iamgate_validate_lists_every_identity_error(make_bundle):
    overrides = {
        **_organization(ServiceControlPolicies=[_scp("p-a", "Guard"), _scp("p-b", "Guard")]),
        GROUPS: {"Groups": [{"GroupName": "Readers"}, {"GroupName": "READERS"}]},
    }
    result = validate_command(make_bundle(overrides, manifest=True))
    assert result.exit_code == 1
    assert "ServiceControlPolicies[1].Name" in result.text and "Groups[1]" in result.text


def test_names_that_resolve_to_one_object_each_still_answer(make_bundle):
    """A control: the minimal bundle with a second account using the same names is served correctly."""
    overrides = {
        f"accounts/{OTHER}/users.json": {
            "Users": [{"UserName": "alice", "UserPolicyList": [{"PolicyName": "x", "PolicyDocument": ALL}]}]
        },
    }
    snapshot = load_snapshot(make_bundle(overrides, manifest=True))
    other = snapshot.authorize(AccessQuery(f"arn:aws:iam::{OTHER}:user/alice", "ec2:RunInstances", "*"))
    mine = snapshot.authorize(AccessQuery(f"arn:aws:iam::{ACCOUNT}:user/alice", "ec2:RunInstances", "*"))
    assert (other.evaluation.decision, mine.evaluation.decision) == (Decision.ALLOWED, Decision.IMPLICIT_DENY)
    assert json.dumps(sorted(snapshot.by_name)) == json.dumps(["alice"])
