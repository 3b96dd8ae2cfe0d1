"""http-routes.json: read and validated with the bundle, matched without surprises.

The mapping decides which resource an HTTP request names, so a malformed one must stop the
bundle at activation (the last good bundle keeps serving), and no spelling of a path may reach a
resource another spelling could not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.http_routes import HttpRequestView
from iamgate.bundle.load import load_snapshot

from .helpers import minimal_files, write_files

SCHEMA = Path(__file__).resolve().parents[2] / "server/iamgate/bundle/schemas/http-routes.schema.json"

ROUTES: dict[str, Any] = {
    "Principal": [{"From": "header", "Name": "x-user"}],
    "Routes": [
        {
            "Methods": ["GET"],
            "Path": "/docs/{id}",
            "Action": "docs:GetDocument",
            "Resource": "arn:app:docs:::document/{id}",
        },
        {
            "Path": "/files/{key+}",
            "Host": "*.example.com",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/{key}",
        },
    ],
}


def _snapshot(tmp_path: Path, routes: Any):
    return load_snapshot(write_files(tmp_path, minimal_files({"http-routes.json": routes})))


def _errors(tmp_path: Path, routes: Any) -> list[str]:
    with pytest.raises(BundleValidationError) as raised:
        _snapshot(tmp_path, routes)
    return [f"{p.path}: {p.message}" for p in raised.value.problems if p.is_error]


def _view(method: str, path: str, host: str = "docs.local") -> HttpRequestView:
    return HttpRequestView(method, host, path, {"x-user": "alice"}, {}, "")


def test_a_bundle_carries_its_routes_into_the_snapshot(tmp_path):
    routes = _snapshot(tmp_path, ROUTES).http_routes
    matched = routes.route(_view("GET", "/docs/readme"))
    assert (matched.route.action, matched.resource) == ("docs:GetDocument", "arn:app:docs:::document/readme")


def test_a_bundle_without_routes_maps_nothing(tmp_path):
    snapshot = load_snapshot(write_files(tmp_path, minimal_files()))
    assert snapshot.http_routes.route(_view("GET", "/docs/readme")) is None
    assert not snapshot.http_routes.allow_unmapped


def test_a_greedy_variable_takes_the_rest_of_the_path_and_the_host_wildcard_matches_subdomains(tmp_path):
    routes = _snapshot(tmp_path, ROUTES).http_routes
    assert (
        routes.route(_view("PUT", "/files/a/b.txt", "eu.example.com:8443")).resource
        == "arn:aws:s3:::b/a/b.txt"
    )
    assert routes.route(_view("GET", "/files/a", "example.com")) is None


@pytest.mark.parametrize("path", ["/docs/a/b", "/docs/", "/docs", "/docs/%2e%2e", "/docs/a%2Fb", "/docs/.."])
def test_a_variable_matches_exactly_one_plain_segment(tmp_path, path):
    assert _snapshot(tmp_path, ROUTES).http_routes.route(_view("GET", path)) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Routes": [{"Path": "/a/{x}", "Action": "s3:Get*", "Resource": "*"}]}, "Routes[0].Action"),
        (
            {"Routes": [{"Path": "/a/{x}", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{y}"}]},
            "Routes[0].Resource",
        ),
        ({"Routes": [{"Path": "a", "Action": "s3:GetObject", "Resource": "*"}]}, "Routes[0].Path"),
        ({"Routes": [{"Path": "/{k+}/x", "Action": "s3:GetObject", "Resource": "*"}]}, "Routes[0].Path"),
        (
            {"Routes": [{"Methods": ["get"], "Path": "/a", "Action": "s3:GetObject", "Resource": "*"}]},
            "Routes[0].Methods",
        ),
        ({"Routes": []}, "Routes"),
        ({"Principal": [{"From": "cookie"}]}, "Principal[0].From"),
        ({"ContextHeaders": {"x-user": "aws:username"}}, "ContextHeaders.x-user"),
        ({"ContextHeaders": {"x-ip": "aws:SourceIp"}}, "ContextHeaders.x-ip"),
        ({"ContextHeaders": {"x-env": "ec2:ResourceTag/Environment"}}, "ContextHeaders.x-env"),
        ({"ContextHeaders": {"x-prefix": "s3:prefx"}}, "ContextHeaders.x-prefix"),
        ({"Unmapped": "maybe"}, "Unmapped"),
        ({"Extra": 1}, "Extra"),
    ],
)
def test_a_malformed_mapping_stops_the_bundle_naming_the_json_path(tmp_path, change, expected):
    errors = _errors(tmp_path, {**ROUTES, **change})
    assert any(error.startswith(expected) for error in errors), errors


def test_the_schema_documents_the_same_keys_the_reader_accepts():
    schema = json.loads(SCHEMA.read_text())
    assert set(schema["properties"]) == {"Routes", "Principal", "ContextHeaders", "Unmapped"}
    assert set(schema["properties"]["Routes"]["items"]["properties"]) == {
        "Methods",
        "Host",
        "Path",
        "Action",
        "Resource",
    }
