"""AWS SimulateCustomPolicy-shaped requests, answered by the one evaluator.

The input mirrors the AWS API (PolicyInputList, ActionNames, ResourceArns, ContextEntries, ...)
plus iamgate's extensions ``ServiceControlPolicyLevels`` and ``SessionPolicyList``. The context is
exactly what is given: nothing is added, so a simulation is reproducible.

A simulation's cost follows its input (actions x resources evaluations, each over every given
statement), so every dimension is bounded by ``SimulationLimits``: sizes are checked before any
policy is parsed, and the wall-clock budget between two evaluations. The same limits serve the
Simulate RPC and ``iamgate simulate``; each error names the setting (``--max-...`` flag) to raise.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from iamgate.catalogue import aws_catalogue
from iamgate.engine.compiled import CompiledPolicy, Reach, compile_policy
from iamgate.engine.errors import EngineError, RequestError
from iamgate.engine.evaluator import PolicySet, evaluate
from iamgate.engine.explain import explanation_json, ref_json
from iamgate.engine.request import ContextValue, Principal, Request, build_context
from iamgate.engine.result import PolicyKind
from iamgate.engine.wildcard_only import WildcardOnlyActions
from iamgate.policy import PolicyDocument, PolicyParseError, parse_policy
from iamgate.policy.values import read_address, read_binary, read_bool, read_date, read_number

FIELDS = (
    "CallerArn",
    "ActionNames",
    "ResourceArns",
    "ResourceOwner",
    "PolicyInputList",
    "PermissionsBoundaryPolicyInputList",
    "SessionPolicyList",
    "ResourcePolicy",
    "ServiceControlPolicyLevels",
    "ContextEntries",
    "ResourceHandlingOption",
)
CONTEXT_TYPES = (
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
)


_TYPE_READERS = {
    "numeric": (read_number, "a number"),
    "boolean": (read_bool, "true or false"),
    "ip": (read_address, "an IP address"),
    "date": (read_date, "a date (ISO 8601 or epoch seconds)"),
    "binary": (read_binary, "base64-encoded binary"),
}


class SimulationInputError(EngineError):
    """A simulation request is malformed; ``path`` is the JSON path of the fault."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class SimulationLimitError(SimulationInputError):
    """A simulation request is well-formed but larger than ``setting`` allows."""

    def __init__(self, path: str, message: str, setting: str) -> None:
        self.setting = setting
        super().__init__(path, f"{message} ({flag(setting)})" if setting else message)


class SimulationStopped(SimulationLimitError):
    """Evaluation stopped part-way: the time budget or the caller's own deadline ran out.

    ``caller_deadline`` tells which: the caller's deadline (nothing more to do, the caller has
    gone) or the sidecar's budget (the request is too expensive).
    """

    def __init__(self, message: str, setting: str, *, caller_deadline: bool) -> None:
        self.caller_deadline = caller_deadline
        super().__init__("", message, setting)


def flag(setting: str) -> str:
    """The command-line flag of a limit setting: ``max_scp_levels`` -> ``--max-scp-levels``."""
    return "--" + setting.replace("_", "-")


