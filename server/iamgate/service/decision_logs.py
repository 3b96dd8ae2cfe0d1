"""Decision logs: one JSON line per decision, written by a background thread.

The request thread only appends a tuple of references to a bounded buffer; building the event,
redacting sensitive context keys, JSON encoding and writing all happen on the writer thread. When
the buffer is full the oldest entry is dropped and counted (``iamgate_decision_logs_dropped_total``);
a failing sink drops events too. Logging therefore never slows, blocks or fails a decision.

Event shape (version 1)::

    {"version": 1, "decision_id": ..., "timestamp": "2026-11-28T12:00:00.123456Z", "method": "Authorize",
     "revision": ..., "request": {"request_id", "principal", "action", "resource",
     "context": {KEY: [VALUES]}, "session_policy": bool, "session_tags": {KEY: VALUE}}, "decision": "allowed",
     "principal_arn": ..., "determining": [{"policy_id", "policy_type", "sid", "index"}],
     "filled_context_keys": [...], "message": ..., "latency_ms": 0.042, "redacted": [KEYS],
     "truncated": [FIELDS], "context_keys_dropped": N}

Everything in a request is the caller's to choose, so a line is bounded (``LineLimits``): each
string is cut at a limit and marked (``"abc…[truncated 13,520 chars]"``, the field named in
``truncated``), the context keeps at most so many keys and values (the rest counted in
``context_keys_dropped``), and a line that still encodes longer than ``line_bytes`` loses context
keys from the end, then everything but the decision's identity (``"truncated": ["line"]``).
Sensitive keys are recognised by their full name before any cutting.

``session_tags`` is present only when the call passed some (a role session's tags, which decide
its ``aws:PrincipalTag/K`` keys): ``iamgate access-report`` needs them to ask a session's request
again. They are bounded like the context (AWS allows 50 tags of 128 + 256 characters); a tag whose
key, or whose ``aws:PrincipalTag/KEY``, is sensitive is redacted and named in ``redacted`` as
``aws:PrincipalTag/KEY``.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TextIO

from iamgate.engine.errors import RequestError
from iamgate.service.config import MIN_DECISION_LOG_LINE_BYTES, ServiceConfig
from iamgate.service.convert import value_text
from iamgate.service.log_files import LineSink, RotatingFile, StreamSink
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

REDACTED = "**REDACTED**"
_DECISION_WORDS = {
    pb.DECISION_ALLOWED: "allowed",
    pb.DECISION_EXPLICIT_DENY: "explicitDeny",
    pb.DECISION_IMPLICIT_DENY: "implicitDeny",
}
_POLICY_TYPE_WORDS = {
    pb.POLICY_TYPE_SERVICE_CONTROL: "scp",
    pb.POLICY_TYPE_RESOURCE: "resource",
    pb.POLICY_TYPE_IDENTITY: "identity",
    pb.POLICY_TYPE_PERMISSIONS_BOUNDARY: "boundary",
    pb.POLICY_TYPE_SESSION: "session",
}

_log = logging.getLogger(__name__)

Pending = tuple[Any, ...]
"""(timestamp, method, request, response, latency) and, when the call carried one, its trace id."""
"""(unix time, method, request message, AuthorizeResponse, latency seconds): what the hot path queues."""


MIN_LINE_BYTES = MIN_DECISION_LOG_LINE_BYTES
"""Room for the last-resort line (identity fields cut to ``_LAST_RESORT_CHARS``, JSON-escaped)."""
_LAST_RESORT_CHARS = 32
_MARKER = "…[truncated {:,} chars]"


@dataclass(frozen=True, slots=True)
class LineLimits:
    """How much of a caller's request one decision-log line may hold.

    ``value_chars`` bounds each context value and each context key name; ``field_chars`` the
    request id, principal, action, resource, message and principal ARN; ``context_keys`` and
    ``values_per_key`` the context's size; ``line_bytes`` the encoded line, as a last guard.
    """

    value_chars: int = 256
    field_chars: int = 1024
    context_keys: int = 64
    values_per_key: int = 16
    line_bytes: int = 16 * 1024

    def __post_init__(self) -> None:
        for name in ("value_chars", "field_chars", "context_keys", "values_per_key"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.line_bytes < MIN_LINE_BYTES:
            raise ValueError(f"line_bytes must be at least {MIN_LINE_BYTES}")


def decision_log_limits(config: ServiceConfig) -> LineLimits:
    """The line limits a service configuration asks for."""
    return LineLimits(
        value_chars=config.decision_log_max_value_chars,
        field_chars=config.decision_log_max_field_chars,
        context_keys=config.decision_log_max_context_keys,
        values_per_key=config.decision_log_max_values_per_key,
        line_bytes=config.decision_log_max_line_bytes,
    )


def cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` if it has at most ``limit`` characters, else its first ``limit`` and a marker."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + _MARKER.format(len(text) - limit), True


def _value_text(value: pb.ContextValue, key: str, limit: int) -> tuple[str | None, bool]:
    """One context value as text, cut at ``limit``; binary values are encoded only as far as kept."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return (text, False) if len(text) <= limit else cut(text, limit)
    if kind == "binary_value":
        data = value.binary_value
        full = 4 * ((len(data) + 2) // 3)
        if full > limit:
            text = base64.b64encode(data[: (limit // 4 + 1) * 3]).decode("ascii")[:limit]
            return text + _MARKER.format(full - limit), True
    try:
        return cut(value_text(value, key), limit)
    except RequestError:
        return None, False


def _context(
    request: Any, sensitive: frozenset[str], limits: LineLimits
) -> tuple[dict[str, Any], list[str], int, bool]:
    """The loggable context: (context, redacted keys, entries not logged, anything cut).

    A key given twice is logged once with both entries' values, as the engine merges them.
    Stops at the key limit, or once the kept text alone would fill a line, so a huge context
    costs the writer thread no more than a line's worth of work.
    """
    context: dict[str, Any] = {}
    redacted: list[str] = []
    extra_values: dict[str, int] = {}
    entries = request.context
    was_cut = False
    budget = limits.line_bytes
    value_chars, values_per_key = limits.value_chars, limits.values_per_key
    for position, entry in enumerate(entries):
        name = entry.key
        key, key_cut = cut(name, value_chars) if len(name) > value_chars else (name, False)
        values = context.get(key)
        if budget <= 0 or (values is None and len(context) >= limits.context_keys):
            _mark_extra_values(context, extra_values)
            return context, redacted, len(entries) - position, True
        was_cut = was_cut or key_cut
        if values is None:
            budget -= len(key) + 6
        if name.lower() in sensitive:  # whatever the entries its name was merged with
            if values is not REDACTED:
                context[key] = REDACTED
                redacted.append(key)
                budget -= len(key) + len(REDACTED)
            continue
        if values is REDACTED:
            continue
        if values is None:
            values = context[key] = []
        given = entry.values
        room = max(values_per_key - len(values), 0)
        for value in islice(given, room):
            text, value_cut = _value_text(value, name, value_chars)
            was_cut = was_cut or value_cut
            values.append(text)
            budget -= len(text or "") + 3
        if len(given) > room:
            extra_values[key] = extra_values.get(key, 0) + len(given) - room
            was_cut = True
    _mark_extra_values(context, extra_values)
    return context, redacted, 0, was_cut


def _session_tags(
    tags: Any, sensitive: frozenset[str], limits: LineLimits
) -> tuple[dict[str, str], list[str], bool]:
    """The loggable session tags: (tags, redacted ``aws:PrincipalTag/K`` names, anything cut or left out)."""
    logged: dict[str, str] = {}
    redacted: list[str] = []
    was_cut = len(tags) > limits.context_keys
    for tag in islice(tags, limits.context_keys):
        key, key_cut = cut(tag.key, limits.value_chars)
        lowered = tag.key.lower()
        if lowered in sensitive or f"aws:principaltag/{lowered}" in sensitive:
            logged[key] = REDACTED
            redacted.append(f"aws:PrincipalTag/{key}")
            continue
        value, value_cut = cut(tag.value, limits.value_chars)
        logged[key] = value
        was_cut = was_cut or key_cut or value_cut
    return logged, redacted, was_cut


def _mark_extra_values(context: dict[str, Any], extra_values: dict[str, int]) -> None:
    for key, count in extra_values.items():
        context[key].append(f"…[{count:,} more values]")


def build_event(
    pending: Pending, sensitive: frozenset[str], limits: LineLimits = LineLimits()
) -> dict[str, Any]:
    """The JSON-ready event for one queued decision: sensitive values replaced, long values cut."""
    timestamp, method, request, response, latency, *traced = pending
    context, redacted, dropped, context_cut = _context(request, sensitive, limits)
    truncated: list[str] = []

    field_chars = limits.field_chars

    def field(name: str, text: str) -> str:
        if len(text) <= field_chars:
            return text
        truncated.append(name)
        return cut(text, field_chars)[0]

    moment = datetime.fromtimestamp(timestamp, UTC)
    event: dict[str, Any] = {
        "version": 1,
        "decision_id": response.decision_id,
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "method": method,
        "revision": response.revision,
        "request": {
            "request_id": field("request.request_id", request.request_id),
            "principal": field("request.principal", request.principal),
            "action": field("request.action", request.action),
            "resource": field("request.resource", request.resource),
            "context": context,
            "session_policy": bool(request.session_policy),
        },
        "decision": _DECISION_WORDS.get(response.decision, "implicitDeny"),
        "principal_arn": field("principal_arn", response.principal_arn),
        "determining": [
            {
                "policy_id": ref.policy_id,
                "policy_type": _POLICY_TYPE_WORDS.get(ref.policy_type, ""),
                "sid": ref.sid,
                "index": ref.index,
            }
            for ref in response.determining_statements
        ],
        "filled_context_keys": list(response.filled_context_keys),
        "message": field("message", response.message),
        "latency_ms": round(latency * 1000, 4),
    }
    tags = getattr(request, "session_tags", ())
    if tags:
        logged_tags, redacted_tags, tags_cut = _session_tags(tags, sensitive, limits)
        event["request"]["session_tags"] = logged_tags
        redacted.extend(redacted_tags)
        if tags_cut:
            truncated.append("request.session_tags")
    if traced and traced[0]:
        event["trace_id"] = traced[0]  # W3C trace id of the call's traceparent (service/tracing.py)
    if redacted:
        event["redacted"] = redacted
    if context_cut or dropped:
        truncated.append("request.context")
    if truncated:
        event["truncated"] = truncated
    if dropped:
        event["context_keys_dropped"] = dropped
    return event


def encode_event(event: dict[str, Any], limits: LineLimits) -> str:
    """``event`` as one JSON line of at most ``limits.line_bytes`` bytes (ASCII: one byte a char).

    Whatever was cut to make it fit is recorded in ``event["truncated"]`` too.
    """
    line = json.dumps(event, separators=(",", ":"))
    if len(line) <= limits.line_bytes:
        return line
    line = _without_trailing_context(event, len(line) - limits.line_bytes)
    if len(line) <= limits.line_bytes:
        return line
    event.setdefault("truncated", []).append("line")
    return json.dumps(_last_resort(event, len(line)), separators=(",", ":"))


def _without_trailing_context(event: dict[str, Any], excess: int) -> str:
    """Drop context keys from the end until the line is ``excess`` bytes shorter; re-encode."""
    context: dict[str, Any] = event["request"]["context"]
    redacted: list[str] = event.get("redacted", [])
    dropped = 0
    for key in reversed(list(context)):
        if excess <= 0:
            break
        name = json.dumps(key)
        excess -= len(name) + len(json.dumps(context.pop(key))) + 2
        if key in redacted:
            redacted.remove(key)
            excess -= len(name) + 1
        dropped += 1
    if not redacted:
        event.pop("redacted", None)
    if dropped:
        event["context_keys_dropped"] = event.get("context_keys_dropped", 0) + dropped
        if "request.context" not in event.setdefault("truncated", []):
            event["truncated"].append("request.context")
    return json.dumps(event, separators=(",", ":"))


def _last_resort(event: dict[str, Any], line_bytes: int) -> dict[str, Any]:
    """Only what identifies the decision, each string short: fits ``MIN_LINE_BYTES`` whatever the input."""
    request = event["request"]

    def short(text: str) -> str:
        return cut(text, _LAST_RESORT_CHARS)[0]

    return {
        "version": 1,
        "decision_id": short(event["decision_id"]),
        "timestamp": event["timestamp"],
        "method": short(event["method"]),
        "revision": short(event["revision"]),
        "request": {name: short(request[name]) for name in ("request_id", "principal", "action", "resource")},
        "decision": event["decision"],
        "latency_ms": event["latency_ms"],
        "truncated": ["line"],
        "line_bytes": line_bytes,
    }


class DecisionLogger:
    """A bounded buffer drained to ``stream`` (a text stream or a ``LineSink``) by one daemon thread.

    ``on_drop(reason, count)`` is called (on either thread) for each batch of dropped events and
    ``on_truncate(count)`` (on the writer thread) for each batch's lines that were cut; the
    service passes its metrics counters.
    """

    def __init__(
        self,
        stream: TextIO | LineSink,
        *,
        sensitive_keys: frozenset[str] = frozenset(),
        max_queue: int = 10_000,
        on_drop: Callable[[str, int], None] | None = None,
        on_truncate: Callable[[int], None] | None = None,
        close_stream: bool = False,
        flush_interval: float = 0.05,
        limits: LineLimits = LineLimits(),
    ) -> None:
        self._sink = stream if isinstance(stream, LineSink) else StreamSink(stream, close_stream=close_stream)
        self._sensitive = frozenset(k.lower() for k in sensitive_keys)
        self._limits = limits
        self._buffer: deque[Pending] = deque()
        self._max = max_queue
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._submitted = 0
        self._done = 0
        """Events written or dropped so far; ``flush`` waits for it to catch up."""
        self._wake = threading.Event()
        self._stopping = False
        self._on_drop = on_drop or (lambda reason, count: None)
        self._on_truncate = on_truncate or (lambda count: None)
        self._interval = flush_interval
        self._thread = threading.Thread(target=self._run, name="iamgate-decision-log", daemon=True)
        self._thread.start()

    @classmethod
    def open(
        cls, target: str, *, max_bytes: int = 100 * 1024 * 1024, max_files: int = 5, **kwargs: Any
    ) -> DecisionLogger:
        """``"-"`` logs to stderr (never rotated); anything else is a file rotated at ``max_bytes``."""
        if target == "-":
            return cls(sys.stderr, **kwargs)
        return cls(RotatingFile(target, max_bytes=max_bytes, max_files=max_files), **kwargs)

    def submit(
        self, method: str, request: Any, response: Any, latency: float, timestamp: float, trace_id: str = ""
    ) -> None:
        """Queue one decision. Never blocks on I/O and never raises."""
        with self._lock:
            self._submitted += 1
            dropped = len(self._buffer) >= self._max
            if dropped:
                self._buffer.popleft()
                self._done += 1
            if trace_id:
                self._buffer.append((timestamp, method, request, response, latency, trace_id))
            else:
                self._buffer.append((timestamp, method, request, response, latency))
        if dropped:
            self._on_drop("queue_full", 1)

    def _take(self) -> list[Pending]:
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
            return batch

    def _write(self, batch: list[Pending]) -> None:
        try:
            lines = []
            truncated = 0
            for pending in batch:
                event = build_event(pending, self._sensitive, self._limits)
                line = encode_event(event, self._limits)
                truncated += "truncated" in event
                lines.append(line)
            if truncated:
                self._on_truncate(truncated)
            self._sink.write_lines(lines)
        except Exception:  # a broken sink must never reach a decision
            _log.exception("decision log: could not write %d event(s)", len(batch))
            self._on_drop("write_error", len(batch))
        with self._lock:
            self._done += len(batch)
            self._settled.notify_all()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            batch = self._take()
            if batch:
                self._write(batch)
            elif self._stopping:
                return

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written or dropped; False on timeout."""
        with self._lock:
            target = self._submitted
        self._wake.set()
        with self._settled:
            return self._settled.wait_for(lambda: self._done >= target, timeout)

    def close(self) -> None:
        """Write what is queued, stop the thread, close the file if this logger opened it."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5.0)
        self._sink.close()
