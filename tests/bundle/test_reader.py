"""Reading and validating: every problem is reported with its file and JSON path, never a traceback."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.load import load_bundle
from iamgate.bundle.loader import BundleFiles, load_files
from iamgate.bundle.reader import read_organization
from iamgate.policy.errors import Severity

from .helpers import ACCOUNT, ALLOW_S3_READ, minimal_files

USERS = f"accounts/{ACCOUNT}/users.json"
GROUPS = f"accounts/{ACCOUNT}/groups.json"
ROLES = f"accounts/{ACCOUNT}/roles.json"
POLICIES = f"accounts/{ACCOUNT}/policies.json"


def _problems(make_bundle, overrides):
    return read_organization(load_files(make_bundle(overrides))).problems


def _errors(make_bundle, overrides):
    return [(p.file, p.path, p.message) for p in _problems(make_bundle, overrides) if p.is_error]


def test_the_minimal_bundle_has_no_problems(make_bundle):
    assert _problems(make_bundle, {}) == ()


def test_malformed_json_is_reported_with_file_line_and_column(make_bundle):
    errors = _errors(make_bundle, {USERS: '{"Users": [\n  {"UserName": "alice",}\n]}'})
    assert len(errors) == 1
    file, _path, message = errors[0]
    assert file == USERS
    assert "malformed JSON" in message and "line 2" in message


def test_a_bad_policy_statement_is_reported_at_its_json_path(make_bundle):
    document = {
        "Version": "2012-10-17",
        "Statement": [ALLOW_S3_READ["Statement"][0], {"Effect": "Allw", "Action": "s3:*"}],
    }
    errors = _errors(make_bundle, {POLICIES: {"Policies": [{"PolicyName": "S3Read", "Document": document}]}})
    assert (
        POLICIES,
        "Policies[0].Document.Statement[1].Effect",
        '"Allw" is not an effect: use Allow or Deny',
    ) in errors


def test_an_inline_policy_problem_is_located_inside_the_user(make_bundle):
    users = {
        "Users": [
            {
                "UserName": "alice",
                "GroupList": ["Readers"],
                "UserPolicyList": [
                    {
                        "PolicyName": "Inline",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": {"Effect": "Allow", "Action": "s3"},
                        },
                    }
                ],
            }
        ]
    }
    paths = [path for _, path, _ in _errors(make_bundle, {USERS: users})]
    assert paths == ["Users[0].UserPolicyList[0].PolicyDocument.Statement.Action"]


def test_a_user_in_a_missing_group_is_an_error_at_the_reference(make_bundle):
    users = {"Users": [{"UserName": "alice", "GroupList": ["Readers", "Admins"]}]}
    assert _errors(make_bundle, {USERS: users}) == [
        (USERS, "Users[0].GroupList[1]", f"group 'Admins' does not exist in account {ACCOUNT}")
    ]


def test_an_attached_policy_that_does_not_exist_is_an_error(make_bundle):
    groups = {
        "Groups": [
            {
                "GroupName": "Readers",
                "AttachedManagedPolicies": [
                    {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/S3Read"},
                    {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/Gone"},
                ],
            }
        ]
    }
    errors = _errors(make_bundle, {GROUPS: groups})
    assert errors == [
        (
            GROUPS,
            "Groups[0].AttachedManagedPolicies[1]",
            f"attached policy arn:aws:iam::{ACCOUNT}:policy/Gone does not exist in the bundle",
        )
    ]


def test_an_aws_managed_policy_without_its_document_is_an_error_with_a_hint(make_bundle):
    groups = {
        "Groups": [
            {
                "GroupName": "Readers",
                "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            }
        ]
    }
    ((_, _, message),) = _errors(make_bundle, {GROUPS: groups})
    assert "aws-managed-policies.json" in message


def test_an_aws_managed_policy_document_in_the_bundle_satisfies_the_reference(make_bundle):
    groups = {
        "Groups": [
            {
                "GroupName": "Readers",
                "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            }
        ]
    }
    managed = {"Policies": [{"Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "Document": ALLOW_S3_READ}]}
    assert _errors(make_bundle, {GROUPS: groups, "aws-managed-policies.json": managed}) == []


def test_a_permissions_boundary_that_does_not_exist_is_an_error(make_bundle):
    users = {
        "Users": [
            {
                "UserName": "alice",
                "GroupList": ["Readers"],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/Fence",
                },
            }
        ]
    }
    assert _errors(make_bundle, {USERS: users}) == [
        (
            USERS,
            "Users[0].PermissionsBoundary",
            f"permissions boundary arn:aws:iam::{ACCOUNT}:policy/Fence does not exist in the bundle",
        )
    ]


def test_a_policy_of_another_account_cannot_be_attached(make_bundle):
    other = "210987654321"
    overrides = {
        f"accounts/{other}/policies.json": {
            "Policies": [{"PolicyName": "Theirs", "Document": ALLOW_S3_READ}]
        },
        GROUPS: {
            "Groups": [
                {
                    "GroupName": "Readers",
                    "AttachedManagedPolicies": [{"PolicyArn": f"arn:aws:iam::{other}:policy/Theirs"}],
                }
            ]
        },
    }
    ((_, _, message),) = _errors(make_bundle, overrides)
    assert message.endswith(f"belongs to account {other}, not {ACCOUNT}")


def test_two_users_with_one_name_are_an_error_naming_the_first(make_bundle):
    users = {"Users": [{"UserName": "alice"}, {"UserName": "Alice"}]}
    ((file, path, message),) = _errors(make_bundle, {USERS: users})
    assert (file, path) == (USERS, "Users[1]")
    assert "declared twice (first at" in message and "Users[0]" in message


def test_a_wrong_type_is_reported_with_the_type_found(make_bundle):
    assert _errors(make_bundle, {USERS: {"Users": {"UserName": "alice"}}}) == [
        (USERS, "Users", "expected a list, got an object")
    ]


def test_an_invalid_iam_name_is_an_error(make_bundle):
    ((_, path, message),) = _errors(make_bundle, {USERS: {"Users": [{"UserName": "alice smith"}]}})
    assert path == "Users[0].UserName" and "not a valid IAM name" in message


def test_an_arn_that_contradicts_the_account_directory_is_an_error(make_bundle):
    users = {
        "Users": [
            {"UserName": "alice", "Arn": "arn:aws:iam::999999999999:user/alice", "GroupList": ["Readers"]}
        ]
    }
    ((_, path, message),) = _errors(make_bundle, {USERS: users})
    assert path == "Users[0].Arn" and "expected 'arn:aws:iam::123456789012:user/alice'" in message


def test_a_trust_policy_statement_without_a_principal_is_an_error(make_bundle):
    roles = {
        "Roles": [
            {
                "RoleName": "app",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}],
                },
            }
        ]
    }
    ((_, path, message),) = _errors(make_bundle, {ROLES: roles})
    assert path == "Roles[0].AssumeRolePolicyDocument.Statement[0]"
    assert "needs a Principal" in message


def test_an_identity_policy_with_a_principal_is_an_error(make_bundle):
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
    }
    ((_, path, message),) = _errors(
        make_bundle, {POLICIES: {"Policies": [{"PolicyName": "S3Read", "Document": document}]}}
    )
    assert (
        path == "Policies[0].Document.Statement[0]" and "not allowed in an identity-based policy" in message
    )


def test_a_resource_arn_of_another_account_is_an_error(make_bundle):
    policies = {
        "ResourcePolicies": [
            {
                "ResourceArn": "arn:aws:sqs:us-east-1:999999999999:queue",
                "Policy": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}],
                },
            }
        ]
    }
    ((_file, path, message),) = _errors(make_bundle, {f"accounts/{ACCOUNT}/resource-policies.json": policies})
    assert path == "ResourcePolicies[0].ResourceArn" and "names account 999999999999" in message


def test_an_scp_target_that_is_not_in_the_organization_is_an_error(make_bundle):
    organization = {
        "Accounts": [{"Id": ACCOUNT}],
        "ServiceControlPolicies": [
            {
                "Name": "All",
                "Document": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
                "Targets": ["r-root", ACCOUNT, "ou-missing"],
            }
        ],
    }
    assert _errors(make_bundle, {"organization.json": organization}) == [
        (
            "organization.json",
            "ServiceControlPolicies[0].Targets[2]",
            "target 'ou-missing' is neither the root, an OU nor an account of the organization",
        )
    ]


def test_an_ou_cycle_is_an_error(make_bundle):
    organization = {
        "OrganizationalUnits": [{"Id": "ou-a", "ParentId": "ou-b"}, {"Id": "ou-b", "ParentId": "ou-a"}]
    }
    messages = [message for _, _, message in _errors(make_bundle, {"organization.json": organization})]
    assert any("its own ancestor" in message for message in messages)


def test_an_scp_gap_is_a_warning_not_an_error(make_bundle):
    organization = {
        "Accounts": [{"Id": ACCOUNT}],
        "ServiceControlPolicies": [
            {
                "Name": "All",
                "Document": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
                "Targets": ["r-root"],
            }
        ],
    }
    problems = _problems(make_bundle, {"organization.json": organization})
    assert [p.code for p in problems] == ["scp-gap"]
    assert problems[0].severity is Severity.WARNING


def test_an_unknown_field_is_a_warning_naming_it(make_bundle):
    users = {"Users": [{"UserName": "alice", "GroupList": ["Readers"], "Groups": ["Readers"]}]}
    problems = _problems(make_bundle, {USERS: users})
    assert [(p.path, p.severity) for p in problems] == [("Users[0].Groups", Severity.WARNING)]


def test_policy_warnings_are_listed_separately_from_errors(make_bundle):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    result = read_organization(
        load_files(make_bundle({POLICIES: {"Policies": [{"PolicyName": "S3Read", "Document": document}]}}))
    )
    assert result.errors == ()
    assert [w.path for w in result.warnings] == ["Policies[0].Document.Statement[0]"]


def test_an_unknown_json_file_is_a_warning(make_bundle):
    problems = _problems(make_bundle, {"extras.json": {}})
    assert [(p.file, p.code) for p in problems] == [("extras.json", "unknown-file")]


def test_a_test_with_an_unknown_expectation_is_an_error(make_bundle):
    tests = {"tests": [{"name": "t", "principal": "alice", "action": "s3:GetObject", "expected": "deny"}]}
    assert _errors(make_bundle, {"tests/basic.json": tests}) == [
        ("tests/basic.json", "tests[0].expected", "'deny' is not one of allowed, explicitDeny, implicitDeny")
    ]


def test_load_bundle_raises_with_every_error_and_keeps_warnings_apart(make_bundle):
    users = {
        "Users": [
            {"UserName": "alice", "GroupList": ["Nope"], "Extra": 1},
            {"UserName": "bob", "GroupList": ["Gone"]},
        ]
    }
    with pytest.raises(BundleValidationError) as caught:
        load_bundle(make_bundle({USERS: users}))
    assert len(caught.value.errors) == 2
    assert [w.path for w in caught.value.warnings] == ["Users[0].Extra"]
    assert "Users[1].GroupList[0]" in str(caught.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Users",
                    "UserName",
                    "GroupList",
                    "Tags",
                    "Key",
                    "Value",
                    "PolicyName",
                    "Document",
                    "Statement",
                    "Effect",
                    "Action",
                    "Resource",
                    "Roles",
                    "RoleName",
                    "Policies",
                    "AttachedManagedPolicies",
                    "PolicyArn",
                    "tests",
                    "name",
                    "context",
                    "Targets",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    document=json_values,
    kind=st.sampled_from(
        [
            "users.json",
            "groups.json",
            "roles.json",
            "policies.json",
            "resource-policies.json",
            "resource-tags.json",
            "authorization-details.json",
        ]
    ),
)
def test_any_json_in_any_file_is_reported_never_raised(document, kind):
    files = minimal_files(
        {f"accounts/{ACCOUNT}/{kind}": document, "organization.json": document, "tests/fuzz.json": document}
    )
    raw = {path: json.dumps(value).encode() for path, value in files.items()}
    result = read_organization(BundleFiles("fuzz", "directory", raw))
    assert all(problem.file and problem.message for problem in result.problems)
