"""A gRPC server interceptor: every call is checked before the method's handler runs.

    from iamgate_client import Client
    from iamgate_client.guards import GrpcGuard, GrpcRule, metadata_principal

    guard = GrpcGuard(
        Client(),
        principal=metadata_principal("x-user-arn"),          # or certificate_principal(), or your own
        rules={"/shop.v1.Orders/GetOrder": GrpcRule("shop:GetOrder", "arn:aws:shop:::order/{order_id}")},
        action_prefix="shop",                                # unlisted methods: shop:<MethodName>
    )
    server = grpc.server(executor, interceptors=[guard])
    # grpc.aio: AioGrpcGuard(...) with the same arguments, in grpc.aio.server(interceptors=[...])

The action comes from the method (``rules``, else ``action_prefix:<Method>``), the resource from a
template over the request's fields (``{order_id}``, nested ``{order.id}``). A deny, a missing
principal, an unmapped method and a failed check all end the call with PERMISSION_DENIED and the
AWS-style message; the handler never runs. Health checks and reflection pass unchecked unless
``skip`` says otherwise. Calls that stream requests are checked against a resource template
without request fields (a field cannot be read before the handler reads the stream).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from iamgate_client._errors import ConfigurationError
from iamgate_client.guards._core import (
    Authorizer,
    Question,
    Verdict,
    decide,
    decide_async,
    failed_check,
    refused,
)

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")

DEFAULT_SKIP = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


@dataclass(frozen=True, slots=True)
class GrpcRule:
    action: str
    resource: str = "*"
    """A template over request fields: ``arn:aws:shop:::order/{order_id}``."""


def metadata_principal(key: str) -> Callable[[grpc.ServicerContext], str | None]:
    """The principal from a metadata entry, set by a caller or proxy you trust to have authenticated."""
    wanted = key.lower()

    def principal(context: grpc.ServicerContext) -> str | None:
        for name, value in context.invocation_metadata() or ():
            if name.lower() == wanted and isinstance(value, str):
                return value
        return None

    return principal


def certificate_principal(
    template: str = "{cn}",
) -> Callable[[grpc.ServicerContext], str | None]:
    """The principal from the peer's mTLS certificate: ``template`` over its common name
    (``"arn:aws:iam::123456789012:role/{cn}"``). None on a connection without a client certificate."""

    def principal(context: grpc.ServicerContext) -> str | None:
        names = (context.auth_context() or {}).get("x509_common_name") or ()
        if len(names) != 1:
            return None
        return template.replace("{cn}", names[0].decode("utf-8", "replace"))

    return principal


class _MethodRules:
    """What both interceptors share: the rules, and the question a call asks (or why it asks none)."""

    def __init__(
        self,
        authorizer: Authorizer,
        *,
        principal: Callable[[grpc.ServicerContext], str | None],
        rules: Mapping[str, GrpcRule] | None = None,
        action_prefix: str | None = None,
        default_resource: str = "*",
        skip: Iterable[str] = DEFAULT_SKIP,
        context: Callable[[grpc.ServicerContext, Any], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self.authorizer = authorizer
        self.principal = principal
        self.rules = dict(rules or {})
        for method in self.rules:
            if not method.startswith("/") or method.count("/") != 2:
                raise ConfigurationError(
                    f"rules: {method!r} is not a full method name (/package.Service/Method)"
                )
        self.action_prefix = action_prefix
        self.default_resource = default_resource
        self.skip = tuple(skip)
        self.context = context

    def _rule(self, method: str) -> GrpcRule | None:
        rule = self.rules.get(method)
        if rule is None and self.action_prefix:
            rule = GrpcRule(f"{self.action_prefix}:{method.rpartition('/')[2]}", self.default_resource)
        return rule

    def _question(self, method: str, rule: GrpcRule | None, request: Any, context: Any) -> Question | Verdict:
        """The question to ask, or the denial when none can be asked; never raises."""
        try:
            principal = self.principal(context)
            if rule is None:
                return refused(principal or "", method, "-", f"no rule maps {method} to an action")
            resource = _render(rule.resource, request)
            if not principal:
                return refused("", rule.action, resource, "the call carries no authenticated principal")
            extra = self.context(context, request) if self.context else None
            return Question(principal, rule.action, resource, extra)
        except Exception as error:  # a bug in a hook or a template: deny, never pass
            return failed_check(Question("", method, "-"), error)


class GrpcGuard(_MethodRules, grpc.ServerInterceptor):
    """For ``grpc.server``: checks each call on the server's thread before its handler runs."""

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        handler = continuation(handler_call_details)
        if handler is None or method.startswith(self.skip):
            return handler
        rule = self._rule(method)
        if handler.request_streaming:
            return _wrap_streaming(handler, lambda context: self._check(method, rule, None, context))
        return _wrap_unary(handler, lambda request, context: self._check(method, rule, request, context))

    def _check(
        self, method: str, rule: GrpcRule | None, request: Any, context: grpc.ServicerContext
    ) -> Verdict:
        question = self._question(method, rule, request, context)
        return question if isinstance(question, Verdict) else decide(self.authorizer, question)


