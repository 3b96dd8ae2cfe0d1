"""W3C traceparent: its trace id reaches the decision log line of Authorize, Explain and Check."""

from __future__ import annotations

import json

import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc

import iamgate_client as sdk
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source
from iamgate.service.tracing import trace_id
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

from .mesh_helpers import check_request, docs_sidecar

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (TRACEPARENT, TRACE),
        (f"01-{TRACE}-00f067aa0ba902b7-01-future", TRACE),
        (f"00-{TRACE}-00f067aa0ba902b7-01-extra", ""),
        (f"ff-{TRACE}-00f067aa0ba902b7-01", ""),
        ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", ""),
        (f"00-{TRACE}-" + "0" * 16 + "-01", ""),
        (f"00-{TRACE.upper()}-00f067aa0ba902b7-01", ""),
        ("not a traceparent", ""),
        ("", ""),
    ],
)
def test_only_a_well_formed_traceparent_gives_a_trace_id(header, expected):
    assert trace_id(header) == expected


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_authorize_and_explain_log_the_trace_id_of_their_traceparent(tmp_path):
    log = tmp_path / "decisions.log"
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, decision_log=str(log))
    sidecar = start_sidecar(config, default_source())
    try:
        request = pb.AuthorizeRequest(principal="lisa-finance", action="ec2:RunInstances", resource="*")
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            stub.Authorize(request, metadata=[("traceparent", TRACEPARENT)], timeout=5)
            stub.Authorize(request, metadata=[("traceparent", "garbage")], timeout=5)
            stub.Explain(
                pb.ExplainRequest(principal="lisa-finance", action="ec2:RunInstances", resource="*"),
                metadata=[("traceparent", TRACEPARENT)],
                timeout=5,
            )
        sidecar.decision_log.flush()
        lines = _lines(log)
    finally:
        sidecar.stop(0)
    assert [(line["method"], line.get("trace_id")) for line in lines] == [
        ("Authorize", TRACE),
        ("Authorize", None),
        ("Explain", TRACE),
    ]


def test_explain_answers_with_the_trace_id_of_its_traceparent():
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), default_source())
    question = pb.ExplainRequest(principal="lisa-finance", action="ec2:RunInstances", resource="*")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            traced = stub.Explain(question, metadata=[("traceparent", TRACEPARENT)], timeout=5)
            untraced = stub.Explain(question, timeout=5)
    finally:
        sidecar.stop(0)
    assert (traced.trace_id, untraced.trace_id) == (TRACE, "")


def test_the_sdk_explanation_carries_the_trace_id():
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), default_source())
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}", timeout=5) as client:
            explanation = client.explain(
                "lisa-finance", "ec2:RunInstances", "*", metadata=[("traceparent", TRACEPARENT)]
            )
    finally:
        sidecar.stop(0)
    assert explanation.trace_id == TRACE


def test_check_logs_the_trace_id_of_envoys_traceparent_header(tmp_path):
    log = tmp_path / "decisions.log"
    with docs_sidecar(tmp_path, decision_log=str(log)) as sidecar:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            request = check_request(headers={"x-user": "alice", "traceparent": TRACEPARENT})
            authz_grpc.AuthorizationStub(channel).Check(request, timeout=5)
        sidecar.decision_log.flush()
        [line] = _lines(log)
    assert line["trace_id"] == TRACE
