"""Envoy's external authorization (``envoy.service.auth.v3.Authorization/Check``) over the bundle.

Envoy (or Istio, or any mesh built on it) asks before it forwards an HTTP request. The active
bundle's ``http-routes.json`` (``iamgate.bundle.http_routes``) turns the request into an access
query, and the query is decided exactly as an Authorize call is: through the Authorizer
servicer's decision path, so by ``Snapshot.authorize`` (the one evaluator, which enforces the
trust model), with the same limits, decision ids, metrics and decision log.

What the servicer adds to the context is what only the connection knows: ``aws:SourceIp`` (the
downstream address Envoy saw) and ``aws:SecureTransport`` (the downstream connection was TLS).
Both are caller-given keys in the trust model; headers reach the context only through the
bundle's ``ContextHeaders``, which can never name an ``aws:`` key.

Answers: allowed -> OK, with ``x-iamgate-revision`` and ``x-iamgate-decision-id`` added to the
upstream request and the same in dynamic metadata (namespace ``iamgate``); denied -> 403 with an
AWS-style JSON body; unmapped -> 403 unless the bundle says ``"Unmapped": "allow"``; no principal
-> 401; no bundle active -> 503; anything unexpected -> 500. Every failure denies.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import unquote

import grpc
from cryptography import x509
from envoy.config.core.v3 import base_pb2 as core_pb2
from envoy.service.auth.v3 import external_auth_pb2 as authz_pb2
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from envoy.type.v3 import http_status_pb2
from google.protobuf import json_format, struct_pb2
from google.rpc import code_pb2, status_pb2

from iamgate.bundle.activation import NoActiveBundleError
from iamgate.bundle.http_routes import NO_ROUTES, HttpRequestView
from iamgate.engine.errors import RequestError
from iamgate.service import limits, tracing
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

_log = logging.getLogger(__name__)

METHOD = "Check"
REVISION_HEADER = "x-iamgate-revision"
DECISION_ID_HEADER = "x-iamgate-decision-id"
METADATA_NAMESPACE = "iamgate"
MAX_REQUEST_ID_CHARS = 128
SERVICE_NAME = authz_pb2.DESCRIPTOR.services_by_name["Authorization"].full_name


class ExtAuthzServicer(authz_grpc.AuthorizationServicer):
    """Check: map the HTTP request with the active bundle's routes, decide it, answer Envoy."""

    def __init__(self, snapshots: Any, authorizer: Any, metrics: Any) -> None:
        self._snapshots = snapshots
        self._authorizer = authorizer
        self._metrics = metrics

    def Check(
        self, request: authz_pb2.CheckRequest, context: grpc.ServicerContext
    ) -> authz_pb2.CheckResponse:
        started = time.perf_counter()
        try:
            response = self._check(request, started)
        except Exception as error:  # fail closed: a bug denies, and the server keeps serving
            _log.error("Check failed; answering 500 (nothing allowed)", exc_info=error)
            self._metrics.internal_errors.labels(METHOD).inc()
            response = denied(
                500, "InternalError", "internal error while deciding; the request was not allowed"
            )
        self._metrics.count_request(METHOD, "OK" if response.status.code == code_pb2.OK else "DENIED")
        return response

    def _check(self, request: authz_pb2.CheckRequest, started: float) -> authz_pb2.CheckResponse:
        snapshot = self._snapshots.current()
        if snapshot is None:
            return denied(503, "ServiceUnavailable", "no policy bundle is active yet")
        routes = getattr(snapshot, "http_routes", NO_ROUTES)
        view = request_view(request, with_subject=routes.reads_peer_subject)
        matched = routes.route(view)
        if matched is None:
            refusal = routes.refusal(view)
            if refusal is not None:
                # A path read one way here and another upstream (dot segments, encoded separators,
                # ';', a mapped path with doubled slashes, in other letter case, on a host with a
                # trailing dot): refused whatever Unmapped says, or "allow" would pass
                # /docs/x/../secret or /DOCS/secret unchecked.
                shown = view.path.split("?", 1)[0][:256]
                return denied(403, "AccessDenied", f"the path {shown!r} {refusal}")
            if routes.allow_unmapped:
                return allowed(snapshot.revision, "", {"route": "unmapped"})
            return denied(
                403,
                "AccessDenied",
                f"no route of bundle {snapshot.name!r} maps {view.method} {view.path.split('?', 1)[0]}",
            )
        principal = routes.principal(view)
        if not principal:
            return denied(
                401, "Unauthenticated", "no principal: none of the bundle's principal sources is present"
            )
        query = pb.AuthorizeRequest(
            request_id=request_id(view.headers),
            principal=principal,
            action=matched.route.action,
            resource=matched.resource,
            context=connection_context(request) + [_string_entry(k, v) for k, v in routes.context(view)],
        )
        try:
            trace = tracing.trace_id(view.headers.get(tracing.TRACEPARENT, ""))
            response, _ = self._authorizer._decide(query, METHOD, started, pinned=snapshot, trace_id=trace)
        except NoActiveBundleError:
            return denied(503, "ServiceUnavailable", "no policy bundle is active yet")
        except RequestError as error:
            return denied(403, "AccessDenied", f"request refused: {error}")
        except limits.LimitExceeded as error:
            return denied(403, "AccessDenied", f"request refused: {error.message}")
        if response.decision == pb.DECISION_ALLOWED:
            return allowed(
                response.revision,
                response.decision_id,
                {"principal": response.principal_arn, "action": query.action, "resource": query.resource},
            )
        return denied(403, "AccessDenied", response.message, response.revision, response.decision_id)


