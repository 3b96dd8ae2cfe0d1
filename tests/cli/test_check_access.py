"""``iamgate check-access``: CI gates on generated bundles with known changes and on the embedded bundle.

Exit codes: 0 no finding, 1 findings, 2 the checks could not run.
"""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import pytest

from iamgate.cli import main
from tests.bundle import access_helpers as h
from tests.bundle.helpers import minimal_files, write_files

DEFAULT = str(resources.files("iamgate.bundle.default").joinpath("bundle"))
NOW = ("--now", "2025-06-02T12:00:00Z")
DATA = "arn:aws:s3:::data/report.csv"


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["check-access", *argv, *NOW], out=out), out.getvalue()


def _bundle(root: Path, overrides: dict | None = None) -> str:
    files = {**h.users(), **h.s3_read(), "tests/basic.json": None, **(overrides or {})}
    write_files(root, minimal_files(files))
    return str(root)


def _codes(output: str) -> list[str]:
    return [finding["code"] for finding in json.loads(output)["findings"]]


def _public_policy(statement: dict) -> dict:
    base = {"Sid": "Open", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}
    policy = {"Version": "2012-10-17", "Statement": [{**base, **statement}]}
    return {
        h.RESOURCE_POLICIES: {"ResourcePolicies": [{"ResourceArn": "arn:aws:s3:::data", "Policy": policy}]}
    }


# -- --no-new-access -------------------------------------------------------------------------------


def test_an_unchanged_bundle_passes_no_new_access():
    code, output = _run("--no-new-access", DEFAULT, DEFAULT)
    assert code == 0 and output.endswith("passed\n")


def test_an_added_statement_is_new_access(tmp_path):
    old, new = _bundle(tmp_path / "old"), _bundle(tmp_path / "new", h.users(alice_inline=h.PUT_DATA))
    code, output = _run("--no-new-access", old, new, "--output", "json")
    findings = json.loads(output)["findings"]
    assert code == 1 and [(f["code"], f["path"]) for f in findings] == [("new-access", h.ALICE)]
    assert "s3:PutObject on arn:aws:s3:::data/*" in findings[0]["message"]


def test_a_removed_group_membership_adds_no_access(tmp_path):
    old, new = _bundle(tmp_path / "old"), _bundle(tmp_path / "new", h.users(alice_groups=()))
    assert _run("--no-new-access", old, new)[0] == 0


def test_a_narrowed_condition_adds_no_access(tmp_path):
    old, new = _bundle(tmp_path / "old"), _bundle(tmp_path / "new", h.s3_read(h.SOURCE_IP))
    assert _run("--no-new-access", old, new)[0] == 0


def test_dropping_a_condition_is_widened_access(tmp_path):
    old, new = _bundle(tmp_path / "old", h.s3_read(h.SOURCE_IP)), _bundle(tmp_path / "new")
    code, output = _run("--no-new-access", old, new, "--output", "json")
    assert code == 1 and _codes(output) == ["widened-access"]


def test_a_new_resource_policy_is_new_access_for_the_principal_it_names(tmp_path):
    old, new = _bundle(tmp_path / "old"), _bundle(tmp_path / "new", h.bucket_policy(h.BOB))
    code, output = _run("--no-new-access", old, new, "--output", "json")
    assert code == 1 and {(f["code"], f["path"]) for f in json.loads(output)["findings"]} == {
        ("new-access", h.BOB)
    }


def test_a_check_cut_short_by_its_limit_fails_closed(tmp_path):
    old, new = _bundle(tmp_path / "old"), _bundle(tmp_path / "new")
    code, output = _run("--no-new-access", old, new, "--limit", "1", "--output", "json")
    assert code == 1 and _codes(output) == ["check-incomplete"]


# -- --not-granted ---------------------------------------------------------------------------------


def test_not_granted_lists_every_principal_allowed(tmp_path):
    code, output = _run(_bundle(tmp_path), "--not-granted", "s3:GetObject", DATA, "--output", "json")
    findings = json.loads(output)["findings"]
    assert code == 1 and [(f["code"], f["path"]) for f in findings] == [("access-granted", h.ALICE)]
    assert "policy/S3Read#Read" in findings[0]["message"]


