"""The batch paths (AuthorizeBatch, AuthorizeMany) answer exactly what Authorize answers.

A real sidecar on the embedded bundle: each batch item must carry the same response as the
Authorize of the same request (all but its decision id), and every limit and trust-model check
of Authorize holds for each item.
"""

from __future__ import annotations

import contextlib

import grpc
import pytest

from bench.service_requests import embedded_requests
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@contextlib.contextmanager
def _sidecar(**settings):
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, **settings)
    sidecar = start_sidecar(config, default_source())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            yield pb_grpc.AuthorizerStub(channel)
    finally:
        sidecar.stop(0)


@pytest.fixture(scope="module")
def stub():
    with _sidecar() as stub:
        yield stub


def _embedded_requests() -> list[pb.AuthorizeRequest]:
    requests = embedded_requests()[0]
    for number, request in enumerate(requests):
        request.request_id = f"r{number}" if number % 2 else ""
    return requests


def _without_id(response: pb.AuthorizeResponse) -> pb.AuthorizeResponse:
    copy = pb.AuthorizeResponse()
    copy.CopyFrom(response)
    copy.decision_id = ""
    return copy


def test_every_batch_item_carries_exactly_the_authorize_response(stub):
    requests = _embedded_requests()
    single = [_without_id(stub.Authorize(r)) for r in requests]
    batch = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests)).results
    assert [_without_id(item.response) for item in batch] == single
    assert any(r.determining_statements for r in single) and any(r.filled_context_keys for r in single)
    assert len({item.response.decision_id for item in batch}) == len(batch)


def _many_of(request: pb.AuthorizeRequest, pairs) -> pb.AuthorizeManyRequest:
    return pb.AuthorizeManyRequest(
        principal=request.principal,
        context=request.context,
        session_policy=request.session_policy,
        session_tags=request.session_tags,
        items=[pb.ActionOnResource(action=a, resource=r, request_id=i) for a, r, i in pairs],
    )


def test_authorize_many_answers_each_pair_as_authorize_would(stub):
    pairs = [
        ("ec2:TerminateInstances", INSTANCE, "a"),
        ("ec2:StartInstances", INSTANCE, ""),
        ("ec2:RunInstances", "*", "c"),
        ("s3:GetObject", "arn:aws:s3:::reports/q1.csv", ""),
        ("iam:CreateUser", "*", "e"),
    ]
    for environment in ("production", "staging"):
        base = pb.AuthorizeRequest(principal="sarah-developer")
        base.context.add(
            key="ec2:ResourceTag/Environment", values=[pb.ContextValue(string_value=environment)]
        )
        many = stub.AuthorizeMany(_many_of(base, pairs)).results
        single = []
        for action, resource, request_id in pairs:
            one = pb.AuthorizeRequest()
            one.CopyFrom(base)
            one.action, one.resource, one.request_id = action, resource, request_id
            single.append(_without_id(stub.Authorize(one)))
        assert [_without_id(item.response) for item in many] == single
    assert {r.decision for r in single} >= {pb.DECISION_ALLOWED, pb.DECISION_IMPLICIT_DENY}


def test_authorize_many_names_the_item_at_fault_and_answers_the_others(stub):
    request = _many_of(
        pb.AuthorizeRequest(principal="sarah-developer"),
        [("ec2:StartInstances", INSTANCE, ""), ("", "*", ""), ("ec2:*", "*", ""), ("nocolon", "*", "")],
    )
    results = stub.AuthorizeMany(request).results
    assert results[0].WhichOneof("outcome") == "response"
    assert results[1].error.message.startswith("items[1].action: must not be empty")
    assert results[2].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert results[2].error.message.startswith("items[2].action")
    assert results[3].error.message.startswith("items[3].action")


def test_authorize_many_refuses_a_sidecar_owned_context_key_for_every_item(stub):
    base = pb.AuthorizeRequest(principal="lisa-finance")
    base.context.add(key="aws:username", values=[pb.ContextValue(string_value="sarah-developer")])
    results = stub.AuthorizeMany(_many_of(base, [("ec2:StartInstances", INSTANCE, "")] * 3)).results
    assert all(r.WhichOneof("outcome") == "error" for r in results)
    assert all(r.error.message.startswith(f"items[{i}].context[0].key") for i, r in enumerate(results))


def test_authorize_many_without_a_principal_is_refused_whole(stub):
    with pytest.raises(grpc.RpcError) as refused:
        stub.AuthorizeMany(_many_of(pb.AuthorizeRequest(), [("ec2:StartInstances", "*", "")]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("principal")


def test_authorize_many_items_have_the_request_size_limit_of_the_authorize_they_stand_for():
    base = pb.AuthorizeRequest(principal="sarah-developer")
    base.context.add(key="ec2:ResourceTag/Environment", values=[pb.ContextValue(string_value="staging")])
    long_resource = INSTANCE + "x" * 300
    equivalent = pb.AuthorizeRequest()
    equivalent.CopyFrom(base)
    equivalent.action, equivalent.resource = "ec2:StartInstances", long_resource
    limit = equivalent.ByteSize()
    pairs = [("ec2:StartInstances", INSTANCE, ""), ("ec2:StartInstances", long_resource, "")]
    with _sidecar(max_request_bytes=limit) as stub:
        results = stub.AuthorizeMany(_many_of(base, pairs)).results
        assert [r.WhichOneof("outcome") for r in results] == ["response", "response"]
    with _sidecar(max_request_bytes=limit - 1) as stub:
        results = stub.AuthorizeMany(_many_of(base, pairs)).results
        assert results[0].WhichOneof("outcome") == "response"
        assert results[1].error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert results[1].error.message.startswith(f"items[1]: {limit} bytes, at most {limit - 1}")
        with pytest.raises(grpc.RpcError) as refused:
            stub.Authorize(equivalent)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_authorize_many_is_limited_to_the_batch_size():
    with _sidecar(max_batch_size=2) as stub, pytest.raises(grpc.RpcError) as refused:
        stub.AuthorizeMany(
            _many_of(pb.AuthorizeRequest(principal="sarah-developer"), [("ec2:StartInstances", "*", "")] * 3)
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("items: 3 items, at most 2")


def test_batch_items_are_decision_logged_with_their_own_request_and_response(tmp_path):
    import json

    log = tmp_path / "decisions.jsonl"
    base = pb.AuthorizeRequest(principal="sarah-developer")
    with _sidecar(decision_log=str(log)) as stub:
        many = stub.AuthorizeMany(
            _many_of(base, [("ec2:StartInstances", INSTANCE, "m0"), ("iam:CreateUser", "*", "m1")])
        ).results
        batch = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=_embedded_requests()[:3])).results
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    by_id = {line["decision_id"]: line for line in lines}
    assert len(lines) == 5
    for item, (action, request_id) in zip(
        many, [("ec2:StartInstances", "m0"), ("iam:CreateUser", "m1")], strict=True
    ):
        logged = by_id[item.response.decision_id]
        assert logged["method"] == "AuthorizeMany"
        assert (logged["request"]["principal"], logged["request"]["action"]) == ("sarah-developer", action)
        assert logged["request"]["request_id"] == request_id
    for item in batch:
        assert by_id[item.response.decision_id]["method"] == "AuthorizeBatch"