@dataclass(frozen=True, slots=True)
class SimulationLimits:
    """How much one simulation request may ask for; every field is a ``--max-...`` setting.

    The defaults are far above what a hand-written what-if question needs (AWS's own
    SimulateCustomPolicy pages through results and caps policy sizes at a few KB), and far below
    what hurts a sidecar: 1,000 x 1,000 evaluations once took 2.4 GB and crashed it.
    """

    max_simulate_evaluations: int = 10_000
    """ActionNames x ResourceArns."""
    max_simulate_statements: int = 5_000
    """Statements over every given policy (identity, boundary, session, resource, SCPs)."""
    max_simulate_policy_bytes: int = 1 << 20
    """Bytes of policy text over every given policy (UTF-8; a JSON object counts as serialized)."""
    max_scp_levels: int = 10
    """ServiceControlPolicyLevels (AWS allows root, five levels of OUs and the account)."""
    max_context_entries: int = 100
    """ContextEntries."""
    max_context_values: int = 1_000
    """ContextKeyValues over every entry."""
    max_condition_comparisons: int = 10_000
    """Condition values x the context's values of their key, over every statement: the cost of
    one evaluation that a time check between evaluations cannot interrupt (1,500 values against
    1,000 once took 3 minutes)."""
    max_simulate_response_bytes: int = 4 << 20
    """An estimate of the answer's size (4 MiB is what gRPC clients accept by default)."""
    max_expensive_call_seconds: float = 10.0
    """Wall-clock time from the start of reading the request to the last evaluation."""

    def __post_init__(self) -> None:
        for setting in fields(self):
            if getattr(self, setting.name) <= 0:
                raise ValueError(f"{setting.name} must be positive")


def _too_many(path: str, count: int, unit: str, limit: int, setting: str) -> SimulationLimitError:
    return SimulationLimitError(path, f"{count} {unit}, at most {limit} per call", setting)


_YIELD_SECONDS = 0.0005
"""Work between two voluntary GIL releases of a simulation (a release costs a few microseconds)."""


class _Clock:
    """The time budget of one call: the sidecar's own, and the caller's deadline if earlier."""

    __slots__ = ("budget", "caller_deadline", "deadline", "started", "yield_every", "yielded")

    def __init__(self, budget: float, caller_deadline: float | None, *, share_gil: bool = True) -> None:
        self.started = self.yielded = time.monotonic()
        # A process of its own (``iamgate simulate``) has no other thread to yield to.
        self.yield_every = _YIELD_SECONDS if share_gil else float("inf")
        self.budget = budget
        self.caller_deadline = caller_deadline
        own = self.started + budget
        self.deadline = own if caller_deadline is None else min(own, caller_deadline)

    def check(self, done: int, total: int) -> None:
        """Raise SimulationStopped past the deadline; else, now and then, give up the GIL."""
        now = time.monotonic()
        if now < self.deadline:
            if now - self.yielded >= self.yield_every:
                # A simulation shares its process with Authorize: let a waiting thread take the
                # GIL now rather than after the interpreter's 5 ms switch interval. Measured with
                # 16 callers hammering Simulate: Authorize's median went from 82 ms to 9 ms.
                time.sleep(0)
                self.yielded = time.monotonic()
            return
        spent = now - self.started
        progress = f"after {spent:.2f} s, {done} of {total} evaluations done"
        if self.caller_deadline is not None and now >= self.caller_deadline:
            raise SimulationStopped(
                f"the caller's deadline passed {progress}",
                "",
                caller_deadline=True,
            )
        raise SimulationStopped(
            f"time budget exceeded: stopped {progress}, at most {self.budget:g} s per call",
            "max_expensive_call_seconds",
            caller_deadline=False,
        )


@dataclass(frozen=True, slots=True)
class Simulation:
    """A simulation request read and compiled: one policy set, one request per action x resource."""

    policy_set: PolicySet
    requests: tuple[Request, ...]
    resource_names: tuple[str, ...] = ()
    """Each request's resource as given (``EvalResourceName``): an action that takes no resource is
    evaluated on ``*`` whatever ResourceArns names, as AWS and ``Authorize`` do."""


_PolicyKey = tuple[bool, str, str, PolicyKind] | tuple[bool, str, str, PolicyKind, Reach]
"""(given as JSON text?, the document's text, policy id, policy kind), and the reach it was compiled
for when it was compiled for one (``REACH_FROM``)."""
_Compiled = tuple[PolicyDocument, CompiledPolicy, tuple[tuple[str, int], ...]]
"""The document, compiled, and its condition clauses (``condition_clauses``)."""


