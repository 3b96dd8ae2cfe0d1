"""Explain says when the request's resource does not fit the action's resource types (the catalogue's)."""

from __future__ import annotations

import grpc
import pytest

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

from .fakes import running_server

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@pytest.fixture
def stub():
    with running_server() as (address, _), grpc.insecure_channel(address) as channel:
        yield pb_grpc.AuthorizerStub(channel)


def _explain(stub, action: str, resource: str) -> list[str]:
    request = pb.ExplainRequest(principal="sarah-developer", action=action, resource=resource)
    return list(stub.Explain(request).result.hints)


def test_explain_hints_that_a_wildcard_only_action_is_evaluated_against_star(stub):
    [hint] = _explain(stub, "ec2:DescribeInstances", INSTANCE)
    assert hint.startswith("ec2:DescribeInstances takes no resource: evaluated on '*', not on " + INSTANCE)


def test_explain_hints_what_applies_to_star_for_an_action_with_resource_types(stub):
    [hint] = _explain(stub, "ec2:StopInstances", "*")
    assert "only statements whose Resource matches '*' apply" in hint


def test_explain_gives_no_resource_hint_when_the_resource_fits(stub):
    assert _explain(stub, "ec2:StopInstances", INSTANCE) == []
    assert _explain(stub, "ec2:DescribeInstances", "*") == []


def test_authorize_never_looks_the_resource_up(stub):
    request = pb.AuthorizeRequest(
        principal="sarah-developer", action="ec2:DescribeInstances", resource=INSTANCE
    )
    assert not stub.Authorize(request).hints