def request_view(request: authz_pb2.CheckRequest, *, with_subject: bool = False) -> HttpRequestView:
    """What the route mapping reads of Envoy's CheckRequest (the certificate parsed only if needed)."""
    attributes = request.attributes
    http = attributes.request.http
    metadata = {
        namespace: json_format.MessageToDict(value)
        for namespace, value in attributes.metadata_context.filter_metadata.items()
    }
    return HttpRequestView(
        method=http.method,
        host=http.host,
        path=http.path,
        headers=http.headers,
        metadata=metadata,
        peer=attributes.source.principal,
        peer_subject=certificate_subject(attributes.source.certificate) if with_subject else "",
    )


def certificate_subject(certificate: str) -> str:
    """The subject (RFC 4514) of Envoy's ``source.certificate`` (URL-encoded PEM; needs the filter's
    ``include_peer_certificate``); empty when there is none or it does not parse."""
    if not certificate:
        return ""
    try:
        return x509.load_pem_x509_certificate(unquote(certificate).encode()).subject.rfc4514_string()
    except ValueError:
        return ""


def request_id(headers: Any) -> str:
    """Envoy's ``x-request-id``, else the W3C trace id of ``traceparent``: it ties the decision log
    line to the proxy's access log and trace (bounded like any request field by the limits)."""
    given = headers.get("x-request-id", "")
    if given:
        return given[:MAX_REQUEST_ID_CHARS]
    parts = headers.get("traceparent", "").split("-")
    if len(parts) >= 4 and len(parts[1]) == 32 and all(c in "0123456789abcdef" for c in parts[1]):
        return parts[1]
    return ""


def connection_context(request: authz_pb2.CheckRequest) -> list[pb.ContextEntry]:
    """aws:SourceIp and aws:SecureTransport, from the downstream connection Envoy describes."""
    source = request.attributes.source
    entries = []
    address = source.address.socket_address.address
    if address:
        entries.append(pb.ContextEntry(key="aws:SourceIp", values=[pb.ContextValue(ip_value=address)]))
    secure = request.attributes.HasField("tls_session") or bool(source.principal) or bool(source.certificate)
    entries.append(pb.ContextEntry(key="aws:SecureTransport", values=[pb.ContextValue(bool_value=secure)]))
    return entries


def _string_entry(key: str, value: str) -> pb.ContextEntry:
    return pb.ContextEntry(key=key, values=[pb.ContextValue(string_value=value)])


def _header(key: str, value: str) -> core_pb2.HeaderValueOption:
    return core_pb2.HeaderValueOption(
        header=core_pb2.HeaderValue(key=key, value=value),
        append_action=core_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def allowed(revision: str, decision_id: str, extra: dict[str, str]) -> authz_pb2.CheckResponse:
    """OK: the upstream gets the revision and decision id as headers (overwriting any sent by the client)."""
    headers = [_header(REVISION_HEADER, revision), _header(DECISION_ID_HEADER, decision_id)]
    metadata = struct_pb2.Struct()
    metadata.update({"revision": revision, "decision_id": decision_id, **extra})
    return authz_pb2.CheckResponse(
        status=status_pb2.Status(code=code_pb2.OK),
        ok_response=authz_pb2.OkHttpResponse(headers=headers),
        dynamic_metadata=metadata,
    )


def denied(
    http_status: int, code: str, message: str, revision: str = "", decision_id: str = ""
) -> authz_pb2.CheckResponse:
    """A denial Envoy sends to the client as is: AWS's error shape (Code, Message) as JSON."""
    body = {"Code": code, "Message": message}
    headers = [_header("content-type", "application/json")]
    if decision_id:
        body["DecisionId"] = decision_id
        headers.append(_header(DECISION_ID_HEADER, decision_id))
    if revision:
        headers.append(_header(REVISION_HEADER, revision))
    return authz_pb2.CheckResponse(
        status=status_pb2.Status(
            code=code_pb2.PERMISSION_DENIED if http_status != 401 else code_pb2.UNAUTHENTICATED
        ),
        denied_response=authz_pb2.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=http_status),
            headers=headers,
            body=json.dumps(body) + "\n",
        ),
    )


def add_ext_authz(servicer: ExtAuthzServicer, server: grpc.Server) -> None:
    authz_grpc.add_AuthorizationServicer_to_server(servicer, server)
