"""Bounded work per call: request-size checks, and the gate in front of the expensive RPCs.

Authorize must stay fast whatever else a caller sends. Three kinds of bound keep it so:

* sizes, checked on the protobuf before anything is converted or parsed (a session policy's
  bytes, a request's context entries and values) -> RESOURCE_EXHAUSTED naming the setting;
* the expensive RPCs (Simulate, Explain) pass ``ExpensiveCallGate``: at most a few run at once,
  always fewer than the server's worker threads, so a flood of them is refused at once
  (RESOURCE_EXHAUSTED) while Authorize still finds a free thread;
* each expensive call has a wall-clock budget (``CallClock``), and honours the caller's own
  gRPC deadline; Explain's answer is bounded in statements and bytes.

Simulate's input limits live in ``iamgate.engine.simulate`` (``iamgate simulate`` uses them too);
``simulation_limits`` maps the service's configuration onto them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import grpc

from iamgate.engine.result import PolicyTrace
from iamgate.engine.simulate import SimulationLimits, condition_comparisons, flag
from iamgate.policy.json_text import load_strict
from iamgate.service.config import ServiceConfig


class LimitExceeded(Exception):
    """A request, or the work or answer it asks for, is larger than a configured limit."""

    def __init__(self, message: str, code: grpc.StatusCode = grpc.StatusCode.RESOURCE_EXHAUSTED) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def too_many(path: str, count: int, unit: str, limit: int, setting: str) -> LimitExceeded:
    """``"context: 500 entries, at most 100 per request (--max-context-entries)"``."""
    return LimitExceeded(f"{path}: {count} {unit}, at most {limit} per request ({flag(setting)})")


def simulation_limits(config: ServiceConfig) -> SimulationLimits:
    """The engine's Simulate limits, as this sidecar is configured."""
    return SimulationLimits(
        max_simulate_evaluations=config.max_simulate_evaluations,
        max_simulate_statements=config.max_simulate_statements,
        max_simulate_policy_bytes=config.max_simulate_policy_bytes,
        max_scp_levels=config.max_scp_levels,
        max_context_entries=config.max_context_entries,
        max_context_values=config.max_context_values,
        max_condition_comparisons=config.max_condition_comparisons,
        max_simulate_response_bytes=config.max_simulate_response_bytes,
        max_expensive_call_seconds=config.max_expensive_call_seconds,
    )


def check_batch(request: Any, config: ServiceConfig) -> None:
    """Refuse a batch carrying more distinct session policies than one call may compile.

    Each new session policy is parsed and compiled; hundreds in one batch held a worker thread for
    seconds, and a few such batches starved Authorize of threads. Repeats cost nothing (memoised).
    """
    check_batch_items(request.requests, config)


def check_batch_items(items: Iterable[Any], config: ServiceConfig) -> int:
    """``check_batch`` on the batch's items (a list the caller keeps: iterating a protobuf
    container makes each item's Python object anew, ~0.12 µs an item); the number of distinct
    session policies (0: no item carries one, so the batch path need not read them again)."""
    limit = config.max_batch_session_policies
    distinct = {item.session_policy for item in items}
    distinct.discard("")
    if len(distinct) > limit:
        raise LimitExceeded(
            f"requests: {len(distinct)} distinct session policies, at most {limit} per batch "
            f"({flag('max_batch_session_policies')})"
        )
    return len(distinct)


def check_access_request(request: Any, config: ServiceConfig, prefix: str = "") -> None:
    """Refuse an Authorize or Explain request (or batch item) larger than the limits allow.

    Runs before conversion, on the hot path: a usual request is cleared by its wire size alone
    (every context value takes at least two bytes of it), without walking its context. The size
    bound also bounds what a decision log event holds on to while it waits to be written.
    """
    size = check_request_size(request, config, prefix)
    policy = request.session_policy
    if policy:
        limit = config.max_session_policy_bytes
        # A character is at least one UTF-8 byte, and at most four: encode only when it matters.
        size = len(policy) if len(policy) > limit or len(policy) * 4 <= limit else len(policy.encode())
        if size > limit:
            raise too_many(f"{prefix}session_policy", size, "bytes", limit, "max_session_policy_bytes")
    context = request.context
    if context:
        if len(context) > config.max_context_entries:
            raise too_many(
                f"{prefix}context", len(context), "entries", config.max_context_entries, "max_context_entries"
            )
        most_values = size // 2
        if most_values <= config.max_context_values and (
            not policy or len(policy) // 3 * most_values <= config.max_condition_comparisons
        ):
            return
        values = sum(len(entry.values) for entry in context)
        if values > config.max_context_values:
            raise too_many(
                f"{prefix}context", values, "values", config.max_context_values, "max_context_values"
            )
        if policy:
            _check_comparisons(policy, context, config.max_condition_comparisons, prefix)


def check_request_size(request: Any, config: ServiceConfig, prefix: str = "") -> int:
    """Refuse a request (or batch item) whose wire size is over ``max_request_bytes``; its size.

    The only limit of a request without context, session policy or tags (see
    ``convert.access_query``)."""
    size = request.ByteSize()
    if size > config.max_request_bytes:
        raise too_many(
            prefix.rstrip(".") or "request", size, "bytes", config.max_request_bytes, "max_request_bytes"
        )
    return size


