"""AsgiGuard in a real FastAPI app, driven over httpx's ASGITransport: path parameters map to the
resource, handlers (and their dependencies) see the allowing decision, public routes such as the
OpenAPI schema pass, and anything but an allow is a 403 that never reaches FastAPI's handler."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request  # the dev extra's; the SDK never imports it

import iamgate_client as sdk
from iamgate_client.guards import AsgiGuard, Route
from iamgate_client.guards.asgi import header_principal

ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{instance}"
ROUTES = [
    Route("POST", "/v1/instances/{instance}/stop", "ec2:StopInstances", ARN),
    Route("GET", "/v1/buckets/{bucket}/objects/{key+}", "s3:GetObject", "arn:aws:s3:::{bucket}/{key}"),
    Route("GET", "/openapi.json", None),
]
SARAH = {"x-user": "sarah-developer"}


def _decision(request: Request) -> sdk.Decision:
    """A FastAPI dependency: the decision AsgiGuard left on the request."""
    return request.state.iamgate


def _app(authorizer, ran: list[str]) -> FastAPI:
    router = APIRouter(prefix="/v1")

    @router.post("/instances/{instance}/stop")
    async def stop(instance: str, decision: sdk.Decision = Depends(_decision)) -> dict:  # noqa: B008
        ran.append(instance)
        return {"stopped": instance, "principal_arn": decision.principal_arn}

    @router.get("/buckets/{bucket}/objects/{key:path}")
    def get_object(bucket: str, key: str) -> dict:
        ran.append(f"{bucket}/{key}")
        return {"bucket": bucket, "key": key}

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(AsgiGuard, authorizer=authorizer, routes=ROUTES, principal=header_principal("x-user"))
    return app


@contextlib.contextmanager
def _authorizer(kind: str, address: str):
    if kind == "embedded":
        with sdk.Embedded() as embedded:
            yield embedded
    else:
        yield sdk.AsyncClient(address)  # its channel is made in the app's event loop, on first use


@pytest.fixture(params=["async-client", "embedded"])
def authorizer(request, address):
    with _authorizer(request.param, address) as authorizer:
        yield authorizer


def _request(app: FastAPI, method: str, path: str, **options) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
            return await http.request(method, path, **options)

    return asyncio.run(send())


def test_an_allowed_request_reaches_the_handler_and_its_dependency_sees_the_decision(authorizer):
    ran: list[str] = []
    response = _request(_app(authorizer, ran), "POST", "/v1/instances/i-1/stop", headers=SARAH)
    assert response.status_code == 200 and ran == ["i-1"]
    assert response.json() == {
        "stopped": "i-1",
        "principal_arn": "arn:aws:iam::123456789012:user/sarah-developer",
    }


def test_a_denied_request_is_a_403_with_the_aws_message_and_never_runs(authorizer):
    ran: list[str] = []
    response = _request(
        _app(authorizer, ran), "GET", "/v1/buckets/data/objects/reports/q1.csv", headers=SARAH
    )
    assert response.status_code == 403 and ran == []
    error = response.json()["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"].startswith(
        "User: arn:aws:iam::123456789012:user/sarah-developer is not authorized to perform: s3:GetObject "
        "on resource: arn:aws:s3:::data/reports/q1.csv"
    )


def test_a_request_without_a_principal_is_a_403(authorizer):
    ran: list[str] = []
    response = _request(_app(authorizer, ran), "POST", "/v1/instances/i-1/stop")
    assert response.status_code == 403 and "no authenticated principal" in response.text and ran == []


def test_a_fastapi_route_missing_from_the_map_is_denied_not_served(authorizer):
    ran: list[str] = []
    response = _request(_app(authorizer, ran), "GET", "/docs", headers=SARAH)
    assert response.status_code == 403 and "no route maps GET /docs" in response.text


def test_a_public_route_passes_unchecked(authorizer):
    response = _request(_app(authorizer, []), "GET", "/openapi.json")
    assert response.status_code == 200 and "/v1/instances/{instance}/stop" in response.json()["paths"]


def test_an_unreachable_sidecar_fails_closed_with_a_403():
    ran: list[str] = []
    client = sdk.AsyncClient("127.0.0.1:9", timeout=0.3, retry=sdk.NO_RETRY)
    response = _request(_app(client, ran), "POST", "/v1/instances/i-1/stop", headers=SARAH)
    assert response.status_code == 403 and "fail closed" in response.json()["Error"]["Message"] and ran == []