class CompiledPolicies:
    """Compiled policies keyed by document content, id and kind, bounded.

    ``iamgate simulate`` on a file of many requests often gives the same documents (a managed
    policy, a boundary) to each of them; parsing and compiling once serves them all. Every
    request still counts its statements against its own limits. Bounded: at most ``size``
    documents (the oldest is forgotten first), and, when ``max_statements`` or ``max_chars`` are
    set, at most that many compiled statements and characters of document text in all (then
    everything is forgotten). A document compiled for a reach counts the statements compiled: a
    UI asking about a policy of 5,000 statements and a small one in turn must not forget both at
    every call; the documents themselves (~600 bytes a statement) are bounded by their text.
    A compiled policy is immutable but for its index's plans and, compiled for a reach, its
    candidates per (action, resource) (``reach_index.ReachIndex``), both bounded per index and
    safe to build from several threads.
    """

    def __init__(self, size: int = 256, *, max_statements: int | None = None, max_chars: int | None = None):
        self.size = size
        self.max_statements = max_statements
        self.max_chars = max_chars
        self._compiled: dict[_PolicyKey, _Compiled] = {}
        self._statements = 0
        self._chars = 0
        self._reached = 0
        self._lock = threading.Lock()

    def get(self, key: _PolicyKey) -> _Compiled | None:
        return self._compiled.get(key)

    @property
    def holds_reached(self) -> bool:
        """Whether some document is kept compiled for a reach (a key with one): if none is, a call
        need not work out its reach (``Reach.of``, ~10 µs) only to look one up. A stale answer
        from another thread only misses a kept document, which is then compiled anew."""
        return self._reached > 0

    def put(self, key: _PolicyKey, value: _Compiled) -> None:
        # Compiled statements, not the document's: a large document compiled for a reach holds a
        # few dozen (its document and text are bounded by the characters of text kept).
        statements, chars = len(value[1].statements), len(key[1])
        if (self.max_statements is not None and statements > self.max_statements) or (
            self.max_chars is not None and chars > self.max_chars
        ):
            return
        with self._lock:
            if (self.max_statements is not None and self._statements + statements > self.max_statements) or (
                self.max_chars is not None and self._chars + chars > self.max_chars
            ):
                self.clear()
            if len(self._compiled) >= self.size:
                oldest = next(iter(self._compiled))
                forgotten = self._compiled.pop(oldest)
                self._statements -= len(forgotten[1].statements)
                self._chars -= len(oldest[1])
                self._reached -= len(oldest) > _KEY_WITHOUT_REACH
            held = len(self._compiled)
            self._compiled[key] = value
            self._reached += len(key) > _KEY_WITHOUT_REACH and len(self._compiled) > held  # a new key
            self._statements += statements
            self._chars += chars

    def clear(self) -> None:
        self._compiled = {}
        self._statements = self._chars = self._reached = 0


_KEY_WITHOUT_REACH = 4
"""Items of a ``_PolicyKey`` without its reach."""


REACH_FROM = 64
"""Documents of at least this many statements are compiled for the call's reach only (``Reach``:
the statements its actions and resources can reach), and remembered with that reach; smaller ones
are compiled whole, whatever the call asks, and found again by any call giving their text."""
_REACH_TEXT_FROM = 16 * REACH_FROM
"""Shorter texts cannot hold ``REACH_FROM`` statements (each takes 30 characters or more:
``{"Effect":"Deny","Action":"*"}``): no need to look one up by its reach."""
BATCH_REACH_UP_TO = 4096
"""``simulate_many``: the distinct actions, and resources, of a batch that its shared reach may
hold; a larger batch's requests each use their own."""

REMEMBERED_POLICIES = CompiledPolicies(64, max_statements=5_000, max_chars=1 << 20)
"""Documents a single ``simulate`` call (the Simulate RPC) compiled before, kept for the next call
that gives the same text: a UI asks about the same managed policies again and again, and reading
and compiling ReadOnlyAccess or a policy of 5,000 statements costs far more than its decisions.
Bounded by 5,000 compiled statements and 1 Mi characters of text in all (a compiled statement with
its plans is a few KB; a document's text of 1 Mi characters parses to ~5 MB); per process.
``simulate_many`` keeps its own per batch."""


