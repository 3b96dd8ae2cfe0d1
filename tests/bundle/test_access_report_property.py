"""Property: on the embedded bundle, for random sets of logged requests, the suggested policy allows
everything the log shows allowed, nothing outside the used actions, and nothing the bundle denies.

The log lines are what the sidecar writes for each request (``access_report_helpers.logged_line``);
every check asks ``Snapshot.authorize``, the evaluator that answers Authorize.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.errors import EngineError
from iamgate.engine.request import ContextValue

from .access_report_helpers import instance, logged_line, suggestion_for, with_suggestion

WHEN = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
SNAPSHOT = load_default_snapshot(cache_size=0)
PRINCIPALS = ("sarah-developer", "john-developer", "mike-devops", "lisa-finance", "alex-contractor")
ACTIONS = (
    "ec2:StopInstances",
    "ec2:TerminateInstances",
    "ec2:RunInstances",
    "ec2:DescribeInstances",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "logs:GetLogEvents",
    "iam:CreateAccessKey",
    "dynamodb:GetItem",
)
RESOURCES = (
    "*",
    *(instance(f"i-0abc{n}") for n in range(6)),
    instance("i-0prod1234567890ab"),
    *(f"arn:aws:s3:::my-app-images/{d}/{n}.png" for d in "ab" for n in range(6)),
    "arn:aws:s3:::my-app-images",
    "arn:aws:s3:::finance-reports/q1.csv",
    "arn:aws:logs:us-east-1:123456789012:log-group:/app/web:log-stream:web-1",
    "arn:aws:iam::123456789012:user/sarah-developer",
)
CONTEXTS = (None, {"ec2:ResourceTag/Environment": "production"}, {"ec2:ResourceTag/Environment": "staging"})
PROBE_CONTEXTS = (
    (),
    (ContextValue("ec2:ResourceTag/Environment", ("production",)),),
    (ContextValue("ec2:ResourceTag/Environment", ("staging",)),),
)

requests = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.sampled_from(RESOURCES), st.sampled_from(range(len(CONTEXTS)))),
    min_size=1,
    max_size=25,
)


def _ask(snapshot, principal, action, resource, context=()):
    """The answer, or ``None`` for a request the sidecar refuses (a tag the bundle holds, asserted)."""
    try:
        return snapshot.authorize(AccessQuery(principal, action, resource, context), now=WHEN)
    except EngineError:
        return None


def _line(name, action, resource, context):
    try:
        return logged_line(SNAPSHOT, name, action, resource, CONTEXTS[context], when=WHEN)
    except EngineError:
        return None  # refused with INVALID_ARGUMENT: never logged


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PRINCIPALS), requests, st.sampled_from((0, 2, 5)))
def test_the_suggestion_keeps_every_logged_allow_and_grants_nothing_unused(name, asked, collapse_at):
    (entry,) = SNAPSHOT.by_name[name]
    lines = [line for request in asked if (line := _line(name, *request)) is not None]
    suggestion = suggestion_for(SNAPSHOT, lines, entry.arn, collapse_at=collapse_at)
    assert suggestion.replay.same and suggestion.replay.not_reproduced_count == 0
    after = with_suggestion(SNAPSHOT, suggestion)
    for action, resource, context in asked:
        probe = tuple(PROBE_CONTEXTS[context])
        before = _ask(SNAPSHOT, name, action, resource, probe)
        if before is not None and before.allowed:
            assert _ask(after, name, action, resource, probe).allowed, (action, resource, context)
    used = {action.lower() for action in suggestion.actions}
    for action in ACTIONS:
        for resource in RESOURCES:
            for probe in PROBE_CONTEXTS:
                outcome = _ask(after, name, action, resource, probe)
                if outcome is None or not outcome.allowed:
                    continue
                assert _ask(SNAPSHOT, name, action, resource, probe).allowed, (action, resource, probe)
                if any(ref.policy_id == "suggested:test" for ref in outcome.evaluation.determining):
                    assert action.lower() in used, (action, resource)
