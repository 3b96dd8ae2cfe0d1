"""A small "docs" application bundle with an http-routes.json, and sidecars serving it.

alice (group Readers) may read every document but ``secret`` (an explicit Deny), and may list
documents only from loopback (``aws:SourceIp``, which only the connection can supply); bob has no
policy. Requests name their principal in the ``x-user`` header, or by their mTLS identity
``spiffe://example.org/sa/NAME``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from envoy.service.auth.v3 import external_auth_pb2 as authz_pb2
from google.protobuf import struct_pb2

from iamgate.service import ServiceConfig, Sidecar, start_sidecar
from iamgate.service.bundles import snapshot_source

ACCOUNT = "123456789012"
V = "2012-10-17"

ROUTES: dict[str, Any] = {
    "Principal": [
        {"From": "header", "Name": "x-user"},
        {
            "From": "peer",
            "Match": "spiffe://example.org/sa/{name}",
            "Principal": f"arn:aws:iam::{ACCOUNT}:user/{{name}}",
        },
        {"From": "jwt", "Name": "envoy.filters.http.jwt_authn", "Claim": "jwt_payload.sub"},
    ],
    "ContextHeaders": {"x-tenant": "app:Tenant"},
    "Routes": [
        {"Methods": ["GET"], "Path": "/docs", "Action": "docs:ListDocuments", "Resource": "*"},
        {
            "Methods": ["GET", "HEAD"],
            "Path": "/docs/{id}",
            "Action": "docs:GetDocument",
            "Resource": "arn:app:docs:::document/{id}",
        },
        {
            "Methods": ["DELETE"],
            "Path": "/docs/{id}",
            "Action": "docs:DeleteDocument",
            "Resource": "arn:app:docs:::document/{id}",
        },
        {
            "Methods": "*",
            "Path": "/tenants/{tenant}/docs/{id}",
            "Action": "docs:GetDocument",
            "Resource": "arn:app:docs:::tenant/{tenant}/document/{id}",
        },
    ],
}

READERS_POLICY = {
    "Version": V,
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": "docs:GetDocument",
            "Resource": "arn:app:docs:::document/*",
        },
        {
            "Sid": "NoSecret",
            "Effect": "Deny",
            "Action": "docs:*",
            "Resource": "arn:app:docs:::document/secret",
        },
        {
            "Sid": "ListFromLoopback",
            "Effect": "Allow",
            "Action": "docs:ListDocuments",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
        },
        {
            "Sid": "OwnTenant",
            "Effect": "Allow",
            "Action": "docs:GetDocument",
            "Resource": "arn:app:docs:::tenant/blue/document/*",
            "Condition": {"StringEquals": {"app:Tenant": "blue"}},
        },
    ],
}


def docs_files(routes: Mapping[str, Any] | None = ROUTES) -> dict[str, bytes]:
    documents: dict[str, Any] = {
        f"accounts/{ACCOUNT}/users.json": {
            "Users": [{"UserName": "alice", "GroupList": ["Readers"]}, {"UserName": "bob"}]
        },
        f"accounts/{ACCOUNT}/groups.json": {
            "Groups": [
                {
                    "GroupName": "Readers",
                    "AttachedManagedPolicies": [{"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/Readers"}],
                }
            ]
        },
        f"accounts/{ACCOUNT}/policies.json": {
            "Policies": [{"PolicyName": "Readers", "Document": READERS_POLICY}]
        },
    }
    if routes is not None:
        documents["http-routes.json"] = routes
    return {path: json.dumps(value, indent=2).encode() for path, value in documents.items()}


def write_bundle(root: Path, files: Mapping[str, bytes]) -> Path:
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@contextlib.contextmanager
def docs_sidecar(
    tmp_path: Path, routes: Mapping[str, Any] | None = ROUTES, **settings: Any
) -> Iterator[Sidecar]:
    """A real sidecar with ext_authz on, serving the docs bundle, on an ephemeral loopback port."""
    bundle = write_bundle(tmp_path / "bundle", docs_files(routes))
    config = ServiceConfig(
        address="127.0.0.1:0", metrics_address=None, max_workers=4, ext_authz=True, **settings
    )
    sidecar = start_sidecar(config, snapshot_source(bundle=str(bundle), poll_interval=60))
    try:
        yield sidecar
    finally:
        sidecar.stop(0)


def check_request(
    method: str = "GET",
    path: str = "/docs/readme",
    headers: dict[str, str] | None = None,
    *,
    source_ip: str = "127.0.0.1",
    peer: str = "",
    jwt_sub: str = "",
    host: str = "docs.local",
) -> authz_pb2.CheckRequest:
    request = authz_pb2.CheckRequest()
    http = request.attributes.request.http
    http.method, http.path, http.host = method, path, host
    http.headers.update(headers if headers is not None else {"x-user": "alice"})
    request.attributes.source.address.socket_address.address = source_ip
    request.attributes.source.principal = peer
    if jwt_sub:
        claims = struct_pb2.Struct()
        claims.update({"jwt_payload": {"sub": jwt_sub}})
        request.attributes.metadata_context.filter_metadata["envoy.filters.http.jwt_authn"].CopyFrom(claims)
    return request
