"""`aws iam get-account-authorization-details` output is a bundle's organization, as is."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import unquote

import pytest

from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.load import load_bundle, load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.result import Decision

from .helpers import DETAILS_FIXTURE

ACCOUNT = "444455556666"
PRIYA = f"arn:aws:iam::{ACCOUNT}:user/analysts/priya"
REPORT = "arn:aws:s3:::example-reports/2025/q1.csv"


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot(DETAILS_FIXTURE)


def _decide(snapshot, principal, action, resource):
    return snapshot.authorize(AccessQuery(principal, action, resource)).evaluation.decision


def test_the_revision_of_a_details_file_is_its_sha256(snapshot):
    assert snapshot.revision == hashlib.sha256(DETAILS_FIXTURE.read_bytes()).hexdigest()


def test_a_given_revision_overrides_the_content_hash():
    assert load_bundle(DETAILS_FIXTURE, revision="prod-2026-11-28").revision == "prod-2026-11-28"


def test_the_account_is_read_from_the_arns(snapshot):
    assert [entry.account for entry in snapshot.by_arn.values()] == [ACCOUNT] * 3


def test_paths_and_unique_ids_come_from_the_file(snapshot):
    entry = snapshot.by_arn[PRIYA]
    assert entry.unique_id == "AIDAQ3EGRZ7MEXAMPLE1"


def test_a_group_policy_applies_to_its_member(snapshot):
    assert _decide(snapshot, "priya", "s3:GetObject", REPORT) is Decision.ALLOWED


def test_a_url_encoded_inline_deny_applies(snapshot):
    assert _decide(snapshot, PRIYA, "s3:DeleteObject", REPORT) is Decision.EXPLICIT_DENY


def test_only_the_default_policy_version_counts(snapshot):
    """v1 of ReportsReadOnly allowed s3:*; v2 (the default) only reads."""
    assert _decide(snapshot, "priya", "s3:PutObject", REPORT) is Decision.IMPLICIT_DENY


def test_the_permissions_boundary_limits_the_group_policy(snapshot):
    outcome = snapshot.authorize(AccessQuery("priya", "iam:ListUserTags", PRIYA))
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert "no permissions boundary allows" in outcome.message


def test_an_aws_managed_policy_carried_in_the_file_applies(snapshot):
    assert _decide(snapshot, "ci-deployer", "ec2:DescribeInstances", "*") is Decision.ALLOWED
    assert _decide(snapshot, "ci-deployer", "ec2:RunInstances", "*") is Decision.IMPLICIT_DENY


def test_a_url_encoded_trust_policy_admits_its_service(snapshot):
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/report-builder"
    assert _decide(snapshot, "lambda.amazonaws.com", "sts:AssumeRole", role) is Decision.ALLOWED
    assert _decide(snapshot, "ec2.amazonaws.com", "sts:AssumeRole", role) is Decision.IMPLICIT_DENY


def test_a_role_session_gets_the_role_inline_policy(snapshot):
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/report-builder/build-42"
    assert _decide(snapshot, session, "s3:PutObject", REPORT) is Decision.ALLOWED


def test_documents_as_plain_json_strings_are_accepted_too(tmp_path):
    details = json.loads(DETAILS_FIXTURE.read_text())
    for user in details["UserDetailList"]:
        for policy in user["UserPolicyList"]:
            policy["PolicyDocument"] = unquote(policy["PolicyDocument"])
    path = tmp_path / "details.json"
    path.write_text(json.dumps(details))
    assert _decide(load_snapshot(path), PRIYA, "s3:DeleteObject", REPORT) is Decision.EXPLICIT_DENY


def test_a_details_file_with_a_dangling_group_is_reported_with_its_path(tmp_path):
    details = json.loads(DETAILS_FIXTURE.read_text())
    details["UserDetailList"][0]["GroupList"].append("Ghosts")
    path = tmp_path / "details.json"
    path.write_text(json.dumps(details))
    with pytest.raises(BundleValidationError) as caught:
        load_bundle(path)
    assert [(p.file, p.path) for p in caught.value.errors] == [
        ("details.json", "UserDetailList[0].GroupList[1]")
    ]


def test_a_json_file_that_is_not_details_output_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(BundleValidationError, match="not get-account-authorization-details output"):
        load_bundle(path)


def test_a_truncated_details_output_is_a_warning(tmp_path):
    details = json.loads(DETAILS_FIXTURE.read_text())
    details["IsTruncated"] = True
    details["Marker"] = "abc"
    path = tmp_path / "details.json"
    path.write_text(json.dumps(details))
    assert [w.path for w in load_bundle(path).warnings] == ["IsTruncated"]


def test_details_inside_a_bundle_directory_merge_with_hand_written_files(tmp_path):
    root = tmp_path / "bundle"
    (root / "accounts" / ACCOUNT).mkdir(parents=True)
    (root / "accounts" / ACCOUNT / "authorization-details.json").write_bytes(DETAILS_FIXTURE.read_bytes())
    (root / "tests").mkdir()
    (root / "tests" / "reports.json").write_text(
        json.dumps(
            {
                "tests": [
                    {
                        "name": "priya reads",
                        "principal": "priya",
                        "action": "s3:GetObject",
                        "resource": REPORT,
                        "expected": "allowed",
                    }
                ]
            }
        )
    )
    bundle = load_bundle(root)
    assert len(bundle.organization.users) == 2 and len(bundle.organization.tests) == 1
