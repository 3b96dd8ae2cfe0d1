"""The embedded default bundle: the guide's organization, its claims pinned by the bundle's tests."""

from __future__ import annotations

import json

import pytest

from iamgate.bundle import format as fmt
from iamgate.bundle.default import SOURCE, load_default_snapshot
from iamgate.bundle.load import load_bundle
from iamgate.bundle.loader import load_files
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.testing import run_tests
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision, PolicyKind

from .helpers import default_bundle_dir

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@pytest.fixture(scope="module")
def snapshot():
    return load_default_snapshot()


def _decide(snapshot, principal, action, resource, **context):
    entries = tuple(ContextValue(key, (value,)) for key, value in context.items())
    return snapshot.authorize(AccessQuery(principal, action, resource, entries)).evaluation.decision


def test_the_default_bundle_is_named_default_and_served_from_the_package(snapshot):
    assert (snapshot.name, snapshot.source) == ("default", SOURCE)


def test_every_test_of_the_default_bundle_passes(snapshot):
    report = run_tests(snapshot)
    assert [result.test.name for result in report.failed] == []
    assert len(report.results) >= 40


def test_the_default_bundle_has_no_warnings():
    assert load_bundle(default_bundle_dir()).warnings == ()


def test_the_manifest_revision_is_the_content_hash_so_edits_need_a_new_manifest():
    files = load_files(default_bundle_dir()).files
    content = {path: data for path, data in files.items() if path not in fmt.UNHASHED}
    manifest = json.loads(files[fmt.MANIFEST])
    assert manifest["revision"] == "default-" + fmt.content_revision(content)[:12]


def test_sarah_may_stop_but_not_terminate_a_production_instance(snapshot):
    assert _decide(snapshot, "sarah-developer", "ec2:StopInstances", INSTANCE) is Decision.ALLOWED
    assert (
        _decide(
            snapshot,
            "sarah-developer",
            "ec2:TerminateInstances",
            INSTANCE,
            **{"ec2:ResourceTag/Environment": "production"},
        )
        is Decision.EXPLICIT_DENY
    )


def test_sarah_may_terminate_a_staging_instance(snapshot):
    assert (
        _decide(
            snapshot,
            "sarah-developer",
            "ec2:TerminateInstances",
            INSTANCE,
            **{"ec2:ResourceTag/Environment": "staging"},
        )
        is Decision.ALLOWED
    )


def test_lisa_may_not_run_instances_because_no_identity_policy_allows_it(snapshot):
    outcome = snapshot.authorize(AccessQuery("lisa-finance", "ec2:RunInstances", "*"))
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert outcome.message == (
        "User: arn:aws:iam::123456789012:user/lisa-finance is not authorized to perform: ec2:RunInstances "
        "on resource: * because no identity-based policy allows the ec2:RunInstances action"
    )


def test_the_production_deny_is_the_determining_statement(snapshot):
    outcome = snapshot.authorize(
        AccessQuery(
            "john-developer",
            "ec2:TerminateInstances",
            INSTANCE,
            (ContextValue("ec2:ResourceTag/Environment", ("production",)),),
        )
    )
    (ref,) = outcome.evaluation.determining
    assert (ref.policy_id, ref.kind, ref.sid) == (
        "arn:aws:iam::123456789012:policy/DeveloperAccess",
        PolicyKind.IDENTITY,
        "DenyTerminateProduction",
    )


def test_sarah_carries_the_guide_tags(snapshot):
    entry = snapshot.by_arn["arn:aws:iam::123456789012:user/sarah-developer"]
    tags = {
        value.name: value.values
        for value in entry.context.values()
        if value.name.startswith("aws:PrincipalTag/")
    }
    assert tags == {
        "aws:PrincipalTag/Department": ("Engineering",),
        "aws:PrincipalTag/Role": ("Backend Developer",),
    }


def test_the_ec2_upload_role_has_the_guide_trust_policy(snapshot):
    trust = snapshot.trust_policies["arn:aws:iam::123456789012:role/EC2-S3-Upload-Role"]
    (statement,) = trust.document.statements
    assert statement.principal.entries == (("Service", "ec2.amazonaws.com"),)
    assert statement.actions == ("sts:AssumeRole",)


@pytest.mark.parametrize(
    "policy",
    [
        "DeveloperAccess",
        "DevOpsFullAccess",
        "BillingReadOnly",
        "MyAppImagesReadOnly",
        "ContractorTimeWindow",
        "LambdaDynamoDBAccess",
        "S3UploadAccess",
    ],
)
def test_each_guide_policy_is_a_customer_managed_policy_in_the_main_account(policy):
    arns = {p.arn for p in load_bundle(default_bundle_dir()).organization.policies}
    assert f"arn:aws:iam::123456789012:policy/{policy}" in arns


def test_the_cross_account_role_requires_mfa(snapshot):
    role = "arn:aws:iam::210987654321:role/ProductionDebugRole"
    assert _decide(snapshot, "john-developer", "sts:AssumeRole", role) is Decision.IMPLICIT_DENY
    assert (
        _decide(snapshot, "john-developer", "sts:AssumeRole", role, **{"aws:MultiFactorAuthPresent": "true"})
        is Decision.ALLOWED
    )
