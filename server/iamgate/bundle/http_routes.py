"""``http-routes.json``: how an HTTP request (from Envoy ext_authz) becomes an access query.

The mapping travels in the bundle, so it is validated, signed and rolled out with the policies
it refers to: a route naming an action no policy knows is reviewed in the same change. A request
is mapped in three steps, all decided by the bundle, none by the request alone:

* the route: the first entry of ``Routes`` whose method, host and path template match gives the
  IAM action and a resource ARN template filled from the path's ``{variables}``;
* the principal: the first source of ``Principal`` that yields a value (a request header, a JWT
  claim Envoy put in its metadata, or the TLS peer's identity), optionally reshaped by a template;
* the context: ``ContextHeaders`` names request headers that become caller-given context keys.
  A header can never become an ``aws:`` key or a ``*:ResourceTag/*`` key: those are the sidecar's
  to set (docs/security.md); the ext_authz servicer alone sets aws:SourceIp and aws:SecureTransport
  from the connection.

Variable values are raw path segments (never percent-decoded), and a path holding ``.`` or
``..`` segments or ``%2F``-style encoded separators maps to nothing, so no spelling of a path can
name a resource another spelling would not. docs/mesh.md is the user's description.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from iamgate.bundle.jsonread import FileReport, expect_object, item_path, key_path
from iamgate.catalogue import aws_catalogue
from iamgate.engine.errors import RequestError
from iamgate.engine.identity import check_action

FILE = "http-routes.json"
MAX_ROUTES = 10_000
"""Routes are matched in order; a bundle with more is refused rather than slowing every request."""
MAX_MATCHED_CHARS = 4096
"""Principal values longer than this (a hostile header) match no ``Match`` template."""
PRINCIPAL_SOURCES = ("header", "jwt", "peer", "peer-subject")
UNMAPPED_CHOICES = ("deny", "allow")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+\Z")
_CONTEXT_KEY = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9_.:/+=@-]+\Z")
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|2e)", re.IGNORECASE)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SEGMENT_SAFE = "!$&'()*+,=:@-._~"
"""RFC 3986 ``pchar`` besides letters and digits (``;`` aside: see ``canonical_segments``); kept raw."""


@dataclass(frozen=True, slots=True)
class Template:
    """A text with ``{name}`` placeholders, split once into literal parts and variable names."""

    text: str
    parts: tuple[str, ...]
    """Literal texts; ``parts[i]`` comes before ``names[i]``, the last one after them all."""
    names: tuple[str, ...]
    pattern: re.Pattern[str]
    """Matches a text of this shape, each variable a named group of non-empty text."""

    @classmethod
    def of(cls, text: str) -> Template:
        parts: list[str] = []
        names: list[str] = []
        last = 0
        for found in _VARIABLE.finditer(text):
            parts.append(text[last : found.start()])
            names.append(found.group(1))
            last = found.end()
        parts.append(text[last:])
        regex = re.escape(parts[0])
        for name, after in zip(names, parts[1:], strict=True):
            # A variable never spans the text that follows it (``{ns}`` in ``/ns/{ns}/sa/`` stops
            # at ``/``): matching stays linear however a hostile value is shaped.
            stop = f"[^{re.escape(after[0])}]+" if after else ".+?"
            regex += f"(?P<{name}>{stop})" + re.escape(after)
        return cls(text, tuple(parts), tuple(names), re.compile(regex, re.DOTALL))

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.parts[0]]
        for name, literal in zip(self.names, self.parts[1:], strict=True):
            out.append(values[name])
            out.append(literal)
        return "".join(out)

    def match(self, text: str) -> dict[str, str] | None:
        """Variables of ``text`` if it has this template's shape (a variable matches non-empty text
        up to the literal that follows it); a value longer than MAX_MATCHED_CHARS matches nothing."""
        if len(text) > MAX_MATCHED_CHARS:
            return None
        found = self.pattern.fullmatch(text)
        return None if found is None else found.groupdict()


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """``/docs/{id}`` or ``/files/{key+}``: literal segments, one-segment variables, a final greedy one."""

    text: str
    segments: tuple[tuple[str, bool, bool], ...]
    """``(text, is_variable, is_greedy)`` per segment; a variable's text is its name."""

    def match(self, segments: list[str], *, fold: bool = False) -> dict[str, str] | None:
        """The variables of ``segments`` if they have this shape; ``fold``: literal segments compared
        case-insensitively (``_folded``), as a case-insensitive upstream would."""
        values: dict[str, str] = {}
        count = len(self.segments)
        for index, (text, variable, greedy) in enumerate(self.segments):
            if greedy:
                rest = segments[index:]
                if not rest or any(not part for part in rest):
                    return None
                values[text] = "/".join(rest)
                return values
            if index >= len(segments):
                return None
            part = segments[index]
            if variable:
                if not part:
                    return None
                values[text] = part
            elif part != text and not (fold and _folded(part) == _folded(text)):
                return None
        return values if len(segments) == count else None


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str] | None
    """Upper-case methods, or ``None`` for any."""
    host: str | None
    """Lower-case host (``*.example.com`` matches any subdomain), or ``None`` for any."""
    path: PathTemplate
    action: str
    resource: Template
    index: int

    def host_matches(self, host: str, *, loose: bool = False) -> bool:
        """Whether ``host`` (lower-cased, no port) is this route's; ``loose``: trailing dots (the
        fully qualified ``docs.example.com.``, the same host to DNS) dropped from both first."""
        if self.host is None:
            return True
        mine = self.host.rstrip(".") if loose else self.host
        if loose:
            host = host.rstrip(".")
        if mine.startswith("*."):
            return host.endswith(mine[1:]) and len(host) > len(mine) - 1
        return host == mine


