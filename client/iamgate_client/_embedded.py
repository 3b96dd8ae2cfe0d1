"""Embedded mode: the sidecar's engine in the application's process, behind the client's API.

    from iamgate_client import Embedded          # the `embedded` extra (docs/sdk.md, Install)

    with Embedded(bundle="policies/bundle.tar.gz") as iamgate:
        if iamgate.authorize("alice", "s3:GetObject", "arn:aws:s3:::data/x"):
            ...

Why it answers exactly as a sidecar does: it *is* the sidecar minus the network. The bundle is
served by the sidecar's own ``ManagedBundles`` (same loading, verification, tests, activation,
hot reload by polling the file or URL, last good bundle kept on a bad one), and each call goes
through the sidecar's own ``AuthorizerServicer`` method with an in-process stand-in for gRPC's
call context. Requests, limits, the trust model, answers and status codes are therefore the
remote ones, and :class:`Embedded` shares :class:`Client`'s methods, result types, error mapping
and fail-closed policy. The server package is imported only when an ``Embedded`` is made.

``authorize`` alone takes shorter paths for speed, and answers as the servicer would:

* a *plain* question (ASCII strings, a context of text, bools, exact integers and ``Ip`` values,
  no session policy or tags) builds no protobuf message: its wire size is bounded from its text
  (which clears ``max_request_bytes`` and the context limits, or sends it down the general
  path), its query is built and checked once per distinct question (when no request_id is
  given), and the active snapshot's ``authorize`` (which owns validation, the trust model and
  the clock) answers it;
* anything else is the sidecar's request message, limit check and conversion
  (``limits.check_access_request``, ``convert.access_query``), then the same snapshot call;
* with the decision cache on, a plain question's answer is memoised for its snapshot and the
  current second (see :meth:`Embedded.authorize`);
* the outcome is read straight into a :class:`Decision` (engine refs converted once, the
  Decision built through a layout twin: ``_models.decision_from``), no servicer metrics, no retry
  bookkeeping; counting is one C-level increment, the decision log gets lazily built messages.

``tests/client/test_embedded_fast.py`` holds the paths to the same answers and errors; the parity
tests compare them with a sidecar's field by field.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from time import perf_counter as _perf_counter
from time import time as _time
from typing import Any

import grpc

from iamgate_client import _base, _resilience
from iamgate_client._client import Metadata, SyncApi, Timeout
from iamgate_client._counters import Counters, EmbeddedStats
from iamgate_client._errors import ClientClosedError, ConfigurationError, TransportError, error_for_code
from iamgate_client._models import (
    Check,
    ContextInput,
    Decision,
    DecisionShare,
    Ip,
    Outcome,
    PolicyType,
    StatementRef,
    decision_from,
)
from iamgate_client._resilience import OnUnreachable, Retry
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

_log = logging.getLogger("iamgate_client.embedded")


class _Aborted(grpc.RpcError):
    """What ``context.abort`` raises in process; read by the client's error mapping like a real one."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _CallContext:
    """The part of ``grpc.ServicerContext`` the servicer reads: abort, deadline, metadata, peer."""

    __slots__ = ("_deadline", "_metadata")

    def __init__(self, timeout: float | None, metadata: Sequence[tuple[str, Any]] | None) -> None:
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._metadata = tuple(metadata or ())

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise _Aborted(code, details)

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def invocation_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._metadata

    def peer(self) -> str:
        return "in-process"

    def is_active(self) -> bool:
        return True


class _Method:
    """One servicer method with a gRPC multi-callable's signature; counts each call's status."""

    __slots__ = ("_counters", "_method", "_name")

    def __init__(self, method: Any, name: str, counters: Counters) -> None:
        self._method = method
        self._name = name
        self._counters = counters

    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Sequence[tuple[str, Any]] | None = None,
        wait_for_ready: bool | None = None,
    ) -> Any:
        try:
            response = self._method(request, _CallContext(timeout, metadata))
        except _Aborted as error:
            self._counters.request(self._name, error.code().name)
            raise
        self._counters.request(self._name, "OK")
        if self._name == "AuthorizeBatch":
            self._counters.batch_decided(
                [
                    _DECISION_WORDS.get(item.response.decision, "implicitDeny")
                    for item in response.results
                    if item.HasField("response")
                ]
            )
        return response


_DECISION_WORDS = {number: outcome.value for number, outcome in _base.OUTCOMES.items()}
_POLICY_TYPE_NUMBERS = {kind: number for number, kind in _base.POLICY_TYPES.items()}


