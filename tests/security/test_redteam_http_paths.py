"""Red team: every spelling of an HTTP path an upstream decodes alike maps to one resource (ext_authz).

An upstream application percent-decodes its path, so ``/docs/secr%65t`` is its ``/docs/secret``.
The route mapping used to fill variables with the raw segment: the Deny on ``document/secret``
never met ``document/secr%65t`` and the request was allowed. Now each segment is decoded once
and re-encoded in one spelling before routes are matched; a ``;`` (path parameters, which
Tomcat and Spring strip), a raw ``\\``, a malformed escape or one that is not UTF-8 maps to nothing.
Such a path, and a mapped path spelt with doubled or trailing slashes (which many upstreams merge or
drop), is denied even when the bundle lets unmapped requests through (``"Unmapped": "allow"``).
"""

from __future__ import annotations

import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from google.rpc import code_pb2
from mesh.mesh_helpers import ROUTES, check_request, docs_sidecar


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    with docs_sidecar(tmp_path_factory.mktemp("docs")) as sidecar:
        channel = grpc.insecure_channel(f"127.0.0.1:{sidecar.port}")
        stub = authz_grpc.AuthorizationStub(channel)
        yield lambda request: stub.Check(request, timeout=5)
        channel.close()


def test_the_plain_secret_is_denied_and_a_plain_document_allowed(check):
    assert check(check_request(path="/docs/secret")).status.code != code_pb2.OK
    assert check(check_request(path="/docs/readme")).status.code == code_pb2.OK


@pytest.mark.parametrize(
    "path",
    [
        "/docs/secr%65t",
        "/docs/%73ecret",
        "/docs/%73%65%63%72%65%74",
        "/%64ocs/secret",
        "/docs/secret;x",
        "/docs/secret%3Bx",
        "/docs/secret%zz",
        "/docs/secret%",
        "/docs/secret%ff",
        "/docs\\secret",
    ],
)
def test_no_encoded_or_parameterised_spelling_of_a_denied_document_is_allowed(check, path):
    assert check(check_request(path=path)).status.code != code_pb2.OK


def test_an_encoded_letter_names_the_same_document_as_the_letter(check):
    allowed = check(check_request(path="/docs/r%65adme"))
    assert allowed.status.code == code_pb2.OK
    metadata = allowed.dynamic_metadata.fields
    assert metadata["resource"].string_value == "arn:app:docs:::document/readme"


def test_an_encoded_reserved_character_names_the_same_document_as_the_raw_one(check):
    raw, encoded = (check(check_request(path=p)) for p in ("/docs/a:b", "/docs/a%3Ab"))
    assert raw.status.code == encoded.status.code == code_pb2.OK
    resources = {r.dynamic_metadata.fields["resource"].string_value for r in (raw, encoded)}
    assert resources == {"arn:app:docs:::document/a:b"}


@pytest.fixture(scope="module")
def check_unmapped_allowed(tmp_path_factory):
    routes = {**ROUTES, "Unmapped": "allow"}
    with docs_sidecar(tmp_path_factory.mktemp("open"), routes) as sidecar:
        channel = grpc.insecure_channel(f"127.0.0.1:{sidecar.port}")
        stub = authz_grpc.AuthorizationStub(channel)
        yield lambda request: stub.Check(request, timeout=5)
        channel.close()


@pytest.mark.parametrize("path", ["/health", "/health/", "//health", "/"])
def test_unmapped_allow_passes_a_path_no_route_maps(check_unmapped_allowed, path):
    assert check_unmapped_allowed(check_request(path=path)).status.code == code_pb2.OK


@pytest.mark.parametrize(
    "path",
    [
        "/docs/x/../secret",
        "/docs/./secret",
        "/docs/%2e%2e/docs/secret",
        "/docs/secret%2F..",
        "/docs/secret;x",
        "//docs/secret",
        "/docs//secret",
        "/docs/secret/",
        "/docs/secret//",
    ],
)
def test_unmapped_allow_never_passes_a_path_that_could_name_another_resource(check_unmapped_allowed, path):
    response = check_unmapped_allowed(check_request(path=path))
    assert response.status.code != code_pb2.OK
    assert response.denied_response.status.code == 403
