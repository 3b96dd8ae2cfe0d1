"""``iamgate access-report``: Access Advisor from decision logs, offline, with CI exit codes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from importlib import resources

import pytest

from iamgate.bundle.default import load_default_snapshot
from iamgate.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

DEFAULT = str(resources.files("iamgate.bundle.default").joinpath("bundle"))
SARAH = "arn:aws:iam::123456789012:user/sarah-developer"
WHEN = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def _instance(n: int) -> str:
    return f"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc{n}"


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """Sarah's and John's decisions as a real sidecar logs them, rotated in two files."""
    from bundle.access_report_helpers import sidecar_log

    root = tmp_path_factory.mktemp("logs")
    calls = [("sarah-developer", "ec2:StopInstances", _instance(n), None) for n in range(3)]
    calls += [("sarah-developer", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", None)]
    calls += [("john-developer", "ec2:RunInstances", "*", None)]
    path = sidecar_log(root / "d.log", calls)
    lines = path.read_text().splitlines(keepends=True)
    (root / "d.log.1").write_text("".join(lines[:2]))
    path.write_text("".join(lines[2:]))
    return root


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["access-report", *argv], out=out), out.getvalue()


def test_the_text_report_lists_each_principals_used_and_denied_actions(log):
    code, text = _run(str(log / "d.log.1"), str(log / "d.log"))
    assert code == EXIT_OK
    assert "ec2:StopInstances: allowed 3x" in text
    assert "s3:GetObject: denied 1x (0 explicit, 1 implicit)" in text
    assert "arn:aws:iam::123456789012:user/john-developer  (1 decision(s))" in text


def test_with_the_bundle_unused_allow_statements_and_unused_services_are_listed(log):
    code, text = _run(str(log / "d.log"), str(log / "d.log.1"), "--bundle", DEFAULT)
    assert code == EXIT_OK
    assert "Allow statements that decided nothing in the period" in text
    assert "identity:arn:aws:iam::123456789012:policy/DeveloperAccess#ReadCloudWatchLogs" in text
    assert "identity:arn:aws:iam::123456789012:policy/DeveloperAccess#ManageEC2\n" not in text
    assert "granted, never used: iam, logs, sts" in text
    assert "arn:aws:iam::123456789012:user/lisa-finance  (0 decision(s))\n  no activity in the period" in text


def test_json_output_carries_the_suggestion_and_its_replay(log):
    code, text = _run(
        str(log / "d.log"),
        str(log / "d.log.1"),
        "--bundle",
        DEFAULT,
        "--principal",
        "sarah-developer",
        "-o",
        "json",
    )
    data = json.loads(text)
    assert code == EXIT_OK
    assert [p["principal"] for p in data["principals"]] == [SARAH]
    suggestion = data["suggestion"]
    assert suggestion["actions"] == ["ec2:StopInstances"] and suggestion["replay"]["same"]
    assert suggestion["replay"]["replayed"] == 4
    assert suggestion["policy"]["Statement"][0]["Resource"] == sorted(_instance(n) for n in range(3))


def test_markdown_output_is_a_table_and_a_policy_block(log):
    code, text = _run(str(log / "d.log"), "--bundle", DEFAULT, "--principal", SARAH, "-o", "markdown")
    assert code == EXIT_OK
    assert "| principal | service | action |" in text and "```json" in text


def test_since_and_until_bound_the_period(log):
    code, text = _run(str(log / "d.log"), "--since", "2999-01-01T00:00:00Z")
    assert code == EXIT_OK and text.startswith("access report: 0 decision(s)")


def test_a_logged_allow_the_bundle_does_not_reproduce_is_reported_and_not_suggested(tmp_path):
    from bundle.access_report_helpers import logged_line

    snapshot = load_default_snapshot(cache_size=0)
    line = logged_line(
        snapshot, "alex-contractor", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", when=WHEN
    )
    # Logged allowed, but a year later: past the contract window the bundle denies it.
    late = line.replace('"timestamp":"2025-06-02', '"timestamp":"2026-06-02')
    (tmp_path / "d.log").write_text(late + "\n")
    code, text = _run(str(tmp_path / "d.log"), "--bundle", DEFAULT, "--principal", "alex-contractor")
    assert code == EXIT_OK and "1 not reproduced by the bundle" in text
    assert "none: no identity permission was used in the period" in text


def test_malformed_lines_are_reported_with_file_and_line_and_do_not_fail(tmp_path, log):
    path = tmp_path / "d.log"
    path.write_text((log / "d.log").read_text() + "garbage\n")
    code, text = _run(str(path))
    lines = len((log / "d.log").read_text().splitlines())
    assert code == EXIT_OK and f"{path}:{lines + 1}: not a decision-log line" in text


def test_an_unreadable_log_file_fails_the_command(tmp_path):
    code, text = _run(str(tmp_path / "missing.log"))
    assert code == EXIT_FAILED and "cannot read" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--max-entries", "0"), "--max-entries must be at least 1"),
        (("--since", "2026-02-01", "--until", "2026-01-01"), "--since must be before --until"),
        (("--since", "yesterday"), "--since: 'yesterday' is not an ISO 8601 time"),
        (("--bundle", DEFAULT, "--principal", "nobody"), "is not a user or role of bundle"),
    ],
)
def test_bad_flags_are_usage_errors(tmp_path, capsys, argv, message):
    (tmp_path / "d.log").write_text("")
    code, text = _run(str(tmp_path / "d.log"), *argv)
    assert code == EXIT_USAGE and message in text + capsys.readouterr().err


def test_a_suggestion_whose_replay_loses_an_allow_fails_the_command(log, monkeypatch):
    from iamgate.bundle.access_report import suggest

    real = suggest.validate
    # As if the suggestion were wrong: replay against the principal with no identity policy at all.
    monkeypatch.setattr(
        suggest,
        "validate",
        lambda original, _, requests: real(original, original.with_identity_policies(SARAH, ()), requests),
    )
    code, text = _run(
        str(log / "d.log"), str(log / "d.log.1"), "--bundle", DEFAULT, "--principal", "sarah-developer"
    )
    assert code == EXIT_FAILED and "3 lost, 0 gained" in text and "  lost: " in text


def test_an_unreadable_file_fails_the_command_however_many_bad_lines_come_first(tmp_path):
    (tmp_path / "bad.log").write_text("x\n" * 50)
    code, text = _run(str(tmp_path / "bad.log"), str(tmp_path / "missing.log"))
    assert code == EXIT_FAILED and "51 problem(s) reading the logs" in text
