"""Authorize, AuthorizeBatch and Explain refuse oversized requests before reading them, and
Explain refuses to build an answer larger than allowed."""

from __future__ import annotations

import json
import time

import grpc

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import AUTHORIZE, policy, rpc_error, sidecar

BIG_SESSION_POLICY = policy(60)  # about 15 KiB, a valid policy


def test_a_session_policy_over_its_size_limit_is_refused():
    assert len(BIG_SESSION_POLICY) > 10 * 1024
    with sidecar() as (_, stub):
        request = pb.AuthorizeRequest(**AUTHORIZE, session_policy=BIG_SESSION_POLICY)
        error = rpc_error(stub.Authorize, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == (
        f"session_policy: {len(BIG_SESSION_POLICY)} bytes, at most 10240 per request "
        "(--max-session-policy-bytes)"
    )


def test_the_session_policy_limit_counts_utf8_bytes():
    text = json.dumps({"Statement": [{"Sid": "é" * 3000, "Effect": "Allow", "Action": "*", "Resource": "*"}]})
    with sidecar(max_session_policy_bytes=4000) as (_, stub):
        error = rpc_error(stub.Authorize, pb.AuthorizeRequest(**AUTHORIZE, session_policy=text), timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"session_policy: {len(text.encode())} bytes" in error.details()


def test_an_explain_with_an_oversized_session_policy_is_refused():
    with sidecar() as (_, stub):
        request = pb.ExplainRequest(**AUTHORIZE, session_policy=BIG_SESSION_POLICY)
        error = rpc_error(stub.Explain, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "(--max-session-policy-bytes)" in error.details()


def _with_context(request, entries: int, values: int = 1):
    for i in range(entries):
        request.context.add(key=f"app:Key{i}", values=[pb.ContextValue(string_value="v")] * values)
    return request


def test_too_many_context_entries_are_refused():
    with sidecar() as (_, stub):
        request = _with_context(pb.AuthorizeRequest(**AUTHORIZE), entries=101)
        error = rpc_error(stub.Authorize, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == "context: 101 entries, at most 100 per request (--max-context-entries)"


def test_too_many_context_values_are_refused():
    with sidecar() as (_, stub):
        request = _with_context(pb.AuthorizeRequest(**AUTHORIZE), entries=2, values=501)
        error = rpc_error(stub.Authorize, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == "context: 1002 values, at most 1000 per request (--max-context-values)"


def test_an_oversized_batch_item_gets_its_own_error_and_the_others_are_answered():
    with sidecar() as (_, stub):
        batch = pb.AuthorizeBatchRequest(
            requests=[
                pb.AuthorizeRequest(**AUTHORIZE),
                _with_context(pb.AuthorizeRequest(**AUTHORIZE), entries=101),
            ]
        )
        results = stub.AuthorizeBatch(batch, timeout=10).results

    assert results[0].response.decision == pb.DECISION_ALLOWED
    assert results[1].error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert results[1].error.message == (
        "requests[1].context: 101 entries, at most 100 per request (--max-context-entries)"
    )


def test_an_explanation_with_more_statement_traces_than_allowed_is_refused():
    with sidecar(max_explain_statements=2) as (_, stub):
        error = rpc_error(stub.Explain, pb.ExplainRequest(**AUTHORIZE), timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "statement traces, at most 2 per request (--max-explain-statements)" in error.details()


def test_an_explanation_larger_than_allowed_is_refused():
    with sidecar(max_explain_bytes=300) as (_, stub):
        error = rpc_error(stub.Explain, pb.ExplainRequest(**AUTHORIZE), timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "bytes of explanation, at most 300 per request (--max-explain-bytes)" in error.details()


def test_an_explanation_within_its_limits_is_answered():
    with sidecar() as (_, stub):
        answer = stub.Explain(pb.ExplainRequest(**AUTHORIZE), timeout=10)

    assert answer.result.decision == pb.DECISION_ALLOWED
    assert answer.policies


def test_a_message_over_the_receive_limit_is_refused_by_grpc():
    with sidecar(max_receive_message_bytes=64 * 1024) as (_, stub):
        request = pb.AuthorizeRequest(**AUTHORIZE, request_id="x" * 100_000)
        error = rpc_error(stub.Authorize, request, timeout=10)
        answer = stub.Authorize(pb.AuthorizeRequest(**AUTHORIZE), timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert answer.decision == pb.DECISION_ALLOWED


def _role_session_request(session_policy: str, values: int) -> pb.AuthorizeRequest:
    request = pb.AuthorizeRequest(
        principal="arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/s",
        action="ec2:DescribeInstances",
        resource="*",
        session_policy=session_policy,
    )
    request.context.add(
        key="app:Labels",
        values=[pb.ContextValue(string_value=f"label-{i}-" + "q" * 30) for i in range(values)],
        multi_valued=True,
    )
    return request


def _patterns_policy(patterns: int) -> str:
    condition = {"ForAnyValue:StringLike": {"app:Labels": [f"*{i}*" for i in range(patterns)]}}
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    return json.dumps({"Statement": [statement]}, separators=(",", ":"))


def test_a_session_policy_comparing_too_many_values_with_the_context_is_refused_at_once():
    # 1,200 patterns x 1,000 values: once a 4-second Authorize; now refused before evaluating.
    with sidecar() as (_, stub):
        started = time.monotonic()
        error = rpc_error(stub.Authorize, _role_session_request(_patterns_policy(1200), 1000), timeout=30)
        elapsed = time.monotonic() - started

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == (
        "session_policy: 1200000 condition comparisons (its condition values x the context's values of "
        "their key), at most 10000 per request (--max-condition-comparisons)"
    )
    assert elapsed < 1


def test_a_session_policy_with_few_comparisons_is_evaluated():
    with sidecar() as (_, stub):
        answer = stub.Authorize(_role_session_request(_patterns_policy(200), 40), timeout=10)

    assert answer.decision in (pb.DECISION_ALLOWED, pb.DECISION_IMPLICIT_DENY)


def test_a_request_over_its_size_limit_is_refused_before_it_is_read():
    # One 100 KB context value would otherwise be converted, evaluated and held by a queued
    # decision-log event: the request's own size is the first thing checked.
    with sidecar() as (_, stub):
        request = pb.AuthorizeRequest(**AUTHORIZE)
        request.context.add(key="app:Note", values=[pb.ContextValue(string_value="x" * 100_000)])
        error = rpc_error(stub.Authorize, request, timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details().startswith("request: ")
    assert error.details().endswith("bytes, at most 65536 per request (--max-request-bytes)")


def test_an_oversized_batch_item_gets_its_own_size_error():
    with sidecar() as (_, stub):
        big = pb.AuthorizeRequest(**{**AUTHORIZE, "resource": "arn:aws:s3:::bucket/" + "k" * 70_000})
        response = stub.AuthorizeBatch(
            pb.AuthorizeBatchRequest(requests=[pb.AuthorizeRequest(**AUTHORIZE), big]), timeout=10
        )

    assert response.results[0].WhichOneof("outcome") == "response"
    assert response.results[1].error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert response.results[1].error.message.startswith("requests[1]: ")
