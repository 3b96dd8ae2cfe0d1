"""A bundle test that names something nothing knows is an error, not a test that passes."""

from __future__ import annotations

from pathlib import Path

from iamgate.bundle.commands import test_command, validate_command
from tests.bundle.helpers import minimal_files, write_files


def with_test(tmp_path: Path, **fields) -> Path:
    test = {
        "name": "probe",
        "principal": "alice",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::data/x",
        "expected": "allowed",
        **fields,
    }
    return write_files(tmp_path / "bundle", minimal_files({"tests/probe.json": {"tests": [test]}}))


def test_a_misspelled_principal_fails_even_when_implicit_deny_is_expected(tmp_path):
    result = test_command(with_test(tmp_path, principal="alicee", expected="implicitDeny"))
    assert result.exit_code == 1
    assert "'alicee' is unknown to bundle" in result.text and "did you mean 'alice'" in result.text


def test_a_principal_outside_the_bundle_is_tested_when_the_test_says_so(tmp_path):
    path = with_test(tmp_path, principal="eve", expected="implicitDeny", principalUnknown=True)
    assert test_command(path).exit_code == 0


def test_principal_unknown_on_a_known_principal_is_an_error(tmp_path):
    result = test_command(with_test(tmp_path, principalUnknown=True))
    assert result.exit_code == 1 and "is a principal of the bundle" in result.text


def test_an_unknown_field_in_a_test_is_an_error(tmp_path):
    result = test_command(with_test(tmp_path, contxt={"aws:SourceIp": "10.0.0.1"}))
    assert result.exit_code == 1
    assert "tests/probe.json: tests[0].contxt: unknown field; did you mean 'context'?" in result.text


def test_a_misspelled_action_in_a_test_is_an_error_with_a_did_you_mean(tmp_path):
    result = validate_command(with_test(tmp_path, action="s3:GetObjekt", expected="implicitDeny"))
    assert result.exit_code == 1
    assert "tests[0].action: 's3:GetObjekt' is not an action of Amazon S3; did you mean 's3:GetObject'?" in (
        result.text
    )


def test_an_action_of_an_undeclared_service_no_statement_names_is_an_error(tmp_path):
    result = validate_command(with_test(tmp_path, action="docs:Read", expected="implicitDeny"))
    assert result.exit_code == 1 and "[test-unknown-action]" not in result.text
    assert "service 'docs' is in neither the catalogue nor any statement of the bundle" in result.text


def test_a_context_key_no_condition_reads_and_the_catalogue_does_not_know_is_an_error(tmp_path):
    result = validate_command(with_test(tmp_path, context={"app:tenat": "a"}))
    assert result.exit_code == 1
    assert "tests[0].context.app:tenat: no condition of the bundle reads 'app:tenat'" in result.text


def test_a_global_context_key_is_known(tmp_path):
    assert validate_command(with_test(tmp_path, context={"aws:SourceIp": "10.0.0.1"})).exit_code == 0


def test_run_selects_tests_by_name(tmp_path):
    result = test_command(with_test(tmp_path), run="^probe$")
    assert (
        result.exit_code == 0 and "1 tests, 1 passed" in result.text and "alice may read" not in result.text
    )


def test_run_selecting_nothing_is_an_error(tmp_path):
    assert test_command(with_test(tmp_path), run="nothing-like-this").exit_code == 1


def test_a_bad_run_pattern_is_a_usage_error(tmp_path):
    assert test_command(with_test(tmp_path), run="(").exit_code == 2


def test_coverage_lists_the_statements_no_test_matched(tmp_path):
    text = test_command(with_test(tmp_path, expected="allowed"), coverage=True).text
    assert "coverage: 1 of 1 statements matched by a test" in text


def test_coverage_names_a_statement_no_test_reaches(tmp_path):
    path = with_test(tmp_path, principal="alice", action="s3:PutObject", expected="implicitDeny")
    text = test_command(path, coverage=True, run="probe").text
    assert "coverage: 0 of 1 statements" in text and "S3Read#Read" in text