class AioGrpcGuard(_MethodRules, grpc.aio.ServerInterceptor):
    """For ``grpc.aio.server``: the same rules and answers as :class:`GrpcGuard`, checked on the
    event loop (an :class:`~iamgate_client.AsyncClient` is awaited, :class:`~iamgate_client.Embedded`
    called directly, a blocking :class:`~iamgate_client.Client` run on a worker thread)."""

    async def intercept_service(
        self, continuation: Any, handler_call_details: grpc.HandlerCallDetails
    ) -> Any:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(self.skip):
            return handler
        rule = self._rule(method)
        return _wrap_aio(handler, lambda request, context: self._check(method, rule, request, context))

    async def _check(self, method: str, rule: GrpcRule | None, request: Any, context: Any) -> Verdict:
        question = self._question(method, rule, request, context)
        return question if isinstance(question, Verdict) else await decide_async(self.authorizer, question)


def _render(template: str, request: Any) -> str:
    def field(found: re.Match[str]) -> str:
        if request is None:
            raise ValueError(
                f"{template}: {{{found[1]}}} needs a request field, and this call streams requests"
            )
        value = request
        for part in found[1].split("."):
            value = getattr(value, part)
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise ValueError(f"{template}: request field {found[1]} is empty or not a string/integer")
        return str(value)

    return _FIELD.sub(field, template)


def _deny(context: grpc.ServicerContext, verdict: Verdict) -> None:
    context.abort(grpc.StatusCode.PERMISSION_DENIED, verdict.message)


def _wrap_unary(handler: Any, check: Callable[[Any, grpc.ServicerContext], Verdict]) -> Any:
    if handler.unary_unary is not None:
        inner, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    else:
        inner, make = handler.unary_stream, grpc.unary_stream_rpc_method_handler

    def guarded(request: Any, context: grpc.ServicerContext) -> Any:
        verdict = check(request, context)
        if not verdict.allowed:
            _deny(context, verdict)
        return inner(request, context)

    return make(
        guarded,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _wrap_streaming(handler: Any, check: Callable[[grpc.ServicerContext], Verdict]) -> Any:
    if handler.stream_unary is not None:
        inner, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    else:
        inner, make = handler.stream_stream, grpc.stream_stream_rpc_method_handler

    def guarded(request_iterator: Any, context: grpc.ServicerContext) -> Any:
        verdict = check(context)
        if not verdict.allowed:
            _deny(context, verdict)
        return inner(request_iterator, context)

    return make(
        guarded,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _wrap_aio(handler: Any, check: Callable[[Any, Any], Awaitable[Verdict]]) -> Any:
    """The handler, run only after an allow; a streamed request is checked with no request fields.

    Handlers of ``grpc.aio`` may be coroutines, async generators or plain functions (and a
    streaming one may also write with ``context.write`` and return nothing): each shape is run
    as it is, after the check.
    """
    streaming_requests = handler.request_streaming
    streaming_responses = handler.response_streaming
    kind = (
        ("stream" if streaming_requests else "unary") + "_" + ("stream" if streaming_responses else "unary")
    )
    inner = getattr(handler, kind)
    make = getattr(grpc, f"{kind}_rpc_method_handler")

    async def allowed(request: Any, context: Any) -> None:
        verdict = await check(None if streaming_requests else request, context)
        if not verdict.allowed:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, verdict.message)
            raise PermissionError(verdict.message)  # abort raises; never run the handler regardless

    async def guarded(request: Any, context: Any) -> Any:
        await allowed(request, context)
        answer = inner(request, context)
        return await answer if inspect.isawaitable(answer) else answer

    async def guarded_stream(request: Any, context: Any) -> AsyncIterator[Any]:
        await allowed(request, context)
        answers = inner(request, context)
        if inspect.isasyncgen(answers):
            async for answer in answers:
                yield answer
        elif inspect.isawaitable(answers):
            await answers  # wrote its responses with context.write
        elif answers is not None:
            for answer in answers:
                yield answer

    return make(
        guarded_stream if streaming_responses else guarded,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
