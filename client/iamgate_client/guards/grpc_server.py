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

The action comes from the method (``rules``, else ``action_prefix:<Method>``), the resource from a
template over the request's fields (``{order_id}``, nested ``{order.id}``). A deny, a missing
principal, an unmapped method and a failed check all end the call with PERMISSION_DENIED and the
AWS-style message; the handler never runs. Health checks and reflection pass unchecked unless
``skip`` says otherwise. Calls that stream requests are checked against a resource template
without request fields (a field cannot be read before the handler reads the stream).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from iamgate_client._errors import ConfigurationError
from iamgate_client.guards._core import Authorizer, Question, Verdict, decide, failed_check, refused

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


class GrpcGuard(grpc.ServerInterceptor):
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
        try:
            principal = self.principal(context)
            if rule is None:
                return refused(principal or "", method, "-", f"no rule maps {method} to an action")
            resource = _render(rule.resource, request)
            if not principal:
                return refused("", rule.action, resource, "the call carries no authenticated principal")
            extra = self.context(context, request) if self.context else None
            question = Question(principal, rule.action, resource, extra)
        except Exception as error:  # a bug in a hook or a template: deny, never pass
            return failed_check(Question("", method, "-"), error)
        return decide(self.authorizer, question)


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
