"""Latency on the embedded default bundle (the guide's organization), on its own test queries.

Three figures: ``Snapshot.authorize`` (the sidecar's whole per-request path minus gRPC: resolve
the principal, fill the context, evaluate, word the message), and the engine alone on exactly
the ``PolicySet`` and ``Request`` that ``authorize`` built, uncached and through the decision
cache. Those inputs are captured by wrapping the ``evaluate`` that the snapshot module calls, for
the bench only. Every answer is checked against the bundle's own expectations first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.timing import Latency, Series, measure
from iamgate.engine import PolicySet, Request, evaluate

REPEAT = 20
"""The bundle ships a few dozen tests; each round times them this many times over."""


@dataclass(frozen=True, slots=True)
class EmbeddedResult:
    source: str
    """``bundle`` (the embedded snapshot) or ``engine`` (the guide's DeveloperAccess policy only)."""
    queries: int
    latency: dict[str, Latency]


@contextmanager
def _capturing(module: Any, into: list[tuple[PolicySet, Request]]):
    original: Callable[..., Any] = module.evaluate

    def recording(policy_set: PolicySet, request: Request, **kwargs: Any) -> Any:
        into.append((policy_set, request))
        return original(policy_set, request, **kwargs)

    module.evaluate = recording
    try:
        yield
    finally:
        module.evaluate = original


def _bundle(rounds: int) -> EmbeddedResult:
    from iamgate.bundle import snapshot as snapshot_module
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.bundle.query import AccessQuery
    from iamgate.engine.cache import DecisionCache

    snapshot = load_default_snapshot(cache_size=0)  # uncached, so the engine inputs can be captured
    queries = [
        (
            AccessQuery(t.principal, t.action, t.resource, t.context, t.session_policy),
            t.now,
            t.expected,
            t.name,
        )
        for t in snapshot.tests
    ]
    captured: list[tuple[PolicySet, Request]] = []
    with _capturing(snapshot_module, captured):
        for query, now, expected, name in queries:
            outcome = snapshot.authorize(query, now=now)
            if outcome.evaluation.decision != expected:
                raise AssertionError(f"embedded bundle test {name!r}: got {outcome.evaluation.decision}")
    # Queries naming an unknown principal never reach the engine; the rest were each captured once.
    if not captured:
        raise AssertionError("could not capture the engine inputs of the embedded-bundle queries")
    cases = [(scope_of(snapshot.revision, request), ps, request) for ps, request in captured]
    cache = DecisionCache(maxsize=100_000)
    series = {
        "authorize": Series(
            lambda q, now: snapshot.authorize(q, now=now), [(q, n) for q, n, _, _ in queries] * REPEAT
        ),
        "uncached": Series(evaluate, [(ps, r) for _, ps, r in cases] * REPEAT),
        "cached": Series(cache.evaluate, cases * REPEAT),
    }
    if "cache" in inspect.signature(snapshot.authorize).parameters:
        cached_snapshot = DecisionCache(maxsize=100_000)
        series["authorize_cached"] = Series(
            lambda q, now: snapshot.authorize(q, now=now, cache=cached_snapshot),
            [(q, n) for q, n, _, _ in queries] * REPEAT,
        )
    if hasattr(snapshot, "with_cache"):
        # As the sidecar serves it: the snapshot's own cache (and the answers it keeps beside it).
        served = snapshot.with_cache(100_000)
        for query, now, expected, name in queries:
            if served.authorize(query, now=now).evaluation.decision != expected:
                raise AssertionError(f"embedded bundle test {name!r}: wrong answer with the own cache")
        series["authorize_served_cached"] = Series(
            lambda q, now: served.authorize(q, now=now), [(q, n) for q, n, _, _ in queries] * REPEAT
        )
    return EmbeddedResult("bundle", len(queries), measure(series, rounds=rounds))


def scope_of(revision: str, request: Request) -> tuple[str, str]:
    return (revision, request.principal.arn)


DEVELOPER_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "ec2:TerminateInstances",
            "Resource": "*",
            "Condition": {"StringEquals": {"ec2:ResourceTag/Environment": "production"}},
        },
    ],
}
"""The guide's Example 2, used when the bundle layer is not available."""


def _engine(rounds: int) -> EmbeddedResult:
    from iamgate.engine import ContextValue, PolicyKind, Principal, build_context, compile_policy
    from iamgate.engine.cache import DecisionCache
    from iamgate.policy import parse_policy

    policy = compile_policy(
        parse_policy(DEVELOPER_ACCESS), policy_id="DeveloperAccess", kind=PolicyKind.IDENTITY
    )
    policy_set = PolicySet(identity=(policy,))
    sarah = Principal.parse("arn:aws:iam::123456789012:user/sarah-developer")
    instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
    requests = [
        Request(sarah, action, resource, build_context(ContextValue(*c) for c in context))
        for action, resource, context in (
            ("ec2:TerminateInstances", instance, [("ec2:ResourceTag/Environment", ("production",))]),
            ("ec2:TerminateInstances", instance, [("ec2:ResourceTag/Environment", ("staging",))]),
            ("ec2:StopInstances", instance, []),
            ("s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", []),
        )
    ]
    cache = DecisionCache(maxsize=100_000)
    series = {
        "uncached": Series(evaluate, [(policy_set, r) for r in requests] * REPEAT * 10),
        "cached": Series(
            cache.evaluate, [(("guide", sarah.arn), policy_set, r) for r in requests] * REPEAT * 10
        ),
    }
    return EmbeddedResult("engine", len(requests), measure(series, rounds=rounds))


def measure_embedded(rounds: int) -> EmbeddedResult:
    try:
        import iamgate.bundle.default  # noqa: F401
    except ImportError:
        return _engine(rounds)
    return _bundle(rounds)