@dataclass(frozen=True, slots=True)
class PrincipalSource:
    source: str
    """``header``, ``jwt``, ``peer`` or ``peer-subject``."""
    name: str = ""
    """The header (``header``) or the metadata namespace (``jwt``, e.g. envoy.filters.http.jwt_authn)."""
    claim_path: tuple[str, ...] = ()
    """For ``jwt``: the keys from the namespace's struct to the claim, e.g. (jwt_payload, sub)."""
    match: Template | None = None
    principal: Template | None = None


@dataclass(frozen=True, slots=True)
class HttpRequestView:
    """What the mapping reads of one HTTP request; Envoy's CheckRequest is turned into this."""

    method: str
    host: str
    path: str
    headers: Mapping[str, str]
    metadata: Mapping[str, Any]
    """Envoy's filter metadata (namespace -> plain dict)."""
    peer: str
    """The TLS peer's identity (Envoy: URI SAN, else DNS SAN, else subject); empty without mTLS."""
    peer_subject: str = ""
    """The client certificate's subject, RFC 4514 (``CN=alice,O=Example``); empty without one."""


@dataclass(frozen=True, slots=True)
class RouteMatch:
    route: Route
    resource: str


@dataclass(frozen=True, slots=True)
class HttpRoutes:
    """The compiled mapping of one bundle revision (immutable, shared by every request)."""

    routes: tuple[Route, ...] = ()
    principal_sources: tuple[PrincipalSource, ...] = ()
    context_headers: tuple[tuple[str, str], ...] = ()
    """``(header name, context key)`` pairs."""
    allow_unmapped: bool = False

    @property
    def reads_peer_subject(self) -> bool:
        """Whether requests need their client certificate parsed (only then is it)."""
        return any(source.source == "peer-subject" for source in self.principal_sources)

    def route(self, request: HttpRequestView) -> RouteMatch | None:
        """The first route that matches, with its resource ARN; ``None`` maps to nothing."""
        segments = canonical_segments(request.path)
        if segments is None:
            return None
        return self._route(request, segments)

    def refuses(self, request: HttpRequestView) -> bool:
        """Whether a request no route maps must be denied even where ``Unmapped`` is ``allow``
        (``refusal`` says why)."""
        return self.refusal(request) is not None

    def refusal(self, request: HttpRequestView) -> str | None:
        """Why a request no route maps must be denied even where ``Unmapped`` is ``allow``, or
        ``None``: its path could name more than one resource (``canonical_segments``), or it names
        a mapped route in another spelling an upstream may treat alike: doubled or trailing slashes,
        which many upstreams merge or drop (``//docs/secret``, ``/docs/secret/``); other letter case
        (``/DOCS/secret``: IIS, ASP.NET, case-insensitive file systems); or a host with a trailing
        dot (``docs.example.com.``, which DNS and many servers read as ``docs.example.com``).
        Otherwise ``"allow"`` would pass them to a route that was meant to be checked."""
        segments = canonical_segments(request.path)
        if segments is None:
            return "could name more than one resource"
        merged = [part for part in segments if part]
        for spelling in (segments, merged) if merged != segments else (segments,):
            if self._route(request, spelling, loose=True) is not None:
                return "is another spelling of a mapped route (slashes, letter case or a trailing dot)"
        return None

    def _route(
        self, request: HttpRequestView, segments: list[str], *, loose: bool = False
    ) -> RouteMatch | None:
        method = request.method.upper()
        host = request.host.lower().rsplit(":", 1)[0] if not request.host.startswith("[") else request.host
        for route in self.routes:
            if route.methods is not None and method not in route.methods:
                continue
            if not route.host_matches(host, loose=loose):
                continue
            values = route.path.match(segments, fold=loose)
            if values is not None:
                return RouteMatch(route, route.resource.fill(values))
        return None

    def principal(self, request: HttpRequestView) -> str | None:
        """The principal named by the first source that yields one; ``None`` when none does."""
        for source in self.principal_sources:
            value = _source_value(source, request)
            if not value:
                continue
            values = {"value": value}
            if source.match is not None:
                matched = source.match.match(value)
                if matched is None:
                    continue
                values.update(matched)
            return source.principal.fill(values) if source.principal is not None else value
        return None

    def context(self, request: HttpRequestView) -> list[tuple[str, str]]:
        """``(context key, value)`` for each mapped header the request carries."""
        return [(key, request.headers[name]) for name, key in self.context_headers if name in request.headers]


