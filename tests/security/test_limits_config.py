"""Unit tests of the limits: their settings, the gate, the size checks and the CLI's flags."""

from __future__ import annotations

import dataclasses
import io
import json

import grpc
import pytest

from iamgate import cli
from iamgate.engine.simulate import SimulationLimitError, SimulationLimits, simulate
from iamgate.service import ServiceConfig
from iamgate.service.errors import ConfigError
from iamgate.service.limits import (
    CallClock,
    ExpensiveCallGate,
    LimitExceeded,
    caller_deadline,
    check_access_request,
    simulation_limits,
)
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb


def _defaults(cls) -> dict:
    return {f.name: f.default for f in dataclasses.fields(cls)}


def test_every_cli_limit_flag_has_the_config_default_it_documents():
    config = _defaults(ServiceConfig)
    assert {setting: default for setting, _, default, _ in cli.LIMITS} == {
        setting: config[setting] for setting, *_ in cli.LIMITS
    }


def test_the_engine_and_the_service_share_simulate_defaults():
    assert simulation_limits(ServiceConfig()) == SimulationLimits()


def test_serve_flags_reach_the_service_config():
    args = cli.build_parser().parse_args(
        ["serve", "--max-simulate-evaluations", "7", "--max-expensive-calls", "3"]
    )

    assert cli._limit_settings(args, cli.SERVE_LIMITS) == {
        "max_simulate_evaluations": 7,
        "max_expensive_calls": 3,
    }


@pytest.mark.parametrize("calls", [16, 17, -1])
def test_expensive_calls_must_stay_fewer_than_the_worker_threads(calls):
    with pytest.raises(ConfigError, match="max_expensive_calls"):
        ServiceConfig(max_workers=16, max_expensive_calls=calls)


def test_a_limit_must_be_positive():
    with pytest.raises(ConfigError, match="max_simulate_evaluations"):
        ServiceConfig(max_simulate_evaluations=0)


def test_the_gate_refuses_when_full_and_admits_again_when_a_call_leaves():
    gate = ExpensiveCallGate(2)

    assert gate.try_enter() and gate.try_enter()
    assert not gate.try_enter()
    gate.leave()
    assert gate.try_enter()


def test_a_gate_of_zero_switches_the_expensive_calls_off():
    gate = ExpensiveCallGate(0)

    assert not gate.try_enter()
    assert "switched off" in gate.refusal("Simulate").message


def test_a_request_within_its_limits_passes():
    request = pb.AuthorizeRequest(session_policy="{}", context=[pb.ContextEntry(key="a:b")])

    check_access_request(request, ServiceConfig())


def test_a_session_policy_is_measured_in_utf8_bytes():
    request = pb.AuthorizeRequest(session_policy="é" * 3000)  # 3000 characters, 6000 bytes

    with pytest.raises(LimitExceeded, match="session_policy: 6000 bytes, at most 5000"):
        check_access_request(request, ServiceConfig(max_session_policy_bytes=5000))


def test_the_clock_tells_its_own_budget_from_the_callers_deadline():
    with pytest.raises(LimitExceeded) as own:
        CallClock(0.0, None).check("here")
    with pytest.raises(LimitExceeded) as callers:
        CallClock(10.0, 0.0).check("here")

    assert own.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "(--max-expensive-call-seconds)" in own.value.message
    assert callers.value.code is grpc.StatusCode.DEADLINE_EXCEEDED


class _Context:
    def __init__(self, remaining):
        self.remaining = remaining

    def time_remaining(self):
        return self.remaining


def test_no_client_deadline_is_no_deadline():
    assert caller_deadline(_Context(None)) is None
    assert caller_deadline(_Context(1e18)) is None
    assert caller_deadline(_Context(5.0)) is not None


def test_the_engine_checks_actions_x_resources_before_reading_any_policy():
    request = {"ActionNames": ["s3:A"] * 200, "ResourceArns": ["r"] * 100, "PolicyInputList": ["not json"]}

    with pytest.raises(SimulationLimitError) as raised:
        simulate(request)

    assert raised.value.path == "ActionNames x ResourceArns"
    assert raised.value.setting == "max_simulate_evaluations"


def test_the_simulate_command_applies_the_same_limits(tmp_path, capsys):
    path = tmp_path / "question.json"
    path.write_text(json.dumps({"ActionNames": ["s3:GetObject", "s3:PutObject"], "ResourceArns": ["a", "b"]}))

    code = cli.main(["simulate", str(path), "--max-simulate-evaluations", "3"], out=io.StringIO())

    assert code == cli.EXIT_FAILED
    assert "4 evaluations, at most 3 per call (--max-simulate-evaluations)" in capsys.readouterr().err


def test_the_simulate_command_refuses_a_limit_that_is_not_positive(tmp_path, capsys):
    code = cli.main(["simulate", str(tmp_path / "none.json"), "--max-scp-levels", "0"], out=io.StringIO())

    assert code == cli.EXIT_USAGE
    assert "--max-scp-levels must be positive" in capsys.readouterr().err


def _many_values_request(session_policy: str) -> pb.AuthorizeRequest:
    request = pb.AuthorizeRequest(session_policy=session_policy)
    request.context.add(key="App:Labels", values=[pb.ContextValue(string_value=str(i)) for i in range(500)])
    return request


def test_comparisons_count_condition_values_times_the_contexts_values_of_that_key():
    condition = {"StringLike": {"app:labels": ["a*"] * 30, "app:x": "b"}}  # 30 x 500 + 1 x 1
    policy = json.dumps({"Statement": {"Condition": condition}})

    with pytest.raises(LimitExceeded, match="session_policy: 15001 condition comparisons"):
        check_access_request(_many_values_request(policy), ServiceConfig())


def test_a_malformed_session_policy_is_left_for_the_policy_reader_to_report():
    check_access_request(_many_values_request("{" * 2000), ServiceConfig())
