"""One real sidecar on the embedded default bundle, on ephemeral loopback ports.

It checks issue 2's "Done when" answers over gRPC, malformed requests, health, and that
/metrics counts the decisions made.
"""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import iamgate_client as sdk
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@pytest.fixture(scope="module")
def sidecar():
    running = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address="127.0.0.1:0", max_workers=4), default_source()
    )
    try:
        yield running
    finally:
        running.stop(0)


@pytest.fixture(scope="module")
def client(sidecar):
    with sdk.Client(f"127.0.0.1:{sidecar.port}") as connected:
        yield connected


def test_sarah_may_not_terminate_a_production_instance(client):
    decision = client.authorize(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, {"ec2:ResourceTag/Environment": "production"}
    )
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY
    assert [ref.sid for ref in decision.determining] == ["DenyTerminateProduction"]


def test_sarah_may_terminate_a_staging_instance(client):
    decision = client.authorize(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, {"ec2:ResourceTag/Environment": "staging"}
    )
    assert decision.outcome is sdk.Outcome.ALLOWED


def test_lisa_from_finance_may_not_run_instances(client):
    decision = client.authorize("lisa-finance", "ec2:RunInstances", "*")
    assert decision.outcome is sdk.Outcome.IMPLICIT_DENY
    assert decision.message == (
        "User: arn:aws:iam::123456789012:user/lisa-finance is not authorized to perform: ec2:RunInstances "
        "on resource: * because no identity-based policy allows the ec2:RunInstances action"
    )


def test_the_answer_names_the_default_bundle_revision(client, sidecar):
    status = client.status()
    assert status.active is not None and status.active.source == "embedded:default"
    assert client.authorize("lisa-finance", "ec2:RunInstances", "*").revision == status.active.revision


def test_an_empty_action_is_invalid_argument_naming_the_field(client):
    with pytest.raises(sdk.InvalidRequestError) as raised:
        client.authorize("sarah-developer", "", INSTANCE)
    assert raised.value.details.startswith("action:")


def test_a_context_value_of_unknown_type_is_invalid_argument_naming_it(sidecar):
    from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
    from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

    request = pb.AuthorizeRequest(principal="sarah-developer", action="ec2:StopInstances", resource=INSTANCE)
    request.context.add(key="aws:SourceIp").values.add()  # no member of the oneof set
    with (
        grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        pb_grpc.AuthorizerStub(channel).Authorize(request)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith("context[0].values[0]:")


def test_health_reports_serving(sidecar):
    with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
        for service in ("", "iamgate.v1.Authorizer"):
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def _scrape(sidecar) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{sidecar.metrics_port}/metrics", timeout=5) as response:
        return response.read().decode()


def _counter(text: str, decision: str) -> float:
    prefix = f'iamgate_decisions_total{{decision="{decision}"}} '
    return next(float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_count_decisions_by_outcome(client, sidecar):
    before = _counter(_scrape(sidecar), "implicitDeny")
    client.authorize("lisa-finance", "ec2:RunInstances", "*")
    client.authorize("lisa-finance", "ec2:RunInstances", "*")
    after = _scrape(sidecar)
    assert _counter(after, "implicitDeny") == before + 2
    assert 'iamgate_bundle_info{name="default"' in after


def test_reflection_lists_the_authorizer_and_health_services(sidecar):
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert {"iamgate.v1.Authorizer", "grpc.health.v1.Health"} <= services


def test_the_sidecar_listens_on_a_unix_socket(tmp_path):
    socket_path = tmp_path / "iamgate.sock"
    running = start_sidecar(
        ServiceConfig(address=f"unix:{socket_path}", metrics_address=None), default_source()
    )
    try:
        with sdk.Client(f"unix:{socket_path}") as unix_client:
            assert (
                unix_client.authorize("lisa-finance", "ec2:RunInstances", "*").outcome
                is sdk.Outcome.IMPLICIT_DENY
            )
    finally:
        running.stop(0)
