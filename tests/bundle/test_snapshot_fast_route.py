"""``Snapshot._uncached_on_route`` (the cache-off, context-free fast path of ``authorize``)
answers exactly as the general path does.

The reference is the same snapshot kind with the fast path switched off (it then always returns
``None``, so ``authorize`` runs its general code). These tests fail if the fast path returned a
kept outcome for a different evaluation, skipped the engine, answered a query it should not take
(context, session policy or tags, an explanation, a fixed clock, a cache), or left a kept slot
stale.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.bundle import snapshot as snapshot_module
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.snapshot import Snapshot
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision, Evaluation, PolicyKind, StatementRef

_SNAPSHOT = load_default_snapshot(cache_size=0)
INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
QUERIES = [
    AccessQuery(t.principal, t.action, t.resource, t.context, t.session_policy, "", t.session_tags)
    for t in _SNAPSHOT.tests
    if t.now is None
] + [
    AccessQuery("nobody", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png"),
    AccessQuery("sarah-developer", "sts:AssumeRole", "arn:aws:iam::123456789012:role/NoSuchRole"),
    AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::my-app-images/other.png", request_id="7"),
]


class _GeneralOnly(Snapshot):
    """A snapshot whose ``authorize`` always runs its general code."""

    __slots__ = ()

    def _uncached_on_route(self, query: AccessQuery) -> AccessOutcome | None:
        return None


def _general_only() -> Snapshot:
    snapshot = load_default_snapshot(cache_size=0)
    return _GeneralOnly(**{f.name: getattr(snapshot, f.name) for f in fields(snapshot)})


def _fields(outcome: AccessOutcome) -> tuple:
    return tuple(getattr(outcome, f.name) for f in fields(outcome))


def _answer(snapshot: Snapshot, query: AccessQuery) -> tuple | str:
    try:
        return _fields(snapshot.authorize(query))
    except RequestError as error:
        return f"refused: {error}"


def _counting(monkeypatch) -> list[AccessOutcome | None]:
    """What the fast path returns from now on, in order (answers unchanged)."""
    returned: list[AccessOutcome | None] = []
    fast = Snapshot._uncached_on_route

    def spy(self: Snapshot, query: AccessQuery) -> AccessOutcome | None:
        returned.append(fast(self, query))
        return returned[-1]

    monkeypatch.setattr(Snapshot, "_uncached_on_route", spy)
    return returned


@settings(max_examples=60, deadline=None)
@given(order=st.lists(st.sampled_from(range(len(QUERIES))), min_size=1, max_size=60))
def test_the_fast_path_answers_every_sequence_as_the_general_path(order):
    fast, general = load_default_snapshot(cache_size=0), _general_only()
    for index in order:
        assert _answer(fast, QUERIES[index]) == _answer(general, QUERIES[index]), QUERIES[index]


def test_the_fast_path_answers_repeated_context_free_items_and_keeps_their_outcome(monkeypatch):
    snapshot = load_default_snapshot(cache_size=0)
    monkeypatch.setattr(snapshot_module.time, "time", lambda: 1_800_000_000.5)
    returned = _counting(monkeypatch)
    query = AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::prod-app-logs/app.log")
    first = snapshot.authorize(query)
    assert returned == [None]  # a new route: the general path
    assert snapshot.authorize(query) is first  # the kept outcome: its encoding is reused too
    assert returned == [None, first]


@pytest.mark.parametrize(
    "query, keywords",
    [
        (
            AccessQuery(
                "sarah-developer", "ec2:StopInstances", "*", (ContextValue("aws:SourceIp", ("1.2.3.4",)),)
            ),
            {},
        ),
        (AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::b/k"), {"explain": True}),
        (AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::b/k"), {"now": datetime.now(UTC)}),
    ],
)
def test_the_fast_path_is_not_asked_for_what_it_cannot_carry(monkeypatch, query, keywords):
    snapshot = load_default_snapshot(cache_size=0)
    returned = _counting(monkeypatch)
    for _ in range(3):
        snapshot.authorize(query, **keywords)
    assert returned == []


def test_a_snapshot_with_a_cache_never_takes_the_fast_path(monkeypatch):
    snapshot = load_default_snapshot(cache_size=100)
    returned = _counting(monkeypatch)
    query = AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::prod-app-logs/app.log")
    for _ in range(3):
        snapshot.authorize(query)
    assert returned == []


def test_a_changed_evaluation_gets_a_new_outcome_and_replaces_the_kept_one(monkeypatch):
    """Were the engine to answer differently within a second, the kept outcome must not be served."""
    snapshot = load_default_snapshot(cache_size=0)
    query = AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::prod-app-logs/app.log")
    monkeypatch.setattr(snapshot_module.time, "time", lambda: 1_800_000_000.5)
    real = snapshot.authorize(query)
    other = Evaluation(Decision.EXPLICIT_DENY)
    monkeypatch.setattr(snapshot_module, "evaluate", lambda policy_set, request, **_: other)
    changed = snapshot.authorize(query)
    assert changed is not real and changed.evaluation is other
    assert changed.message.startswith("User: ") and "explicit deny" in changed.message
    assert changed.filled_context == real.filled_context and changed.principal_arn == real.principal_arn
    assert snapshot.authorize(query) is changed  # kept in the route's slot for this second
    general = _general_only()
    general.authorize(query)
    assert _fields(general.authorize(query)) == _fields(changed)


def test_a_new_second_goes_through_the_general_path_and_fills_the_new_time(monkeypatch):
    snapshot = load_default_snapshot(cache_size=0)
    query = AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::prod-app-logs/app.log")
    clock = [1_800_000_000.2]
    monkeypatch.setattr(snapshot_module.time, "time", lambda: clock[0])
    first = snapshot.authorize(query)
    clock[0] = 1_800_000_000.7
    assert snapshot.authorize(query) is first
    clock[0] = 1_800_000_001.1
    later = snapshot.authorize(query)
    request = snapshot.memo.routes[(query.principal, query.action, query.resource)][8][0][1][0]
    assert request.context["aws:epochtime"].values == ("1800000001",)
    clock[0] = 1_800_000_001.9
    assert snapshot.authorize(query) is later


_REFS = [
    StatementRef("arn:aws:iam::123456789012:policy/A", PolicyKind.IDENTITY, 0, "Read"),
    StatementRef("arn:aws:iam::123456789012:policy/A", PolicyKind.IDENTITY, 1),
    StatementRef("arn:aws:s3:::b", PolicyKind.RESOURCE, 0, "Read"),
]
_EVALUATIONS = st.builds(
    Evaluation,
    st.sampled_from(list(Decision)),
    st.lists(st.sampled_from(_REFS), max_size=2).map(lambda refs: tuple(replace(r) for r in refs)),
    st.none() | st.sampled_from(list(PolicyKind)),
    st.lists(st.sampled_from(["aws:SourceIp", "aws:MultiFactorAuthPresent"]), max_size=2).map(tuple),
)
"""Evaluations built anew (their statement references equal copies, not the same objects)."""


@settings(max_examples=300, deadline=None)
@given(first=_EVALUATIONS, second=_EVALUATIONS, copy=st.booleans())
def test_a_kept_outcome_is_served_exactly_for_an_equal_evaluation(first, second, copy):
    """Both route paths serve the kept outcome for an evaluation equal to the kept one
    (``Evaluation.__eq__``, field by field), a new one otherwise."""
    if copy:  # an equal evaluation made of new objects
        second = replace(first, determining=tuple(replace(r) for r in first.determining))
    snapshot = load_default_snapshot(cache_size=0)
    plain = AccessQuery("sarah-developer", "s3:GetObject", "arn:aws:s3:::prod-app-logs/app.log")
    tag = ContextValue("ec2:ResourceTag/Environment", ("staging",))
    with_context = AccessQuery("sarah-developer", "ec2:TerminateInstances", INSTANCE, (tag,))
    answers = iter([first, second, first, second])
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(snapshot_module.time, "time", lambda: 1_800_000_000.5)
        patched.setattr(snapshot_module, "evaluate", lambda policy_set, request, **_: next(answers))
        kept = snapshot.authorize(plain)
        again = snapshot.uncached_on_route(plain.principal, plain.action, plain.resource)
        kept_with = snapshot.authorize(with_context)
        again_with = snapshot.uncached_on_route_with(
            with_context.principal, with_context.action, with_context.resource, with_context.context
        )
    assert (again is kept) == (first == second) and again.evaluation == second
    assert (again_with is kept_with) == (first == second) and again_with.evaluation == second


def test_the_route_paths_compare_every_field_an_evaluation_compares():
    """``Evaluation.__eq__`` and ``__hash__`` spell the compared fields out: a new compared field
    must be added there too."""
    compared = {f.name for f in fields(Evaluation) if f.compare}
    assert compared == {"decision", "determining", "denied_by", "missing_context"}


@settings(max_examples=300, deadline=None)
@given(first=_EVALUATIONS, second=_EVALUATIONS, traced=st.booleans())
def test_evaluations_are_equal_exactly_when_their_compared_fields_are(first, second, traced):
    """``Evaluation.__eq__`` and ``__hash__`` are the dataclass's: every field but ``trace``."""
    if traced:
        second = replace(second, trace=())
    compared = [f.name for f in fields(Evaluation) if f.compare]
    same = [getattr(first, name) for name in compared] == [getattr(second, name) for name in compared]
    assert (first == second) is same and (first != second) is not same
    assert not same or hash(first) == hash(second)
    assert (first == object()) is False
