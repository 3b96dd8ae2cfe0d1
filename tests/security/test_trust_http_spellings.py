"""``"Unmapped": "allow"`` never passes a mapped route spelt in other letter case or on a host with a dot.

Many upstreams treat ``/DOCS/secret`` as ``/docs/secret`` (IIS, ASP.NET, case-insensitive file
systems), and DNS and most servers read the host ``docs.local.`` as ``docs.local``. The route
mapping compares path literals exactly and hosts without the trailing dot, so such a request
mapped to nothing, and a bundle that lets unmapped requests through passed it to the route it was
meant to check. Now a request whose path or host matches a mapped route only after case folding
or trailing-dot removal is denied (403) whatever ``Unmapped`` says, as an ambiguous path is; the
SDK's HTTP guards deny such a path with ``unmatched="pass"`` too.
"""

from __future__ import annotations

import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from google.rpc import code_pb2
from mesh.mesh_helpers import ROUTES, check_request, docs_sidecar

from .test_redteam_guard_paths import _asgi_status, _wsgi_status
from .trust_helpers import sidecar_client

HOSTED = {
    **ROUTES,
    "Unmapped": "allow",
    "Routes": [{**route, "Host": "docs.local"} for route in ROUTES["Routes"]],
}


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    with docs_sidecar(tmp_path_factory.mktemp("hosted"), HOSTED) as sidecar:
        channel = grpc.insecure_channel(f"127.0.0.1:{sidecar.port}")
        stub = authz_grpc.AuthorizationStub(channel)
        yield lambda request: stub.Check(request, timeout=5)
        channel.close()


def test_the_secret_is_denied_on_its_own_spelling(check):
    assert check(check_request(path="/docs/secret")).denied_response.status.code == 403
    assert check(check_request(path="/docs/readme")).status.code == code_pb2.OK


@pytest.mark.parametrize(
    "path",
    ["/DOCS/secret", "/Docs/secret", "/%44ocs/secret", "/DOCS", "/TENANTS/red/DOCS/x", "/DOCS//secret"],
)
def test_unmapped_allow_never_passes_a_mapped_route_in_other_letter_case(check, path):
    response = check(check_request(path=path))
    assert response.status.code != code_pb2.OK
    assert response.denied_response.status.code == 403
    assert "another spelling of a mapped route" in response.denied_response.body


@pytest.mark.parametrize("host", ["docs.local.", "docs.local.:8443", "DOCS.LOCAL.", "docs.local.."])
def test_unmapped_allow_never_passes_a_mapped_route_on_a_host_with_a_trailing_dot(check, host):
    response = check(check_request(path="/docs/secret", host=host))
    assert response.status.code != code_pb2.OK
    assert response.denied_response.status.code == 403


def test_a_host_in_other_letter_case_is_the_mapped_host(check):
    assert check(check_request(path="/docs/secret", host="DOCS.Local")).status.code != code_pb2.OK
    assert check(check_request(path="/docs/readme", host="DOCS.Local:443")).status.code == code_pb2.OK


@pytest.mark.parametrize(
    ("path", "host"), [("/health", "docs.local"), ("/HEALTH", "docs.local."), ("/docs/secret", "other.local")]
)
def test_unmapped_allow_still_passes_what_no_route_maps_in_any_spelling(check, path, host):
    assert check(check_request(path=path, host=host)).status.code == code_pb2.OK


@pytest.fixture(scope="module")
def client():
    with sidecar_client() as (client, _):
        yield client


@pytest.mark.parametrize(
    "path", ["/BUCKETS/data/objects/x", "/Buckets/data/Objects/x", "//BUCKETS/data/objects/x"]
)
def test_guards_with_unmatched_pass_never_pass_a_routed_path_in_other_letter_case(client, path):
    status, ran = _wsgi_status(client, path)
    assert status.startswith("403") and ran == []
    code, ran = _asgi_status(client, path)
    assert code == 403 and ran == []


def test_guards_with_unmatched_pass_still_pass_an_unrouted_path_in_any_case(client):
    assert _wsgi_status(client, "/HEALTH") == ("200 OK", ["/HEALTH"])
