"""Decision logs for the access-report tests: from a real sidecar, or line by line as it writes them.

``sidecar_log`` starts a sidecar in-process on the embedded bundle with its decision log on, asks
it the given questions through the SDK and returns the log file. ``logged_line`` builds one line
exactly as the sidecar's writer thread does (the service's own ``build_event``/``encode_event``
over the snapshot's answer), for property tests that would be slow with a sidecar per example.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import iamgate_client as sdk
from iamgate.bundle.snapshot import Snapshot
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source
from iamgate.service.convert import access_query, authorize_response
from iamgate.service.decision_logs import LineLimits, build_event, encode_event
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

ACCOUNT = "123456789012"
SARAH = f"arn:aws:iam::{ACCOUNT}:user/sarah-developer"
JOHN = f"arn:aws:iam::{ACCOUNT}:user/john-developer"
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def instance(name: str) -> str:
    return f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{name}"


def embedded_bundle() -> Path:
    """The embedded bundle's directory (an editable install keeps it on disk)."""
    return Path(str(resources.files("iamgate.bundle.default").joinpath("bundle")))


Call = tuple[str, str, str, Mapping[str, str] | None]
"""(principal, action, resource, context)."""


def sidecar_log(path: Path, calls: Iterable[Call], **config: Any) -> Path:
    """Ask a real sidecar ``calls`` with its decision log at ``path``; the log once written."""
    settings = ServiceConfig(address="127.0.0.1:0", metrics_address=None, decision_log=str(path), **config)
    running = start_sidecar(settings, default_source())
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            for principal, action, resource, context in calls:
                client.authorize(principal, action, resource, dict(context) if context else None)
    finally:
        running.stop(0)  # closing the logger writes what is queued
    return path


def logged_line(
    snapshot: Snapshot,
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
    *,
    when: datetime = NOON,
    sensitive: frozenset[str] = frozenset(),
    limits: LineLimits | None = None,
) -> str:
    """One decision-log line as the sidecar writes it for this question, asked at ``when``."""
    limits = limits or LineLimits()
    request = pb.AuthorizeRequest(principal=principal, action=action, resource=resource)
    for key, value in (context or {}).items():
        request.context.add(key=key, values=[pb.ContextValue(string_value=value)])
    outcome = snapshot.authorize(access_query(request), now=when)
    response = authorize_response(outcome, "test-1", "")
    event = build_event((when.timestamp(), "Authorize", request, response, 0.001), sensitive, limits)
    return encode_event(event, limits)


def event(**changes: Any) -> str:
    """A hand-written version-1 line (sarah's allowed StopInstances), with top-level fields changed."""
    line: dict[str, Any] = {
        "version": 1,
        "decision_id": "x-1",
        "timestamp": "2026-06-01T12:00:00.000000Z",
        "method": "Authorize",
        "revision": "r1",
        "request": {
            "request_id": "",
            "principal": "sarah-developer",
            "action": "ec2:StopInstances",
            "resource": instance("i-1"),
            "context": {},
            "session_policy": False,
        },
        "decision": "allowed",
        "principal_arn": SARAH,
        "determining": [],
        "filled_context_keys": [],
        "message": "",
        "latency_ms": 0.1,
    }
    line.update(changes)
    return json.dumps(line)


def suggestion_for(snapshot: Snapshot, lines: Iterable[str], principal: str, *, collapse_at: int = 5) -> Any:
    """The suggestion ``iamgate access-report --principal`` makes from these log lines."""
    from iamgate.bundle.access_report.logs import parse_line
    from iamgate.bundle.access_report.suggest import ReplaySet, suggest
    from iamgate.bundle.access_report.usage import summarise

    items = [parse_line(line, f"test:{number}") for number, line in enumerate(lines, 1)]
    replay_set = ReplaySet()
    summarise(items, snapshot=snapshot, only=principal, on_decision=replay_set)
    return suggest(snapshot, snapshot.by_arn[principal], replay_set, collapse_at=collapse_at)


def with_suggestion(snapshot: Snapshot, suggestion: Any) -> Snapshot:
    """The snapshot with the principal's identity policies replaced by the suggested document."""
    from iamgate.engine.compiled import compile_policy
    from iamgate.engine.result import PolicyKind
    from iamgate.policy import parse_policy

    policies = ()
    if suggestion.document is not None:
        document = parse_policy(suggestion.document)
        policies = (compile_policy(document, policy_id="suggested:test", kind=PolicyKind.IDENTITY),)
    return snapshot.with_identity_policies(suggestion.principal, policies)