def read_simulation(
    request: Mapping[str, Any],
    limits: SimulationLimits | None = None,
    compiled: CompiledPolicies | None = None,
    *,
    reach: Reach | bool = False,
) -> Simulation:
    """Validate and compile a SimulateCustomPolicy-shaped request.

    Raises SimulationInputError, or SimulationLimitError (a subclass) when the request is larger
    than ``limits`` allow; sizes are checked before any context value or policy is read.
    ``reach``: large documents are compiled only as far as the request's actions and resources
    (``True``), or those of a ``Reach`` covering them (a batch's), reach — the simulation then
    answers those requests alike, without an explanation; ``False`` compiles every statement.
    """
    limits = limits if limits is not None else SimulationLimits()
    if not isinstance(request, Mapping):
        raise SimulationInputError("", "a simulation request must be a JSON object")
    for key in request:
        if key not in FIELDS:
            raise SimulationInputError(key, f"unknown field (expected one of {', '.join(FIELDS)})")
    actions = _string_list(request, "ActionNames", required=True)
    resources = _string_list(request, "ResourceArns", required=False) or ["*"]
    check_sizes(request, len(actions) * len(resources), limits)
    caller = _caller(request)
    owner = _owner(request.get("ResourceOwner"))
    context = build_context(_context_entries(request.get("ContextEntries", [])))
    statements = _StatementCount(limits.max_simulate_statements, context, limits.max_condition_comparisons)
    statements.compiled = compiled
    if reach is True or (reach is not False and not reach.covers(actions, resources)):
        statements.reach_of = lambda: Reach.of(actions, resources)  # only if a large document comes
    elif reach is not False:
        statements.reach = reach
    policy_set = PolicySet(
        identity=_policies(request, "PolicyInputList", PolicyKind.IDENTITY, statements) or (),
        resource=_resource_policy(request.get("ResourcePolicy"), statements),
        boundary=_policies(request, "PermissionsBoundaryPolicyInputList", PolicyKind.BOUNDARY, statements),
        session=_policies(request, "SessionPolicyList", PolicyKind.SESSION, statements),
        scp_levels=_scp_levels(request.get("ServiceControlPolicyLevels"), statements),
    )
    wildcard_only = _WILDCARD_ONLY
    pairs = [(action, resource) for action in actions for resource in resources]
    requests = tuple(
        Request(
            caller,
            action,
            "*" if wildcard_only.takes_no_resource(action) else resource,
            context,
            resource_account=owner,
        )
        for action, resource in pairs
    )
    return Simulation(policy_set, requests, tuple(resource for _, resource in pairs))


_WILDCARD_ONLY = WildcardOnlyActions()
"""AWS's reference (a simulation has no services.json); its answers kept per action, bounded."""


def check_sizes(request: Mapping[str, Any], evaluations: int, limits: SimulationLimits) -> None:
    """Refuse a request whose size alone exceeds a limit, before any of it is read or evaluated.

    Fields of the wrong shape are skipped here; the readers report them.
    """
    if evaluations > limits.max_simulate_evaluations:
        raise _too_many(
            "ActionNames x ResourceArns",
            evaluations,
            "evaluations",
            limits.max_simulate_evaluations,
            "max_simulate_evaluations",
        )
    entries = request.get("ContextEntries")
    if isinstance(entries, list):
        if len(entries) > limits.max_context_entries:
            raise _too_many(
                "ContextEntries", len(entries), "entries", limits.max_context_entries, "max_context_entries"
            )
        values = sum(
            len(v) if isinstance(v, list) else 1
            for v in (e.get("ContextKeyValues", []) for e in entries if isinstance(e, Mapping))
        )
        if values > limits.max_context_values:
            raise _too_many(
                "ContextEntries", values, "values", limits.max_context_values, "max_context_values"
            )
    levels = request.get("ServiceControlPolicyLevels")
    if isinstance(levels, list) and len(levels) > limits.max_scp_levels:
        raise _too_many(
            "ServiceControlPolicyLevels", len(levels), "levels", limits.max_scp_levels, "max_scp_levels"
        )
    size = sum(_document_size(document) for document in _documents(request))
    if size > limits.max_simulate_policy_bytes:
        raise _too_many(
            "policies",
            size,
            "bytes of policy text",
            limits.max_simulate_policy_bytes,
            "max_simulate_policy_bytes",
        )


