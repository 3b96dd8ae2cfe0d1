"""Route mapping for the HTTP guards: method + path template -> action + resource template.

The same shape as the sidecar's Envoy ext_authz mapping (a list of routes, first match wins):

    Route("GET",    "/buckets/{bucket}/objects/{key+}", "s3:GetObject",    "arn:aws:s3:::{bucket}/{key}")
    Route("DELETE", "/buckets/{bucket}/objects/{key+}", "s3:DeleteObject", "arn:aws:s3:::{bucket}/{key}")
    Route("*",      "/health",                          None)              # public: no check

``{name}`` matches one path segment, ``{name+}`` the rest of the path (last segment only, as API
Gateway's ``{proxy+}``). The resource template may use the path's variables only; that is checked
when the map is built. ``action=None`` marks a public route that is passed through unchecked.
Paths holding ``.`` or ``..`` segments or NUL match nothing (so they are denied): the resource
the check names must be the resource the application will act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iamgate_client._errors import ConfigurationError

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    """An HTTP method (case-insensitive), or ``*`` for any."""
    path: str
    """A path template: ``/orders/{order_id}``, ``/files/{path+}``."""
    action: str | None
    """The IAM action to check (``orders:GetOrder``); ``None``: a public route, not checked."""
    resource: str = "*"
    """An ARN template over the path's variables: ``arn:aws:orders:::order/{order_id}``."""


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    variables: Mapping[str, str]

    @property
    def resource(self) -> str:
        return _VARIABLE.sub(lambda m: self.variables[m[1]], self.route.resource)


@dataclass(frozen=True)
class RouteMap:
    """Routes in order; the first whose method and path template match wins."""

    routes: tuple[Route, ...]
    _compiled: tuple[tuple[Route, str, re.Pattern[str]], ...] = field(init=False, repr=False)
    _folded: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False)
    """(method, case-insensitive pattern) of the checked routes, for ``refuses``."""

    def __init__(self, routes: Iterable[Route | Mapping[str, Any] | tuple[Any, ...]]) -> None:
        built = tuple(_route(r, index) for index, r in enumerate(routes))
        compiled = tuple((r, r.method.upper(), _compile(r, i)) for i, r in enumerate(built))
        object.__setattr__(self, "routes", built)
        object.__setattr__(self, "_compiled", compiled)
        folded = tuple(
            (method, re.compile(pattern.pattern, re.IGNORECASE))
            for route, method, pattern in compiled
            if route.action is not None
        )
        object.__setattr__(self, "_folded", folded)

    def match(self, method: str, path: str) -> Match | None:
        if _ambiguous(path):
            return None
        method = method.upper()
        for route, route_method, pattern in self._compiled:
            if route_method not in ("*", method):
                continue
            found = pattern.fullmatch(path)
            if found:
                return Match(route, found.groupdict())
        return None

    def refuses(self, method: str, path: str) -> bool:
        """Whether a path no route matches must be denied even with ``unmatched="pass"``: it holds
        ``.`` or ``..`` segments or NUL, or it is a routed path spelt with doubled or trailing
        slashes (``//orders/1``, ``/orders/1/``), which many frameworks merge or drop, or in other
        letter case (``/ORDERS/1``), which case-insensitive routers and file systems treat alike."""
        if _ambiguous(path):
            return True
        merged = _SLASHES.sub("/", path)
        if len(merged) > 1:
            merged = merged.rstrip("/") or "/"
        if merged != path and self.match(method, merged) is not None:
            return True
        method = method.upper()
        return any(
            route_method in ("*", method) and (pattern.fullmatch(path) or pattern.fullmatch(merged))
            for route_method, pattern in self._folded
        )


_SLASHES = re.compile(r"/{2,}")


def _ambiguous(path: str) -> bool:
    """A path with ``.`` or ``..`` segments or NUL may reach another resource than it spells."""
    return "\x00" in path or any(segment in (".", "..") for segment in path.split("/"))


def _route(value: Route | Mapping[str, Any] | tuple[Any, ...], index: int) -> Route:
    if isinstance(value, Route):
        return value
    try:
        if isinstance(value, Mapping):
            return Route(value["method"], value["path"], value.get("action"), value.get("resource", "*"))
        return Route(*value)
    except (KeyError, TypeError) as error:
        raise ConfigurationError(f"routes[{index}]: {error}; give method, path, action, resource") from None


def _compile(route: Route, index: int) -> re.Pattern[str]:
    where = f"routes[{index}] ({route.method} {route.path})"
    if not route.path.startswith("/"):
        raise ConfigurationError(f"{where}: the path template must start with '/'")
    pattern, position, names = "", 0, set()
    for found in _VARIABLE.finditer(route.path):
        name, greedy = found[1], found[2] == "+"
        if name in names:
            raise ConfigurationError(f"{where}: variable {{{name}}} appears twice")
        if greedy and found.end() != len(route.path):
            raise ConfigurationError(f"{where}: {{{name}+}} must end the path")
        names.add(name)
        pattern += re.escape(route.path[position : found.start()])
        pattern += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        position = found.end()
    if any("{" in text or "}" in text for text in _VARIABLE.split(route.path)[::3]):
        raise ConfigurationError(f"{where}: malformed variable; write {{name}} or {{name+}}")
    pattern += re.escape(route.path[position:])
    if route.action is not None:
        unknown = {m[1] for m in _VARIABLE.finditer(route.resource)} - names
        if unknown:
            raise ConfigurationError(
                f"{where}: the resource template uses {sorted(unknown)}, which the path does not define"
            )
        if route.action.strip() != route.action or not route.action:
            raise ConfigurationError(f"{where}: action {route.action!r} is empty or padded")
    return re.compile(pattern)
