"""build, inspect, validate and test: text for people, exit codes for CI, never a traceback."""

from __future__ import annotations

import hashlib
import json
import tarfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from iamgate.bundle import format as fmt
from iamgate.bundle.commands import (
    build_command,
    inspect_command,
    manifest_command,
    test_command,
    validate_command,
)
from iamgate.bundle.load import load_bundle, load_snapshot
from iamgate.bundle.query import AccessQuery

from .helpers import DETAILS_FIXTURE, default_bundle_dir

CREATED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FAILING_TEST = {
    "tests": [
        {
            "name": "alice may write",
            "principal": "alice",
            "action": "s3:PutObject",
            "resource": "arn:aws:s3:::data/x",
            "expected": "allowed",
        },
    ]
}


def _queries(snapshot):
    """Every test query of the default bundle plus a grid of principals x actions x resources."""
    principals = [
        "sarah-developer",
        "john-developer",
        "mike-devops",
        "lisa-finance",
        "alex-contractor",
        "ec2.amazonaws.com",
        "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-1",
        "eve",
    ]
    actions = [
        "ec2:TerminateInstances",
        "ec2:RunInstances",
        "s3:PutObject",
        "s3:GetObject",
        "ce:GetCostAndUsage",
        "sts:AssumeRole",
        "logs:GetLogEvents",
        "organizations:LeaveOrganization",
    ]
    resources = [
        "*",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0prod1234567890ab",
        "arn:aws:s3:::my-app-uploads/a.jpg",
        "arn:aws:iam::123456789012:role/EC2-S3-Upload-Role",
    ]
    queries = [
        AccessQuery(t.principal, t.action, t.resource, t.context, t.session_policy) for t in snapshot.tests
    ]
    queries += [AccessQuery(p, a, r) for p in principals for a in actions for r in resources]
    return queries


def _answers(snapshot):
    now = datetime(2025, 6, 2, 10, tzinfo=UTC)
    return [
        (o.evaluation.decision, o.evaluation.determining, o.message)
        for o in (snapshot.authorize(q, now=now) for q in _queries(snapshot))
    ]


def test_a_directory_and_its_archive_give_the_same_decisions(tmp_path):
    archive = tmp_path / "default.tar.gz"
    assert build_command(default_bundle_dir(), archive, created=CREATED).exit_code == 0
    from_dir = load_snapshot(default_bundle_dir())
    from_archive = load_snapshot(archive)
    assert _answers(from_archive) == _answers(from_dir)
    assert len(_queries(from_dir)) > 250


def test_build_writes_a_manifest_listing_every_file_hash(make_bundle, tmp_path):
    output = tmp_path / "b.tar.gz"
    result = build_command(make_bundle(), output, revision="v7", created=CREATED)
    assert result.exit_code == 0, result.text
    with tarfile.open(output) as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile(fmt.MANIFEST))
        hashes = {
            name: hashlib.sha256(archive.extractfile(name).read()).hexdigest()
            for name in names
            if name != fmt.MANIFEST
        }
    assert manifest["revision"] == "v7"
    assert manifest["files"] == hashes
    assert "revision:  v7" in result.text


def test_build_is_deterministic_for_the_same_content_and_time(make_bundle, tmp_path):
    source = make_bundle()
    first, second = tmp_path / "1.tar.gz", tmp_path / "2.tar.gz"
    build_command(source, first, created=CREATED)
    build_command(source, second, created=CREATED)
    assert first.read_bytes() == second.read_bytes()


def test_build_keeps_the_revision_of_a_source_manifest_that_still_matches(tmp_path):
    build_command(default_bundle_dir(), tmp_path / "d.tar.gz", created=CREATED)
    assert load_bundle(tmp_path / "d.tar.gz").revision == load_bundle(default_bundle_dir()).revision


def test_build_revision_defaults_to_the_content_hash(make_bundle, tmp_path):
    source = make_bundle()
    build_command(source, tmp_path / "a.tar.gz", created=CREATED)
    (source / "tests" / "more.json").write_text('{"tests": []}')
    build_command(source, tmp_path / "b.tar.gz", created=CREATED)
    revisions = {load_bundle(tmp_path / name).revision for name in ("a.tar.gz", "b.tar.gz")}
    assert len(revisions) == 2 and all(len(revision) == 64 for revision in revisions)


def test_build_from_a_details_file_keeps_its_hash_as_revision(tmp_path):
    output = tmp_path / "details.tar.gz"
    assert build_command(DETAILS_FIXTURE, output, created=CREATED).exit_code == 0
    bundle = load_bundle(output)
    assert bundle.revision == hashlib.sha256(DETAILS_FIXTURE.read_bytes()).hexdigest()
    assert bundle.name == "authorization-details"


def test_build_refuses_an_invalid_bundle_and_writes_nothing(make_bundle, tmp_path):
    source = make_bundle(
        {"accounts/123456789012/users.json": {"Users": [{"UserName": "alice", "GroupList": ["X"]}]}}
    )
    output = tmp_path / "bad.tar.gz"
    result = build_command(source, output)
    assert result.exit_code == 1
    assert "accounts/123456789012/users.json: Users[0].GroupList[0]: group 'X' does not exist" in result.text
    assert not output.exists()


