"""Review finding: an error quoting a caller's long field still reaches the caller as that error.

A status message travels in a gRPC trailer, and clients refuse trailers over 16 KiB: Authorize
with a malformed 60 KB action answered ``RESOURCE_EXHAUSTED: Stream removed (received metadata
size exceeds hard limit ...)`` instead of ``INVALID_ARGUMENT`` naming the field. Status messages
are now cut to about ``DETAILS_KEPT`` characters, head (the field) and tail (what is wrong) kept.
"""

from __future__ import annotations

import grpc

from iamgate.service.servicer import DETAILS_KEPT
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import rpc_error, sidecar

MALFORMED_ACTION = "s3 GetObject" + "x" * 60_000


def test_a_malformed_huge_action_is_refused_as_invalid_naming_the_field_and_the_reason() -> None:
    with sidecar() as (_, stub):
        request = pb.AuthorizeRequest(principal="mike-devops", action=MALFORMED_ACTION, resource="*")
        error = rpc_error(stub.Authorize, request, timeout=10)

    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("action: 's3 GetObject")
    assert error.details().endswith("' is not SERVICE:ACTION (e.g. s3:GetObject)")
    assert "characters cut ...]" in error.details()
    assert len(error.details()) <= DETAILS_KEPT + 64


def test_a_short_error_message_is_given_whole() -> None:
    with sidecar() as (_, stub):
        request = pb.AuthorizeRequest(principal="mike-devops", action="s3 GetObject", resource="*")
        error = rpc_error(stub.Authorize, request, timeout=10)

    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "action: 's3 GetObject' is not SERVICE:ACTION (e.g. s3:GetObject)"


def test_an_explain_of_a_huge_malformed_action_is_refused_as_invalid() -> None:
    with sidecar() as (_, stub):
        request = pb.ExplainRequest(principal="mike-devops", action=MALFORMED_ACTION, resource="*")
        error = rpc_error(stub.Explain, request, timeout=10)

    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("action: ")
