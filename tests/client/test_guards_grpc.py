"""The gRPC server interceptor on a real grpc server, asking a real sidecar: the action comes from
the method, the resource from a request field, the principal from metadata; anything but an
allow ends the call with PERMISSION_DENIED before the handler runs."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue

import iamgate_client as sdk
from iamgate_client.guards import GrpcGuard, GrpcRule, metadata_principal

SERVICE = "shop.v1.Instances"
ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{value}"
WHO = (("x-user", "sarah-developer"),)


@contextlib.contextmanager
def guarded_server(guard: GrpcGuard, ran: list[str]) -> Iterator[grpc.Channel]:
    def unary(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        ran.append(request.value)
        return StringValue(value=f"done {request.value}")

    def streamed(requests, context):
        ran.extend(r.value for r in requests)
        return StringValue(value="done")

    def serialized(method):
        return {
            "request_deserializer": StringValue.FromString,
            "response_serializer": StringValue.SerializeToString,
        }

    handlers = {
        "StopInstances": grpc.unary_unary_rpc_method_handler(unary, **serialized(unary)),
        "TerminateInstances": grpc.unary_unary_rpc_method_handler(unary, **serialized(unary)),
        "ListBuckets": grpc.unary_unary_rpc_method_handler(unary, **serialized(unary)),
        "StartInstances": grpc.stream_unary_rpc_method_handler(streamed, **serialized(streamed)),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[guard])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(None).wait()


def _unary(channel: grpc.Channel, method: str):
    return channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )


def _guard(client, **options) -> GrpcGuard:
    options.setdefault("principal", metadata_principal("x-user"))
    options.setdefault("action_prefix", "ec2")
    options.setdefault("default_resource", ARN)
    return GrpcGuard(client, **options)


def test_an_allowed_call_runs_with_the_action_from_the_method_and_resource_from_a_field(address):
    ran: list[str] = []
    with sdk.Client(address) as client, guarded_server(_guard(client), ran) as channel:
        reply = _unary(channel, "StopInstances")(StringValue(value="i-1"), metadata=WHO)
    assert reply.value == "done i-1" and ran == ["i-1"]


def test_a_denied_call_ends_with_permission_denied_and_the_aws_message(address):
    ran: list[str] = []
    rules = {f"/{SERVICE}/ListBuckets": GrpcRule("s3:ListBucket", "arn:aws:s3:::{value}")}
    with (
        sdk.Client(address) as client,
        guarded_server(_guard(client, rules=rules), ran) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        _unary(channel, "ListBuckets")(StringValue(value="data"), metadata=WHO)
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []
    assert raised.value.details().startswith(
        "User: arn:aws:iam::123456789012:user/sarah-developer is not authorized to perform: s3:ListBucket "
        "on resource: arn:aws:s3:::data"
    )


def test_a_call_without_a_principal_is_denied(address):
    ran: list[str] = []
    with (
        sdk.Client(address) as client,
        guarded_server(_guard(client), ran) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        _unary(channel, "StopInstances")(StringValue(value="i-1"))
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []
    assert "no authenticated principal" in raised.value.details()


def test_an_unmapped_method_is_denied(address):
    ran: list[str] = []
    with (
        sdk.Client(address) as client,
        guarded_server(_guard(client, action_prefix=None), ran) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        _unary(channel, "StopInstances")(StringValue(value="i-1"), metadata=WHO)
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []


def test_an_empty_resource_field_is_denied_not_widened(address):
    ran: list[str] = []
    with (
        sdk.Client(address) as client,
        guarded_server(_guard(client), ran) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        _unary(channel, "StopInstances")(StringValue(value=""), metadata=WHO)
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []


def test_an_unreachable_sidecar_fails_closed():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ran: list[str] = []
    with (
        sdk.Client(f"127.0.0.1:{port}", timeout=0.3, retry=sdk.NO_RETRY) as client,
        guarded_server(_guard(client), ran) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        _unary(channel, "StopInstances")(StringValue(value="i-1"), metadata=WHO)
    assert (
        raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and "fail closed" in raised.value.details()
    )
    assert ran == []


def test_a_failing_check_denies(address):
    client = sdk.Client(address)
    client.close()
    ran: list[str] = []
    with guarded_server(_guard(client), ran) as channel, pytest.raises(grpc.RpcError) as raised:
        _unary(channel, "StopInstances")(StringValue(value="i-1"), metadata=WHO)
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []


def test_a_streaming_call_is_checked_before_its_handler_reads_the_stream(address):
    ran: list[str] = []
    rules = {f"/{SERVICE}/StartInstances": GrpcRule("ec2:StartInstances", "*")}
    with sdk.Client(address) as client, guarded_server(_guard(client, rules=rules), ran) as channel:
        start = channel.stream_unary(
            f"/{SERVICE}/StartInstances",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        assert start(iter([StringValue(value="i-1"), StringValue(value="i-2")]), metadata=WHO).value == "done"
        with pytest.raises(grpc.RpcError) as raised:
            start(iter([StringValue(value="i-3")]))  # no principal
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED and ran == ["i-1", "i-2"]


def test_a_rule_that_is_not_a_full_method_name_is_refused():
    with pytest.raises(sdk.ConfigurationError, match="full method name"):
        GrpcGuard(None, principal=metadata_principal("x"), rules={"GetOrder": GrpcRule("x:GetOrder")})
