"""``iamgate who-can``, ``what-can`` and ``bundle diff``: offline, over bundle paths, with CI exit codes."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import pytest

from iamgate.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

ACCOUNT = "123456789012"
DEFAULT = str(resources.files("iamgate.bundle.default").joinpath("bundle"))
NOW = ("--now", "2025-06-02T12:00:00Z")
READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}
PUT = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::data/*"}


def _bundle(root: Path, *statements: dict) -> str:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    users = {
        "Users": [{"UserName": "alice", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": document}]}]
    }
    target = root / "accounts" / ACCOUNT / "users.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(users))
    return str(root)


DOCS = {
    "Services": [
        {
            "Name": "docs",
            "Actions": [
                {"Name": "GetDocument", "AccessLevel": "Read"},
                {"Name": "GetHistory", "AccessLevel": "Read"},
            ],
        }
    ]
}


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_who_can_lists_the_allowed_principals_of_the_embedded_bundle():
    code, text = _run("who-can", "s3:GetObject", "arn:aws:s3:::company-data/x", DEFAULT, *NOW)
    assert code == EXIT_OK
    assert "user/mike-devops  [allowed]" in text and "by identity:" in text


def test_who_can_answers_in_json():
    code, text = _run("who-can", "s3:GetObject", "arn:aws:s3:::company-data/x", DEFAULT, "-o", "json", *NOW)
    data = json.loads(text)
    assert code == EXIT_OK and data["truncated"] is False
    assert {row["status"] for row in data["rows"]} == {"allowed"}


def test_who_can_refuses_a_wildcard_action_naming_the_field():
    code, text = _run("who-can", "s3:Get*", "arn:aws:s3:::b/x", DEFAULT)
    assert code == EXIT_USAGE and "action" in text


def test_what_can_lists_actions_and_patterns_for_one_service(tmp_path):
    code, text = _run("what-can", "alice", _bundle(tmp_path, READ), "--service", "s3", *NOW)
    assert code == EXIT_OK and "s3:GetObject on arn:aws:s3:::data/*  [allowed]" in text


def test_what_can_expands_wildcards_of_the_bundles_own_services(tmp_path):
    root = _bundle(tmp_path, {"Effect": "Allow", "Action": "docs:Get*", "Resource": "*"})
    (tmp_path / "services.json").write_text(json.dumps(DOCS))
    code, text = _run("what-can", "alice", root, *NOW)
    assert code == EXIT_OK
    assert "docs:GetDocument on *  [allowed]" in text and "docs:GetHistory on *  [allowed]" in text


def test_what_can_refuses_an_unknown_principal(tmp_path):
    code, text = _run("what-can", "carol", _bundle(tmp_path, READ))
    assert code == EXIT_USAGE and "'carol' is not a user or role" in text


def test_what_can_refuses_a_limit_below_one(tmp_path):
    code, text = _run("what-can", "alice", _bundle(tmp_path, READ), "--limit", "0")
    assert code == EXIT_USAGE and "--limit" in text


def test_a_bad_now_is_a_usage_error(tmp_path, capsys):
    code, _ = _run("what-can", "alice", _bundle(tmp_path, READ), "--now", "yesterday")
    assert code == EXIT_USAGE and "--now" in capsys.readouterr().err


def test_bundle_diff_exits_one_when_access_is_added(tmp_path):
    old, new = _bundle(tmp_path / "old", READ), _bundle(tmp_path / "new", READ, PUT)
    code, text = _run("bundle", "diff", old, new, *NOW)
    assert code == EXIT_FAILED
    assert "+ added    s3:PutObject on arn:aws:s3:::data/*" in text


def test_bundle_diff_exits_zero_when_access_is_only_removed(tmp_path):
    old, new = _bundle(tmp_path / "old", READ, PUT), _bundle(tmp_path / "new", READ)
    code, text = _run("bundle", "diff", old, new, *NOW)
    assert code == EXIT_OK and "- removed  s3:PutObject" in text


@pytest.mark.parametrize("output", ["json", "markdown"])
def test_bundle_diff_renders_for_machines_and_pull_requests(tmp_path, output):
    old, new = _bundle(tmp_path / "old", READ), _bundle(tmp_path / "new", READ, PUT)
    code, text = _run("bundle", "diff", old, new, "-o", output, *NOW)
    assert code == EXIT_FAILED
    if output == "json":
        (change,) = json.loads(text)["changes"]
        assert change["change"] == "added" and change["service"] == "s3"
    else:
        assert "| + added | s3 | `s3:PutObject` | `arn:aws:s3:::data/*` |" in text


def test_a_partial_bundle_diff_fails_closed(tmp_path):
    old, new = _bundle(tmp_path / "old", READ, PUT), _bundle(tmp_path / "new", READ)
    code, text = _run("bundle", "diff", old, new, "--limit", "1", *NOW)
    assert code == EXIT_FAILED and "partial answer: --limit 1 evaluations reached" in text


def test_bundle_diff_of_the_embedded_bundle_with_itself_is_empty():
    code, text = _run("bundle", "diff", DEFAULT, DEFAULT, *NOW)
    assert code == EXIT_OK and "0 added, 0 widened, 0 removed, 0 narrowed" in text


def test_bundle_diff_names_a_missing_bundle(tmp_path):
    code, text = _run("bundle", "diff", str(tmp_path / "nope"), DEFAULT)
    assert code == EXIT_FAILED and "nope" in text


def test_bundle_diff_summary_counts_removals_and_lists_additions_in_full(tmp_path):
    old, new = _bundle(tmp_path / "old", READ), _bundle(tmp_path / "new", PUT)
    code, text = _run("bundle", "diff", old, new, "--summary", *NOW)
    assert code == EXIT_FAILED
    assert "  s3: 1 added, 0 widened, 1 removed, 0 narrowed" in text
    assert "+ added    s3:PutObject on arn:aws:s3:::data/*" in text and "- removed" not in text


def test_bundle_diff_summary_in_markdown_tables_counts_and_additions(tmp_path):
    old, new = _bundle(tmp_path / "old", READ), _bundle(tmp_path / "new", PUT)
    code, text = _run("bundle", "diff", old, new, "--summary", "-o", "markdown", *NOW)
    assert code == EXIT_FAILED
    assert f"| `arn:aws:iam::{ACCOUNT}:user/alice` | s3 | 1 | 0 | 1 | 0 |" in text
    assert (
        f"| + added | `arn:aws:iam::{ACCOUNT}:user/alice` | `s3:PutObject` | `arn:aws:s3:::data/*` |" in text
    )


EVERYTHING_BUT_IAM = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:ec2:*:*:instance/*"}


def test_bundle_diff_fails_closed_on_a_new_statement_it_cannot_enumerate(tmp_path):
    old, new = _bundle(tmp_path / "old", READ), _bundle(tmp_path / "new", READ, EVERYTHING_BUT_IAM)
    code, text = _run("bundle", "diff", old, new, *NOW)
    assert code == EXIT_FAILED and "0 added, 0 widened" in text
    assert "unproven (new, not enumerated: access may be added)" in text and "NotAction" in text


def test_check_access_no_new_access_reports_an_unenumerable_statement_as_incomplete(tmp_path):
    old, new = _bundle(tmp_path / "old", READ), _bundle(tmp_path / "new", READ, EVERYTHING_BUT_IAM)
    code, text = _run("check-access", new, "--no-new-access", old, "-o", "json", *NOW)
    assert code == EXIT_FAILED and "check-incomplete" in text and "NotAction" in text
