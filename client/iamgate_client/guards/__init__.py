"""Guards: authorization at the edge of your code, in the idioms of each framework.

* :class:`GrpcGuard` - a ``grpc.ServerInterceptor``; :class:`AioGrpcGuard` - its ``grpc.aio`` twin;
* :class:`AsgiGuard` - ASGI middleware (Starlette, FastAPI);
* :class:`WsgiGuard` - WSGI middleware (Flask, Django);
* :func:`guard` - a decorator for plain functions.

Each asks any authorizer (:class:`~iamgate_client.Client`, :class:`~iamgate_client.AsyncClient`
or :class:`~iamgate_client.Embedded`) and lets the request through only on an allow: a deny, a
failed check or a missing principal answers 403 / PERMISSION_DENIED (the decorator raises
:class:`AccessDeniedError`) with the AWS-style message. None imports a web framework.
"""

from iamgate_client.guards._core import AccessDeniedError, Authorizer, Verdict
from iamgate_client.guards._routes import Match, Route, RouteMap
from iamgate_client.guards.asgi import AsgiGuard
from iamgate_client.guards.decorator import guard
from iamgate_client.guards.grpc_server import (
    AioGrpcGuard,
    GrpcGuard,
    GrpcRule,
    certificate_principal,
    metadata_principal,
)
from iamgate_client.guards.wsgi import WsgiGuard

__all__ = [
    "AccessDeniedError",
    "AioGrpcGuard",
    "AsgiGuard",
    "Authorizer",
    "GrpcGuard",
    "GrpcRule",
    "Match",
    "Route",
    "RouteMap",
    "Verdict",
    "WsgiGuard",
    "certificate_principal",
    "guard",
    "metadata_principal",
]
