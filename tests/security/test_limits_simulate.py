"""Simulate's work is bounded: sizes before any work, then a time budget between evaluations.

Once, 1,000 actions x 1,000 resources (a 34 KB request) built 1,000,000 results in 2.4 GB and,
under an address-space cap, crashed the whole sidecar.
"""

from __future__ import annotations

import json
import time

import grpc

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import AUTHORIZE, heavy_simulate, policy, rpc_error, sidecar


def test_a_million_evaluation_simulate_is_refused_at_once_and_the_sidecar_keeps_serving():
    with sidecar() as (_, stub):
        started = time.monotonic()
        error = rpc_error(stub.Simulate, heavy_simulate(1000, statements=1), timeout=60)
        elapsed = time.monotonic() - started

        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.details() == (
            "action_names x resource_arns: 1000000 evaluations, at most 10000 per call "
            "(--max-simulate-evaluations)"
        )
        assert elapsed < 2
        assert stub.Authorize(pb.AuthorizeRequest(**AUTHORIZE), timeout=5).decision


def test_the_evaluation_limit_is_configurable():
    with sidecar(max_simulate_evaluations=3) as (_, stub):
        error = rpc_error(stub.Simulate, heavy_simulate(2, statements=1), timeout=10)

        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "4 evaluations, at most 3 per call (--max-simulate-evaluations)" in error.details()


def test_a_simulate_over_its_time_budget_is_stopped_naming_the_budget():
    # 160,000 evaluations (the evaluation limit raised for them) take seconds; the 10,000 the
    # default allows now finish inside 0.2 s.
    with sidecar(max_expensive_call_seconds=0.2, max_simulate_evaluations=250_000) as (_, stub):
        started = time.monotonic()
        error = rpc_error(stub.Simulate, heavy_simulate(400), timeout=60)
        elapsed = time.monotonic() - started

        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "time budget exceeded" in error.details()
        assert "at most 0.2 s per call (--max-expensive-call-seconds)" in error.details()
        assert elapsed < 3


def test_a_simulate_past_the_callers_deadline_stops_working_on_the_server():
    # Work that takes seconds (the evaluation limit raised for it), against a 0.3 s deadline: the
    # 10,000 evaluations the default allows now finish inside the deadline.
    with sidecar(max_simulate_evaluations=250_000) as (running, stub):
        rpc_error(stub.Simulate, heavy_simulate(500), timeout=0.3)

        deadline = time.monotonic() + 3
        stopped = 0.0
        while time.monotonic() < deadline and not stopped:
            stopped = (
                running.metrics.registry.get_sample_value(
                    "iamgate_requests_total", {"method": "Simulate", "code": "DEADLINE_EXCEEDED"}
                )
                or 0.0
            )
            time.sleep(0.05)
        assert stopped == 1


def test_too_many_statements_over_all_policies_are_refused():
    request = heavy_simulate(1, statements=40)
    request.session_policy_list.append(policy(40))
    with sidecar(max_simulate_statements=50) as (_, stub):
        error = rpc_error(stub.Simulate, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details().startswith("session_policy_list[0]: ")
    assert "80 statements so far over the given policies, at most 50 per call" in error.details()
    assert "(--max-simulate-statements)" in error.details()


def test_too_many_bytes_of_policy_text_are_refused_before_parsing():
    request = heavy_simulate(1, statements=1)
    request.policy_input_list.append("{" * 5000)  # never parsed: the size is checked first
    with sidecar(max_simulate_policy_bytes=4096) as (_, stub):
        error = rpc_error(stub.Simulate, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "bytes of policy text, at most 4096 per call (--max-simulate-policy-bytes)" in error.details()


def test_too_many_context_entries_in_a_simulate_are_refused():
    request = heavy_simulate(1, statements=1)
    for i in range(101):
        request.context_entries.add(
            context_key_name=f"aws:Key{i}",
            context_key_values=["v"],
            context_key_type=pb.CONTEXT_KEY_TYPE_STRING,
        )
    with sidecar() as (_, stub):
        error = rpc_error(stub.Simulate, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == "context_entries: 101 entries, at most 100 per call (--max-context-entries)"


def test_too_many_context_values_in_a_simulate_are_refused():
    request = heavy_simulate(1, statements=1)
    request.context_entries.add(
        context_key_name="aws:TagKeys",
        context_key_values=[str(i) for i in range(1001)],
        context_key_type=pb.CONTEXT_KEY_TYPE_STRING_LIST,
    )
    with sidecar() as (_, stub):
        error = rpc_error(stub.Simulate, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == "context_entries: 1001 values, at most 1000 per call (--max-context-values)"


def test_too_many_scp_levels_are_refused():
    request = heavy_simulate(1, statements=1)
    allow_all = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    for _ in range(11):
        request.service_control_policy_levels.add(policies=[allow_all])
    with sidecar() as (_, stub):
        error = rpc_error(stub.Simulate, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == (
        "service_control_policy_levels: 11 levels, at most 10 per call (--max-scp-levels)"
    )


def test_an_answer_larger_than_allowed_is_refused():
    with sidecar(max_simulate_response_bytes=2000) as (_, stub):
        error = rpc_error(stub.Simulate, heavy_simulate(20, statements=1), timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details().startswith("evaluation_results: the answer grew past 2000 bytes")
    assert "(--max-simulate-response-bytes)" in error.details()


def test_a_malformed_simulate_is_still_invalid_argument():
    with sidecar() as (_, stub):
        error = rpc_error(
            stub.Simulate, pb.SimulateRequest(action_names=["s3:GetObject"], policy_input_list=["{"])
        )

    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_conditions_comparing_too_many_values_with_the_context_are_refused_before_evaluating():
    patterns = [f"*a*b*{i}*" for i in range(60_000)]
    document = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    document["Statement"][0]["Condition"] = {"ForAnyValue:StringLike": {"app:x": patterns}}
    request = pb.SimulateRequest(action_names=["s3:GetObject"], policy_input_list=[json.dumps(document)])
    request.context_entries.add(
        context_key_name="app:x",
        context_key_values=["a" * 200] * 1000,
        context_key_type=pb.CONTEXT_KEY_TYPE_STRING_LIST,
    )
    with sidecar() as (_, stub):  # once a single evaluation of 3 minutes
        started = time.monotonic()
        error = rpc_error(stub.Simulate, request, timeout=60)
        elapsed = time.monotonic() - started

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details().startswith("policy_input_list[0]: 60000000 condition comparisons per evaluation")
    assert "(--max-condition-comparisons)" in error.details()
    assert elapsed < 5
