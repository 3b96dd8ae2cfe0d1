"""Hostile HTTP requests through ext_authz, against a real sidecar (gRPC Check on loopback).

What an attacker in front of Envoy controls: the method, path, host, headers and body. None of
it may name a resource another spelling could not, become a sidecar-owned or connection key, or
turn an error into an allow. (The same requests through a real Envoy: tests/mesh.)
"""

from __future__ import annotations

import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from google.rpc import code_pb2
from mesh.mesh_helpers import ROUTES, check_request, docs_files, docs_sidecar, write_bundle

from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.load import load_snapshot


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    with docs_sidecar(tmp_path_factory.mktemp("docs")) as sidecar:
        channel = grpc.insecure_channel(f"127.0.0.1:{sidecar.port}")
        stub = authz_grpc.AuthorizationStub(channel)
        yield lambda request: stub.Check(request, timeout=5)
        channel.close()


@pytest.mark.parametrize(
    "path",
    [
        "/docs/x/../secret",
        "/docs/./secret",
        "/docs/%2e%2e/docs/secret",
        "/docs/secret%2F..",
        "/docs/secret%5c",
        "//docs/secret",
        "/docs/readme/../../docs/secret",
    ],
)
def test_no_spelling_of_a_path_is_allowed_where_the_plain_one_is_denied(check, path):
    assert check(check_request(path=path)).status.code != code_pb2.OK


@pytest.mark.parametrize(
    "headers",
    [
        {"x-user": "alice", "aws:sourceip": "127.0.0.1"},
        {"x-user": "alice", "x-forwarded-for": "127.0.0.1"},
        {"x-user": "alice", "x-real-ip": "127.0.0.1"},
        {"x-user": "alice", "x-tenant": "blue", "aws:SecureTransport": "true"},
    ],
)
def test_headers_cannot_supply_the_source_address(check, headers):
    response = check(check_request(path="/docs", headers=headers, source_ip="203.0.113.9"))
    assert response.status.code != code_pb2.OK


def test_a_principal_header_with_a_wildcard_or_an_arn_of_another_kind_is_not_allowed(check):
    for principal in ("*", "arn:aws:iam::123456789012:user/*", "arn:aws:iam::123456789012:root", ""):
        assert check(check_request(headers={"x-user": principal})).status.code != code_pb2.OK


def test_a_huge_path_is_denied_not_a_crash(check):
    response = check(check_request(path="/docs/" + "a" * 200_000))
    assert response.status.code != code_pb2.OK


@pytest.mark.parametrize(
    "key", ["aws:username", "aws:PrincipalTag/Team", "aws:SourceIp", "aws:CurrentTime", "s3:ResourceTag/Env"]
)
def test_a_bundle_mapping_a_header_to_a_key_the_sidecar_sets_is_refused(tmp_path, key):
    routes = {**ROUTES, "ContextHeaders": {"x-evil": key}}
    with pytest.raises(BundleValidationError, match="ContextHeaders"):
        load_snapshot(write_bundle(tmp_path, docs_files(routes)))


def test_a_principal_header_shaped_to_make_a_match_template_backtrack_answers_at_once(tmp_path):
    import time

    routes = {
        **ROUTES,
        "Principal": [
            {"From": "header", "Name": "x-client", "Match": "{a}.{b}.{c}.{d}@corp", "Principal": "{a}"}
        ],
    }
    hostile = "." * 4000 + "x"
    with (
        docs_sidecar(tmp_path, routes) as sidecar,
        grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel,
    ):
        started = time.perf_counter()
        response = authz_grpc.AuthorizationStub(channel).Check(
            check_request(headers={"x-client": hostile}), timeout=5
        )
        elapsed = time.perf_counter() - started
    assert response.denied_response.status.code == 401 and elapsed < 1.0
