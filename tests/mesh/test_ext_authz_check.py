"""ext_authz Check over gRPC on a real sidecar, with CheckRequests shaped as Envoy sends them.

The end-to-end tests with a real Envoy are in test_ext_authz_envoy.py; these pin the mapping's
behaviours one by one, including the ones a test Envoy cannot easily produce (a JWT claim in
metadata, an mTLS peer identity).
"""

from __future__ import annotations

import json

import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2 as authz_pb2
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from google.rpc import code_pb2

from .mesh_helpers import ACCOUNT, ROUTES, check_request, docs_sidecar


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    with docs_sidecar(tmp_path_factory.mktemp("docs")) as sidecar:
        channel = grpc.insecure_channel(f"127.0.0.1:{sidecar.port}")
        stub = authz_grpc.AuthorizationStub(channel)
        yield lambda request: stub.Check(request, timeout=5)
        channel.close()


def _body(response: authz_pb2.CheckResponse) -> dict[str, str]:
    return json.loads(response.denied_response.body)


def _headers(response: authz_pb2.CheckResponse) -> dict[str, str]:
    options = response.ok_response.headers or response.denied_response.headers
    return {option.header.key: option.header.value for option in options}


def test_an_allowed_request_is_ok_with_the_revision_and_decision_id(check):
    response = check(check_request())
    assert response.status.code == code_pb2.OK
    headers = _headers(response)
    assert headers["x-iamgate-revision"] and headers["x-iamgate-decision-id"]
    assert response.dynamic_metadata["principal"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert response.dynamic_metadata["resource"] == "arn:app:docs:::document/readme"


def test_an_explicit_deny_is_403_with_an_aws_style_body(check):
    response = check(check_request(path="/docs/secret"))
    assert response.status.code == code_pb2.PERMISSION_DENIED
    assert response.denied_response.status.code == 403
    body = _body(response)
    assert body["Code"] == "AccessDenied"
    assert (
        "is not authorized to perform: docs:GetDocument on resource: arn:app:docs:::document/secret"
        in (body["Message"])
    )
    assert "explicit deny" in body["Message"]
    assert body["DecisionId"] == _headers(response)["x-iamgate-decision-id"]


def test_a_principal_without_policies_is_denied(check):
    assert check(check_request(headers={"x-user": "bob"})).denied_response.status.code == 403


def test_an_unmapped_request_is_denied_by_default(check):
    response = check(check_request(path="/admin"))
    assert response.denied_response.status.code == 403
    assert "no route" in _body(response)["Message"]


def test_a_method_the_route_does_not_list_is_unmapped(check):
    assert "no route" in _body(check(check_request(method="POST", path="/docs/readme")))["Message"]


@pytest.mark.parametrize(
    "path", ["/docs/../docs/readme", "/docs/./readme", "/docs/read%2Fme", "/docs/%2e%2e", "docs/readme"]
)
def test_paths_with_dot_segments_or_encoded_separators_map_to_nothing(check, path):
    assert check(check_request(path=path)).denied_response.status.code == 403


def test_the_query_string_is_not_part_of_the_path(check):
    assert check(check_request(path="/docs/readme?version=2")).status.code == code_pb2.OK


def test_no_principal_is_401(check):
    response = check(check_request(headers={}))
    assert response.denied_response.status.code == 401
    assert _body(response)["Code"] == "Unauthenticated"


def test_the_mtls_peer_identity_names_the_principal_through_the_match_template(check):
    allowed = check(check_request(headers={}, peer="spiffe://example.org/sa/alice"))
    assert allowed.status.code == code_pb2.OK
    assert allowed.dynamic_metadata["principal"] == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_a_peer_identity_outside_the_match_template_names_no_principal(check):
    assert (
        check(check_request(headers={}, peer="spiffe://evil.org/sa/alice")).denied_response.status.code == 401
    )


def test_a_jwt_claim_from_envoy_metadata_names_the_principal(check):
    assert check(check_request(headers={}, jwt_sub="alice")).status.code == code_pb2.OK


def test_aws_source_ip_comes_from_the_connection(check):
    assert check(check_request(path="/docs")).status.code == code_pb2.OK
    assert check(check_request(path="/docs", source_ip="203.0.113.9")).denied_response.status.code == 403


def test_a_header_named_like_a_context_key_never_reaches_the_context(check):
    # aws:SourceIp comes from the connection only; a header cannot claim loopback
    headers = {"x-user": "alice", "aws:sourceip": "127.0.0.1", "x-forwarded-for": "127.0.0.1"}
    response = check(check_request(path="/docs", headers=headers, source_ip="203.0.113.9"))
    assert response.denied_response.status.code == 403


def test_a_mapped_header_becomes_its_documented_context_key(check):
    blue = check_request(path="/tenants/blue/docs/plan", headers={"x-user": "alice", "x-tenant": "blue"})
    red = check_request(path="/tenants/blue/docs/plan", headers={"x-user": "alice", "x-tenant": "red"})
    assert check(blue).status.code == code_pb2.OK
    assert check(red).denied_response.status.code == 403


def test_a_malformed_principal_is_denied_not_an_error(check):
    response = check(check_request(headers={"x-user": "arn:aws:iam::bad"}))
    assert response.status.code != code_pb2.OK


def test_without_a_bundle_check_answers_503(tmp_path):
    from iamgate.service import ServiceConfig, StaticSnapshots, start_sidecar

    sidecar = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_workers=4, ext_authz=True),
        StaticSnapshots(),
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            response = authz_grpc.AuthorizationStub(channel).Check(check_request(), timeout=5)
        assert response.denied_response.status.code == 503
    finally:
        sidecar.stop(0)