def test_a_conditional_grant_is_its_own_finding(tmp_path):
    bundle = _bundle(tmp_path, h.s3_read(h.SOURCE_IP))
    code, output = _run(bundle, "--not-granted", "s3:GetObject", DATA, "--output", "json")
    assert code == 1 and _codes(output) == ["access-granted-conditionally"]
    assert "aws:SourceIp" in json.loads(output)["findings"][0]["message"]


def test_an_action_nobody_is_allowed_passes(tmp_path):
    assert _run(_bundle(tmp_path), "--not-granted", "s3:DeleteObject", DATA)[0] == 0


def test_several_not_granted_checks_run_together_on_the_embedded_bundle():
    code, output = _run(
        DEFAULT, "--not-granted", "s3:DeleteBucket", "*", "--not-granted", "iam:CreateUser", "*", "-o", "json"
    )
    findings = json.loads(output)["findings"]
    assert code == 1 and {f["path"] for f in findings} == {"arn:aws:iam::123456789012:user/mike-devops"}
    assert json.loads(output)["checks"] == ["not-granted s3:DeleteBucket *", "not-granted iam:CreateUser *"]


def test_a_wildcard_action_expands_through_the_catalogue(tmp_path):
    code, output = _run(_bundle(tmp_path), "--not-granted", "s3:Get*", DATA, "--output", "json")
    assert code == 1 and "access-granted" in _codes(output)


# -- --no-public-access ----------------------------------------------------------------------------


def test_the_embedded_bundle_has_no_public_access():
    assert _run(DEFAULT, "--no-public-access") == (0, f"{DEFAULT}: no-public-access: passed\n")


@pytest.mark.parametrize(
    "statement",
    [
        {"Principal": "*"},
        {"Principal": {"AWS": "*"}},
        {"NotPrincipal": {"AWS": f"arn:aws:iam::{h.ACCOUNT}:root"}},
        {"Principal": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Principal": "*", "Condition": {"StringLike": {"aws:SourceAccount": "*"}}},
    ],
)
def test_a_policy_open_to_everyone_is_public(tmp_path, statement):
    code, output = _run(_bundle(tmp_path, _public_policy(statement)), "--no-public-access", "-o", "json")
    findings = json.loads(output)["findings"]
    assert code == 1 and [f["code"] for f in findings] == ["public-access"]
    assert findings[0]["file"] == h.RESOURCE_POLICIES
    assert findings[0]["path"] == "ResourcePolicies[0].Policy.Statement[0]"


@pytest.mark.parametrize(
    "statement",
    [
        {"Principal": "*", "Condition": {"StringEquals": {"aws:SourceAccount": h.ACCOUNT}}},
        {"Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}},
        {"Principal": {"AWS": h.BOB}},
        {"Principal": "*", "Effect": "Deny"},
    ],
)
def test_a_restricted_or_denying_policy_is_not_public(tmp_path, statement):
    assert _run(_bundle(tmp_path, _public_policy(statement)), "--no-public-access")[0] == 0


def test_a_role_anyone_may_assume_is_public(tmp_path):
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    roles = {
        f"accounts/{h.ACCOUNT}/roles.json": {
            "Roles": [{"RoleName": "Open", "AssumeRolePolicyDocument": trust}]
        }
    }
    code, output = _run(_bundle(tmp_path, roles), "--no-public-access", "-o", "json")
    findings = json.loads(output)["findings"]
    assert code == 1 and findings[0]["path"] == "Roles[0].AssumeRolePolicyDocument.Statement[0]"


def test_sarif_points_at_the_statement_line_and_describes_the_rule(tmp_path):
    code, output = _run(
        _bundle(tmp_path, _public_policy({"Principal": "*"})), "--no-public-access", "-o", "sarif"
    )
    run = json.loads(output)["runs"][0]
    assert code == 1 and run["results"][0]["ruleId"] == "public-access"
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] > 1
    assert "allows everyone" in run["tool"]["driver"]["rules"][0]["shortDescription"]["text"]


# -- usage -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        (DEFAULT,),
        ("/no/such/bundle", "--no-public-access"),
        (DEFAULT, "--not-granted", "s3:*Nothing*", "*"),
        (DEFAULT, "--not-granted", "s3:GetObject", "not an arn"),
        (DEFAULT, "--no-public-access", "--limit", "0"),
    ],
)
def test_a_check_that_cannot_run_exits_2(argv):
    code, output = _run(*argv)
    assert code == 2 and output.startswith("error: ")
