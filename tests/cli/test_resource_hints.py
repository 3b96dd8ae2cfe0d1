"""`iamgate check` hints when the resource does not fit the action's resource types."""

from __future__ import annotations

import json

from iamgate.cli import main

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def _check(capsys, *argv: str) -> str:
    main(["check", "sarah-developer", *argv])
    return capsys.readouterr().out


def test_check_hints_that_a_wildcard_only_action_is_evaluated_against_star(address, capsys):
    out = _check(capsys, "ec2:DescribeInstances", INSTANCE, "--address", address)
    assert "hint: ec2:DescribeInstances takes no resource: evaluated on '*'" in out


def test_check_json_carries_the_resource_hint(address, capsys):
    out = _check(capsys, "ec2:StopInstances", "*", "--address", address, "-o", "json")
    [hint] = json.loads(out)["hints"]
    assert hint.startswith("ec2:StopInstances acts on instance")


def test_check_gives_no_resource_hint_when_the_resource_fits(address, capsys):
    assert "hint:" not in _check(capsys, "ec2:DescribeInstances", "*", "--address", address)