def _documents(request: Mapping[str, Any]) -> Iterator[Any]:
    for name in ("PolicyInputList", "PermissionsBoundaryPolicyInputList", "SessionPolicyList"):
        documents = request.get(name)
        if isinstance(documents, list):
            yield from documents
    if request.get("ResourcePolicy") is not None:
        yield request["ResourcePolicy"]
    levels = request.get("ServiceControlPolicyLevels")
    if isinstance(levels, list):
        for level in levels:
            if isinstance(level, list):
                yield from level


def _document_size(document: Any) -> int:
    if isinstance(document, str):
        # Characters first: most policies are ASCII and need no encoding to be measured.
        return len(document) if document.isascii() else len(document.encode("utf-8", "surrogatepass"))
    if isinstance(document, Mapping):
        try:
            return len(json.dumps(document, separators=(",", ":")).encode())
        except (TypeError, ValueError, RecursionError):
            return 0  # not JSON data: the policy reader reports it
    return 0


def condition_clauses(document: PolicyDocument) -> tuple[tuple[str, int], ...]:
    """(condition key, number of policy values) of every clause of ``document``, in order.

    The statements with conditions are picked out first: most have none, and a nested generator
    pays for each empty tuple (5,000 statements: 199 -> 82 µs)."""
    conditional = [s.conditions for s in document.statements if s.conditions]
    if not conditional:
        return ()
    return tuple((c.key, len(c.values)) for conditions in conditional for c in conditions)


def condition_comparisons(clauses: Iterable[tuple[str, int]], value_counts: Mapping[str, int]) -> int:
    """How many value comparisons condition clauses ask for, at most, in one evaluation.

    ``clauses`` are (condition key, number of policy values); ``value_counts`` maps lower-cased
    context keys to their number of values (a key the context lacks counts as one).
    """
    return sum(values * max(1, value_counts.get(key.lower(), 1)) for key, values in clauses)


class _StatementCount:
    """Statements and condition comparisons read so far over every policy, against their limits."""

    __slots__ = (
        "comparisons",
        "compiled",
        "limit",
        "max_comparisons",
        "reach",
        "reach_of",
        "total",
        "value_counts",
    )

    def __init__(self, limit: int, context: Mapping[str, ContextValue], max_comparisons: int) -> None:
        self.limit = limit
        self.total = 0
        self.value_counts = {key: len(value.values) for key, value in context.items()}
        self.max_comparisons = max_comparisons
        self.comparisons = 0
        self.compiled: CompiledPolicies | None = None
        self.reach: Reach | None = None
        """Large documents are compiled for this reach only (``read_simulation``)."""
        self.reach_of: Callable[[], Reach] | None = None
        """Makes ``reach`` when it is first needed (most calls give no large document)."""

    def wanted_reach(self) -> Reach | None:
        if self.reach_of is not None:
            self.reach, self.reach_of = self.reach_of(), None
        return self.reach

    def add(self, path: str, document: PolicyDocument, clauses: Sequence[tuple[str, int]]) -> None:
        """Count ``document``'s statements and its condition ``clauses`` (``condition_clauses``)."""
        self.total += len(document.statements)
        if self.total > self.limit:
            raise SimulationLimitError(
                path,
                f"{self.total} statements so far over the given policies, at most {self.limit} per call",
                "max_simulate_statements",
            )
        self.comparisons += condition_comparisons(clauses, self.value_counts)
        if self.comparisons > self.max_comparisons:
            raise SimulationLimitError(
                path,
                f"{self.comparisons} condition comparisons per evaluation so far (policy values x "
                f"context values of their key), at most {self.max_comparisons}",
                "max_condition_comparisons",
            )