class _InProcessStub:
    def __init__(self, servicer: Any, counters: Counters) -> None:
        for name in (
            "Authorize",
            "AuthorizeBatch",
            "Explain",
            "Simulate",
            "GetStatus",
            "Rollback",
            "WhoCan",
            "WhatCan",
        ):
            setattr(self, name, _Method(getattr(servicer, name), name, counters))


class _LazyMessage:
    """A protobuf message built only when the decision log's writer thread first reads it.

    The log's event builder reads request and response messages; embedded authorize has neither
    on its fast path, so it queues this stand-in and the writer thread pays for the message.
    """

    __slots__ = ("_build", "_message", "_source")

    def __init__(self, build: Callable[[Any], Any], source: Any) -> None:
        self._build = build
        self._source = source
        self._message: Any = None

    def __getattr__(self, name: str) -> Any:
        message = self._message
        if message is None:
            message = self._message = self._build(self._source)
        return getattr(message, name)


def _plain_request(parts: tuple[Any, ...]) -> pb.AuthorizeRequest:
    """The request a plain question would have been sent as; each context value as its text,
    which is what the decision log writes of any value."""
    principal, action, resource, request_id, plain = parts
    return pb.AuthorizeRequest(
        principal=principal,
        action=action,
        resource=resource,
        request_id=request_id,
        context=[
            pb.ContextEntry(
                key=key, values=[pb.ContextValue(string_value=text) for text in texts], multi_valued=multi
            )
            for key, texts, multi in plain
        ],
    )


def _response_message(decision: Decision) -> pb.AuthorizeResponse:
    """What a sidecar would have sent for ``decision`` (the decision log reads it)."""
    return pb.AuthorizeResponse(
        decision=next(n for n, o in _base.OUTCOMES.items() if o is decision.outcome),
        revision=decision.revision,
        decision_id=decision.decision_id,
        determining_statements=[
            pb.StatementRef(
                policy_id=ref.policy_id,
                policy_type=_POLICY_TYPE_NUMBERS.get(ref.policy_type, 0),
                sid=ref.sid,
                index=ref.index,
            )
            for ref in decision.determining
        ],
        message=decision.message,
        filled_context_keys=decision.filled_context_keys,
        missing_context_keys=decision.missing_context_keys,
        principal_arn=decision.principal_arn,
        request_id=decision.request_id,
        denied_by=_POLICY_TYPE_NUMBERS.get(decision.denied_by, 0),
    )


MEMO_ENTRIES = 4096
"""Answers the embedded memo keeps per bundle revision before it starts afresh."""
MEMO_TEXT_LIMIT = 1024
"""Longer questions (principal + action + resource characters) are never memoised."""


_EXACT_INTEGERS = 2**53
"""Integers a double holds exactly: the wire carries numbers as doubles."""


def _scalar_text(value: Any) -> str | None:
    """A context value's text as the sidecar's conversion gives it, for the types that need no
    protobuf to know it; None for anything else (the general path converts it)."""
    kind = type(value)
    if kind is str:
        return value if value.isascii() else None
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value) if -_EXACT_INTEGERS < value < _EXACT_INTEGERS else None
    if kind is Ip:
        address = value.address
        return address if type(address) is str and address.isascii() else None
    return None


def _text_size(value: Any) -> int:
    """Characters of the strings in a (nested) tuple of strings and flags."""
    if type(value) is str:
        return len(value)
    if type(value) is tuple:
        return sum(_text_size(item) for item in value)
    return 0


