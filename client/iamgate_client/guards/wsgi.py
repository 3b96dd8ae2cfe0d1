"""WSGI middleware (Flask, Django, any WSGI app): each request is checked before it runs.

    from iamgate_client import Client
    from iamgate_client.guards import WsgiGuard, Route

    app.wsgi_app = WsgiGuard(                # Flask
        app.wsgi_app,
        authorizer=Client(),
        routes=[Route("GET", "/orders/{order_id}", "orders:GetOrder", "arn:aws:orders:::order/{order_id}")],
        principal=lambda environ: environ.get("REMOTE_USER"),
    )

Denied, unmatched (unless ``unmatched="pass"``), principal-less and failed checks all answer
``403 Forbidden`` with an AWS-style ``AccessDenied`` JSON document. The allowing decision is left
in ``environ["iamgate.decision"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from iamgate_client.guards import _http
from iamgate_client.guards._core import Authorizer, Question, Verdict, decide, failed_check

Environ = dict[str, Any]


def header_principal(name: str) -> Callable[[Environ], str | None]:
    """The principal from a request header, for apps behind a proxy that authenticates and sets
    it. Only safe when that proxy strips the header from what clients send."""
    key = "HTTP_" + name.upper().replace("-", "_")
    return lambda environ: environ.get(key)


class WsgiGuard:
    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        authorizer: Authorizer,
        routes: Any,
        principal: Callable[[Environ], str | None],
        context: Callable[[Environ, Mapping[str, str]], Mapping[str, Any] | None] | None = None,
        session_tags: Callable[[Environ], Mapping[str, str] | None] | None = None,
        unmatched: _http.Unmatched = "deny",
    ) -> None:
        self.app = app
        self.authorizer = authorizer
        self.routes = _http.route_map(routes)
        self.principal = principal
        self.context = context
        self.session_tags = session_tags
        self.unmatched = _http.check_unmatched(unmatched)

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        verdict = self._check(environ)
        if verdict is None or verdict.allowed:
            if verdict is not None and verdict.decision is not None:
                environ["iamgate.decision"] = verdict.decision
            return self.app(environ, start_response)
        body = _http.forbidden_body(verdict)
        start_response(
            "403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _check(self, environ: Environ) -> Verdict | None:
        try:
            method = environ.get("REQUEST_METHOD", "GET")
            path = environ.get("PATH_INFO", "") or "/"
            match = self.routes.match(method, path)
            if match is None:
                if self.unmatched == "pass" and not self.routes.refuses(method, path):
                    return None
                return _http.unmatched_verdict("", method, path)
            if match.route.action is None:
                return None
            principal = self.principal(environ)
            if not principal or not isinstance(principal, str):
                return _http.no_principal(match)
            question = _http.question(
                match,
                principal,
                source_ip=environ.get("REMOTE_ADDR"),
                secure=environ.get("wsgi.url_scheme") == "https",
                extra=self.context(environ, match.variables) if self.context else None,
                session_tags=self.session_tags(environ) if self.session_tags else None,
            )
        except Exception as error:  # a bug in a hook: deny, never pass
            return failed_check(Question("", "", environ.get("PATH_INFO", "")), error)
        return decide(self.authorizer, question)
