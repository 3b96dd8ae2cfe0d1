"""``Snapshot.uncached_on_route_with`` (the cache-off route path for a query with caller context,
asked by the servicer's batch path) answers exactly as ``authorize``'s general path does.

The reference is a snapshot of the same bundle whose ``authorize`` always runs its general code.
Each query of a random sequence is asked of the route path first (``authorize`` only when it
says ``None``, as the servicer does) and of the reference; answers and refusals must be equal.
These tests fail if the route path skipped the engine, kept an outcome for another evaluation,
let a key through that the trust model refuses, or answered for a snapshot with a cache.
"""

from __future__ import annotations

from dataclasses import fields

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.bundle import snapshot as snapshot_module
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.snapshot import Snapshot
from iamgate.bundle.trust import TrustedKeys
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue, resource_parts
from iamgate.engine.result import Decision, Evaluation, PolicyKind

_SNAPSHOT = load_default_snapshot(cache_size=0)
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
TAG = "ec2:ResourceTag/Environment"

QUERIES = [
    AccessQuery(t.principal, t.action, t.resource, t.context)
    for t in _SNAPSHOT.tests
    if t.now is None and t.context and not t.session_policy and not t.session_tags
] + [
    AccessQuery("sarah-developer", "ec2:TerminateInstances", INSTANCE, (ContextValue(TAG, ("production",)),)),
    AccessQuery("sarah-developer", "ec2:TerminateInstances", INSTANCE, (ContextValue(TAG, ("staging",)),)),
    AccessQuery(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, (ContextValue("aws:username", ("x",)),)
    ),
    AccessQuery(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, (ContextValue("aws:NoSuchKey", ("x",)),)
    ),
    AccessQuery("sarah-developer", "ec2:TerminateInstances", INSTANCE),  # the same route, no context
    AccessQuery("nobody", "s3:GetObject", "arn:aws:s3:::b/k", (ContextValue("aws:SourceIp", ("10.0.0.1",)),)),
    AccessQuery("nobody", "s3:GetObject", "arn:aws:s3:::b/k", (ContextValue("aws:username", ("x",)),)),
    AccessQuery(
        "sarah-developer",
        "s3:GetObject",
        "arn:aws:s3:::prod-app-logs/app.log",
        (ContextValue("aws:SourceIp", ("10.0.0.1",)), ContextValue("aws:sourceip", ("10.0.0.2",))),
    ),
    AccessQuery(
        "sarah-developer",
        "sts:AssumeRole",
        "arn:aws:iam::123456789012:role/NoSuchRole",
        (ContextValue("aws:MultiFactorAuthPresent", ("true",)),),
    ),
]


class _GeneralOnly(Snapshot):
    """A snapshot whose ``authorize`` always runs its general code."""

    __slots__ = ()

    def uncached_on_route(self, principal: str, action: str, resource: str) -> AccessOutcome | None:
        return None

    def uncached_on_route_with(self, principal, action, resource, context) -> AccessOutcome | None:
        return None


def _general_only() -> Snapshot:
    snapshot = load_default_snapshot(cache_size=0)
    return _GeneralOnly(**{f.name: getattr(snapshot, f.name) for f in fields(snapshot)})


def _fields(outcome: AccessOutcome) -> tuple:
    return tuple(getattr(outcome, f.name) for f in fields(outcome))


def _routed(snapshot: Snapshot, query: AccessQuery) -> tuple | str:
    """As the servicer asks: the route path for a query with context, else (or on None) authorize."""
    try:
        outcome = None
        if query.context:
            outcome = snapshot.uncached_on_route_with(
                query.principal, query.action, query.resource, query.context
            )
        return _fields(outcome if outcome is not None else snapshot.authorize(query))
    except RequestError as error:
        return f"refused: {error}"


def _general(snapshot: Snapshot, query: AccessQuery) -> tuple | str:
    try:
        return _fields(snapshot.authorize(query))
    except RequestError as error:
        return f"refused: {error}"


@settings(max_examples=80, deadline=None)
@given(order=st.lists(st.sampled_from(range(len(QUERIES))), min_size=1, max_size=60))
def test_the_route_path_answers_every_sequence_as_the_general_path(order):
    routed, general = load_default_snapshot(cache_size=0), _general_only()
    for index in order:
        assert _routed(routed, QUERIES[index]) == _general(general, QUERIES[index]), QUERIES[index]


TRUSTED = TrustedKeys.of(["aws:PrincipalTag/*", "aws:username", "ec2:ResourceTag/*"])
TRUSTING_QUERIES = [
    *QUERIES,
    # filled keys the operator trusts callers with: the caller's value wins, and is not reported filled
    AccessQuery(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, (ContextValue("aws:username", ("x",)),)
    ),
    AccessQuery(
        "sarah-developer",
        "ec2:TerminateInstances",
        INSTANCE,
        (
            ContextValue("aws:SourceIp", ("10.0.0.1",)),
            ContextValue("EC2:resourcetag/environment", ("staging",)),
        ),
    ),
    AccessQuery(
        "sarah-developer",
        "ec2:TerminateInstances",
        INSTANCE,
        (ContextValue("aws:PrincipalTag/Team", ("x",)), ContextValue("aws:principaltag/team", ("y",))),
    ),
]


