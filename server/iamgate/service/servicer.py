"""The Authorizer servicer: requests in, decisions out, nothing else.

Dependencies arrive through the constructor (the snapshot source, metrics, decision logger and
config), so tests can hand in fakes and several servers can live in one process. Failure modes:

* malformed request          -> INVALID_ARGUMENT, the message naming the field;
* over a limit               -> RESOURCE_EXHAUSTED naming the limit's flag (``service/limits.py``);
* caller's deadline mid-work -> DEADLINE_EXCEEDED (Simulate stops between evaluations);
* no bundle active yet       -> UNAVAILABLE;
* anything unexpected        -> INTERNAL, logged with a traceback: never an allow (fail closed),
                                and the server keeps serving.

A deny is an OK response. The Authorize path does no I/O and no formatting: it reads the active
snapshot once through the source (``BundleManager.authorize``, which also evaluates a shadow
bundle beside it), and the decision log gets references to the request and response and does
its work on its own thread.
"""

from __future__ import annotations

import itertools
import logging
import operator
import os
import time
from collections.abc import Callable
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

import iamgate
from iamgate.bundle.access import AccessError, detached, what_can, who_can
from iamgate.bundle.activation import NoActiveBundleError
from iamgate.bundle.snapshot import ANSWER_TEXT_LIMIT, ANSWERS_KEPT
from iamgate.catalogue import aws_catalogue
from iamgate.engine.errors import RequestError
from iamgate.engine.result import Decision
from iamgate.engine.simulate import SimulationInputError, SimulationLimitError, SimulationStopped, simulate
from iamgate.service import access_queries, convert, limits, tracing
from iamgate.service.config import ServiceConfig
from iamgate.service.decision_logs import DecisionLogger
from iamgate.service.metrics import ServiceMetrics
from iamgate.service.snapshots import RollbackUnavailable, SnapshotSource
from iamgate.service.wire import MalformedRequest, guarded_deserializer
from iamgate.service.wire_answers import (
    ACTION_ID_TAG,
    REQUEST_ID_TAG,
    VARINTS,
    RawBatch,
    RawMany,
    WireAnswer,
    id_splits,
    item_result,
    request_key,
    shared_key,
    varint,
    wire_answer,
)
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

_log = logging.getLogger(__name__)

DECISION_NAMES = tuple(decision.value for decision in Decision)

NO_BUNDLE = "no policy bundle is active yet; try again when the sidecar reports SERVING"
INTERNAL = "internal error while deciding; the request was not allowed (see the sidecar's log)"
ENCODINGS_KEPT = 4096
"""Outcomes whose response templates a servicer keeps (``AuthorizerServicer._encoded``)."""
ENCODED_MESSAGE_KEPT = 512
"""An outcome whose message is longer than this is never kept by ``_encoded``: the message
quotes the caller's principal, action and resource, and an entry holds it ~7 times (the outcome
and its response templates): 4,096 outcomes of 0.9 KB principals kept 84 MB. Ordinary messages
are ~200 characters."""


DETAILS_KEPT = 2048
"""The longest status message a call ends with (``bounded_details``)."""


def bounded_details(message: str) -> str:
    """``message`` cut to about ``DETAILS_KEPT`` characters: its head and its tail, saying how much
    of the middle was left out.

    A status message travels in a trailer (``grpc-message``, percent-encoded: up to 3 bytes per
    character), and clients refuse trailers over 16 KiB: an error quoting a caller's 60 KB field
    reached the caller as ``RESOURCE_EXHAUSTED: Stream removed`` instead of ``INVALID_ARGUMENT``
    naming the field. The head names the field and the tail says what is wrong; what is cut is
    the caller's own text, quoted in between."""
    if len(message) <= DETAILS_KEPT:
        return message
    head, tail = DETAILS_KEPT * 3 // 4, DETAILS_KEPT // 4
    cut = len(message) - head - tail
    return f"{message[:head]}[... {cut:,} characters cut ...]{message[-tail:]}"


class _Aborted(Exception):
    """Raised by ``_abort`` in tests' fake contexts that do not raise on ``abort``."""


