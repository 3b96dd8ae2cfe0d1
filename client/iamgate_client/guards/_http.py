"""Pieces the ASGI and WSGI guards share: the question a matched request asks, and the 403 body."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from iamgate_client._errors import ConfigurationError
from iamgate_client._models import Ip
from iamgate_client.guards._core import Question, Verdict, refused
from iamgate_client.guards._routes import Match, RouteMap

Unmatched = Literal["deny", "pass"]

FORBIDDEN_HEADERS = [(b"content-type", b"application/json")]


def route_map(routes: Any) -> RouteMap:
    return routes if isinstance(routes, RouteMap) else RouteMap(routes)


def check_unmatched(value: str) -> Unmatched:
    if value not in ("deny", "pass"):
        raise ConfigurationError(f"unmatched: {value!r} is neither 'deny' nor 'pass'")
    return value  # type: ignore[return-value]


def forbidden_body(verdict: Verdict) -> bytes:
    """An AWS-style AccessDenied error document."""
    return json.dumps({"Error": {"Code": "AccessDenied", "Message": verdict.message}}).encode()


def question(
    match: Match,
    principal: str,
    *,
    source_ip: str | None,
    secure: bool,
    extra: Mapping[str, Any] | None,
    session_tags: Mapping[str, str] | None,
) -> Question:
    """The question for a matched route: the context AWS would fill from the request
    (``aws:SourceIp``, ``aws:SecureTransport``) plus the application's own keys."""
    context: dict[str, Any] = {"aws:SecureTransport": secure}
    if source_ip:
        context["aws:SourceIp"] = Ip(source_ip)
    if extra:
        context.update(extra)
    return Question(principal, match.route.action or "", match.resource, context, session_tags)


def unmatched_verdict(principal: str, method: str, path: str) -> Verdict:
    return refused(principal, "", path, f"no route maps {method} {path} to an action")


def no_principal(match: Match) -> Verdict:
    return refused(
        "", match.route.action or "", match.resource, "the request carries no authenticated principal"
    )


PrincipalOf = Callable[[Any], Any]
