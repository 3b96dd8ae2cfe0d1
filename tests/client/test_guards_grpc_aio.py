"""The grpc.aio interceptor on a real grpc.aio server: the same rules and answers as GrpcGuard, for
each handler shape (coroutine, async generator, context.write, request stream), asking an
AsyncClient on a real sidecar or an in-process Embedded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue

import iamgate_client as sdk
from iamgate_client.guards import AioGrpcGuard, GrpcRule, metadata_principal

SERVICE = "shop.v1.Instances"
ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{value}"
WHO = (("x-user", "sarah-developer"),)
CODEC = {"request_serializer": StringValue.SerializeToString, "response_deserializer": StringValue.FromString}


@contextlib.asynccontextmanager
async def guarded_server(guard: AioGrpcGuard, ran: list[str]) -> AsyncIterator[grpc.aio.Channel]:
    async def unary(request, context):
        ran.append(request.value)
        return StringValue(value=f"done {request.value}")

    async def generated(request, context):
        ran.append(request.value)
        for n in range(2):
            yield StringValue(value=f"{request.value}/{n}")

    async def written(request, context):
        ran.append(request.value)
        await context.write(StringValue(value=f"{request.value}/written"))

    async def streamed(requests, context):
        async for request in requests:
            ran.append(request.value)
        return StringValue(value="done")

    codec = {
        "request_deserializer": StringValue.FromString,
        "response_serializer": StringValue.SerializeToString,
    }
    handlers = {
        "StopInstances": grpc.unary_unary_rpc_method_handler(unary, **codec),
        "ListBuckets": grpc.unary_unary_rpc_method_handler(unary, **codec),
        "DescribeInstances": grpc.unary_stream_rpc_method_handler(generated, **codec),
        "RebootInstances": grpc.unary_stream_rpc_method_handler(written, **codec),
        "StartInstances": grpc.stream_unary_rpc_method_handler(streamed, **codec),
    }
    server = grpc.aio.server(interceptors=[guard])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(None)


@contextlib.contextmanager
def _authorizer(kind: str, address: str):
    if kind == "embedded":
        with sdk.Embedded() as embedded:
            yield embedded
    else:
        yield sdk.AsyncClient(address)


def _guard(authorizer, **options) -> AioGrpcGuard:
    options.setdefault("principal", metadata_principal("x-user"))
    options.setdefault("action_prefix", "ec2")
    options.setdefault("default_resource", ARN)
    return AioGrpcGuard(authorizer, **options)


@pytest.fixture(params=["async-client", "embedded"])
def authorizer(request, address):
    with _authorizer(request.param, address) as authorizer:
        yield authorizer


def test_an_allowed_unary_call_runs_its_coroutine(authorizer):
    async def scenario():
        ran: list[str] = []
        async with guarded_server(_guard(authorizer), ran) as channel:
            reply = await channel.unary_unary(f"/{SERVICE}/StopInstances", **CODEC)(
                StringValue(value="i-1"), metadata=WHO
            )
        return reply.value, ran

    assert asyncio.run(scenario()) == ("done i-1", ["i-1"])


def test_a_denied_call_ends_with_permission_denied_and_the_aws_message(authorizer):
    rules = {f"/{SERVICE}/ListBuckets": GrpcRule("s3:ListBucket", "arn:aws:s3:::{value}")}

    async def scenario():
        ran: list[str] = []
        async with guarded_server(_guard(authorizer, rules=rules), ran) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await channel.unary_unary(f"/{SERVICE}/ListBuckets", **CODEC)(
                    StringValue(value="data"), metadata=WHO
                )
        return raised.value, ran

    error, ran = asyncio.run(scenario())
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []
    assert error.details().startswith(
        "User: arn:aws:iam::123456789012:user/sarah-developer is not authorized to perform: s3:ListBucket "
        "on resource: arn:aws:s3:::data"
    )


def test_a_call_without_a_principal_is_denied_before_the_handler(authorizer):
    async def scenario():
        ran: list[str] = []
        async with guarded_server(_guard(authorizer), ran) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await channel.unary_unary(f"/{SERVICE}/StopInstances", **CODEC)(StringValue(value="i-1"))
        return raised.value, ran

    error, ran = asyncio.run(scenario())
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []
    assert "no authenticated principal" in error.details()


def test_server_streaming_handlers_of_both_shapes_run_after_an_allow(authorizer):
    async def scenario():
        ran: list[str] = []
        async with guarded_server(_guard(authorizer), ran) as channel:
            generated = [
                r.value
                async for r in channel.unary_stream(f"/{SERVICE}/DescribeInstances", **CODEC)(
                    StringValue(value="i-1"), metadata=WHO
                )
            ]
            written = [
                r.value
                async for r in channel.unary_stream(f"/{SERVICE}/RebootInstances", **CODEC)(
                    StringValue(value="i-2"), metadata=WHO
                )
            ]
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async for _ in channel.unary_stream(f"/{SERVICE}/DescribeInstances", **CODEC)(
                    StringValue(value="i-3")
                ):
                    pass
        return generated, written, raised.value.code(), ran

    generated, written, code, ran = asyncio.run(scenario())
    assert generated == ["i-1/0", "i-1/1"] and written == ["i-2/written"]
    assert code is grpc.StatusCode.PERMISSION_DENIED and ran == ["i-1", "i-2"]


def test_a_request_stream_is_checked_before_its_handler_reads_it(authorizer):
    rules = {f"/{SERVICE}/StartInstances": GrpcRule("ec2:StartInstances", "*")}

    async def scenario():
        ran: list[str] = []
        async with guarded_server(_guard(authorizer, rules=rules), ran) as channel:
            start = channel.stream_unary(f"/{SERVICE}/StartInstances", **CODEC)
            reply = await start(iter([StringValue(value="i-1"), StringValue(value="i-2")]), metadata=WHO)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await start(iter([StringValue(value="i-3")]))
        return reply.value, raised.value.code(), ran

    assert asyncio.run(scenario()) == ("done", grpc.StatusCode.PERMISSION_DENIED, ["i-1", "i-2"])


def test_a_failing_check_denies():
    class Broken:
        def authorize(self, *args, **kwargs):
            raise RuntimeError("bug")

    async def scenario():
        ran: list[str] = []
        async with guarded_server(_guard(Broken()), ran) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await channel.unary_unary(f"/{SERVICE}/StopInstances", **CODEC)(
                    StringValue(value="i-1"), metadata=WHO
                )
        return raised.value, ran

    error, ran = asyncio.run(scenario())
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED and ran == []
    assert "the authorization check failed (INTERNAL)" in error.details()