def test_build_refuses_a_bundle_whose_tests_fail(make_bundle, tmp_path):
    output = tmp_path / "failing.tar.gz"
    result = build_command(make_bundle({"tests/basic.json": FAILING_TEST}), output)
    assert result.exit_code == 1 and "the bundle's tests fail" in result.text
    assert not output.exists()


def test_build_with_a_missing_source_is_a_usage_error(tmp_path):
    assert build_command(tmp_path / "nope", tmp_path / "out.tar.gz").exit_code == 2


def test_inspect_shows_manifest_counts_and_signature(tmp_path):
    archive = tmp_path / "default.tar.gz"
    build_command(default_bundle_dir(), archive, revision="r42", created=CREATED)
    result = inspect_command(archive)
    assert result.exit_code == 0
    assert "bundle:    default" in result.text and "revision:  r42" in result.text
    assert "signature: unsigned" in result.text
    assert "5 users, 4 groups, 4 roles" in result.text


def test_inspect_reports_a_tampered_archive_as_refused(make_bundle, tmp_path):
    source = make_bundle(manifest=True)
    (source / "tests" / "basic.json").write_text('{"tests": []}')
    result = inspect_command(source)
    assert result.exit_code == 1 and "REFUSED" in result.text and "altered" in result.text


def test_validate_lists_each_error_with_file_and_path_and_exits_1(make_bundle):
    users = {"Users": [{"UserName": "alice", "GroupList": ["X"], "Nickname": "al"}]}
    result = validate_command(make_bundle({"accounts/123456789012/users.json": users}))
    assert result.exit_code == 1
    lines = result.text.splitlines()
    error = "accounts/123456789012/users.json: Users[0].GroupList[0]: group 'X' does not exist in account "
    error += "123456789012"
    assert f"error   {error}" in lines
    assert (
        "warning accounts/123456789012/users.json: Users[0].Nickname: unknown field (ignored) [unknown-field]"
        in lines
    )
    assert lines[-1].endswith("invalid: 1 error(s), 1 warning(s)")


def test_validate_passes_a_valid_bundle_with_its_counts():
    result = validate_command(default_bundle_dir())
    assert result.exit_code == 0
    assert "valid: bundle default" in result.text and "9 principals" in result.text


def test_validate_reports_malformed_json_without_a_traceback(make_bundle):
    result = validate_command(make_bundle({"tests/basic.json": "{ nope"}))
    assert result.exit_code == 1
    assert "tests/basic.json: malformed JSON" in result.text
    assert "Traceback" not in result.text


def test_test_command_prints_a_table_and_exits_0_when_all_pass():
    result = test_command(default_bundle_dir())
    assert result.exit_code == 0
    assert "0 failed" in result.text.splitlines()[0]
    assert "  PASS  sarah may stop an instance" in result.text


def test_a_failing_test_is_explained_and_exits_1(make_bundle):
    result = test_command(make_bundle({"tests/basic.json": FAILING_TEST}))
    assert result.exit_code == 1
    text = result.text
    assert "FAIL  alice may write" in text
    assert "expected allowed, got implicitDeny" in text
    assert "because no identity-based policy allows the s3:PutObject action" in text
    assert "determining statements: (none)" in text
    assert "tests/basic.json: tests[0]" in text


def test_a_failing_test_names_the_determining_statement(default_copy):
    tests = default_copy / "tests" / "developers.json"
    document = json.loads(tests.read_text())
    document["tests"][1]["expected"] = "allowed"  # sarah terminating production
    tests.write_text(json.dumps(document))
    (default_copy / fmt.MANIFEST).unlink()
    result = test_command(default_copy)
    assert result.exit_code == 1
    assert "identity:arn:aws:iam::123456789012:policy/DeveloperAccess#DenyTerminateProduction" in result.text


def test_test_output_json_lists_every_result(make_bundle):
    result = test_command(make_bundle({"tests/basic.json": FAILING_TEST}), output="json")
    report = json.loads(result.text)
    assert (report["total"], report["passed"], report["failed"]) == (1, 0, 1)
    (entry,) = report["results"]
    assert (entry["expected"], entry["got"], entry["passed"]) == ("allowed", "implicitDeny", False)


def test_test_output_junit_is_xml_with_one_case_per_test(make_bundle):
    result = test_command(make_bundle({"tests/basic.json": FAILING_TEST}), output="junit")
    suite = ET.fromstring(result.text).find("testsuite")
    assert suite.get("tests") == "1" and suite.get("failures") == "1"
    case = suite.find("testcase")
    assert case.get("name") == "alice may write" and case.get("classname") == "tests.basic"
    assert case.find("failure").get("message") == "expected allowed, got implicitDeny"


def test_an_unknown_output_format_is_a_usage_error(make_bundle):
    assert test_command(make_bundle(), output="yaml").exit_code == 2


def test_manifest_command_writes_a_manifest_that_loads(make_bundle):
    source = make_bundle()
    result = manifest_command(source, name="team-a", revision="2026.11.28")
    assert result.exit_code == 0, result.text
    bundle = load_bundle(source)
    assert (bundle.name, bundle.revision) == ("team-a", "2026.11.28")


@pytest.mark.parametrize("command", [inspect_command, validate_command, test_command])
def test_a_missing_path_is_a_usage_error_not_an_exception(command, tmp_path):
    result = command(tmp_path / "missing")
    assert result.exit_code == 2 and "no such file or directory" in result.text
