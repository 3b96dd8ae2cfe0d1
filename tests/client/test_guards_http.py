"""The ASGI and WSGI guards on real frameworks (Starlette + httpx's TestClient, werkzeug), asking
a real sidecar: allowed requests run, anything else is a 403 with the AWS-style message."""

from __future__ import annotations

import socket
import warnings

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route as StarletteRoute
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect
from werkzeug.test import Client as WerkzeugClient
from werkzeug.wrappers import Request, Response

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import iamgate_client as sdk
from iamgate_client.guards import AsgiGuard, Route, RouteMap, WsgiGuard
from iamgate_client.guards.asgi import header_principal as asgi_header
from iamgate_client.guards.wsgi import header_principal as wsgi_header

ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{instance}"
ROUTES = [
    Route("POST", "/instances/{instance}/stop", "ec2:StopInstances", ARN),
    Route("DELETE", "/instances/{instance}", "ec2:TerminateInstances", ARN),
    Route("GET", "/buckets/{bucket}/objects/{key+}", "s3:GetObject", "arn:aws:s3:::{bucket}/{key}"),
    Route("GET", "/health", None),
    Route("GET", "/ws", "ec2:DescribeInstances"),
]
USER = "sarah-developer"
HEADERS = {"x-user": USER}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- ASGI (Starlette) -------------------------------------------------------------------------


def _starlette(authorizer, ran: list[str], **options) -> TestClient:
    async def handler(request):
        ran.append(request.url.path)
        decision = getattr(request.state, "iamgate", None)
        return JSONResponse({"revision": decision.revision if decision else None})

    async def health(request):
        ran.append("health")
        return PlainTextResponse("ok")

    async def ws(websocket):
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = Starlette(
        routes=[
            StarletteRoute("/instances/{instance}/stop", handler, methods=["POST"]),
            StarletteRoute("/instances/{instance}", handler, methods=["DELETE"]),
            StarletteRoute("/buckets/{bucket}/objects/{key:path}", handler),
            StarletteRoute("/health", health),
            StarletteRoute("/other", handler),
            WebSocketRoute("/ws", ws),
        ]
    )
    options.setdefault("principal", asgi_header("x-user"))
    app.add_middleware(AsgiGuard, authorizer=authorizer, routes=ROUTES, **options)
    return TestClient(app)


def test_asgi_an_allowed_request_runs_and_sees_the_decision(address):
    ran: list[str] = []
    client = sdk.AsyncClient(address)  # its channel is made in the app's event loop, on first use
    with _starlette(client, ran) as http:
        response = http.post("/instances/i-1/stop", headers=HEADERS)
    assert response.status_code == 200 and response.json() == {"revision": "rev-1"}
    assert ran == ["/instances/i-1/stop"]


def test_asgi_a_denied_request_gets_403_with_the_aws_message_and_never_runs(address):
    ran: list[str] = []
    with sdk.Client(address) as client, _starlette(client, ran) as http:
        response = http.get("/buckets/data/objects/reports/q1.csv", headers=HEADERS)
    assert response.status_code == 403 and ran == []
    error = response.json()["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"].startswith(
        "User: arn:aws:iam::123456789012:user/sarah-developer is not authorized to perform: s3:GetObject "
        "on resource: arn:aws:s3:::data/reports/q1.csv"
    )


def test_asgi_an_explicit_deny_from_context_is_403(address):
    ran: list[str] = []
    production = lambda scope, variables: {"ec2:ResourceTag/Environment": "production"}  # noqa: E731
    with sdk.Client(address) as client, _starlette(client, ran, context=production) as http:
        response = http.delete("/instances/i-1", headers=HEADERS)
    assert response.status_code == 403 and "explicit deny" in response.json()["Error"]["Message"]


def test_asgi_an_unmatched_route_is_denied_by_default(address):
    ran: list[str] = []
    with sdk.Client(address) as client, _starlette(client, ran) as http:
        response = http.get("/other", headers=HEADERS)
    assert response.status_code == 403 and "no route maps GET /other" in response.json()["Error"]["Message"]
    assert ran == []


def test_asgi_an_unmatched_route_passes_when_told(address):
    ran: list[str] = []
    with sdk.Client(address) as client, _starlette(client, ran, unmatched="pass") as http:
        assert http.get("/other", headers=HEADERS).status_code == 200


def test_asgi_a_public_route_is_not_checked():
    ran: list[str] = []
    with sdk.Client(f"127.0.0.1:{_free_port()}") as client, _starlette(client, ran) as http:
        assert http.get("/health").status_code == 200 and ran == ["health"]


def test_asgi_a_request_without_a_principal_is_denied(address):
    ran: list[str] = []
    with sdk.Client(address) as client, _starlette(client, ran) as http:
        response = http.post("/instances/i-1/stop")
    assert response.status_code == 403 and "no authenticated principal" in response.text and ran == []


def test_asgi_an_unreachable_sidecar_fails_closed_with_the_reason():
    ran: list[str] = []
    client = sdk.Client(f"127.0.0.1:{_free_port()}", timeout=0.3, retry=sdk.NO_RETRY)
    with client, _starlette(client, ran) as http:
        response = http.post("/instances/i-1/stop", headers=HEADERS)
    assert response.status_code == 403 and "fail closed" in response.json()["Error"]["Message"]
    assert ran == []


