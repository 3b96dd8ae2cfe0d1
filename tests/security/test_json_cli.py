"""Hostile JSON given to the installed ``iamgate`` command: one line per problem, never a traceback.

``iamgate validate`` on a file nested 2,000 levels deep used to print a RecursionError traceback,
and a repeated key (``"Effect": "Deny", "Effect": "Allow"``) was silently read as its last value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from service.bundle_helpers import bundle_files, write_tree

from iamgate import cli

IAMGATE = str(Path(sys.executable).parent / "iamgate")
ACCOUNT = "123456789012"
DEEP = 2000


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IAMGATE, *args], capture_output=True, text=True, input=stdin, timeout=60)


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr
    assert "RecursionError" not in result.stdout + result.stderr


@pytest.fixture
def hostile_bundle(tmp_path: Path) -> Path:
    """A bundle with one file nested 2,000 levels deep and one policy repeating its Effect."""
    policies = (
        '{"Policies": [{"PolicyName": "ObjectAccess", "Document": {"Version": "2012-10-17", "Statement": ['
        '{"Effect": "Deny", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]}'
    )
    deep_groups = '{"Groups": ' + "[" * DEEP + "]" * DEEP + "}"
    return write_tree(
        tmp_path / "bundle",
        bundle_files(
            extra={
                f"accounts/{ACCOUNT}/policies.json": policies,
                f"accounts/{ACCOUNT}/groups.json": deep_groups,
            }
        ),
    )


def test_validate_lists_a_deep_file_and_a_repeated_key_one_line_each(hostile_bundle):
    result = _run("validate", str(hostile_bundle))
    _no_traceback(result)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        f"error   accounts/{ACCOUNT}/groups.json: nested too deeply (the limit is 64 levels of objects and "
        "lists)" in lines
    )
    assert (
        f"error   accounts/{ACCOUNT}/policies.json: Policies[0].Document.Statement[0].Effect: "
        "duplicate key (an object may give each key once)"
    ) in lines


def test_validate_on_a_deep_details_file_is_one_error_line(tmp_path):
    details = tmp_path / "details.json"
    details.write_text('{"UserDetailList": ' + "[" * DEEP + "]" * DEEP + "}")
    result = _run("validate", str(details))
    _no_traceback(result)
    assert result.returncode == 1
    assert (
        result.stdout.splitlines()[0]
        == "error   details.json: nested too deeply (the limit is 64 levels of objects and lists)"
    )


def test_test_command_refuses_a_hostile_bundle_without_a_traceback(hostile_bundle):
    result = _run("test", str(hostile_bundle))
    _no_traceback(result)
    assert result.returncode == 1
    assert "nested too deeply" in result.stdout and "duplicate key" in result.stdout


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("[" * DEEP + "]" * DEEP, "stdin: nested too deeply"),
        (
            '{"Policies": [{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "*",'
            ' "Resource": "*"}]}], "Actions": ["s3:GetObject"]}',
            "stdin: Policies[0].Statement[0].Effect: duplicate key",
        ),
        ('{"Actions": ["s3:GetObject"], "Policies": [NaN]}', "stdin: NaN is not a JSON number"),
    ],
    ids=["deep", "repeated-key", "nan"],
)
def test_simulate_refuses_hostile_input_in_one_line(document, expected):
    result = _run("simulate", "-", stdin=document)
    _no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.startswith(f"iamgate simulate: error: {expected}")
    assert len(result.stderr.splitlines()) == 1


def test_an_unexpected_error_in_any_command_is_one_line_and_a_failure(monkeypatch, capsys):
    def explode(args, out):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(cli.COMMANDS, "validate", explode)
    assert cli.main(["validate", "anything"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert err == "iamgate validate: internal error: RecursionError: maximum recursion depth exceeded\n"
