"""`iamgate check`, `explain` and `status` against a running sidecar."""

from __future__ import annotations

import json
import socket

from iamgate.cli import EXIT_OK, EXIT_USAGE, main, parse_context

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_json_prints_allowed_and_the_decision_word(address, capsys):
    code, out, _ = _run(
        capsys,
        "check",
        "sarah-developer",
        "ec2:TerminateInstances",
        INSTANCE,
        "--context",
        "ec2:ResourceTag/Environment=production",
        "--address",
        address,
        "--output",
        "json",
    )
    answer = json.loads(out)
    assert code == EXIT_OK
    assert (answer["allowed"], answer["decision"]) == (False, "explicitDeny")
    assert answer["determiningStatements"][0]["sid"] == "DenyTerminateProduction"


def test_check_exits_zero_for_a_deny_as_well_as_an_allow(address, capsys):
    code, out, _ = _run(
        capsys, "check", "sarah-developer", "ec2:StopInstances", INSTANCE, "-a", address, "-o", "json"
    )
    assert (code, json.loads(out)["decision"]) == (EXIT_OK, "allowed")


def test_check_text_leads_with_the_decision_and_the_aws_message(address, capsys):
    _, out, _ = _run(capsys, "check", "sarah-developer", "s3:GetObject", "*", "--address", address)
    assert out.startswith(
        "implicitDeny: User: arn:aws:iam::123456789012:user/sarah-developer is not authorized"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_sidecar_is_exit_2_with_one_line(capsys):
    code, out, err = _run(
        capsys, "check", "u", "s3:GetObject", "*", "--address", f"127.0.0.1:{_free_port()}", "--timeout", "2"
    )
    assert (code, out) == (EXIT_USAGE, "")
    assert len(err.strip().splitlines()) == 1 and "cannot get an answer" in err


def test_a_request_the_sidecar_rejects_is_exit_2_naming_the_field(address, capsys):
    code, _, err = _run(capsys, "check", "u", "NoColon", "*", "--address", address)
    assert code == EXIT_USAGE and "action:" in err and "Traceback" not in err


def test_a_context_without_equals_is_a_one_line_usage_error(capsys):
    code, _, err = _run(capsys, "check", "u", "s3:GetObject", "*", "--context", "novalue")
    assert code == EXIT_USAGE and err.count("\n") == 1 and "KEY=VALUE" in err


def test_a_missing_argument_is_a_one_line_usage_error(capsys):
    try:
        main(["check", "u"])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and err.count("\n") == 1 and "RESOURCE" in err


def test_repeating_a_context_key_makes_it_multi_valued():
    assert parse_context(["aws:TagKeys=a", "aws:TagKeys=b", "k=x=y"]) == {
        "aws:TagKeys": ["a", "b"],
        "k": "x=y",
    }


def test_explain_prints_a_tree_of_policies_and_statements(address, capsys):
    code, out, _ = _run(
        capsys,
        "explain",
        "sarah-developer",
        "ec2:TerminateInstances",
        INSTANCE,
        "-c",
        "ec2:ResourceTag/Environment=production",
        "-a",
        address,
    )
    assert code == EXIT_OK
    assert out.splitlines()[0].startswith("explicitDeny  sarah-developer  ec2:TerminateInstances")
    assert "identity-based policy DeveloperAccess" in out
    assert "Deny DenyTerminateProduction: APPLIES" in out
    assert 'condition StringEquals ec2:ResourceTag/Environment ["production"] <- ["production"]: yes' in out


def test_explain_json_adds_the_policies_to_the_check_answer(address, capsys):
    _, out, _ = _run(
        capsys, "explain", "sarah-developer", "ec2:StopInstances", "*", "-a", address, "-o", "json"
    )
    answer = json.loads(out)
    assert answer["decision"] == "allowed"
    assert answer["policies"][0]["statements"][0]["statement"]["sid"] == "AllowEC2"


def test_status_shows_the_active_revision(address, capsys):
    code, out, _ = _run(capsys, "status", "--address", address)
    assert code == EXIT_OK and "revision rev-1" in out


def test_status_json_is_machine_readable(address, capsys):
    _, out, _ = _run(capsys, "status", "--address", address, "--output", "json")
    assert json.loads(out)["active"]["revision"] == "rev-1"


def test_rollback_on_a_sidecar_without_admin_is_refused(address, capsys):
    code, _, err = _run(capsys, "rollback", "--address", address)
    assert code == EXIT_USAGE and "PERMISSION_DENIED" in err


def test_check_hints_when_the_action_is_not_in_the_catalogue(address, capsys):
    _, out, _ = _run(capsys, "check", "sarah-developer", "ec2:StopInstance", INSTANCE, "--address", address)
    assert "hint: 'ec2:StopInstance' is not an action of Amazon EC2; did you mean 'ec2:StopInstances'?" in out


def test_check_json_carries_the_hint(address, capsys):
    _, out, _ = _run(
        capsys, "check", "sarah-developer", "ec2:StopInstance", INSTANCE, "-a", address, "-o", "json"
    )
    assert json.loads(out)["hints"] == [
        "'ec2:StopInstance' is not an action of Amazon EC2; did you mean 'ec2:StopInstances'?"
    ]


def test_check_gives_no_hint_for_a_known_action(address, capsys):
    _, out, _ = _run(capsys, "check", "sarah-developer", "ec2:StopInstances", INSTANCE, "--address", address)
    assert "hint:" not in out