def test_asgi_a_failing_check_denies_never_passes(address):
    ran: list[str] = []
    client = sdk.Client(address)
    client.close()  # every call now raises ClientClosedError
    with _starlette(client, ran) as http:
        response = http.post("/instances/i-1/stop", headers=HEADERS)
    assert response.status_code == 403 and "authorization check failed (CLOSED)" in response.text
    assert ran == []


def test_asgi_a_hook_that_raises_denies(address):
    def broken(scope):
        raise RuntimeError("bug in the app's principal hook")

    ran: list[str] = []
    with sdk.Client(address) as client, _starlette(client, ran, principal=broken) as http:
        assert http.post("/instances/i-1/stop", headers=HEADERS).status_code == 403
    assert ran == []


def test_asgi_dot_segments_match_no_route_and_are_denied(address):
    ran: list[str] = []
    with sdk.Client(address) as client, _starlette(client, ran, unmatched="deny") as http:
        response = http.get("/buckets/data/objects/../../secret", headers=HEADERS)
    assert response.status_code == 403 and ran == []


def test_asgi_a_denied_websocket_is_refused_before_accept(address):
    routes = [Route("GET", "/ws", "s3:ListAllMyBuckets")]
    with sdk.Client(address) as client:
        app = Starlette(routes=[WebSocketRoute("/ws", lambda ws: None)])
        app.add_middleware(AsgiGuard, authorizer=client, routes=routes, principal=asgi_header("x-user"))
        with (
            TestClient(app) as http,
            pytest.raises(WebSocketDisconnect) as closed,
            http.websocket_connect("/ws", headers=HEADERS),
        ):
            pass
    assert closed.value.code == 1008


def test_asgi_an_allowed_websocket_is_accepted(address):
    ran: list[str] = []
    with (
        sdk.Client(address) as client,
        _starlette(client, ran) as http,
        http.websocket_connect("/ws", headers=HEADERS) as ws,
    ):
        assert ws.receive_text() == "hello"


# --- WSGI (werkzeug) --------------------------------------------------------------------------


def _werkzeug(authorizer, ran: list[str], **options) -> WerkzeugClient:
    @Request.application
    def app(request: Request) -> Response:
        ran.append(request.path)
        decision = request.environ.get("iamgate.decision")
        return Response(decision.revision if decision else "none")

    options.setdefault("principal", wsgi_header("x-user"))
    return WerkzeugClient(WsgiGuard(app, authorizer=authorizer, routes=ROUTES, **options))


def test_wsgi_an_allowed_request_runs_and_sees_the_decision(address):
    ran: list[str] = []
    with sdk.Client(address) as client:
        response = _werkzeug(client, ran).post("/instances/i-1/stop", headers=HEADERS)
    assert response.status_code == 200 and response.get_data(as_text=True) == "rev-1"


def test_wsgi_a_denied_request_gets_403_with_the_aws_message(address):
    ran: list[str] = []
    with sdk.Client(address) as client:
        response = _werkzeug(client, ran).get("/buckets/data/objects/a/b", headers=HEADERS)
    assert response.status_code == 403 and ran == []
    assert response.json["Error"]["Message"].startswith(
        "User: arn:aws:iam::123456789012:user/sarah-developer is not authorized to perform: s3:GetObject "
        "on resource: arn:aws:s3:::data/a/b"
    )


def test_wsgi_an_unreachable_sidecar_fails_closed():
    ran: list[str] = []
    with sdk.Client(f"127.0.0.1:{_free_port()}", timeout=0.3, retry=sdk.NO_RETRY) as client:
        response = _werkzeug(client, ran).post("/instances/i-1/stop", headers=HEADERS)
    assert response.status_code == 403 and "fail closed" in response.json["Error"]["Message"] and ran == []


def test_wsgi_an_unmatched_route_and_a_missing_principal_are_denied(address):
    ran: list[str] = []
    with sdk.Client(address) as client:
        http = _werkzeug(client, ran)
        assert http.get("/other", headers=HEADERS).status_code == 403
        assert http.post("/instances/i-1/stop").status_code == 403
    assert ran == []


def test_wsgi_a_failing_check_denies(address):
    ran: list[str] = []
    client = sdk.Client(address)
    client.close()
    assert _werkzeug(client, ran).post("/instances/i-1/stop", headers=HEADERS).status_code == 403
    assert ran == []


# --- the route map ----------------------------------------------------------------------------


def test_a_greedy_variable_takes_the_rest_of_the_path():
    match = RouteMap(ROUTES).match("GET", "/buckets/b/objects/x/y/z.txt")
    assert match is not None and match.resource == "arn:aws:s3:::b/x/y/z.txt"


def test_a_one_segment_variable_never_spans_a_slash():
    assert RouteMap(ROUTES).match("DELETE", "/instances/a/b") is None


def test_routes_may_be_given_as_dicts_like_the_bundle_mapping():
    routes = RouteMap([{"method": "GET", "path": "/o/{id}", "action": "x:Get", "resource": "arn:x:::o/{id}"}])
    assert routes.match("get", "/o/7").resource == "arn:x:::o/7"


def test_a_resource_template_naming_an_unknown_variable_is_refused():
    with pytest.raises(sdk.ConfigurationError, match=r"routes\[0\].*\['order'\]"):
        RouteMap([Route("GET", "/o/{id}", "x:Get", "arn:x:::o/{order}")])


def test_a_greedy_variable_before_the_end_is_refused():
    with pytest.raises(sdk.ConfigurationError, match="must end the path"):
        RouteMap([Route("GET", "/o/{rest+}/x", "x:Get")])