def items_within_size(wire_bytes: int, config: ServiceConfig) -> bool:
    """Whether every item of a batch whose serialized request takes ``wire_bytes`` is within
    ``max_request_bytes`` — each item's ``ByteSize()``, as ``check_request_size`` measures it —
    so that no item's size need be measured.

    An item is a length-delimited field of the batch: its own bytes are fewer than the batch's.
    Its ``ByteSize()`` is the size of its canonical re-encoding, which can exceed the bytes it
    was parsed from, but never doubles them: a field repeated, a default value sent, an
    oversized varint or length prefix all shrink when re-encoded; the one field that grows is
    a negative ``int32`` sent as its 5-byte 32-bit varint (6 bytes with its tag), re-encoded in
    10 (11 with its tag); and a nested message of ``n`` bytes that re-encodes in at most ``2n``
    has a length prefix at most one byte longer, which its tag and prefix (at least two bytes)
    more than cover. So when twice the batch's bytes are within the limit, so is every item.
    ``tests/service/test_batch_uncached_route.py`` checks the bound on mutated items.
    """
    return 2 * wire_bytes <= config.max_request_bytes


def _check_comparisons(policy: str, context: Sequence[Any], limit: int, prefix: str) -> None:
    """Refuse a session policy whose conditions would compare too many values with the context.

    One evaluation cannot be interrupted, and its conditions cost their values times the
    request's values of the same key: a 12 KB session policy of 1,500 patterns against 1,000
    context values once held an Authorize for 5 s. A value takes at least three characters of
    JSON (``"",``), so most requests are cleared by that bound without parsing anything.
    """
    most = max(len(entry.values) for entry in context)
    if len(policy) // 3 * most <= limit:
        return
    try:
        document = load_strict(policy)
    except ValueError:
        return  # malformed: the policy reader reports it
    counts: dict[str, int] = {}
    for entry in context:
        key = entry.key.lower()
        counts[key] = counts.get(key, 0) + len(entry.values)
    comparisons = condition_comparisons(_clauses(document), counts)
    if comparisons > limit:
        setting = flag("max_condition_comparisons")
        raise LimitExceeded(
            f"{prefix}session_policy: {comparisons} condition comparisons (its condition values x the "
            f"context's values of their key), at most {limit} per request ({setting})"
        )


def _clauses(document: Any) -> Iterator[tuple[str, int]]:
    """(condition key, number of values) of every condition clause in a policy's raw JSON."""
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements if isinstance(statements, list) else ():
        condition = statement.get("Condition") if isinstance(statement, dict) else None
        for clauses in condition.values() if isinstance(condition, dict) else ():
            for key, values in clauses.items() if isinstance(clauses, dict) else ():
                yield key, len(values) if isinstance(values, list) else 1


def check_explain_statements(traces: Sequence[PolicyTrace], config: ServiceConfig) -> None:
    """Refuse to build an explanation with more statement traces than allowed."""
    count = sum(len(trace.statements) for trace in traces)
    if count > config.max_explain_statements:
        raise too_many(
            "policies", count, "statement traces", config.max_explain_statements, "max_explain_statements"
        )


def check_explain_bytes(size: int, config: ServiceConfig) -> None:
    """Refuse to send an explanation larger than allowed (``size`` is the serialized answer)."""
    if size > config.max_explain_bytes:
        limit = config.max_explain_bytes
        raise too_many("policies", size, "bytes of explanation", limit, "max_explain_bytes")


def caller_deadline(context: grpc.ServicerContext) -> float | None:
    """The caller's gRPC deadline as a ``time.monotonic()`` instant; ``None`` when it set none."""
    remaining = context.time_remaining() if hasattr(context, "time_remaining") else None
    if remaining is None or remaining > 1e9:  # grpc reports "no deadline" as a huge number
        return None
    return time.monotonic() + max(remaining, 0.0)


class CallClock:
    """The wall-clock budget of one expensive call, checked between its steps."""

    __slots__ = ("budget", "caller_deadline", "started")

    def __init__(self, budget: float, caller_deadline: float | None) -> None:
        self.started = time.monotonic()
        self.budget = budget
        self.caller_deadline = caller_deadline

    def check(self, step: str) -> None:
        """Raise LimitExceeded when the budget, or the caller's deadline, has run out."""
        now = time.monotonic()
        spent = now - self.started
        if self.caller_deadline is not None and now >= self.caller_deadline:
            message = f"the caller's deadline passed after {spent:.2f} s ({step})"
            raise LimitExceeded(message, grpc.StatusCode.DEADLINE_EXCEEDED)
        if spent >= self.budget:
            raise LimitExceeded(
                f"time budget exceeded after {spent:.2f} s ({step}), at most {self.budget:g} s per call "
                f"({flag('max_expensive_call_seconds')})"
            )


class ExpensiveCallGate:
    """At most ``slots`` expensive calls (Simulate, Explain) at once; the next is refused at once.

    Refusing rather than queueing is the point: a queued call would hold a worker thread while
    it waits, and enough of them would starve Authorize just as the work itself did.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots) if slots > 0 else None

    def try_enter(self) -> bool:
        return self._free is not None and self._free.acquire(blocking=False)

    def leave(self) -> None:
        if self._free is not None:
            self._free.release()

    def refusal(self, method: str) -> LimitExceeded:
        if self.slots == 0:
            return LimitExceeded(
                f"{method}: Simulate and Explain are switched off on this sidecar "
                f"({flag('max_expensive_calls')} 0)"
            )
        return LimitExceeded(
            f"{method}: {self.slots} Simulate/Explain calls already running, at most {self.slots} at once "
            f"({flag('max_expensive_calls')}); try again shortly"
        )