def simulate(
    request: Mapping[str, Any],
    *,
    explain: bool = False,
    limits: SimulationLimits | None = None,
    caller_deadline: float | None = None,
    compiled: CompiledPolicies | None = None,
    share_gil: bool = True,
    reach: Reach | None = None,
) -> dict[str, Any]:
    """Answer one request: one result per action x resource, in that order.

    ``caller_deadline`` (a ``time.monotonic()`` instant, e.g. a gRPC client's deadline) stops the
    work early when it comes before the budget of ``limits``; so does the budget itself.
    Raises SimulationStopped then, SimulationLimitError for an answer too large. Without
    ``explain``, large documents are compiled only for the request's actions and resources, or
    those of ``reach`` (a batch's, covering them).
    """
    limits = limits if limits is not None else SimulationLimits()
    clock = _Clock(limits.max_expensive_call_seconds, caller_deadline, share_gil=share_gil)
    simulation = read_simulation(
        request,
        limits,
        compiled if compiled is not None else REMEMBERED_POLICIES,
        reach=False if explain else (reach if reach is not None else True),
    )
    total = len(simulation.requests)
    size_left = limits.max_simulate_response_bytes
    results = []
    for done, query in enumerate(simulation.requests):
        clock.check(done, total)
        # Without an explanation, the indexed path finds the same MatchedStatements and
        # MissingContextValues (every applying statement) without tracing every statement.
        evaluation = evaluate(simulation.policy_set, query, explain=explain, every_match=True)
        result: dict[str, Any] = {
            "EvalActionName": query.action,
            "EvalResourceName": simulation.resource_names[done],
            "EvalDecision": evaluation.decision.value,
            "MatchedStatements": [ref_json(ref) for ref in evaluation.determining],
            "MissingContextValues": list(evaluation.missing_context),
        }
        if explain:
            result["Explanation"] = explanation_json(evaluation)
        size_left -= _result_size(result, explain)
        if size_left < 0:
            raise SimulationLimitError(
                "EvaluationResults",
                f"the answer grew past {limits.max_simulate_response_bytes} bytes after {done + 1} of "
                f"{total} evaluations, at most {limits.max_simulate_response_bytes} per call",
                "max_simulate_response_bytes",
            )
        results.append(result)
    return {"EvaluationResults": results}


def _result_size(result: Mapping[str, Any], explain: bool) -> int:
    """About the bytes one result takes on the wire (and a few times that in memory)."""
    size = 16 + len(result["EvalActionName"]) + len(result["EvalResourceName"])
    refs = result["MatchedStatements"]
    size += sum(16 + len(ref["SourcePolicyId"]) + len(ref["Sid"] or "") for ref in refs)
    size += sum(4 + len(key) for key in result["MissingContextValues"])
    if explain:
        size += len(json.dumps(result["Explanation"], separators=(",", ":")))
    return size


def simulate_many(
    items: Sequence[Any],
    *,
    explain: bool = False,
    limits: SimulationLimits | None = None,
    share_gil: bool = False,
) -> list[dict[str, Any]]:
    """Answer every request; a malformed one gets an error entry and the others are still answered.

    For ``iamgate simulate``, a process of its own: it does not yield the GIL (``share_gil``)
    between evaluations as the sidecar's Simulate does for Authorize's sake.
    """
    answers: list[dict[str, Any]] = []
    compiled = CompiledPolicies()  # a document given to many requests is compiled once
    reach = None if explain else batch_reach(items)  # ... for what the whole batch asks
    for index, item in enumerate(items):
        try:
            answers.append(
                simulate(
                    item, explain=explain, limits=limits, compiled=compiled, share_gil=share_gil, reach=reach
                )
            )
        except SimulationInputError as error:
            answers.append({"Error": {"Index": index, "Path": error.path, "Message": error.message}})
    return answers