class Embedded(SyncApi):
    """Decisions in-process from a bundle file, directory or http(s) URL, with hot reload.

    ``bundle=None`` serves the embedded default bundle (the beginner's guide organization).
    ``poll_interval`` is how often the bundle is checked for a new revision (seconds);
    ``verify_key`` / ``hmac_secret_file`` require signed bundles, as ``iamgate serve`` does;
    ``cache_size`` sizes the decision cache (0: off, which also turns off the answer memo);
    ``trusted_context_keys`` is ``--trust-context-key``; ``enable_admin`` allows :meth:`rollback`.
    ``decision_log`` (a file path, or ``"-"`` for stderr) writes the sidecar's decision-log lines,
    with ``sensitive_context_keys`` redacted; ``service_options`` sets any other field of the
    sidecar's ``ServiceConfig`` (request limits, decision-log bounds and rotation), by its name.
    Every method of :class:`Client` is here, with the same arguments and answers. A setting that
    cannot serve (a bundle that fails to load at start, a bad limit) raises
    :class:`ConfigurationError` naming it. :meth:`stats` and :meth:`prometheus_registry` count
    what was answered.
    """

    in_process = True
    """Guards call an in-process authorizer directly, even from async code (no thread hop)."""

    def __init__(
        self,
        bundle: str | None = None,
        *,
        poll_interval: float = 5.0,
        verify_key: str | None = None,
        hmac_secret_file: str | None = None,
        cache_size: int | None = None,
        trusted_context_keys: Sequence[str] = (),
        enable_admin: bool = False,
        decision_log: str | None = None,
        sensitive_context_keys: Iterable[str] = (),
        service_options: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        metadata: Metadata = (),
        retry: Retry = _resilience.NO_RETRY,
        on_unreachable: OnUnreachable = "deny",
    ) -> None:
        try:
            from iamgate.bundle.query import AccessQuery
            from iamgate.engine.errors import RequestError
            from iamgate.engine.request import ContextValue
            from iamgate.service import (
                AuthorizerServicer,
                BundleSettings,
                ManagedBundles,
                ServiceConfig,
                ServiceError,
                ServiceMetrics,
                convert,
                limits,
            )
            from iamgate.service.decision_logs import DecisionLogger, decision_log_limits
            from iamgate.service.servicer import INTERNAL, NO_BUNDLE
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise ConfigurationError(
                "Embedded needs the iamgate engine: install the iamgate distribution from the iamgate "
                f"repository or its wheel, never by bare name (docs/sdk.md, Install) ({error})"
            ) from None
        self._counters = Counters()
        self._closed = True  # until everything below is up: close() then releases only what exists
        self._log: Any = None
        self._source: Any = None
        settings: dict[str, Any] = {
            "bundle": bundle,
            "poll_interval": poll_interval,
            "verify_key": verify_key,
            "hmac_secret_file": hmac_secret_file,
            "trusted_context_keys": tuple(trusted_context_keys),
        }
        if cache_size is not None:
            settings["cache_size"] = cache_size
        try:
            config = ServiceConfig(
                **{
                    **dict(service_options or {}),
                    "metrics_address": None,
                    "enable_admin": enable_admin,
                    "decision_log": decision_log,
                    "sensitive_context_keys": frozenset(sensitive_context_keys),
                }
            )
        except TypeError as error:
            raise ConfigurationError(f"service_options: {error}") from None
        except ServiceError as error:
            raise ConfigurationError(str(error)) from None
        if decision_log is not None:
            try:
                self._log = DecisionLogger.open(
                    decision_log,
                    sensitive_keys=config.sensitive_context_keys,
                    max_queue=config.decision_log_queue_size,
                    on_drop=self._counters.log_dropped,
                    on_truncate=self._counters.log_truncated,
                    max_bytes=config.decision_log_max_bytes,
                    max_files=config.decision_log_max_files,
                    limits=decision_log_limits(config),
                )
            except OSError as error:
                message = f"decision_log: cannot open {decision_log}: {error.strerror}"
                raise ConfigurationError(message) from None
        try:
            self._source = ManagedBundles(BundleSettings(**settings))
            self._source.start()
        except ServiceError as error:
            if self._log is not None:
                self._log.close()
            raise ConfigurationError(str(error)) from None
        servicer = AuthorizerServicer(
            self._source, metrics=ServiceMetrics(), decision_log=self._log, config=config
        )
        self.address = f"embedded:{bundle or 'default'}"
        self.timeout = timeout
        self.retry = retry
        self.on_unreachable = _resilience.check_on_unreachable(on_unreachable)
        self._metadata = tuple(metadata)
        self._stub = _InProcessStub(servicer, self._counters)
        self._closed = False
        # The fast authorize path's parts (see the module docstring).
        self._config = config
        self._check_limits = limits.check_access_request
        self._LimitExceeded = limits.LimitExceeded
        self._access_query = convert.access_query
        self._check_target = convert.check_target
        self._AccessQuery = AccessQuery
        self._current = self._source.manager.current  # ManagedBundles.current, one call fewer
        # Four strings of at most this many ASCII characters always fit in max_request_bytes: each
        # field costs its bytes plus a tag and a length (at most 6 bytes up to 2**35).
        self._plain_chars = config.max_request_bytes - 4 * 6
        self._outcome_of = {id(engine): Outcome(engine.value) for engine in convert.DECISIONS}
        self._allowed = next(engine for engine in convert.DECISIONS if engine.value == Outcome.ALLOWED.value)
        self._kinds = {id(kind): _base.POLICY_TYPES[number] for kind, number in convert.POLICY_TYPES.items()}
        self._refs: dict[int, tuple[Any, StatementRef]] = {}
        self._outcome_parts: dict[int, tuple[Any, DecisionShare]] = {}
        self._queries: dict[tuple[Any, ...], Any] = {}
        self._known_values: dict[tuple[str, tuple[str, ...], bool], Any] = {}
        self._ContextValue = ContextValue
        self._max_context_entries = config.max_context_entries
        self._max_context_values = config.max_context_values
        self._authorized = {outcome: self._counters.authorized[outcome.value] for outcome in Outcome}
        self._memo_hits = self._counters.memo_hits
        self._memo: dict[tuple[Any, ...], tuple[Any, int, tuple[Any, ...]]] | None = (
            {} if cache_size != 0 else None
        )
        self._memo_for: Any = None
        self._RequestError = RequestError
        self._no_bundle = NO_BUNDLE
        self._internal = INTERNAL
        # Decision ids "e<10 hex>-1", "-2", ...: made by C iterators, no Python frame per id.
        self._ids = map(f"e{os.urandom(5).hex()}-".__add__, map(str, itertools.count(1)))

    def authorize(
        self,
        principal: str,
        action: str,
        resource: str,
        context: ContextInput | None = None,
        session_policy: str | Mapping[str, Any] | None = None,
        *,
        request_id: str = "",
        session_tags: Mapping[str, str] | None = None,
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> Decision:
        """May ``principal`` perform ``action`` on ``resource``? Answered in-process.

        A plain question (ASCII strings, a context of plain values as ``_plain_context`` says,
        no session policy or tags: what most callers and every guard send) takes the path below,
        with no protobuf message at all; anything else is built, limited and converted exactly
        as the sidecar receives it (``_authorize_message``). Both end in the active snapshot's
        ``authorize``, which owns validation, the trust model and the clock.
        """
        if self._closed:
            raise ClientClosedError()
        log = self._log
        started = _perf_counter() if log is not None else 0.0
        query = None
        if (
            context is None
            and session_policy is None
            and not session_tags
            and type(principal) is str
            and type(action) is str
            and type(resource) is str
            and request_id == ""
        ):
            # The common question: its query, if asked before, was checked and kept under this
            # key (equal strings: the same ASCII text and sizes the checks below passed).
            key: tuple[Any, ...] = (principal, action, resource, ())
            query = self._queries.get(key)
            plain: Any = ()
            memorable = True
        if query is None:
            if (
                session_tags
                or (session_policy is not None and session_policy != "")
                or type(principal) is not str
                or type(action) is not str
                or type(resource) is not str
                or type(request_id) is not str
                or len(principal) + len(action) + len(resource) + len(request_id) > self._plain_chars
                or not (
                    principal.isascii() and action.isascii() and resource.isascii() and request_id.isascii()
                )
            ):
                plain = None
            elif context:
                room = self._plain_chars - len(principal) - len(action) - len(resource) - len(request_id)
                plain, size = self._plain_context(context, room)
            else:
                plain, size = (), 0
            if plain is None:
                return self._authorize_message(
                    Check(principal, action, resource, context, session_policy, request_id, session_tags),
                    started,
                )
            key = (principal, action, resource, plain)
            memorable = len(principal) + len(action) + len(resource) + size <= MEMO_TEXT_LIMIT
        snapshot = self._current()
        memo = self._memo if snapshot is not None else None
        if memo is not None:
            # Memoised answers are the snapshot's own for this snapshot and this second: a plain
            # question's answer is a function of the snapshot, the question (its principal,
            # action, resource and context as text; the bundle layer never reads request_id,
            # which is only echoed) and the whole second the snapshot reads from the clock for
            # aws:CurrentTime and aws:EpochTime. A hit also means this very question passed
            # validation and the trust model before; an error is never memoised.
            if self._memo_for is not snapshot:
                memo = self._memo = {}
                self._memo_for = snapshot
            second = int(_time())
            entry = memo.get(key)
            if entry is not None and entry[0] is snapshot and entry[1] == second:
                parts = entry[2]
                decision = decision_from(parts, next(self._ids), request_id)
                next(self._authorized[parts[0]])
                next(self._memo_hits)
                if log is not None:
                    self._submit(decision, (principal, action, resource, request_id, plain), started)
                return decision
        try:
            if query is None:
                keep = memorable and not request_id
                query = self._queries.get(key) if keep else None
                if query is None:
                    if not principal:
                        raise self._RequestError("principal", "must not be empty")
                    self._check_target(action, resource)
                    context_values = self._context_values(plain) if plain else ()
                    query = self._AccessQuery(
                        principal, action, resource, context_values, None, request_id, ()
                    )
                    if keep:
                        # A query is a value, checked without the snapshot: build and check it once.
                        if len(self._queries) >= MEMO_ENTRIES:
                            self._queries.clear()
                        self._queries[key] = query
            # No bundle: the question is still validated first, as a sidecar does.
            outcome = snapshot.authorize(query) if snapshot is not None else None
        except self._RequestError as error:
            self._counters.request("Authorize", "INVALID_ARGUMENT")
            raise error_for_code(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        except Exception as error:
            raise self._internal_error(error) from None
        if outcome is None:
            return self._no_bundle_answer(request_id)
        known = self._outcome_parts.get(id(outcome))  # ``_parts``, its hit inlined
        parts = known[1] if known is not None and known[0] is outcome else self._parts(outcome)
        if (
            memo is not None
            and memorable
            and int(_time()) == second  # the snapshot read this very second too
        ):
            if len(memo) >= MEMO_ENTRIES:
                memo.clear()
            memo[key] = (snapshot, second, parts)
        decision = decision_from(parts, next(self._ids), request_id)
        next(self._authorized[parts[0]])
        if log is not None:
            self._submit(decision, (principal, action, resource, request_id, plain), started)
        return decision

    def _plain_context(self, context: Any, room: int) -> tuple[Any, int]:
        """The context as (key, texts, multi) entries, exactly as the sidecar would convert it,
        and their characters; or (None, 0) when it needs the general path: a value other than
        ASCII text, a bool, an integer a double holds exactly or an :class:`Ip` (or a list or
        tuple of them), an empty or non-ASCII key, or a size near a limit. ``room`` is what the
        request's wire size may still take under max_request_bytes; each entry and value is
        charged its text plus 16 bytes, more than protobuf spends on framing.
        """
        if type(context) is not dict or len(context) > self._max_context_entries:
            return None, 0
        entries = []
        count = chars = 0
        for key, raw in context.items():
            if type(key) is not str or not key or not key.isascii():
                return None, 0
            kind = type(raw)
            if kind is list or kind is tuple:
                texts = tuple(_scalar_text(item) for item in raw)
                if None in texts:
                    return None, 0
                entry = (key, texts, True)
            else:
                text = _scalar_text(raw)
                if text is None:
                    return None, 0
                texts = (text,)
                entry = (key, texts, False)
            count += len(texts)
            size = len(key) + sum(len(text) for text in texts)  # type: ignore[arg-type]
            chars += size
            room -= size + 16 + 16 * len(texts)
            entries.append(entry)
        if room < 0 or count > self._max_context_values:
            return None, 0
        return tuple(entries), chars

    def _context_values(self, plain: tuple[tuple[str, tuple[str, ...], bool], ...]) -> tuple[Any, ...]:
        """The engine's ContextValues for plain entries; each distinct entry is built once (bounded)."""
        known = self._known_values
        values = []
        for entry in plain:
            value = known.get(entry)
            if value is None:
                value = self._ContextValue(*entry)
                if _text_size(entry) <= MEMO_TEXT_LIMIT:
                    if len(known) >= MEMO_ENTRIES:
                        known.clear()
                    known[entry] = value
            values.append(value)
        return tuple(values)

    def _authorize_message(self, check: Check, started: float) -> Decision:
        """The general path: the request message a sidecar would receive, its limits and conversion."""
        request = _base.checked(_base.authorize_request, check)
        try:
            self._check_limits(request, self._config)
            query = self._access_query(request)
            snapshot = self._current()
            outcome = snapshot.authorize(query) if snapshot is not None else None
        except self._RequestError as error:
            self._counters.request("Authorize", "INVALID_ARGUMENT")
            raise error_for_code(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        except self._LimitExceeded as error:
            self._counters.request("Authorize", error.code.name)
            raise error_for_code(error.code, error.message) from None
        except Exception as error:
            raise self._internal_error(error) from None
        if outcome is None:
            return self._no_bundle_answer(check.request_id)
        parts = self._parts(outcome)
        decision = decision_from(parts, next(self._ids), check.request_id)
        next(self._authorized[parts[0]])
        if self._log is not None:
            response = _LazyMessage(_response_message, decision)
            self._log.submit("Authorize", request, response, *self._times(started))
        return decision

    def _parts(self, outcome: Any) -> DecisionShare:
        """An outcome's fields in the client's types: what every Decision for it shares.

        The bundle layer hands out the same outcome again for the same answer (see
        ``Snapshot.authorize``), so the last ones are remembered by identity (holding the outcome
        keeps its id from being reused; bounded). The engine's enum members are looked up by
        identity (an Enum hashes in Python code).
        """
        known = self._outcome_parts.get(id(outcome))
        if known is not None and known[0] is outcome:
            return known[1]
        parts = self._parts_afresh(outcome)
        if len(self._outcome_parts) >= MEMO_ENTRIES:
            self._outcome_parts.clear()
        self._outcome_parts[id(outcome)] = (outcome, parts)
        return parts

    def _parts_afresh(self, outcome: Any) -> DecisionShare:
        evaluation = outcome.evaluation
        decision = evaluation.decision
        denied_by = evaluation.denied_by
        kinds = self._kinds
        determining: tuple[StatementRef, ...] = ()
        if evaluation.determining:
            refs = self._refs
            converted = []
            for ref in evaluation.determining:
                # Statement refs come from the compiled bundle: convert each once. Keyed by
                # identity (holding the ref keeps its id from being reused); bounded.
                known = refs.get(id(ref))
                if known is None or known[0] is not ref:
                    if len(refs) >= MEMO_ENTRIES:
                        refs.clear()
                    client_ref = StatementRef(
                        ref.policy_id,
                        kinds.get(id(ref.kind), PolicyType.UNSPECIFIED),
                        ref.sid or "",
                        ref.index,
                    )
                    known = refs[id(ref)] = (ref, client_ref)
                converted.append(known[1])
            determining = tuple(converted)
        return (
            self._outcome_of[id(decision)],
            outcome.message,
            outcome.revision,
            outcome.principal_arn,
            determining,
            tuple(outcome.filled_context),
            tuple(evaluation.missing_context),
            (
                kinds.get(id(denied_by), PolicyType.UNSPECIFIED)
                if denied_by is not None and decision is not self._allowed
                else PolicyType.UNSPECIFIED
            ),
        )

    def _no_bundle_answer(self, request_id: str) -> Decision:
        self._counters.request("Authorize", "UNAVAILABLE")
        error = error_for_code(grpc.StatusCode.UNAVAILABLE, self._no_bundle)
        if self.on_unreachable == "raise":
            raise error
        assert isinstance(error, TransportError)
        self._counters.failed_closed()
        return _resilience.fail_closed(self.address, error, request_id)

    def _internal_error(self, error: Exception) -> Exception:
        _log.error("Authorize failed in process; answering INTERNAL (nothing allowed)", exc_info=error)
        self._counters.request("Authorize", "INTERNAL")
        return error_for_code(grpc.StatusCode.INTERNAL, self._internal)

    def _times(self, started: float) -> tuple[float, float]:
        return _perf_counter() - started, _time()

    def _submit(self, decision: Decision, parts: tuple[Any, ...], started: float) -> None:
        self._log.submit(
            "Authorize",
            _LazyMessage(_plain_request, parts),
            _LazyMessage(_response_message, decision),
            *self._times(started),
        )

    def stats(self) -> EmbeddedStats:
        """What this Embedded answered so far: decisions by outcome, calls by status, fail-closed
        denials, memo hits and the decision log's drops and truncations."""
        return self._counters.read()

    def prometheus_registry(self) -> Any:
        """The same counters as a ``prometheus_client`` registry, under the sidecar's metric names
        (``iamgate_decisions_total{decision}``, ``iamgate_requests_total{method,code}``, ...), for an
        application that serves ``/metrics``. Raises :class:`ConfigurationError` without prometheus-client."""
        return self._counters.prometheus_registry()

    def flush_decision_log(self, timeout: float = 5.0) -> bool:
        """Wait until every decision so far is written to the decision log (True) or the timeout passes."""
        return True if self._log is None else self._log.flush(timeout)

    def __enter__(self) -> Embedded:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop polling the bundle and write out the decision log; later calls raise
        :class:`ClientClosedError`."""
        if self._source is not None:
            source, self._source = self._source, None
            self._closed = True
            source.stop()
        if self._log is not None:
            log, self._log = self._log, None
            log.close()