class AuthorizerServicer(pb_grpc.AuthorizerServicer):
    def __init__(
        self,
        snapshots: SnapshotSource,
        *,
        metrics: ServiceMetrics | None = None,
        decision_log: DecisionLogger | None = None,
        config: ServiceConfig | None = None,
    ) -> None:
        self._snapshots = snapshots
        self._authorize = getattr(snapshots, "authorize", None) or _authorize_current(snapshots)
        # The source's own authorize (the active snapshot's, beside any shadow comparison) is the
        # one used: fixed for this servicer. Whether a shadow is compared is not (one may be
        # loaded at any time), so ``_decide_items`` reads ``shadowing`` once per batch.
        self._source_authorizes = self._authorize == getattr(snapshots, "authorize", None)
        self._metrics = metrics if metrics is not None else ServiceMetrics()
        self._log = decision_log
        self._config = config if config is not None else ServiceConfig()
        self._simulation_limits = limits.simulation_limits(self._config)
        self._expensive = limits.ExpensiveCallGate(self._config.max_expensive_calls)
        self._access_answers = access_queries.AnswerCache()
        # Decision ids: a random per-process prefix and a counter, unique without a syscall each.
        self._id_prefix = os.urandom(6).hex()
        self._id_length = len(self._id_prefix) + 1  # "PREFIX-"; the number follows
        self._ids = itertools.count(1)
        # Stands for this servicer's limits in the batch answers it keeps in a snapshot
        # (``_decide_items``): another servicer, with other limits, never finds them.
        self._answers_token = object()
        # (snapshot's answers, digits, {item bytes: (template, decision, session policy)}): see
        # _quick_answers
        self._quick: tuple[Any, int, dict[bytes, tuple[bytes, str, str]]] = (None, 0, {})
        # Outcome -> its response's splicing templates (``_encoded``): by identity, bounded.
        self._encodings: dict[int, tuple[Any, WireAnswer | None]] = {}

    # --- helpers ------------------------------------------------------------------------------

    def _abort(
        self, context: grpc.ServicerContext, method: str, code: grpc.StatusCode, message: str
    ) -> NoReturn:
        self._metrics.count_request(method, code.name)
        message = bounded_details(message)
        context.abort(code, message)
        raise _Aborted(message)  # context.abort raises; this line only satisfies fakes and typing

    def _internal(self, context: grpc.ServicerContext, method: str, error: BaseException) -> NoReturn:
        _log.error("%s failed; answering INTERNAL (nothing allowed)", method, exc_info=error)
        self._metrics.internal_errors.labels(method).inc()
        self._abort(context, method, grpc.StatusCode.INTERNAL, INTERNAL)

    def _snapshot(self, context: grpc.ServicerContext, method: str) -> Any:
        snapshot = self._snapshots.current()
        if snapshot is None:
            self._abort(context, method, grpc.StatusCode.UNAVAILABLE, NO_BUNDLE)
        return snapshot

    def _decide(
        self,
        request: Any,
        method: str,
        started: float,
        *,
        prefix: str = "",
        explain: bool = False,
        pinned: Any | None = None,
        trace_id: str = "",
        queries: list[Any] | None = None,
    ) -> tuple[pb.AuthorizeResponse, Any]:
        """Decide one request; raises RequestError for a malformed field, LimitExceeded for an
        oversized one; anything else is a bug.

        ``pinned`` (a batch's snapshot) keeps a whole batch on one revision: should a new one be
        activated mid-batch, the item is answered again from the pinned snapshot.
        """
        query = convert.access_query(request, prefix, self._config)
        if queries is not None:
            queries.append(query)
        try:
            outcome = self._authorize(query, explain=explain)
            if pinned is not None and outcome.revision != pinned.revision:
                outcome = pinned.authorize(query, explain=explain)
        except RequestError as error:
            if not prefix:
                raise
            raise RequestError(prefix + error.field, error.detail) from None  # a batch item names its index
        response = convert.authorize_response(
            outcome, f"{self._id_prefix}-{next(self._ids)}", request.request_id
        )
        elapsed = time.perf_counter() - started
        self._metrics.count_decision(outcome.evaluation.decision.value, elapsed)
        if self._log is not None:
            self._log.submit(method, request, response, elapsed, time.time(), trace_id)
        return response, outcome

    # --- RPCs ---------------------------------------------------------------------------------

    def Authorize(self, request: pb.AuthorizeRequest, context: grpc.ServicerContext) -> pb.AuthorizeResponse:
        return self._authorize_message(request, context, time.perf_counter())[0]

    def AuthorizeBatch(
        self, request: pb.AuthorizeBatchRequest, context: grpc.ServicerContext
    ) -> pb.AuthorizeBatchResponse:
        return pb.AuthorizeBatchResponse(results=self._authorize_batch(request, context))

    def _authorize_batch(
        self,
        request: pb.AuthorizeBatchRequest,
        context: grpc.ServicerContext,
        encode: bool = False,
        wire_bytes: int | None = None,
    ) -> list[Any]:
        """``AuthorizeBatch``'s results (``encode``: see ``_decide_items``; ``wire_bytes``: the
        size of the request as received, when known)."""
        method = "AuthorizeBatch"
        items = list(request.requests)  # once: each pass over the container makes the items anew
        self._check_batch_size(context, method, "requests", len(items))
        policies = 1
        try:
            policies = limits.check_batch_items(items, self._config)
        except limits.LimitExceeded as error:
            self._abort(context, method, error.code, error.message)
        snapshot = self._snapshot(context, method)  # one snapshot: the whole batch sees one revision
        sized = wire_bytes is not None and limits.items_within_size(wire_bytes, self._config)
        results = self._decide_batch_items(items, snapshot, encode=encode, sized=sized, policies=policies > 0)
        self._metrics.count_request(method)
        return results

    def _decide_batch_items(
        self,
        items: Any,
        snapshot: Any,
        numbers: list[int] | None = None,
        *,
        encode: bool = False,
        sized: bool = False,
        policies: bool = True,
    ) -> list[Any]:
        """``_decide_items`` for AuthorizeBatch items (``numbers``: their indexes in the batch;
        ``sized``: every item is known to be within ``max_request_bytes``; ``policies``: False
        when no item is known to carry a session policy)."""
        config = self._config
        most = config.max_request_bytes
        access_query = convert.access_query

        def query_of(item: pb.AuthorizeRequest, index: int) -> Any:
            try:  # the usual case names no field: the item's prefix is formatted only for an error
                return access_query(item, "", config)
            except (RequestError, limits.LimitExceeded):
                return access_query(item, f"requests[{index}].", config)

        token = self._answers_token

        def answer_key(item: pb.AuthorizeRequest) -> Any:
            # The item's bytes without its request id: equal bytes are an equal request, which
            # passed every check and limit but the size (checked here: the id counts).
            if item.ByteSize() > most:
                return None
            wire = request_key(item)  # AuthorizeBatchWire finds it by the same bytes
            return (token, wire) if len(wire) <= ANSWER_TEXT_LIMIT else None

        return self._decide_items(
            "AuthorizeBatch",
            "requests",
            items,
            snapshot,
            query_of,
            _same,
            answer_key,
            numbers=numbers,
            encode=encode,
            plain_items=True,
            sized=sized,
            policies=policies,
        )

    def AuthorizeMany(
        self, request: pb.AuthorizeManyRequest, context: grpc.ServicerContext
    ) -> pb.AuthorizeBatchResponse:
        """One principal, many (action, resource) pairs: the shared fields are checked and
        converted once; each item is limited and decided exactly as the equivalent
        AuthorizeRequest would be."""
        return pb.AuthorizeBatchResponse(results=self._authorize_many(request, context))

    def _authorize_many(
        self, request: pb.AuthorizeManyRequest, context: grpc.ServicerContext, encode: bool = False
    ) -> list[Any]:
        """``AuthorizeMany``'s results (``encode``: see ``_decide_items``)."""
        method = "AuthorizeMany"
        self._check_batch_size(context, method, "items", len(request.items))
        config = self._config
        shared_request = pb.AuthorizeRequest(
            principal=request.principal,
            context=request.context,
            session_policy=request.session_policy,
            session_tags=request.session_tags,
        )
        try:
            # The context and session policy limits depend on the shared fields only; the
            # request-size limit is checked per item below (shared bytes + the item's bytes).
            limits.check_access_request(shared_request, config)
            shared = convert.shared_query(request)
        except RequestError as error:
            self._abort(context, method, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except limits.LimitExceeded as error:
            self._abort(context, method, error.code, error.message)
        shared_size = shared_request.ByteSize()
        snapshot = self._snapshot(context, method)

        def query_of(item: pb.ActionOnResource, index: int) -> Any:
            # ActionOnResource's fields have AuthorizeRequest's wire sizes (one-byte tags), so
            # this is the ByteSize of the AuthorizeRequest the item stands for.
            size = shared_size + item.ByteSize()
            if size > config.max_request_bytes:
                limit = config.max_request_bytes
                raise limits.too_many(f"items[{index}]", size, "bytes", limit, "max_request_bytes")
            try:
                return convert.item_query(shared, item)
            except RequestError:
                return convert.item_query(shared, item, f"items[{index}].")

        def log_request(item: pb.ActionOnResource) -> pb.AuthorizeRequest:
            whole = pb.AuthorizeRequest()
            whole.CopyFrom(shared_request)
            whole.action, whole.resource, whole.request_id = item.action, item.resource, item.request_id
            return whole

        # The shared fields' bytes and the item's bytes without its id stand for the whole
        # request (AuthorizeManyWire finds them by the same bytes).
        group = (self._answers_token, shared_key(request))
        most = config.max_request_bytes

        def answer_key(item: pb.ActionOnResource) -> Any:
            if shared_size + item.ByteSize() > most:
                return None
            key = request_key(item)
            return (group, key) if len(key) <= ANSWER_TEXT_LIMIT else None

        results = self._decide_items(
            method,
            "items",
            request.items,
            snapshot,
            query_of,
            log_request,
            answer_key if len(group[1]) <= ANSWER_TEXT_LIMIT else None,
            shared_size,
            encode=encode,
        )
        self._metrics.count_request(method)
        return results

    # --- the same RPCs on raw bytes (registered by ``wire.add_authorizer``) ------------------------

    def AuthorizeWire(self, data: bytes, context: grpc.ServicerContext) -> bytes:
        """``Authorize`` on the request's bytes: a remembered answer is spliced from bytes
        (``wire_answers``); anything else is parsed and answered by ``Authorize``, and its answer
        remembered for the next time."""
        started = time.perf_counter()
        snapshot = self._snapshots.current()
        answers = self._wire_answers(snapshot)
        if answers is not None:
            answer = self._authorize_from_memory(data, snapshot, answers, context, started)
            if answer is not None:
                return answer
        request = self._parse(data, self._authorize_request, "Authorize", context)
        # before deciding: the decision log's thread may read the request afterwards
        key = request_key(request) if answers is not None else b""
        response, query, outcome = self._authorize_message(request, context, started)
        if answers is not None and len(key) <= ANSWER_TEXT_LIMIT:
            fields = convert.authorize_fields(outcome, "", "")
            decision = outcome.evaluation.decision.value
            wire = wire_answer(fields, self._id_prefix, decision, query.session_policy or "")
            snapshot.remember((self._answers_token, key), query, outcome, fields, decision, wire)
        return response.SerializeToString()

    def AuthorizeBatchWire(self, data: bytes, context: grpc.ServicerContext) -> bytes:
        """``AuthorizeBatch`` on the request's bytes: when every item is a remembered answer the
        whole answer is spliced from bytes; otherwise the batch is parsed and answered by
        ``AuthorizeBatch`` (which remembers its answers for the next time)."""
        snapshot = self._snapshots.current()
        answers = self._wire_answers(snapshot)
        if answers is not None:
            try:
                items = RawBatch.FromString(data).items
            except Exception:
                items = None  # malformed: the ordinary path says why
            if items is not None:
                token, log, missed = self._answers_token, _batch_log(items), self._decide_missed
                answer = self._splice(
                    "AuthorizeBatch", items, token, REQUEST_ID_TAG, snapshot, answers, log, missed
                )
                if answer is not None:
                    return answer
        request = self._parse(data, self._batch_request, "AuthorizeBatch", context)
        results = self._authorize_batch(request, context, encode=self._log is None, wire_bytes=len(data))
        return self._joined(results)

    def AuthorizeManyWire(self, data: bytes, context: grpc.ServicerContext) -> bytes:
        """``AuthorizeMany`` on the request's bytes, as ``AuthorizeBatchWire``: the shared
        fields' bytes and each item's bytes without its request id find a remembered answer."""
        snapshot = self._snapshots.current()
        answers = self._wire_answers(snapshot)
        if answers is not None:
            try:
                raw = RawMany.FromString(data)
                items = list(raw.items)
                raw.ClearField("items")
                group: Any = (self._answers_token, raw.SerializeToString())
            except Exception:
                items = None  # malformed: the ordinary path says why
            if items is not None:
                log = _many_log(data)
                answer = self._splice("AuthorizeMany", items, group, ACTION_ID_TAG, snapshot, answers, log)
                if answer is not None:
                    return answer
        request = self._parse(data, self._many_request, "AuthorizeMany", context)
        return self._joined(self._authorize_many(request, context, encode=self._log is None))

    _authorize_request = staticmethod(guarded_deserializer(pb.AuthorizeRequest))
    _batch_request = staticmethod(guarded_deserializer(pb.AuthorizeBatchRequest))
    _many_request = staticmethod(guarded_deserializer(pb.AuthorizeManyRequest))

    def _parse(
        self, data: bytes, deserialize: Callable[[bytes], Any], method: str, context: grpc.ServicerContext
    ) -> Any:
        request = deserialize(data)
        if request.__class__ is MalformedRequest:  # as wire.guarded_behavior answers it
            self._abort(context, method, grpc.StatusCode.INVALID_ARGUMENT, request.describe())
        return request

    def _wire_answers(self, snapshot: Any) -> dict | None:
        """The answers ``snapshot`` remembers, when a request may be answered from them: it has a
        decision cache, and no shadow bundle is compared with every answer."""
        if snapshot is None or getattr(snapshot, "decision_cache", None) is None:
            return None
        if getattr(self._snapshots, "shadowing", False):
            return None
        return getattr(snapshot, "answers", None)

    def _authorize_message(
        self, request: pb.AuthorizeRequest, context: grpc.ServicerContext, started: float
    ) -> tuple[pb.AuthorizeResponse, Any, Any]:
        """``Authorize``, also returning the query and outcome (for ``Snapshot.remember``)."""
        queries: list[Any] = []
        try:
            trace = tracing.from_context(context) if self._log is not None else ""
            response, outcome = self._decide(request, "Authorize", started, trace_id=trace, queries=queries)
        except NoActiveBundleError:
            self._abort(context, "Authorize", grpc.StatusCode.UNAVAILABLE, NO_BUNDLE)
        except RequestError as error:
            self._abort(context, "Authorize", grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except limits.LimitExceeded as error:
            self._abort(context, "Authorize", error.code, error.message)
        except Exception as error:
            self._internal(context, "Authorize", error)
        self._metrics.count_request("Authorize")
        return response, queries[0], outcome

    def _authorize_from_memory(
        self, data: bytes, snapshot: Any, answers: dict, context: grpc.ServicerContext, started: float
    ) -> bytes | None:
        """The answer to an Authorize request remembered under its bytes (see ``wire_answers``)."""
        token = self._answers_token
        found = answers.get((token, data))
        split = -1
        if found is None:
            for split in id_splits(data):
                found = answers.get((token, data[:split]))
                if found is not None:
                    break
            else:
                return None
        if len(found) < 5 or (found[1] is not None and found[1] != int(time.time())):
            return None  # kept for another second: its decision reads the clock
        if (split if split + 2 == len(data) else len(data)) > self._config.max_request_bytes:
            return None  # refused by the ordinary path
        wire = found[4]
        number = next(self._ids)
        if split < 0 or split + 2 == len(data):  # no id, or an empty one
            answer = wire.unary(len(str(number))) % number
        else:
            named = VARINTS[self._id_length + len(str(number))]
            answer = wire.unary_id % (named, number, data[split + 1 :])
        elapsed = time.perf_counter() - started
        self._metrics.count_decision(wire.decision, elapsed)
        snapshot.count_remembered(1)
        if self._log is not None:
            trace = tracing.from_context(context)
            request, response = pb.AuthorizeRequest.FromString(data), pb.AuthorizeResponse.FromString(answer)
            self._log.submit("Authorize", request, response, elapsed, time.time(), trace)
        self._metrics.count_request("Authorize")
        return answer

    def _splice(
        self,
        method: str,
        items: Any,
        group: Any,
        tag: bytes,
        snapshot: Any,
        answers: dict,
        log_requests: Callable[[], list[pb.AuthorizeRequest]],
        decide_missed: Callable[[Any, list[int], set[str], Any], list[bytes] | None] | None = None,
    ) -> bytes | None:
        """A whole AuthorizeBatch or AuthorizeMany answer spliced from remembered answers, when
        every item has one; ``None`` otherwise (the ordinary path then answers the call, exactly
        as before). ``items``: the items' bytes; an item's answer is kept under ``(group, its
        bytes without a trailing request-id field)``, the field's tag being ``tag``.
        ``decide_missed`` (AuthorizeBatch: ``_decide_missed``) answers the items that have none,
        so that a batch of mostly remembered items is not answered wholly the ordinary way.

        Everything the ordinary path checks before deciding an item is a function of those bytes
        and ``group`` (so was checked when its answer was kept), except the request-size limit,
        which the id counts in (checked here), and the call's limits on its item count and
        distinct session policies (checked here; a refusal is left to the ordinary path).
        Metrics and the decision log get what the ordinary path gives them.
        """
        clock = time.perf_counter
        stamps = [clock()]  # when each answered item was done (the first: the call's start)
        count = len(items)
        config = self._config
        if not count or count > config.max_batch_size:
            return None
        batch = group is self._answers_token  # else AuthorizeMany: items kept under (group, item)
        if self._log is None:
            keys = items if batch else zip(itertools.repeat(group), items)
            whole = self._splice_quick(method, keys, snapshot, answers, count, stamps[0])
            if whole is not None:
                return whole
        most, ids = config.max_request_bytes, self._ids
        wall = time.time
        find, stamp = answers.get, stamps.append
        decided: list[str] = []
        decide = decided.append
        policies: set[str] = set()
        out: list[bytes] = []
        answer = out.append
        missed: list[int] = []
        # The usual item (no request id, an answer for any second, within the size limit) is
        # found by its bytes alone in ``quick``, with its template for the decision numbers'
        # digits: one lookup and one format (see ``_quick_answers``).
        first = next(ids)
        numbers = itertools.chain((first,), ids)
        digits = len(str(first))
        bound = 10**digits  # the first decision number with more digits
        quick = self._quick_answers(answers, digits)
        quick_get = quick.get
        for index, item in enumerate(items):
            key = item if batch else (group, item)
            kept = quick_get(key)
            if kept is not None:
                number = next(numbers)
                if number < bound:
                    template, decision, policy = kept
                    answer(template % number)
                    decide(decision)
                    if policy:
                        policies.add(policy)
                    stamp(clock())
                    continue
                numbers = itertools.chain((number,), ids)  # more digits: the general path below
            found = find((group, item))
            if found is None:  # an id (or none known): a trailing request-id field, split off
                end = len(item)
                low = end - 129 if end > 129 else 0
                split = item.rfind(tag, low, end - 1)
                while split >= 0:
                    if item[split + 1] == end - split - 2:
                        found = find((group, item[:split]))
                        if found is not None:
                            break
                    split = item.rfind(tag, low, split)
                if found is None or not (item.isascii() or item[split + 2 :].isascii()):
                    found = None
                request_id = item[split + 1 :] if split + 2 < end else None
                size = end if request_id else split
            else:
                request_id, size = None, len(item)
            if (
                found is None
                or len(found) < 5  # kept by another path
                or size + found[4].shared_size > most  # over the size limit: refused the ordinary way
                or (found[1] is not None and found[1] != int(wall()))  # kept for another second
            ):
                if decide_missed is None:
                    return None
                missed.append(index)
                answer(b"")
                continue
            wire = found[4]
            number = next(numbers)
            if number >= bound:
                digits = len(str(number))
                bound = 10**digits
                quick = self._quick_answers(answers, digits)
                quick_get = quick.get
            if request_id is None:
                template = wire.items.get(digits) or wire.item(digits)
                answer(template % number)
                if found[1] is None:
                    if len(quick) >= ANSWERS_KEPT:
                        quick.clear()
                    quick[key] = (template, wire.decision, wire.session_policy)
            else:
                answer(wire.item_with_id(number, digits, request_id))
            decide(wire.decision)
            if wire.session_policy:
                policies.add(wire.session_policy)
            stamp(clock())
        if missed:
            assert decide_missed is not None
            answered = decide_missed(items, missed, policies, snapshot)
            if answered is None:
                return None
            for index, result in zip(missed, answered, strict=True):
                out[index] = result
        elif len(policies) > config.max_batch_session_policies:
            return None
        seconds = list(map(operator.sub, stamps[1:], stamps[:-1]))  # each item's time, in C
        metrics = self._metrics
        metrics.count_decisions({name: decided.count(name) for name in DECISION_NAMES})
        metrics.observe_decisions(seconds)
        snapshot.count_remembered(count - len(missed))
        if self._log is not None:
            self._log_wire_items(method, log_requests(), out, seconds)
        metrics.count_request(method)
        return b"".join(out)

    def _splice_quick(
        self, method: str, keys: Any, snapshot: Any, answers: dict, count: int, started: float
    ) -> bytes | None:
        """A whole AuthorizeBatch or AuthorizeMany answer when every item is in
        ``_quick_answers`` (``keys``: the items' keys there) and no decision log is kept: found
        with one ``map`` over the items, answered with one ``%`` format of the items' joined
        templates by the call's decision numbers; ``None`` otherwise (``_splice``'s loop then
        answers item by item, exactly as before).

        The same checks and the same answer as that loop gives such a batch: each quick item was
        checked (size, second, kind) when it was put there, and the batch's item count (by
        ``_splice``) and distinct session policies (here) are checked for every call. Items
        answered together share the call's time: each is observed as the call's time divided
        by its item count (the same sum, in the bucket of that mean). Should the decision
        numbers have more digits than the quick templates, the numbers taken are left unused
        (a gap in the ids, never a repeat) and the loop answers."""
        kept_answers, digits, quick = self._quick
        if kept_answers is not answers:
            return None
        found = list(map(quick.get, keys))
        if None in found:
            return None
        policies = set(map(_POLICY, found))
        policies.discard("")
        if len(policies) > self._config.max_batch_session_policies:
            return None  # refused by the ordinary path
        numbers = tuple(itertools.islice(self._ids, count))
        if len(str(numbers[0])) != digits or len(str(numbers[-1])) != digits:
            return None
        answer = b"".join(map(_TEMPLATE, found)) % numbers
        decided = list(map(_DECISION, found))
        metrics = self._metrics
        metrics.count_decisions({name: decided.count(name) for name in DECISION_NAMES})
        metrics.observe_equal_decisions((time.perf_counter() - started) / count, count)
        snapshot.count_remembered(count)
        metrics.count_request(method)
        return answer

    def _quick_answers(self, answers: dict, digits: int) -> dict[Any, tuple[bytes, str, str]]:
        """The items ``_splice`` answered before from a snapshot's ``answers`` with no request
        id, for any second and within the size limit (each a function of the item's bytes, the
        call's shared fields, this servicer's limits and the snapshot): the response's template
        for decision numbers of ``digits`` digits, the decision and the session policy. An
        AuthorizeBatch item is kept under its bytes, an AuthorizeMany item under the key its
        answer has in ``answers`` (its group — this servicer's token and the shared fields'
        bytes — and its bytes): a bytes key never equals a tuple.

        Only a faster way to find what the snapshot remembers (see ``Snapshot.remember``): kept
        for one snapshot's answers (each revision, and each copy with other trusted keys or
        another cache, has its own; the snapshot itself is not held) and one number of digits,
        at most ``ANSWERS_KEPT`` items, then all are dropped.
        """
        kept_answers, kept_digits, quick = self._quick
        if kept_answers is not answers or kept_digits != digits:
            quick = {}
            self._quick = (answers, digits, quick)
        return quick

    def _decide_missed(
        self, items: Any, missed: list[int], policies: set[str], snapshot: Any
    ) -> list[bytes] | None:
        """The results of the AuthorizeBatch items ``missed`` (indexes into ``items``, their
        bytes) that nothing remembered answers, decided the ordinary way (``_decide_batch_items``)
        and encoded; ``None`` (the whole batch then goes the ordinary way) when an item is
        malformed, the batch holds too many distinct session policies, or decisions are logged
        (the log gets a batch's items in order)."""
        if self._log is not None:
            return None
        try:
            parsed = [pb.AuthorizeRequest.FromString(items[index]) for index in missed]
        except DecodeError:
            return None
        distinct = policies | {item.session_policy for item in parsed}
        distinct.discard("")
        if len(distinct) > self._config.max_batch_session_policies:
            return None
        results = self._decide_batch_items(parsed, snapshot, missed, encode=True)
        return [result if result.__class__ is bytes else item_result(result) for result in results]

    def _log_wire_items(
        self, method: str, requests: list[pb.AuthorizeRequest], results: list[bytes], seconds: list[float]
    ) -> None:
        assert self._log is not None
        now = time.time()
        for request, result, elapsed in zip(requests, results, seconds, strict=True):
            response = pb.AuthorizeBatchResponse.FromString(result).results[0].response
            self._log.submit(method, request, response, elapsed, now)

    def _check_batch_size(self, context: grpc.ServicerContext, method: str, field: str, count: int) -> None:
        if count > self._config.max_batch_size:
            self._abort(
                context,
                method,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{field}: {count} items, at most {self._config.max_batch_size} per call",
            )

    def _decide_items(
        self,
        method: str,
        field: str,
        items: Any,
        pinned: Any,
        query_of: Callable[[Any, int], Any],
        log_request: Callable[[Any], Any],
        answer_key: Callable[[Any], Any] | None = None,
        shared_size: int = 0,
        numbers: list[int] | None = None,
        encode: bool = False,
        plain_items: bool = False,
        sized: bool = False,
        policies: bool = True,
    ) -> list[Any]:
        """Decide every item of a batch on the ``pinned`` snapshot; one result mapping per item.

        The per-item path is the batch's whole cost around a cached decision, so it is kept
        flat: results are mappings that protobuf turns into the answer in one call (see
        ``convert.authorize_fields``), decision counters and latencies are added once per batch,
        and the decision log (when on) gets each item's request and response after the answer is
        built. Should a new revision be activated mid-batch, the item is answered again from the
        pinned snapshot, so the whole batch sees one revision.

        ``answer_key`` (the item's raw form, ``None``: not to be remembered) lets a repeated item
        skip conversion and the bundle layer: the pinned snapshot keeps the answer and its
        response fields under that key (``Snapshot.remember``) when its decision cache kept the
        answer, and only then; so never while a shadow bundle is compared with every answer.

        ``encode`` (not with a decision log: it reads the mappings): an answer whose outcome
        object was seen before is given as its encoded ``results`` entry instead (bytes,
        ``_encoded``); ``_joined`` makes the answer of such a list.

        ``plain_items`` (items are ``AuthorizeRequest``s): on a snapshot without a decision cache
        and with no shadow compared, an item with a principal, a SERVICE:ACTION and a resource
        and nothing else but a request id — a query ``convert.access_query`` would return at
        once, its only limit its size — is first asked of ``Snapshot.uncached_on_route`` with
        its fields, before any query is built; only when that says ``None`` does it take the
        ordinary way. ``sized``: every item is within ``max_request_bytes`` (known from the
        call's size: ``limits.items_within_size``), so none is measured on that path.
        ``policies`` False: no item carries a session policy (``limits.check_batch_items`` read
        every item's), so that path does not read them again.
        ``tests/service/test_batch_uncached_route.py`` compares it with the ordinary path.
        """
        authorize = self._authorize
        shadowing = getattr(self._snapshots, "shadowing", None)  # per batch: a shadow may come any time
        on_route = None
        if shadowing is False and self._source_authorizes:
            # The source's authorize is the active snapshot's beside a shadow comparison; with no
            # shadow, the pinned snapshot's answers directly (the item would be re-asked of it).
            authorize = pinned.authorize
            if plain_items and getattr(pinned, "decision_cache", None) is None:
                on_route = getattr(pinned, "uncached_on_route", None)
        most = self._config.max_request_bytes
        encoded = self._encoded if encode else None
        encodings = self._encodings.get if encode else None  # ``_encoded``'s usual case, inlined below
        revision = pinned.revision
        fields = convert.authorize_fields
        ids, id_prefix = self._ids, self._id_prefix
        clock = time.perf_counter
        answers = getattr(pinned, "answers", None) if answer_key is not None else None
        if getattr(pinned, "decision_cache", None) is None or shadowing:
            answers = None  # nothing is kept without a cache; nothing may skip a shadow comparison
        wall = time.time
        hits = 0
        tally = dict.fromkeys(DECISION_NAMES, 0)
        seconds: list[float] = []
        logged: list[tuple[int, Any, float]] | None = [] if self._log is not None else None
        results: list[Any] = []
        digits, shorter, longer = 1, 1, 1  # the decision numbers' digit count, and its range
        last = clock()
        for index, item in enumerate(items):
            number = numbers[index] if numbers is not None else index  # the item's index in the call
            try:
                if on_route is not None:
                    outcome = None
                    principal, action, resource = item.principal, item.action, item.resource
                    if (
                        principal
                        and resource
                        and ":" in action
                        and not (policies and item.session_policy)
                        and not item.session_tags
                    ):
                        context = item.context
                        if not context:
                            if sized or item.ByteSize() <= most:
                                outcome = on_route(principal, action, resource)
                        else:
                            outcome = self._on_route_with(
                                pinned, item, principal, action, resource, context, field, number, sized
                            )
                    if outcome is not None:  # as the ordinary path below answers it
                        decision = outcome.evaluation.decision._value_
                        request_id = item.request_id
                        entry = None
                        if encodings is not None:
                            kept = encodings(id(outcome))
                            wire = kept[1] if kept is not None and kept[0] is outcome else None
                            if wire is not None and not request_id:
                                # ``_encoded`` of an outcome whose templates are made, without an id
                                serial = next(ids)
                                if not shorter <= serial < longer:  # ids count up: digits change rarely
                                    digits = len(str(serial))
                                    shorter, longer = 10 ** (digits - 1), 10**digits
                                entry = (wire.items.get(digits) or wire.item(digits)) % serial
                            else:
                                entry = encoded(outcome, request_id)  # type: ignore[misc]
                        if entry is not None:
                            results.append(entry)
                        else:
                            response = fields(outcome, f"{id_prefix}-{next(ids)}", request_id)
                            results.append({"response": response})
                        now = clock()
                        seconds.append(now - last)
                        last = now
                        tally[decision] += 1
                        if logged is not None:
                            logged.append((index, item, seconds[-1]))
                        continue
                key = found = None
                if answers is not None:
                    key = answer_key(item)  # type: ignore[misc]
                    if key is not None:
                        found = answers.get(key)  # Snapshot.remembered, inlined
                        if found is not None and found[1] is not None and found[1] != int(wall()):
                            found = None  # kept for another second: its decision reads the clock
                if found is not None:
                    response = found[2].copy()
                    response["decision_id"] = f"{id_prefix}-{next(ids)}"
                    request_id = item.request_id
                    if request_id:
                        response["request_id"] = request_id
                    decision = found[3]
                    hits += 1
                else:
                    query = query_of(item, number)
                    try:
                        outcome = authorize(query)
                        if outcome.revision != revision:
                            outcome = pinned.authorize(query)
                    except RequestError as error:  # a batch item names its index
                        raise RequestError(f"{field}[{number}].{error.field}", error.detail) from None
                    decision = outcome.evaluation.decision._value_  # the value, without Enum.value's property
                    if key is not None:
                        kept = fields(outcome, "", "")
                        policy = query.session_policy or ""
                        wire = wire_answer(kept, id_prefix, decision, policy, shared_size)
                        pinned.remember(key, query, outcome, kept, decision, wire)
                        if encoded is not None:
                            self._keep_encoding(outcome, wire)
                    entry = encoded(outcome, query.request_id) if encoded is not None else None
                    if entry is not None:
                        results.append(entry)
                    else:
                        response = fields(outcome, f"{id_prefix}-{next(ids)}", query.request_id)
                        results.append({"response": response})
                if found is not None:
                    results.append({"response": response})
                now = clock()
                seconds.append(now - last)
                last = now
                tally[decision] += 1
                if logged is not None:
                    logged.append((index, item, seconds[-1]))
            except RequestError as error:
                code = grpc.StatusCode.INVALID_ARGUMENT.value[0]
                results.append({"error": {"code": code, "message": str(error)}})
                last = clock()
            except limits.LimitExceeded as error:
                results.append({"error": {"code": error.code.value[0], "message": error.message}})
                last = clock()
            except Exception as error:
                _log.error("%s item %d failed; answering INTERNAL for it", method, number, exc_info=error)
                self._metrics.internal_errors.labels(method).inc()
                message = f"{field}[{number}]: {INTERNAL}"
                results.append({"error": {"code": grpc.StatusCode.INTERNAL.value[0], "message": message}})
                last = clock()
        self._metrics.count_decisions(tally)
        self._metrics.observe_decisions(seconds)
        if hits:
            pinned.count_remembered(hits)
        if logged:
            assert self._log is not None
            now = time.time()
            for index, item, elapsed in logged:
                response = pb.AuthorizeResponse(**results[index]["response"])
                self._log.submit(method, log_request(item), response, elapsed, now)
        return results

    def _on_route_with(
        self,
        pinned: Any,
        item: Any,
        principal: str,
        action: str,
        resource: str,
        context: Any,
        field: str,
        number: int,
        sized: bool,
    ) -> Any:
        """``_decide_items``' fast path for an AuthorizeBatch item with caller context (and no
        session policy or tags; ``principal``, ``action``, ``resource``, ``context``: its fields,
        read once): its limits checked and its context converted as ``convert.access_query``
        does, then ``Snapshot.uncached_on_route_with``; ``None`` (the item then takes the
        ordinary way, which answers it, or refuses it naming its index) when a limit or the
        conversion refuses it or the snapshot has no route for it. A key the caller may not
        assert is refused as the ordinary path refuses it.

        ``sized`` (the item is within ``max_request_bytes``, known from the call's size): the
        limits left are ``check_access_request``'s counts of entries and values, taken while
        converting (``convert.counted_context_values``), without measuring the item."""
        config = self._config
        if sized:
            most_entries, most_values = config.max_context_entries, config.max_context_values
            values = convert.counted_context_values(context, most_entries, most_values)
            if values is None:
                return None
        else:
            try:
                limits.check_access_request(item, config)
                values = convert.context_values(context)
            except (RequestError, limits.LimitExceeded):
                return None
        try:
            return pinned.uncached_on_route_with(principal, action, resource, values)
        except RequestError as error:  # a batch item names its index, as the ordinary path's
            raise RequestError(f"{field}[{number}].{error.field}", error.detail) from None

    def _encoded(self, outcome: Any, request_id: str) -> bytes | None:
        """The ``results`` entry answering with ``outcome`` (a fresh decision id, ``request_id``),
        spliced from templates made when the same outcome *object* was seen before; ``None``
        the first time (the caller then builds the answer the ordinary way).

        An encoding memo, not a decision memo: the outcome was just decided (evaluated, when
        there is no decision cache). ``Snapshot.authorize`` hands out one outcome object for the
        answers of one question that come out the same (its route's last outcome), so a
        repeated question is encoded once; an outcome seen once is not worth its templates
        (making them costs several times encoding it once). Kept by identity, the outcome
        itself held in the entry (so its id is not reused while it is kept); at most
        ``ENCODINGS_KEPT`` entries, then all are dropped, and none whose message is longer than
        ``ENCODED_MESSAGE_KEPT``.
        """
        encodings = self._encodings
        kept = encodings.get(id(outcome))
        if kept is None or kept[0] is not outcome:
            if len(outcome.message) > ENCODED_MESSAGE_KEPT:
                return None
            if len(encodings) >= ENCODINGS_KEPT:
                encodings.clear()
            encodings[id(outcome)] = (outcome, None)
            return None
        wire = kept[1]
        if wire is None:
            fields = convert.authorize_fields(outcome, "", "")
            wire = wire_answer(fields, self._id_prefix, outcome.evaluation.decision.value, "")
            encodings[id(outcome)] = (outcome, wire)
        number = next(self._ids)
        digits = len(str(number))
        if not request_id:
            return (wire.items.get(digits) or wire.item(digits)) % number  # made once per digit count
        text = request_id.encode()
        return wire.item_with_id(number, digits, varint(len(text)) + text)

    def _keep_encoding(self, outcome: Any, wire: WireAnswer) -> None:
        """``_encoded``'s templates for ``outcome``, made already (to remember the answer)."""
        if len(outcome.message) > ENCODED_MESSAGE_KEPT:
            return
        encodings = self._encodings
        if len(encodings) >= ENCODINGS_KEPT:
            encodings.clear()
        encodings[id(outcome)] = (outcome, wire)

    @staticmethod
    def _joined(results: list[Any]) -> bytes:
        """An ``AuthorizeBatchResponse``'s bytes from ``_decide_items``' results: the mappings
        encoded in one call (split into their entries at C speed), the encoded entries as they
        are, in order."""
        mappings = [result for result in results if result.__class__ is not bytes]
        if not mappings:
            return b"".join(results)
        answer = pb.AuthorizeBatchResponse(results=mappings).SerializeToString()
        built = iter(RawBatch.FromString(answer).items)
        out = []
        for result in results:
            if result.__class__ is not bytes:
                entry = next(built)
                result = b"\n" + varint(len(entry)) + entry
            out.append(result)
        return b"".join(out)

    def _enter_expensive(self, context: grpc.ServicerContext, method: str) -> None:
        """Take one of the few expensive-call slots, or refuse at once (RESOURCE_EXHAUSTED)."""
        if not self._expensive.try_enter():
            refusal = self._expensive.refusal(method)
            self._abort(context, method, refusal.code, refusal.message)

    def Explain(self, request: pb.ExplainRequest, context: grpc.ServicerContext) -> pb.ExplainResponse:
        self._enter_expensive(context, "Explain")
        try:
            return self._explain(request, context)
        finally:
            self._expensive.leave()

    def _explain(self, request: pb.ExplainRequest, context: grpc.ServicerContext) -> pb.ExplainResponse:
        started = time.perf_counter()
        clock = limits.CallClock(self._config.max_expensive_call_seconds, limits.caller_deadline(context))
        try:
            trace = tracing.from_context(context)
            response, outcome = self._decide(request, "Explain", started, explain=True, trace_id=trace)
            clock.check("after the evaluation")
            traces = outcome.evaluation.trace or ()
            limits.check_explain_statements(traces, self._config)
            response.hints.extend(_action_hints(request.action, request.resource))
            answer = pb.ExplainResponse(
                result=response, policies=convert.policy_traces(traces), trace_id=trace
            )
            limits.check_explain_bytes(answer.ByteSize(), self._config)
            clock.check("after building the explanation")
        except NoActiveBundleError:
            self._abort(context, "Explain", grpc.StatusCode.UNAVAILABLE, NO_BUNDLE)
        except RequestError as error:
            self._abort(context, "Explain", grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except limits.LimitExceeded as error:
            self._abort(context, "Explain", error.code, error.message)
        except Exception as error:
            self._internal(context, "Explain", error)
        self._metrics.count_request("Explain")
        return answer

    def Simulate(self, request: pb.SimulateRequest, context: grpc.ServicerContext) -> pb.SimulateResponse:
        self._enter_expensive(context, "Simulate")
        try:
            return self._simulate(request, context)
        finally:
            self._expensive.leave()

    def _simulate(self, request: pb.SimulateRequest, context: grpc.ServicerContext) -> pb.SimulateResponse:
        try:
            result = simulate(
                convert.simulate_input(request),
                limits=self._simulation_limits,
                caller_deadline=limits.caller_deadline(context),
            )
            response = convert.simulate_response(result)
        except RequestError as error:
            self._abort(context, "Simulate", grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except SimulationInputError as error:
            path = _snake_path(getattr(error, "path", ""))
            message = getattr(error, "message", str(error))
            if isinstance(error, SimulationStopped) and error.caller_deadline:
                code = grpc.StatusCode.DEADLINE_EXCEEDED
            elif isinstance(error, SimulationLimitError):
                code = grpc.StatusCode.RESOURCE_EXHAUSTED
            else:
                code = grpc.StatusCode.INVALID_ARGUMENT
            self._abort(context, "Simulate", code, f"{path}: {message}" if path else message)
        except Exception as error:
            self._internal(context, "Simulate", error)
        self._metrics.count_request("Simulate")
        return response

    def GetStatus(self, request: pb.GetStatusRequest, context: grpc.ServicerContext) -> pb.GetStatusResponse:
        try:
            response = convert.status_response(
                self._snapshots.status(),
                admin_enabled=self._config.enable_admin,
                server_version=iamgate.__version__,
                max_disagreements=request.max_disagreements,
            )
            response.access_queries_enabled = self._config.enable_access_queries
            worker = response.worker  # which process answered: --workers runs several
            worker.index, worker.count, worker.pid = (
                self._config.worker_index,
                self._config.worker_count,
                os.getpid(),
            )
            response.catalogue_version = aws_catalogue().version
        except Exception as error:
            self._internal(context, "GetStatus", error)
        self._metrics.count_request("GetStatus")
        return response

    def Rollback(self, request: pb.RollbackRequest, context: grpc.ServicerContext) -> pb.RollbackResponse:
        if not self._config.enable_admin:
            self._abort(
                context,
                "Rollback",
                grpc.StatusCode.PERMISSION_DENIED,
                "admin RPCs are disabled; start the sidecar with --enable-admin to allow Rollback",
            )
        if self._config.worker_count > 1:
            self._abort(
                context,
                "Rollback",
                grpc.StatusCode.FAILED_PRECONDITION,
                f"Rollback would reach one of {self._config.worker_count} worker processes and leave "
                "them on different revisions; publish the previous bundle to the source instead "
                "(or run with --workers 1)",
            )
        rollback = getattr(self._snapshots, "rollback", None)
        if rollback is None:
            self._abort(
                context,
                "Rollback",
                grpc.StatusCode.FAILED_PRECONDITION,
                "this bundle source cannot roll back",
            )
        try:
            active, rolled_back = rollback(request.expected_revision)
        except RollbackUnavailable as error:
            self._abort(context, "Rollback", grpc.StatusCode.FAILED_PRECONDITION, str(error))
        except Exception as error:
            self._internal(context, "Rollback", error)
        _log.info("Rollback RPC: rolled back from revision %s to %s", rolled_back, active)
        self._metrics.count_request("Rollback")
        return pb.RollbackResponse(active_revision=active, rolled_back_revision=rolled_back)

    # --- access questions (docs/access.md) ------------------------------------------------------

    def WhoCan(self, request: pb.WhoCanRequest, context: grpc.ServicerContext) -> pb.WhoCanResponse:
        question = access_queries.question_digest("WhoCan", request.action, request.resource)

        def answer(snapshot: Any, check: Callable[[], None]) -> Any:
            return who_can(
                snapshot,
                request.action,
                request.resource,
                limit=self._config.max_access_query_evaluations,
                check=check,
            )

        return self._access_question("WhoCan", request, context, question, answer, pb.WhoCanResponse, "")

    def WhatCan(self, request: pb.WhatCanRequest, context: grpc.ServicerContext) -> pb.WhatCanResponse:
        question = access_queries.question_digest("WhatCan", request.principal, request.service.lower())

        def answer(snapshot: Any, check: Callable[[], None]) -> Any:
            return what_can(
                snapshot,
                request.principal,
                aws_catalogue(),
                service=request.service or None,
                limit=self._config.max_access_query_evaluations,
                check=check,
            )

        return self._access_question(
            "WhatCan", request, context, question, answer, pb.WhatCanResponse, "principal: "
        )

    def _access_question(
        self,
        method: str,
        request: Any,
        context: grpc.ServicerContext,
        question: str,
        answer: Callable[[Any, Callable[[], None]], Any],
        response_type: Any,
        blame: str,
    ) -> Any:
        """Refused unless enabled; then gated, time-bounded and paginated like the other expensive RPCs.

        ``blame`` prefixes the bundle layer's refusal of the question (an unknown principal) with
        the field at fault; WhoCan's refusals name theirs already.
        """
        if not self._config.enable_access_queries:
            self._abort(
                context,
                method,
                grpc.StatusCode.PERMISSION_DENIED,
                f"access questions are disabled; start the sidecar with --enable-access-queries to allow "
                f"{method} (it reveals the whole access model)",
            )
        snapshot = self._snapshot(context, method)  # one revision for the whole answer
        self._enter_expensive(context, method)
        try:
            clock = limits.CallClock(self._config.max_expensive_call_seconds, limits.caller_deadline(context))

            def compute() -> Any:  # on a detached copy: the request path's memos stay as they are
                return answer(detached(snapshot), lambda: clock.check(f"{method} while evaluating"))

            page = access_queries.page(self._access_answers, snapshot, question, request, compute)
            response = response_type(
                revision=page.revision,
                grants=page.grants,
                next_page_token=page.next_page_token,
                truncated=page.answer.truncated,
                evaluations=page.answer.evaluations,
                notes=list(page.answer.notes),
                total=len(page.answer.rows),
            )
        except RequestError as error:
            self._abort(context, method, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except AccessError as error:
            self._abort(context, method, grpc.StatusCode.INVALID_ARGUMENT, f"{blame}{error}")
        except limits.LimitExceeded as error:
            self._abort(context, method, error.code, error.message)
        except Exception as error:
            self._internal(context, method, error)
        finally:
            self._expensive.leave()
        self._metrics.count_request(method)
        return response


_TEMPLATE = operator.itemgetter(0)
_DECISION = operator.itemgetter(1)
_POLICY = operator.itemgetter(2)
"""The parts of a ``_quick_answers`` entry: (template, decision, session policy)."""


def _same(item: Any) -> Any:
    return item


def _batch_log(items: Any) -> Callable[[], list[pb.AuthorizeRequest]]:
    """The requests of a batch answered from memory, as the decision log gets them."""
    return lambda: [pb.AuthorizeRequest.FromString(item) for item in items]


def _many_log(data: bytes) -> Callable[[], list[pb.AuthorizeRequest]]:
    """The AuthorizeRequests an AuthorizeMany answered from memory stands for (decision log)."""

    def requests() -> list[pb.AuthorizeRequest]:
        request = pb.AuthorizeManyRequest.FromString(data)
        shared = dict(
            principal=request.principal,
            context=request.context,
            session_policy=request.session_policy,
            session_tags=request.session_tags,
        )
        return [
            pb.AuthorizeRequest(**shared, action=i.action, resource=i.resource, request_id=i.request_id)
            for i in request.items
        ]

    return requests


def _authorize_current(snapshots: SnapshotSource) -> Any:
    """``authorize`` for a source that offers only ``current()``."""

    def authorize(query: Any, *, explain: bool = False) -> Any:
        snapshot = snapshots.current()
        if snapshot is None:
            raise NoActiveBundleError("no bundle is active yet")
        return snapshot.authorize(query, explain=explain)

    return authorize


def _snake_path(path: str) -> str:
    """SimulateCustomPolicy field names in a JSON path, as the proto spells them.

    A limit on a product of fields ("ActionNames x ResourceArns") has each part translated.
    """
    if " x " in path:
        return " x ".join(_snake_path(part) for part in path.split(" x "))
    for aws, proto in (
        ("PermissionsBoundaryPolicyInputList", "permissions_boundary_policy_input_list"),
        ("PolicyInputList", "policy_input_list"),
        ("ServiceControlPolicyLevels", "service_control_policy_levels"),
        ("ActionNames", "action_names"),
        ("ResourceArns", "resource_arns"),
        ("ResourcePolicy", "resource_policy"),
        ("ResourceOwner", "resource_owner"),
        ("CallerArn", "caller_arn"),
        ("ContextEntries", "context_entries"),
        ("EvaluationResults", "evaluation_results"),
        ("SessionPolicyList", "session_policy_list"),
    ):
        if path.startswith(aws):
            return proto + path[len(aws) :]
    return path


def _action_hints(action: str, resource: str = "") -> list[str]:
    """What the service catalogue says about an action that does not exist, or a resource that
    does not fit the action's resource types (Explain only)."""
    catalogue = aws_catalogue()
    hints = [catalogue.action_hint(action), catalogue.resource_hint(action, resource) if resource else None]
    return [hint for hint in hints if hint]
