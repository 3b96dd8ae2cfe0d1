"""The decorator for plain functions: the function runs only on an allow."""

from __future__ import annotations

import asyncio

import pytest

import iamgate_client as sdk
from iamgate_client.guards import AccessDeniedError, guard

ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{instance}"


def test_an_allowed_call_runs(address):
    with sdk.Client(address) as client:

        @guard(client, "ec2:StopInstances", ARN, principal="{user}")
        def stop(user: str, instance: str) -> str:
            return f"stopped {instance}"

        assert stop("sarah-developer", "i-1") == "stopped i-1"


def test_a_denied_call_raises_access_denied_with_the_aws_message_and_does_not_run(address):
    ran: list[str] = []
    with sdk.Client(address) as client:

        @guard(client, "s3:GetObject", "arn:aws:s3:::{bucket}/{key}", principal="{user}")
        def download(user: str, bucket: str, key: str) -> None:
            ran.append(key)

        with pytest.raises(AccessDeniedError) as raised:
            download("sarah-developer", "data", key="x.csv")
    assert ran == [] and raised.value.decision is not None
    assert str(raised.value).startswith(
        "User: arn:aws:iam::123456789012:user/sarah-developer is not authorized to perform: s3:GetObject"
    )
    assert isinstance(raised.value, sdk.IamgateClientError)


def test_a_missing_argument_for_a_template_denies(address):
    with sdk.Client(address) as client:

        @guard(client, "ec2:StopInstances", ARN, principal="{user}")
        def stop(user: str, instance: str = "") -> None:
            raise AssertionError("must not run")

        with pytest.raises(AccessDeniedError, match="missing or empty"):
            stop("sarah-developer")


def test_an_unreachable_sidecar_denies():
    with sdk.Client("127.0.0.1:1", timeout=0.3, retry=sdk.NO_RETRY) as client:

        @guard(client, "ec2:StopInstances", ARN, principal=lambda args: args["user"])
        def stop(user: str, instance: str) -> None:
            raise AssertionError("must not run")

        with pytest.raises(AccessDeniedError, match="fail closed"):
            stop("sarah-developer", "i-1")


def test_an_async_function_is_guarded_with_an_async_client(address):
    async def main() -> str:
        async with sdk.AsyncClient(address) as client:

            @guard(client, "ec2:StopInstances", ARN, principal="{user}")
            async def stop(user: str, instance: str) -> str:
                return instance

            allowed = await stop("sarah-developer", "i-9")

            @guard(client, "s3:ListBucket", "arn:aws:s3:::{bucket}", principal="{user}")
            async def listing(user: str, bucket: str) -> None:
                raise AssertionError("must not run")

            with pytest.raises(AccessDeniedError):
                await listing("sarah-developer", "data")
            return allowed

    assert asyncio.run(main()) == "i-9"


def test_an_async_client_cannot_guard_sync_code_and_denies(address):
    @guard(sdk.AsyncClient(address), "ec2:StopInstances", ARN, principal="{user}")
    def stop(user: str, instance: str) -> None:
        raise AssertionError("must not run")

    with pytest.raises(AccessDeniedError, match="check failed"):
        stop("sarah-developer", "i-1")