@settings(max_examples=60, deadline=None)
@given(order=st.lists(st.sampled_from(range(len(TRUSTING_QUERIES))), min_size=1, max_size=60))
def test_the_route_path_answers_as_the_general_path_when_callers_may_assert_filled_keys(order):
    routed = load_default_snapshot(cache_size=0).with_trust(TRUSTED)
    general = _general_only().with_trust(TRUSTED)
    for index in order:
        query = TRUSTING_QUERIES[index]
        assert _routed(routed, query) == _general(general, query), query


def test_resource_facts_carry_their_arn_split_once():
    snapshot = load_default_snapshot(cache_size=0)
    for text in (INSTANCE, "arn:aws:s3:::b/k:x", "*", "arn:aws:iam::123456789012:role/ProductionDebugRole"):
        facts = snapshot.resource_facts(text)
        assert facts.parts == resource_parts(facts.arn)


def test_the_route_path_is_taken_once_a_route_is_kept_and_refuses_what_authorize_refuses():
    snapshot = load_default_snapshot(cache_size=0)
    query = QUERIES[-9]
    assert (
        snapshot.uncached_on_route_with(query.principal, query.action, query.resource, query.context) is None
    )
    snapshot.authorize(query)  # keeps the route
    taken = snapshot.uncached_on_route_with(query.principal, query.action, query.resource, query.context)
    assert taken is not None and _fields(taken) == _general(_general_only(), query)
    owned = QUERIES[-7]
    try:
        snapshot.uncached_on_route_with(owned.principal, owned.action, owned.resource, owned.context)
    except RequestError as error:
        assert error.field == "context[0].key"
    else:
        raise AssertionError("an owned key was let through")


def test_a_snapshot_with_a_cache_never_takes_the_route_path():
    snapshot = load_default_snapshot(cache_size=100)
    query = QUERIES[-9]
    for _ in range(3):
        snapshot.authorize(query)
        assert (
            snapshot.uncached_on_route_with(query.principal, query.action, query.resource, query.context)
            is None
        )


def test_the_engine_evaluates_every_item_on_the_route_path(monkeypatch):
    """Were the engine to answer differently, the route's last outcome must not be served."""
    snapshot = load_default_snapshot(cache_size=0)
    query = QUERIES[-9]
    real = snapshot.authorize(query)
    again = snapshot.uncached_on_route_with(query.principal, query.action, query.resource, query.context)
    assert again is real  # the route's last outcome, for an equal evaluation
    other = Evaluation(Decision.EXPLICIT_DENY)
    monkeypatch.setattr(snapshot_module, "evaluate", lambda policy_set, request, **_: other)
    changed = snapshot.uncached_on_route_with(query.principal, query.action, query.resource, query.context)
    assert changed is not real and changed.evaluation is other and "explicit deny" in changed.message
    assert changed.filled_context == real.filled_context and changed.principal_arn == real.principal_arn


def test_contexts_giving_different_answers_on_one_route_share_one_outcome_per_answer():
    snapshot = load_default_snapshot(cache_size=0)
    production, staging = QUERIES[-9], QUERIES[-8]
    first = {query: snapshot.authorize(query) for query in (production, staging)}
    assert first[production].evaluation != first[staging].evaluation
    for _ in range(3):
        for query in (production, staging):
            assert snapshot.authorize(query) is first[query]
            routed = snapshot.uncached_on_route_with(
                query.principal, query.action, query.resource, query.context
            )
            assert routed is first[query]


def test_a_route_keeps_a_bounded_number_of_outcomes(monkeypatch):
    snapshot = load_default_snapshot(cache_size=0)
    query = QUERIES[-9]
    snapshot.authorize(query)
    answers = [Evaluation(decision) for decision in Decision] + [
        Evaluation(Decision.IMPLICIT_DENY, denied_by=kind) for kind in PolicyKind
    ]
    assert len(answers) > snapshot_module.ROUTE_OUTCOMES_KEPT + 1
    turn = iter(answers * 2)
    monkeypatch.setattr(snapshot_module, "evaluate", lambda policy_set, request, **_: next(turn))
    given = [snapshot.authorize(query) for _ in range(len(answers))]
    assert [outcome.evaluation for outcome in given] == answers
    route = snapshot.memo.routes[(query.principal, query.action, query.resource)]
    assert len(route[8][1]) == snapshot_module.ROUTE_OUTCOMES_KEPT
    # cycling through more answers than are kept: each one was dropped before it came back
    again = [snapshot.authorize(query) for _ in range(len(answers))]
    assert not any(new is old for new, old in zip(again, given, strict=True))
    assert [_fields(o) for o in again] == [_fields(o) for o in given]