NO_ROUTES = HttpRoutes()


def canonical_segments(target: str) -> list[str] | None:
    """The path's segments, one spelling for what an upstream decodes alike; ``None``: maps to nothing.

    An upstream application percent-decodes the path, so ``/docs/secr%65t``, ``/%64ocs/secret`` and
    ``/docs/secret`` name one document: each segment is decoded once and re-encoded with only what
    RFC 3986 lets a segment hold raw kept raw, before any route is matched. A path that an upstream
    could read as another one maps to nothing: ``.`` or ``..`` segments, an encoded ``/``, ``\\`` or
    ``.``, a raw ``\\``, a ``;`` (Tomcat and Spring drop ``;params`` from a segment), a malformed
    escape or an escape that is not UTF-8.
    """
    path = target.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/") or _ENCODED_SEPARATOR.search(path) or "\\" in path:
        return None
    segments = path[1:].split("/")
    if "%" in path:
        if _BAD_ESCAPE.search(path):
            return None
        try:
            segments = [unquote(part, errors="strict") for part in segments]
        except UnicodeDecodeError:
            return None
    if any(part in (".", "..") or ";" in part for part in segments):
        return None
    return [quote(part, safe=_SEGMENT_SAFE) for part in segments]


def _folded(segment: str) -> str:
    """A path segment as a case-insensitive upstream compares it: decoded, case-folded."""
    return unquote(segment).casefold()


def _source_value(source: PrincipalSource, request: HttpRequestView) -> str:
    if source.source == "header":
        return request.headers.get(source.name, "")
    if source.source == "peer":
        return request.peer
    if source.source == "peer-subject":
        return request.peer_subject
    value: Any = request.metadata.get(source.name)
    for key in source.claim_path:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return value if isinstance(value, str) else ""


# --- reading the file ------------------------------------------------------------------------------

_TOP_KEYS = {"Routes", "Principal", "ContextHeaders", "Unmapped"}
_ROUTE_KEYS = {"Methods", "Host", "Path", "Action", "Resource"}
_SOURCE_KEYS = {"From", "Name", "Claim", "Match", "Principal"}


