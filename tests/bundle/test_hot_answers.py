"""Answers remembered whole (``Snapshot.answers``) are the answers ``authorize`` gives afresh.

With its own decision cache, a snapshot keeps each answer by the raw request and answers a repeat
before resolving, checking or assembling anything; an answer whose decision may depend on the
clock holds for its second only. These tests compare, request by request, a snapshot with its
cache (asked several times, at several instants) against one without any cache, on the embedded
bundle's own tests and on a generated bundle, and pin down what a remembered answer must never
skip: a refusal, a trust setting, the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.bundle_export import write_bundle
from bench.generator import generate_organization
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.trust import ResourceKnowledge, TrustedKeys, owned_reason
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue

INSTANTS = (
    None,
    datetime(2019, 6, 1, tzinfo=UTC),
    datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC),
    datetime(2031, 1, 1, tzinfo=UTC),
)


def _same(outcome, fresh) -> None:
    assert outcome.evaluation.decision == fresh.evaluation.decision
    assert outcome.evaluation.determining == fresh.evaluation.determining
    assert outcome.evaluation.missing_context == fresh.evaluation.missing_context
    assert outcome.evaluation.denied_by == fresh.evaluation.denied_by
    assert (outcome.message, outcome.filled_context, outcome.principal_arn, outcome.revision) == (
        fresh.message,
        fresh.filled_context,
        fresh.principal_arn,
        fresh.revision,
    )


def _queries_of(snapshot) -> list[tuple[AccessQuery, datetime | None]]:
    return [
        (
            AccessQuery(
                t.principal,
                t.action,
                t.resource,
                t.context,
                t.session_policy,
                session_tags=t.session_tags,
            ),
            t.now,
        )
        for t in snapshot.tests
    ]


def test_remembered_answers_equal_fresh_ones_on_the_embedded_bundle_at_every_instant():
    fresh, remembering = load_default_snapshot(cache_size=0), load_default_snapshot(cache_size=1000)
    queries = _queries_of(fresh)
    for _ in range(3):
        for query, test_now in queries:
            for now in (test_now, *INSTANTS):
                _same(remembering.authorize(query, now=now), fresh.authorize(query, now=now))
    assert remembering.answers, "nothing was remembered"


def test_every_embedded_test_passes_from_remembered_answers():
    snapshot = load_default_snapshot(cache_size=1000)
    for _ in range(3):
        for test in snapshot.tests:
            query = AccessQuery(
                test.principal,
                test.action,
                test.resource,
                test.context,
                test.session_policy,
                session_tags=test.session_tags,
            )
            assert snapshot.authorize(query, now=test.now).evaluation.decision == test.expected, test.name


def test_an_answer_that_reads_the_clock_holds_for_its_second_only():
    snapshot = load_default_snapshot(cache_size=1000)
    timed = [(q, now) for q, now in _queries_of(snapshot) if now is not None]
    assert timed, "the embedded bundle has tests at a fixed instant"
    clocked = 0
    for query, now in timed:
        snapshot.authorize(query, now=now)
        kept = snapshot.answers[
            (query.principal, query.action, query.resource, query.context, query.session_policy, ())
        ]
        later = snapshot.authorize(query, now=now + timedelta(days=3650))
        fresh = load_default_snapshot(cache_size=0).authorize(query, now=now + timedelta(days=3650))
        _same(later, fresh)
        if kept[1] is not None:  # kept for a second: the decade-later answer was not taken from it
            assert kept[1] == int(now.timestamp())
            clocked += 1
    assert clocked, "no embedded test reads the clock"


def test_a_remembered_answer_never_lets_an_owned_context_key_through():
    snapshot = load_default_snapshot(cache_size=1000)
    query, _ = _queries_of(snapshot)[0]
    snapshot.authorize(query)
    snapshot.authorize(query)
    asserting = AccessQuery(
        query.principal, query.action, query.resource, (ContextValue("aws:username", ("someone",)),)
    )
    for _ in range(3):
        with pytest.raises(RequestError, match="aws:username"):
            snapshot.authorize(asserting)


def test_a_refused_request_is_refused_every_time():
    snapshot = load_default_snapshot(cache_size=1000)
    query, _ = _queries_of(snapshot)[0]
    wildcard = AccessQuery(query.principal, "s3:Get*", query.resource)
    for _ in range(3):
        with pytest.raises(RequestError):
            snapshot.authorize(wildcard)
    assert not any(key[1] == "s3:Get*" for key in snapshot.answers if isinstance(key, tuple))


def test_a_snapshot_trusting_a_key_does_not_share_remembered_answers_with_one_that_does_not():
    strict = load_default_snapshot(cache_size=1000)
    trusting = strict.with_trust(TrustedKeys.of(["aws:username"]))
    query, _ = _queries_of(strict)[0]
    asserting = AccessQuery(
        query.principal, query.action, query.resource, (ContextValue("aws:username", ("someone",)),)
    )
    trusting.authorize(asserting)
    trusting.authorize(asserting)
    with pytest.raises(RequestError, match="aws:username"):
        strict.authorize(asserting)


def test_explanations_and_other_caches_are_never_served_remembered_answers():
    snapshot = load_default_snapshot(cache_size=1000)
    query, now = _queries_of(snapshot)[0]
    snapshot.authorize(query, now=now)
    explained = snapshot.authorize(query, now=now, explain=True)
    assert explained.evaluation.trace is not None


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    organization = generate_organization(300, 3, requests=150)
    directory = write_bundle(organization, tmp_path_factory.mktemp("generated"))
    return organization, directory


def _caller_context(definition) -> tuple[ContextValue, ...]:
    everything = ResourceKnowledge(tags_known=True, owner_known=True)
    return tuple(
        ContextValue(name, tuple(values), multi)
        for name, values, multi in definition.context
        if owned_reason(name.lower(), name, everything) is None
    )


def test_remembered_answers_equal_fresh_ones_on_a_generated_bundle(generated):
    organization, directory = generated
    fresh = load_snapshot(directory, cache_size=0)
    remembering = load_snapshot(directory, cache_size=10_000)
    checked = 0
    for definition in (*organization.typical_requests, *organization.heavy_requests):
        query = AccessQuery(
            definition.principal, definition.action, definition.resource, _caller_context(definition)
        )
        for now in INSTANTS[1:3] * 2:
            try:
                expected = fresh.authorize(query, now=now)
            except RequestError as error:
                with pytest.raises(RequestError, match=str(error.field)):
                    remembering.authorize(query, now=now)
                continue
            _same(remembering.authorize(query, now=now), expected)
            checked += 1
    assert checked > 100 and remembering.answers