def batch_reach(items: Sequence[Any]) -> Reach | None:
    """The actions and resources of every request of a batch, as one ``Reach`` (``None`` past
    ``BATCH_REACH_UP_TO`` of either): requests giving the same large document then share one
    compilation of the statements any of them can reach. Fields of the wrong shape are skipped
    (their requests are refused; a request outside the reach uses its own)."""
    actions: set[str] = set()
    resources: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            continue
        for name, found in (("ActionNames", actions), ("ResourceArns", resources)):
            raw = item.get(name)
            if isinstance(raw, str):
                found.add(raw)
            elif isinstance(raw, list):
                found.update(value for value in raw if isinstance(value, str))
        if len(actions) > BATCH_REACH_UP_TO or len(resources) > BATCH_REACH_UP_TO:
            return None
    return Reach.of(actions, resources or ["*"])


def _string_list(request: Mapping[str, Any], name: str, *, required: bool) -> list[str]:
    raw = request.get(name)
    if raw is None:
        if required:
            raise SimulationInputError(name, "is required: a list of strings")
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise SimulationInputError(name, "must be a list of strings")
    for position, item in enumerate(raw):
        if not isinstance(item, str) or not item:
            raise SimulationInputError(f"{name}[{position}]", "must be a non-empty string")
    if required and not raw:
        raise SimulationInputError(name, "must not be empty")
    return raw


def _caller(request: Mapping[str, Any]) -> Principal:
    raw = request.get("CallerArn")
    if raw is None:
        return Principal.parse("arn:aws:iam::000000000000:user/simulated-caller")
    if not isinstance(raw, str):
        raise SimulationInputError("CallerArn", "must be a string")
    try:
        return Principal.parse(raw)
    except RequestError as error:
        raise SimulationInputError("CallerArn", error.detail) from None


