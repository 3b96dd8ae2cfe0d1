"""Registering the Authorizer so that request bytes protobuf refuses answer INVALID_ARGUMENT.

grpcio deserializes a request before the servicer runs. When protobuf refuses the bytes (they are
not a message of the method's type, or a string field is not valid UTF-8), grpcio answers
INTERNAL "Exception deserializing request!" and logs a traceback: a caller's mistake reported as
the sidecar's fault. Here each method's deserializer catches ``DecodeError`` and hands the handler
a ``MalformedRequest`` marker instead, which a thin wrapper answers INVALID_ARGUMENT (counted in
``iamgate_requests_total``) before the servicer sees it.

The wrapper costs a valid request one function call and one class comparison; everything else is
what the generated ``add_AuthorizerServicer_to_server`` does. A method the servicer also offers on
raw bytes (``AuthorizeWire``, ``AuthorizeBatchWire``: answers spliced from remembered bytes,
``wire_answers.py``) is registered with no (de)serializer; it parses, and refuses malformed
bytes the same way, itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from iamgate.service.metrics import ServiceMetrics
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

SERVICE = "iamgate.v1.Authorizer"


@dataclass(frozen=True, slots=True)
class MalformedRequest:
    """What the deserializer returns for bytes protobuf refused (never ``None``: grpcio reads that
    as a failure and answers INTERNAL)."""

    message_type: str
    reason: str

    def describe(self) -> str:
        return f"malformed request: not a valid {self.message_type} ({self.reason})"


def guarded_deserializer(message_class: Any) -> Callable[[bytes], Any]:
    """``message_class.FromString`` that returns a ``MalformedRequest`` instead of raising."""
    parse = message_class.FromString
    name = message_class.DESCRIPTOR.full_name

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as error:
            # upb says "Error parsing message with type 'T': <why>"; the why is what helps
            reason = str(error).rpartition(": ")[2] or "cannot be parsed"
            return MalformedRequest(name, reason)

    return deserialize


def guarded_behavior(
    method: str, behavior: Callable[[Any, grpc.ServicerContext], Any], metrics: ServiceMetrics
) -> Callable[[Any, grpc.ServicerContext], Any]:
    """``behavior``, except that a ``MalformedRequest`` is answered INVALID_ARGUMENT."""

    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        if request.__class__ is MalformedRequest:
            metrics.count_request(method, grpc.StatusCode.INVALID_ARGUMENT.name)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.describe())
        return behavior(request, context)

    return handle


def add_authorizer(servicer: Any, server: grpc.Server, metrics: ServiceMetrics) -> None:
    """Register every unary method of the Authorizer service with guarded deserializers."""
    handlers = {}
    for method in pb.DESCRIPTOR.services_by_name["Authorizer"].methods:
        if method.client_streaming or method.server_streaming:
            raise NotImplementedError(f"{method.full_name}: only unary methods are wired here")
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        on_bytes = getattr(servicer, f"{method.name}Wire", None)
        if on_bytes is not None:  # bytes in, bytes out: the servicer parses (and refuses) itself
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(on_bytes)
            continue
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            guarded_behavior(method.name, getattr(servicer, method.name), metrics),
            request_deserializer=guarded_deserializer(request_class),
            response_serializer=response_class.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
