"""Small stand-ins for the bundle layer, shared by the service, client and CLI tests.

``FakeSnapshot`` answers with the real engine over a fixed set of identity policies (every
principal gets the same policies), so responses and traces are real evaluations without a
bundle. ``BrokenSnapshot`` fails the way a bug would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from iamgate.engine import (
    ContextValue,
    PolicyKind,
    PolicySet,
    Principal,
    Request,
    RequestError,
    access_message,
    build_context,
    compile_policy,
    evaluate,
)
from iamgate.policy import parse_policy
from iamgate.service import ServiceConfig, ServiceMetrics, StaticSnapshots, create_server
from iamgate.service.health import HealthReporter

ACCOUNT = "123456789012"

DEVELOPER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowEC2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {
            "Sid": "DenyTerminateProduction",
            "Effect": "Deny",
            "Action": "ec2:TerminateInstances",
            "Resource": "*",
            "Condition": {"StringEquals": {"ec2:ResourceTag/Environment": "production"}},
        },
    ],
}


@dataclass(frozen=True)
class Counts:
    principals: int = 1
    policies: int = 1
    statements: int = 2


@dataclass(frozen=True)
class Outcome:
    """Shaped like iamgate.bundle.query.AccessOutcome."""

    evaluation: Any
    principal_arn: str
    message: str
    filled_context: tuple[str, ...]
    revision: str


@dataclass
class FakeSnapshot:
    revision: str = "rev-1"
    name: str = "fake"
    source: str = "memory:fake"
    activated_at: datetime = field(default_factory=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    counts: Counts = field(default_factory=Counts)
    policy: dict[str, Any] = field(default_factory=lambda: DEVELOPER_POLICY)
    queries: list[Any] = field(default_factory=list)

    def authorize(self, query: Any, *, explain: bool = False, now: datetime | None = None) -> Outcome:
        self.queries.append(query)
        if query.session_policy is not None and not query.session_policy.lstrip().startswith("{"):
            raise RequestError("session_policy", "not a JSON object")
        arn = (
            query.principal
            if query.principal.startswith("arn:")
            else f"arn:aws:iam::{ACCOUNT}:user/{query.principal}"
        )
        principal = Principal.parse(arn)
        context = list(query.context)
        filled = ()
        if not any(c.name.lower() == "aws:username" for c in context):
            context.append(ContextValue("aws:username", (principal.name,)))
            filled = ("aws:username",)
        compiled = compile_policy(
            parse_policy(self.policy), policy_id="DeveloperAccess", kind=PolicyKind.IDENTITY
        )
        request = Request(principal, query.action, query.resource, build_context(context))
        evaluation = evaluate(PolicySet(identity=(compiled,)), request, explain=explain)
        message = access_message(arn, query.action, query.resource, evaluation)
        return Outcome(evaluation, arn, message, filled, self.revision)


class BrokenSnapshot(FakeSnapshot):
    def authorize(self, query: Any, *, explain: bool = False, now: datetime | None = None) -> Outcome:
        if query.action == "ec2:Explode":
            raise RuntimeError("a bug inside the engine")
        return super().authorize(query, explain=explain, now=now)


@contextlib.contextmanager
def running_server(
    snapshots: Any | None = None,
    *,
    metrics: ServiceMetrics | None = None,
    logger: Any | None = None,
    **config: Any,
) -> Iterator[tuple[str, Any]]:
    """A real gRPC server on an ephemeral loopback port; yields (address, snapshots)."""
    snapshots = snapshots if snapshots is not None else StaticSnapshots(FakeSnapshot())
    health = HealthReporter(snapshots)  # shut down below: a server without a bundle leaves no watcher
    server, port = create_server(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_workers=4, **config),
        snapshots=snapshots,
        metrics=metrics,
        decision_log=logger,
        health=health,
    )
    server.start()
    try:
        yield f"127.0.0.1:{port}", snapshots
    finally:
        health.shutdown()
        server.stop(None).wait()
