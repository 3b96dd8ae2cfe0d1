"""ASGI middleware (Starlette, FastAPI, any ASGI app): each request is checked before it runs.

    from iamgate_client import AsyncClient
    from iamgate_client.guards import AsgiGuard, Route

    app.add_middleware(                      # Starlette / FastAPI
        AsgiGuard,
        authorizer=AsyncClient(),
        routes=[Route("GET", "/orders/{order_id}", "orders:GetOrder", "arn:aws:orders:::order/{order_id}")],
        principal=lambda scope: scope["user"].arn,   # whoever your authentication middleware set
    )

Denied, unmatched (unless ``unmatched="pass"``), principal-less and failed checks all answer
``403`` with an AWS-style ``AccessDenied`` JSON document; a websocket is refused before it is
accepted (the server answers 403). The allowing decision is left in ``scope["state"]["iamgate"]``
(``request.state.iamgate`` in Starlette).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from iamgate_client.guards import _http
from iamgate_client.guards._core import Authorizer, Question, Verdict, decide_async, failed_check

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def header_principal(name: str) -> Callable[[Scope], str | None]:
    """The principal from a request header, for apps behind a proxy that authenticates and sets
    it. Only safe when that proxy strips the header from what clients send."""
    wanted = name.lower().encode("latin-1")

    def principal(scope: Scope) -> str | None:
        for key, value in scope.get("headers", ()):
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    return principal


class AsgiGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authorizer: Authorizer,
        routes: Any,
        principal: Callable[[Scope], str | Awaitable[str | None] | None],
        context: Callable[[Scope, Mapping[str, str]], Mapping[str, Any] | None] | None = None,
        session_tags: Callable[[Scope], Mapping[str, str] | None] | None = None,
        unmatched: _http.Unmatched = "deny",
    ) -> None:
        self.app = app
        self.authorizer = authorizer
        self.routes = _http.route_map(routes)
        self.principal = principal
        self.context = context
        self.session_tags = session_tags
        self.unmatched = _http.check_unmatched(unmatched)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan and the like
            return
        verdict = await self._check(scope)
        if verdict is None or verdict.allowed:
            if verdict is not None and verdict.decision is not None:
                scope.setdefault("state", {})["iamgate"] = verdict.decision
            await self.app(scope, receive, send)
            return
        await _forbid(scope, send, verdict)

    async def _check(self, scope: Scope) -> Verdict | None:
        """None: pass through unchecked (a public route, or unmatched with ``unmatched="pass"``)."""
        try:
            method = scope.get("method", "GET") if scope["type"] == "http" else "GET"
            path = scope.get("path", "")
            match = self.routes.match(method, path)
            if match is None:
                if self.unmatched == "pass" and not self.routes.refuses(method, path):
                    return None
                return _http.unmatched_verdict("", method, path)
            if match.route.action is None:
                return None
            principal = self.principal(scope)
            if inspect.isawaitable(principal):
                principal = await principal
            if not principal or not isinstance(principal, str):
                return _http.no_principal(match)
            client = scope.get("client")
            question = _http.question(
                match,
                principal,
                source_ip=client[0] if client else None,
                secure=scope.get("scheme") in ("https", "wss"),
                extra=self.context(scope, match.variables) if self.context else None,
                session_tags=self.session_tags(scope) if self.session_tags else None,
            )
        except Exception as error:  # a bug in a hook: deny, never pass
            return failed_check(Question("", "", scope.get("path", "")), error)
        return await decide_async(self.authorizer, question)


async def _forbid(scope: Scope, send: Any, verdict: Verdict) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": verdict.message[:120]})
        return
    body = _http.forbidden_body(verdict)
    headers = [*_http.FORBIDDEN_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})
