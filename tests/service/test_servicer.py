"""The Authorizer servicer, over a real in-process gRPC server and a fake snapshot."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from iamgate.service import ServiceMetrics, StaticSnapshots
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

from .fakes import BrokenSnapshot, FakeSnapshot, running_server

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def _tag(environment: str) -> pb.ContextEntry:
    return pb.ContextEntry(
        key="ec2:ResourceTag/Environment", values=[pb.ContextValue(string_value=environment)]
    )


def _terminate(environment: str = "production", **fields) -> pb.AuthorizeRequest:
    return pb.AuthorizeRequest(
        principal="sarah-developer",
        action="ec2:TerminateInstances",
        resource=INSTANCE,
        context=[_tag(environment)],
        **fields,
    )


@pytest.fixture
def stub():
    with running_server() as (address, _), grpc.insecure_channel(address) as channel:
        yield pb_grpc.AuthorizerStub(channel)


def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value.code(), raised.value.details()


def test_authorize_answers_from_the_active_snapshot(stub):
    response = stub.Authorize(_terminate("production", request_id="req-7"))
    assert response.decision == pb.DECISION_EXPLICIT_DENY
    assert response.revision == "rev-1"
    assert response.request_id == "req-7"
    assert response.determining_statements[0].sid == "DenyTerminateProduction"
    assert response.principal_arn == "arn:aws:iam::123456789012:user/sarah-developer"


def test_an_allow_is_an_ok_answer(stub):
    assert stub.Authorize(_terminate("staging")).decision == pb.DECISION_ALLOWED


def test_every_decision_gets_its_own_id(stub):
    ids = {stub.Authorize(_terminate()).decision_id for _ in range(3)}
    assert len(ids) == 3 and all(ids)


def test_the_sidecar_reports_the_context_keys_it_filled(stub):
    assert list(stub.Authorize(_terminate()).filled_context_keys) == ["aws:username"]


def test_an_empty_action_is_invalid_argument_naming_the_field(stub):
    code, details = _code(lambda: stub.Authorize(pb.AuthorizeRequest(principal="p", action="", resource="*")))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("action:")


def test_an_empty_principal_is_invalid_argument_naming_the_field(stub):
    code, details = _code(
        lambda: stub.Authorize(pb.AuthorizeRequest(principal="", action="s3:GetObject", resource="*"))
    )
    assert (code, details.split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "principal")


def test_a_context_value_with_no_type_is_invalid_argument_naming_it(stub):
    request = _terminate()
    request.context.add(key="aws:SourceIp").values.add()
    code, details = _code(lambda: stub.Authorize(request))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("context[1].values[0]:")


def test_a_field_the_snapshot_rejects_is_invalid_argument(stub):
    code, details = _code(lambda: stub.Authorize(_terminate(session_policy="not json")))
    assert (code, details.split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "session_policy")


def test_without_an_active_bundle_authorize_is_unavailable():
    with running_server(StaticSnapshots(None)) as (address, _), grpc.insecure_channel(address) as channel:
        code, _ = _code(lambda: pb_grpc.AuthorizerStub(channel).Authorize(_terminate()))
    assert code is grpc.StatusCode.UNAVAILABLE


def test_an_unexpected_failure_is_internal_and_never_allowed():
    with (
        running_server(StaticSnapshots(BrokenSnapshot())) as (address, _),
        grpc.insecure_channel(address) as channel,
    ):
        stub = pb_grpc.AuthorizerStub(channel)
        code, details = _code(
            lambda: stub.Authorize(pb.AuthorizeRequest(principal="p", action="ec2:Explode", resource="*"))
        )
        assert code is grpc.StatusCode.INTERNAL
        assert "not allowed" in details


def test_the_server_keeps_serving_after_an_internal_failure():
    with (
        running_server(StaticSnapshots(BrokenSnapshot())) as (address, _),
        grpc.insecure_channel(address) as channel,
    ):
        stub = pb_grpc.AuthorizerStub(channel)
        _code(lambda: stub.Authorize(pb.AuthorizeRequest(principal="p", action="ec2:Explode", resource="*")))
        assert stub.Authorize(_terminate("staging")).decision == pb.DECISION_ALLOWED


def test_a_batch_is_answered_in_order_with_per_item_errors():
    requests = [
        _terminate("production"),
        pb.AuthorizeRequest(principal="p", action="", resource="*"),
        pb.AuthorizeRequest(principal="p", action="ec2:Explode", resource="*"),
        _terminate("staging"),
    ]
    with (
        running_server(StaticSnapshots(BrokenSnapshot())) as (address, _),
        grpc.insecure_channel(address) as channel,
    ):
        results = (
            pb_grpc.AuthorizerStub(channel)
            .AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests))
            .results
        )
    assert [r.WhichOneof("outcome") for r in results] == ["response", "error", "error", "response"]
    assert results[0].response.decision == pb.DECISION_EXPLICIT_DENY
    assert (results[1].error.code, results[1].error.message.split(":")[0]) == (3, "requests[1].action")
    assert results[2].error.code == grpc.StatusCode.INTERNAL.value[0]
    assert results[3].response.decision == pb.DECISION_ALLOWED


def test_an_oversized_batch_is_rejected_whole():
    with running_server(max_batch_size=2) as (address, _), grpc.insecure_channel(address) as channel:
        batch = pb.AuthorizeBatchRequest(requests=[_terminate()] * 3)
        code, details = _code(lambda: pb_grpc.AuthorizerStub(channel).AuthorizeBatch(batch))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("requests:")


def test_explain_returns_the_answer_and_every_statement_considered(stub):
    response = stub.Explain(pb.ExplainRequest.FromString(_terminate("production").SerializeToString()))
    assert response.result.decision == pb.DECISION_EXPLICIT_DENY
    [policy] = response.policies
    assert policy.policy_id == "DeveloperAccess"
    deny = policy.statements[1]
    assert deny.applies and deny.effect == pb.EFFECT_DENY
    assert deny.conditions[0].key == "ec2:ResourceTag/Environment"
    assert list(deny.conditions[0].request_values) == ["production"]


def test_explain_rejects_malformed_requests_like_authorize(stub):
    code, _ = _code(lambda: stub.Explain(pb.ExplainRequest(principal="p", action="", resource="*")))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


def test_get_status_reports_the_active_bundle(stub):
    status = stub.GetStatus(pb.GetStatusRequest())
    assert (status.active.name, status.active.revision, status.active.source) == (
        "fake",
        "rev-1",
        "memory:fake",
    )
    assert status.active.counts.statements == 2
    assert status.active.activated_at.seconds > 0
    assert not status.admin_enabled


def test_get_status_reports_the_previous_revision_and_last_error():
    from datetime import UTC, datetime

    holder = StaticSnapshots(FakeSnapshot(revision="rev-1"))
    holder.activate(FakeSnapshot(revision="rev-2"))
    holder.record_error(
        "bundle.tar.gz: manifest.json: revision: missing", datetime(2026, 1, 1, tzinfo=UTC), "bundle.tar.gz"
    )
    with running_server(holder) as (address, _), grpc.insecure_channel(address) as channel:
        status = pb_grpc.AuthorizerStub(channel).GetStatus(pb.GetStatusRequest())
    assert (status.active.revision, status.previous_revision) == ("rev-2", "rev-1")
    assert status.last_error.message.startswith("bundle.tar.gz: manifest.json")


def test_rollback_is_permission_denied_unless_admin_is_enabled(stub):
    code, details = _code(lambda: stub.Rollback(pb.RollbackRequest()))
    assert code is grpc.StatusCode.PERMISSION_DENIED and "--enable-admin" in details


def test_rollback_without_a_previous_revision_is_a_failed_precondition():
    with running_server(enable_admin=True) as (address, _), grpc.insecure_channel(address) as channel:
        code, _ = _code(lambda: pb_grpc.AuthorizerStub(channel).Rollback(pb.RollbackRequest()))
    assert code is grpc.StatusCode.FAILED_PRECONDITION


def test_rollback_reactivates_the_previous_revision():
    holder = StaticSnapshots(FakeSnapshot(revision="rev-1"))
    holder.activate(FakeSnapshot(revision="rev-2"))
    with running_server(holder, enable_admin=True) as (address, _), grpc.insecure_channel(address) as channel:
        stub = pb_grpc.AuthorizerStub(channel)
        response = stub.Rollback(pb.RollbackRequest(expected_revision="rev-2"))
        assert (response.active_revision, response.rolled_back_revision) == ("rev-1", "rev-2")
        assert stub.Authorize(_terminate()).revision == "rev-1"


def test_rollback_with_a_stale_expected_revision_is_refused():
    holder = StaticSnapshots(FakeSnapshot(revision="rev-1"))
    holder.activate(FakeSnapshot(revision="rev-2"))
    with running_server(holder, enable_admin=True) as (address, _), grpc.insecure_channel(address) as channel:
        code, _ = _code(
            lambda: pb_grpc.AuthorizerStub(channel).Rollback(pb.RollbackRequest(expected_revision="rev-1"))
        )
    assert code is grpc.StatusCode.FAILED_PRECONDITION


def _health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        request = health_pb2.HealthCheckRequest(service="iamgate.v1.Authorizer")
        return health_pb2_grpc.HealthStub(channel).Check(request).status


def test_health_is_not_serving_until_a_bundle_is_active_then_serving():
    import time

    holder = StaticSnapshots(None)
    with running_server(holder) as (address, _):
        assert _health(address) == health_pb2.HealthCheckResponse.NOT_SERVING
        holder.activate(FakeSnapshot())
        deadline = time.monotonic() + 5
        while _health(address) != health_pb2.HealthCheckResponse.SERVING and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _health(address) == health_pb2.HealthCheckResponse.SERVING


def test_decisions_are_counted_by_outcome():
    metrics = ServiceMetrics()
    with running_server(metrics=metrics) as (address, _), grpc.insecure_channel(address) as channel:
        stub = pb_grpc.AuthorizerStub(channel)
        stub.Authorize(_terminate("production"))
        stub.Authorize(_terminate("staging"))
        stub.Authorize(_terminate("staging"))
    sample = metrics.registry.get_sample_value
    assert sample("iamgate_decisions_total", {"decision": "allowed"}) == 2
    assert sample("iamgate_decisions_total", {"decision": "explicitDeny"}) == 1
    assert sample("iamgate_decision_seconds_count") == 3


def test_requests_are_counted_by_method_and_status_code():
    metrics = ServiceMetrics()
    with running_server(metrics=metrics) as (address, _), grpc.insecure_channel(address) as channel:
        stub = pb_grpc.AuthorizerStub(channel)
        stub.Authorize(_terminate())
        _code(lambda: stub.Authorize(pb.AuthorizeRequest()))
    sample = metrics.registry.get_sample_value
    assert sample("iamgate_requests_total", {"method": "Authorize", "code": "OK"}) == 1
    assert sample("iamgate_requests_total", {"method": "Authorize", "code": "INVALID_ARGUMENT"}) == 1


def test_simulate_evaluates_the_given_policies_without_the_bundle(stub):
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    )
    response = stub.Simulate(
        pb.SimulateRequest(
            policy_input_list=[policy],
            action_names=["s3:GetObject", "s3:PutObject"],
            resource_arns=["arn:aws:s3:::bucket/key"],
            caller_arn="arn:aws:iam::123456789012:user/u",
        )
    )
    assert [(r.eval_action_name, r.eval_decision) for r in response.evaluation_results] == [
        ("s3:GetObject", pb.DECISION_ALLOWED),
        ("s3:PutObject", pb.DECISION_IMPLICIT_DENY),
    ]


def test_a_malformed_simulation_is_invalid_argument_naming_the_path(stub):
    code, details = _code(
        lambda: stub.Simulate(
            pb.SimulateRequest(
                policy_input_list=["{not json"],
                action_names=["s3:GetObject"],
                caller_arn="arn:aws:iam::123456789012:user/u",
            )
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith("policy_input_list[0]")
