"""The sidecar's decision cache, seen through the snapshot: it never changes an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.request import ContextValue

TERMINATE = AccessQuery(
    "sarah-developer",
    "ec2:TerminateInstances",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
    (ContextValue("ec2:ResourceTag/Environment", ("production",)),),
)
NOON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cached():
    return load_default_snapshot()


@pytest.fixture(scope="module")
def uncached():
    return load_default_snapshot(cache_size=0)


def test_the_default_snapshot_caches_decisions(cached) -> None:
    assert cached.decision_cache is not None


def test_a_repeated_question_is_answered_from_the_cache(cached) -> None:
    cache = cached.decision_cache
    before = cache.hits
    first = cached.authorize(TERMINATE, now=NOON)
    second = cached.authorize(TERMINATE, now=NOON + timedelta(seconds=1))
    assert first.evaluation.decision == second.evaluation.decision
    assert cache.hits > before


def test_a_cache_size_of_zero_switches_the_cache_off(uncached) -> None:
    assert uncached.decision_cache is None
    assert uncached.authorize(TERMINATE, now=NOON).evaluation.decision.value == "explicitDeny"


def test_an_explanation_is_never_taken_from_the_cache(cached) -> None:
    cached.authorize(TERMINATE, now=NOON)
    explained = cached.authorize(TERMINATE, explain=True, now=NOON)
    assert explained.evaluation.trace is not None


@pytest.mark.parametrize("offset_days", [-400, 0, 200, 400])
def test_every_bundle_test_gets_the_same_answer_cached_and_uncached(cached, uncached, offset_days) -> None:
    """The bundle's own tests, asked twice through the cache at several dates (the contractor's
    time window depends on aws:CurrentTime), agree with fresh evaluations."""
    for test in cached.tests:
        now = (test.now or NOON) + timedelta(days=offset_days)
        query = AccessQuery(test.principal, test.action, test.resource, test.context, test.session_policy)
        fresh = uncached.authorize(query, now=now).evaluation.decision
        assert cached.authorize(query, now=now).evaluation.decision == fresh, test.name
        assert cached.authorize(query, now=now).evaluation.decision == fresh, test.name