def test_unmapped_allow_lets_unmapped_requests_through(tmp_path):
    with docs_sidecar(tmp_path, {**ROUTES, "Unmapped": "allow"}) as sidecar:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            response = authz_grpc.AuthorizationStub(channel).Check(check_request(path="/health"), timeout=5)
        assert response.status.code == code_pb2.OK


def test_check_is_not_served_unless_enabled(tmp_path):
    from iamgate.service import ServiceConfig, start_sidecar
    from iamgate.service.bundles import default_source

    sidecar = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_workers=4), default_source()
    )
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel,
            pytest.raises(grpc.RpcError) as raised,
        ):
            authz_grpc.AuthorizationStub(channel).Check(check_request(), timeout=5)
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        sidecar.stop(0)


def test_the_client_certificate_subject_can_name_the_principal(tmp_path):
    from urllib.parse import quote

    from .certs import CertificateAuthority

    routes = {
        **ROUTES,
        "Principal": [
            {
                "From": "peer-subject",
                "Match": "CN={name}",
                "Principal": f"arn:aws:iam::{ACCOUNT}:user/{{name}}",
            }
        ],
    }
    certificate = CertificateAuthority().issue("alice").cert_pem.decode()
    request = check_request(headers={})
    request.attributes.source.certificate = quote(certificate)
    with (
        docs_sidecar(tmp_path, routes) as sidecar,
        grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel,
    ):
        response = authz_grpc.AuthorizationStub(channel).Check(request, timeout=5)
    assert response.status.code == code_pb2.OK
    assert response.dynamic_metadata["principal"] == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_envoys_request_id_or_the_trace_id_becomes_the_decision_logs_request_id(tmp_path):
    import json as _json

    log = tmp_path / "decisions.log"
    trace = "0af7651916cd43dd8448eb211c80319c"
    with docs_sidecar(tmp_path, decision_log=str(log)) as sidecar:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            stub = authz_grpc.AuthorizationStub(channel)
            stub.Check(check_request(headers={"x-user": "alice", "x-request-id": "req-1"}), timeout=5)
            stub.Check(
                check_request(headers={"x-user": "alice", "traceparent": f"00-{trace}-b7ad6b7169203331-01"}),
                timeout=5,
            )
        sidecar.decision_log.flush()
        lines = [_json.loads(line) for line in log.read_text().splitlines()]
    assert [line["method"] for line in lines] == ["Check", "Check"]
    assert [line["request"]["request_id"] for line in lines] == ["req-1", trace]