def read_http_routes(report: FileReport, document: Any) -> HttpRoutes | None:
    """The mapping of ``http-routes.json``; every problem is recorded with its JSON path."""
    obj = expect_object(report, document, "")
    if obj is None:
        return None
    _check_keys(report, obj, "", _TOP_KEYS)
    errors_before = _error_count(report)
    unmapped = obj.get("Unmapped", "deny")
    if unmapped not in UNMAPPED_CHOICES:
        report.error("Unmapped", f"must be one of {', '.join(UNMAPPED_CHOICES)} (got {unmapped!r})")
    routes = _read_routes(report, obj.get("Routes"))
    sources = _read_sources(report, obj.get("Principal"))
    headers = _read_context_headers(report, obj.get("ContextHeaders", {}))
    if _error_count(report) != errors_before:
        return None
    return HttpRoutes(tuple(routes), tuple(sources), tuple(headers), unmapped == "allow")


def _check_keys(report: FileReport, obj: dict[str, Any], path: str, known: set[str]) -> None:
    """Unknown keys are errors here, not warnings: a misspelt ``Methods`` would widen a route."""
    for key in obj:
        if key not in known:
            report.error(key_path(path, key), f"unknown field; expected one of {', '.join(sorted(known))}")


def _error_count(report: FileReport) -> int:
    return sum(1 for problem in report._sink if problem.is_error and problem.file == report.file)


def _read_routes(report: FileReport, value: Any) -> list[Route]:
    if not isinstance(value, list) or not value:
        report.error("Routes", "must be a non-empty list of routes")
        return []
    if len(value) > MAX_ROUTES:
        report.error("Routes", f"{len(value)} routes; at most {MAX_ROUTES}")
        return []
    routes = []
    for index, item in enumerate(value):
        path = item_path("Routes", index)
        route = _read_route(report, item, path, index)
        if route is not None:
            routes.append(route)
    return routes


def _read_route(report: FileReport, item: Any, path: str, index: int) -> Route | None:
    obj = expect_object(report, item, path)
    if obj is None:
        return None
    _check_keys(report, obj, path, _ROUTE_KEYS)
    ok = True
    for required in ("Path", "Action", "Resource"):
        if not isinstance(obj.get(required), str) or not obj.get(required):
            report.error(key_path(path, required), "must be a non-empty string")
            ok = False
    if not ok:
        return None
    methods = _read_methods(report, obj.get("Methods", "*"), key_path(path, "Methods"))
    host = obj.get("Host")
    if host is not None and (not isinstance(host, str) or not host or "*" in host.removeprefix("*.")):
        report.error(key_path(path, "Host"), "must be a host name, optionally starting with *.")
        ok = False
    template = _read_path_template(report, obj["Path"], key_path(path, "Path"))
    try:
        check_action(obj["Action"], field=key_path(path, "Action"))
    except RequestError as error:
        report.error(key_path(path, "Action"), error.detail)
        ok = False
    resource = Template.of(obj["Resource"])
    if template is not None:
        known = {text for text, variable, _ in template.segments if variable}
        for name in resource.names:
            if name not in known:
                report.error(
                    key_path(path, "Resource"), f"{{{name}}} is not a variable of Path {obj['Path']!r}"
                )
                ok = False
    if obj["Resource"] != "*" and not obj["Resource"].startswith("arn:"):
        report.error(key_path(path, "Resource"), 'must be an ARN template (arn:...) or "*"')
        ok = False
    if not ok or template is None or methods is False:
        return None
    return Route(methods, host.lower() if host else None, template, obj["Action"], resource, index)


def _read_methods(report: FileReport, value: Any, path: str) -> frozenset[str] | bool | None:
    if value == "*":
        return None
    if not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value):
        report.error(path, 'must be "*" or a non-empty list of HTTP methods such as ["GET", "HEAD"]')
        return False
    unknown = [m for m in value if m not in METHODS]
    if unknown:
        report.error(path, f"unknown HTTP method(s) {unknown} (upper case: {', '.join(sorted(METHODS))})")
        return False
    return frozenset(value)


