"""Decision logs: one JSON line per decision, written by a background thread.

The request thread only appends a tuple of references to a bounded buffer; building the event,
redacting sensitive context keys, JSON encoding and writing all happen on the writer thread. When
the buffer is full the oldest entry is dropped and counted (``iamgate_decision_logs_dropped_total``);
a failing sink drops events too. Logging therefore never slows, blocks or fails a decision.

Event shape (version 1)::

    {"version": 1, "decision_id": ..., "timestamp": "2026-11-28T12:00:00.123456Z", "method": "Authorize",
     "revision": ..., "request": {"request_id", "principal", "action", "resource",
     "context": {KEY: [VALUES]}, "session_policy": bool}, "decision": "allowed",
     "principal_arn": ..., "determining": [{"policy_id", "policy_type", "sid", "index"}],
     "filled_context_keys": [...], "message": ..., "latency_ms": 0.042, "redacted": [KEYS]}
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from iamgate.engine.errors import RequestError
from iamgate.service.convert import value_text
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

Pending = tuple[float, str, Any, Any, float]
"""(unix time, method, request message, AuthorizeResponse, latency seconds): what the hot path queues."""


def build_event(pending: Pending, sensitive: frozenset[str]) -> dict[str, Any]:
    """The JSON-ready event for one queued decision, sensitive context values replaced."""
    timestamp, method, request, response, latency = pending
    context: dict[str, Any] = {}
    redacted: list[str] = []
    for entry in request.context:
        if entry.key.lower() in sensitive:
            context[entry.key] = REDACTED
            redacted.append(entry.key)
            continue
        values = []
        for value in entry.values:
            try:
                values.append(value_text(value, entry.key))
            except RequestError:
                values.append(None)
        context[entry.key] = values
    moment = datetime.fromtimestamp(timestamp, UTC)
    event: dict[str, Any] = {
        "version": 1,
        "decision_id": response.decision_id,
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "method": method,
        "revision": response.revision,
        "request": {
            "request_id": request.request_id,
            "principal": request.principal,
            "action": request.action,
            "resource": request.resource,
            "context": context,
            "session_policy": bool(request.session_policy),
        },
        "decision": _DECISION_WORDS.get(response.decision, "implicitDeny"),
        "principal_arn": response.principal_arn,
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
        "message": response.message,
        "latency_ms": round(latency * 1000, 4),
    }
    if redacted:
        event["redacted"] = redacted
    return event


class DecisionLogger:
    """A bounded buffer drained to ``stream`` by one daemon thread.

    ``on_drop(reason, count)`` is called (on either thread) for each batch of dropped events;
    the service passes its metrics counter.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        sensitive_keys: frozenset[str] = frozenset(),
        max_queue: int = 10_000,
        on_drop: Callable[[str, int], None] | None = None,
        close_stream: bool = False,
        flush_interval: float = 0.05,
    ) -> None:
        self._stream = stream
        self._sensitive = frozenset(k.lower() for k in sensitive_keys)
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
        self._close_stream = close_stream
        self._interval = flush_interval
        self._thread = threading.Thread(target=self._run, name="iamgate-decision-log", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, target: str, **kwargs: Any) -> DecisionLogger:
        """``"-"`` logs to stderr; anything else is a file opened for appending."""
        if target == "-":
            return cls(sys.stderr, **kwargs)
        stream = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        return cls(stream, close_stream=True, **kwargs)

    def submit(self, method: str, request: Any, response: Any, latency: float, timestamp: float) -> None:
        """Queue one decision. Never blocks on I/O and never raises."""
        with self._lock:
            self._submitted += 1
            dropped = len(self._buffer) >= self._max
            if dropped:
                self._buffer.popleft()
                self._done += 1
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
            lines = [json.dumps(build_event(p, self._sensitive), separators=(",", ":")) for p in batch]
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
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
        if self._close_stream:
            self._stream.close()
