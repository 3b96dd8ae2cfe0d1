"""Red team: the HTTP guards never pass an ambiguous path unchecked, even with ``unmatched="pass"``.

A path holding ``.`` or ``..`` segments (or NUL) matches no route, so that the resource a check
names is the one the application acts on. With ``unmatched="pass"`` (unmapped paths run
unchecked) such a path used to be passed on: ``/buckets/data/objects/../../secret`` reached the
application's own route for objects without any check, and so did a routed path spelt with doubled
or trailing slashes (``//buckets/data/objects/x``), which many frameworks merge or drop. Both are
now denied in either mode.
"""

from __future__ import annotations

import asyncio

import pytest

import iamgate_client as sdk
from iamgate_client.guards import AsgiGuard, Route, WsgiGuard

from .trust_helpers import sidecar_client

ROUTES = [Route("GET", "/buckets/{bucket}/objects/{key+}", "s3:GetObject", "arn:aws:s3:::{bucket}/{key}")]
SMUGGLED = [
    "/buckets/data/objects/../../secret",
    "/buckets/data/objects/./x",
    "/buckets/data/objects/x\x00",
    "//buckets/data/objects/x",
    "/buckets//data/objects/x",
    "/buckets/data/objects/x/",
]


@pytest.fixture(scope="module")
def client():
    with sidecar_client() as (client, _):
        yield client


def _wsgi_status(client: sdk.Client, path: str) -> tuple[str, list[str]]:
    ran: list[str] = []

    def app(environ, start_response):
        ran.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"ok"]

    guard = WsgiGuard(
        app, authorizer=client, routes=ROUTES, principal=lambda environ: "sarah-developer", unmatched="pass"
    )
    status: list[str] = []
    guard({"REQUEST_METHOD": "GET", "PATH_INFO": path}, lambda s, headers: status.append(s))
    return status[0], ran


def _asgi_status(client: sdk.Client, path: str) -> tuple[int, list[str]]:
    ran: list[str] = []
    sent: list[dict] = []

    async def app(scope, receive, send):
        ran.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    guard = AsgiGuard(
        app, authorizer=client, routes=ROUTES, principal=lambda scope: "sarah-developer", unmatched="pass"
    )
    asyncio.run(guard({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send))
    return sent[0]["status"], ran


@pytest.mark.parametrize("path", ["/health", "/health/", "//health", "/"])
def test_unmatched_pass_still_passes_a_path_no_route_maps(client, path):
    assert _wsgi_status(client, path) == ("200 OK", [path])
    assert _asgi_status(client, path) == (200, [path])


@pytest.mark.parametrize("path", SMUGGLED)
def test_wsgi_unmatched_pass_never_passes_a_path_spelling_a_routed_one_otherwise(client, path):
    status, ran = _wsgi_status(client, path)
    assert status.startswith("403") and ran == []


@pytest.mark.parametrize("path", SMUGGLED)
def test_asgi_unmatched_pass_never_passes_a_path_spelling_a_routed_one_otherwise(client, path):
    status, ran = _asgi_status(client, path)
    assert status == 403 and ran == []