def _read_path_template(report: FileReport, text: str, path: str) -> PathTemplate | None:
    if not text.startswith("/") or "?" in text or "#" in text:
        report.error(path, f"{text!r} must start with / and hold no query or fragment")
        return None
    segments: list[tuple[str, bool, bool]] = []
    names: set[str] = set()
    parts = text[1:].split("/")
    for index, part in enumerate(parts):
        found = _VARIABLE.fullmatch(part)
        if found is None:
            if "{" in part or "}" in part or part in (".", ".."):
                report.error(
                    path, f"segment {part!r}: a variable is a whole segment such as {{id}} or {{key+}}"
                )
                return None
            segments.append((part, False, False))
            continue
        name, greedy = found.group(1), bool(found.group(2))
        if name in names:
            report.error(path, f"variable {{{name}}} appears twice")
            return None
        if greedy and index != len(parts) - 1:
            report.error(path, f"{{{name}+}} matches the rest of the path: it must be the last segment")
            return None
        names.add(name)
        segments.append((name, True, greedy))
    return PathTemplate(text, tuple(segments))


def _read_sources(report: FileReport, value: Any) -> list[PrincipalSource]:
    if not isinstance(value, list) or not value:
        report.error(
            "Principal", f"must be a non-empty list of principal sources ({', '.join(PRINCIPAL_SOURCES)})"
        )
        return []
    sources = []
    for index, item in enumerate(value):
        path = item_path("Principal", index)
        obj = expect_object(report, item, path)
        if obj is None:
            continue
        _check_keys(report, obj, path, _SOURCE_KEYS)
        kind = obj.get("From")
        if kind not in PRINCIPAL_SOURCES:
            report.error(key_path(path, "From"), f"must be one of {', '.join(PRINCIPAL_SOURCES)}")
            continue
        name = obj.get("Name", "")
        if kind in ("header", "jwt") and (not isinstance(name, str) or not name):
            what = "a request header name" if kind == "header" else "an Envoy metadata namespace"
            report.error(key_path(path, "Name"), f"must be {what}")
            continue
        if kind == "header" and not _HEADER_NAME.match(name):
            report.error(key_path(path, "Name"), f"{name!r} is not a lower-case header name")
            continue
        claim: tuple[str, ...] = ()
        if kind == "jwt":
            raw = obj.get("Claim")
            if not isinstance(raw, str) or not raw:
                report.error(
                    key_path(path, "Claim"), "must be the claim's path in the metadata, e.g. jwt_payload.sub"
                )
                continue
            claim = tuple(raw.split("."))
        match = _optional_template(report, obj, path, "Match")
        if match is not None and any(not part for part in match.parts[1:-1]):
            report.error(key_path(path, "Match"), "variables must be separated by text, e.g. {ns}/{sa}")
            continue
        principal = _optional_template(report, obj, path, "Principal")
        if principal is not None:
            known = {"value", *(match.names if match is not None else ())}
            unknown = [n for n in principal.names if n not in known]
            if unknown:
                report.error(
                    key_path(path, "Principal"), f"{{{unknown[0]}}} is not {{value}} or a variable of Match"
                )
                continue
        sources.append(PrincipalSource(kind, name, claim, match, principal))
    return sources


def _optional_template(report: FileReport, obj: dict[str, Any], path: str, key: str) -> Template | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        report.error(key_path(path, key), "must be a non-empty template string")
        return None
    return Template.of(value)


def _read_context_headers(report: FileReport, value: Any) -> list[tuple[str, str]]:
    obj = expect_object(report, value, "ContextHeaders")
    if obj is None:
        return []
    pairs = []
    for name, key in obj.items():
        path = key_path("ContextHeaders", name)
        if not _HEADER_NAME.match(name):
            report.error(path, f"{name!r} is not a lower-case header name")
        elif not isinstance(key, str) or not _CONTEXT_KEY.match(key):
            report.error(path, "must be a context key name such as app:Tenant")
        elif key.lower().startswith("aws:") or re.match(r"[a-z0-9-]+:resourcetag/", key.lower()):
            report.error(
                path,
                f"{key}: a header may not become an aws: or ResourceTag key; the sidecar sets those "
                "(docs/security.md, docs/mesh.md)",
            )
        elif aws_catalogue().aws_defines(key.lower()) is False:
            report.error(
                path,
                f"{key}: AWS defines no such key, so callers may not assert it and every request "
                "carrying the header would be refused (docs/security.md); use a key of the "
                "application's own prefix",
            )
        else:
            pairs.append((name, key))
    return pairs