def _owner(raw: Any) -> str | None:
    """The account owning the simulated resources: ResourceOwner, else the caller's account."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise SimulationInputError("ResourceOwner", "must be an account id or arn:aws:iam::ACCOUNT:root")
    if raw.isdigit() and len(raw) == 12:
        return raw
    parts = raw.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    raise SimulationInputError("ResourceOwner", f"{raw!r} is not an account id or arn:aws:iam::ACCOUNT:root")


def _context_entries(raw: Any) -> list[ContextValue]:
    if not isinstance(raw, list):
        raise SimulationInputError("ContextEntries", "must be a list of context entries")
    entries = []
    for position, entry in enumerate(raw):
        path = f"ContextEntries[{position}]"
        if not isinstance(entry, Mapping):
            raise SimulationInputError(
                path, "must be an object with ContextKeyName, ContextKeyValues, ContextKeyType"
            )
        name = entry.get("ContextKeyName")
        if not isinstance(name, str) or not name:
            raise SimulationInputError(f"{path}.ContextKeyName", "must be a non-empty string")
        kind = entry.get("ContextKeyType", "string")
        if kind not in CONTEXT_TYPES:
            raise SimulationInputError(
                f"{path}.ContextKeyType", f"{kind!r} is not one of {', '.join(CONTEXT_TYPES)}"
            )
        values = entry.get("ContextKeyValues", [])
        if not isinstance(values, list):
            values = [values]
        texts = []
        reader = _TYPE_READERS.get(kind.removesuffix("List"))
        for index, value in enumerate(values):
            where = f"{path}.ContextKeyValues[{index}]"
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str | int | float):
                text = value if isinstance(value, str) else json.dumps(value)
            else:
                raise SimulationInputError(where, "must be a string")
            if reader is not None:
                read, expected = reader
                if read(text) is None:
                    message = f"{json.dumps(text)} is not {expected} (ContextKeyType {kind})"
                    raise SimulationInputError(where, message)
            texts.append(text)
        # A scalar type given several values is read as the list type: a set of values.
        entries.append(ContextValue(name, tuple(texts), multi=kind.endswith("List") or len(texts) > 1))
    return entries


def _document(
    raw: Any, path: str, policy_id: str, kind: PolicyKind, statements: _StatementCount
) -> CompiledPolicy:
    if not isinstance(raw, str | Mapping):
        raise SimulationInputError(path, "must be a policy document (a JSON object or a JSON string)")
    memo = statements.compiled
    reach = None
    key: _PolicyKey | None = None
    if memo is not None:
        text = raw if isinstance(raw, str) else _content_key(raw)
        key = (isinstance(raw, str), text, policy_id, kind) if text is not None else None
        known = memo.get(key) if key is not None else None
        if known is None and key is not None and len(key[1]) >= _REACH_TEXT_FROM and memo.holds_reached:
            reach = statements.wanted_reach()
            if reach is not None:
                known = memo.get((*key, reach))  # a large document, compiled for this reach before
        if known is not None:
            statements.add(path, known[0], known[2])  # this request's own limits, as if parsed anew
            return known[1]
    # Parsing and compiling a large policy allocates many long-lived objects and no cycles worth
    # finding: the cyclic collector is paused meanwhile, as for a bundle (it would rescan them).
    paused = gc.isenabled()
    gc.disable()
    try:
        document = parse_policy(raw, remember=True)  # requests repeat managed policies
        clauses = condition_clauses(document)
        statements.add(path, document, clauses)
        # A small document is compiled whole: any later call giving the text can use it.
        reach = statements.wanted_reach() if len(document.statements) >= REACH_FROM else None
        # Multivalued keys as AWS's reference types them (a simulation has no bundle services.json).
        policy = compile_policy(
            document, policy_id=policy_id, kind=kind, multivalued=aws_catalogue().multivalued, reach=reach
        )
    except PolicyParseError as error:
        first = error.problems[0]
        where = f"{path}.{first.path}" if first.path else path
        others = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise SimulationInputError(where, first.message + others) from None
    finally:
        if paused:
            gc.enable()
    if memo is not None and key is not None:
        memo.put(key if reach is None else (*key, reach), (document, policy, clauses))
    return policy


def _content_key(raw: Mapping[str, Any]) -> str | None:
    """A JSON object document's content as text (None when it cannot be serialized as given)."""
    try:
        return json.dumps(raw, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None


def _policies(
    request: Mapping[str, Any], name: str, kind: PolicyKind, statements: _StatementCount
) -> tuple[CompiledPolicy, ...] | None:
    raw = request.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise SimulationInputError(name, "must be a list of policy documents")
    return tuple(
        _document(doc, f"{name}[{i}]", f"{name}.{i + 1}", kind, statements) for i, doc in enumerate(raw)
    )


def _resource_policy(raw: Any, statements: _StatementCount) -> CompiledPolicy | None:
    if raw is None:
        return None
    return _document(raw, "ResourcePolicy", "ResourcePolicy", PolicyKind.RESOURCE, statements)


def _scp_levels(raw: Any, statements: _StatementCount) -> tuple[tuple[CompiledPolicy, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SimulationInputError(
            "ServiceControlPolicyLevels", "must be a list of levels (lists of documents)"
        )
    levels = []
    for level, docs in enumerate(raw):
        if not isinstance(docs, list):
            raise SimulationInputError(
                f"ServiceControlPolicyLevels[{level}]", "must be a list of policy documents"
            )
        levels.append(
            tuple(
                _document(
                    doc,
                    f"ServiceControlPolicyLevels[{level}][{i}]",
                    f"ServiceControlPolicyLevels.{level + 1}.{i + 1}",
                    PolicyKind.SCP,
                    statements,
                )
                for i, doc in enumerate(docs)
            )
        )
    return tuple(levels)
