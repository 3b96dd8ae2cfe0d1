"""Commands that need no sidecar: simulate, and the bundle commands' delegation."""

from __future__ import annotations

import io
import json
import sys
import types
from dataclasses import dataclass

import pytest

from iamgate.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
REQUEST = {
    "PolicyInputList": [ALLOW_S3],
    "ActionNames": ["s3:GetObject", "s3:PutObject"],
    "CallerArn": "arn:aws:iam::123456789012:user/u",
}


def _simulate(capsys, monkeypatch, text: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(["simulate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_simulate_one_object_prints_one_result_object(capsys, monkeypatch):
    code, out, _ = _simulate(capsys, monkeypatch, json.dumps(REQUEST))
    results = json.loads(out)["EvaluationResults"]
    assert code == EXIT_OK
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]


def test_simulate_an_array_prints_an_array_in_the_same_order(capsys, monkeypatch):
    deny_only = dict(REQUEST, ActionNames=["s3:PutObject"])
    _, out, _ = _simulate(capsys, monkeypatch, json.dumps([REQUEST, deny_only]))
    answers = json.loads(out)
    assert [len(a["EvaluationResults"]) for a in answers] == [2, 1]


def test_simulate_json_lines_prints_json_lines(capsys, monkeypatch):
    text = json.dumps(REQUEST) + "\n\n" + json.dumps(REQUEST) + "\n"
    _, out, _ = _simulate(capsys, monkeypatch, text)
    assert len(out.splitlines()) == 2 and all(
        json.loads(line)["EvaluationResults"] for line in out.splitlines()
    )


def test_a_malformed_request_is_reported_and_the_others_still_answered(capsys, monkeypatch):
    code, out, err = _simulate(
        capsys, monkeypatch, json.dumps([{"ActionNames": "nope", "Bogus": 1}, REQUEST])
    )
    answers = json.loads(out)
    assert code == EXIT_FAILED
    assert answers[0]["Error"]["Index"] == 0 and "EvaluationResults" in answers[1]
    assert err.startswith("iamgate simulate: request 0:")


def test_simulate_explain_adds_an_explanation(capsys, monkeypatch):
    _, out, _ = _simulate(capsys, monkeypatch, json.dumps(REQUEST), "--explain")
    assert "Explanation" in json.loads(out)["EvaluationResults"][0]


def test_simulate_reads_a_file(tmp_path, capsys):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(REQUEST))
    assert main(["simulate", str(path)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["EvaluationResults"]


def test_input_that_is_not_json_is_a_one_line_usage_error(capsys, monkeypatch):
    code, out, err = _simulate(capsys, monkeypatch, "{not json")
    assert (code, out) == (EXIT_USAGE, "") and err.count("\n") == 1


def test_a_missing_input_file_is_a_one_line_usage_error(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "absent.json")]) == EXIT_USAGE
    assert capsys.readouterr().err.count("\n") == 1


@dataclass(frozen=True)
class _Result:
    text: str
    exit_code: int


@pytest.fixture
def fake_commands(monkeypatch):
    calls: list[tuple] = []
    module = types.ModuleType("iamgate.bundle.commands")
    module.validate_command = lambda path, output="text": calls.append(("validate", path)) or _Result("ok", 0)
    module.test_command = lambda path, output="text", **kw: (
        calls.append(("test", path, output)) or _Result("<xml/>", 1)
    )
    module.build_command = lambda source, output, **kw: (
        calls.append(("build", source, output, kw)) or _Result("built", 0)
    )
    module.inspect_command = lambda path: calls.append(("inspect", path)) or _Result("manifest", 2)
    import iamgate.bundle

    monkeypatch.setitem(sys.modules, "iamgate.bundle.commands", module)
    monkeypatch.setattr(iamgate.bundle, "commands", module, raising=False)
    return calls


def test_validate_prints_the_command_text_and_passes_its_exit_code(fake_commands, capsys):
    assert main(["validate", "bundle/"]) == 0
    assert capsys.readouterr().out == "ok\n" and fake_commands == [("validate", "bundle/")]


def test_test_passes_the_output_format(fake_commands, capsys):
    assert main(["test", "bundle/", "--output", "junit"]) == 1
    assert fake_commands == [("test", "bundle/", "junit")]


def test_bundle_build_passes_revision_and_signing_key(fake_commands):
    main(["bundle", "build", "src/", "-o", "out.tar.gz", "--revision", "r7", "--sign-key", "k.pem"])
    assert fake_commands == [
        ("build", "src/", "out.tar.gz", {"revision": "r7", "sign_key": "k.pem", "key_id": None})
    ]


def test_bundle_inspect_passes_its_exit_code(fake_commands):
    assert main(["bundle", "inspect", "b.tar.gz"]) == 2


def test_serve_with_a_bad_address_is_a_one_line_usage_error(capsys):
    assert main(["serve", "--address", "nowhere"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--address" in err


def test_an_unreadable_verify_key_is_a_one_line_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path), "--verify-key", str(tmp_path / "absent.pem")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--verify-key" in err
