"""The snapshot's per-request memos: bounded, and never changing an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from iamgate.bundle import snapshot as snapshot_module
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.cache import DecisionCache
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
NOON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def test_resolved_principals_are_kept_bounded_under_a_stream_of_unknown_names(monkeypatch) -> None:
    monkeypatch.setattr(snapshot_module, "PRINCIPALS_KEPT", 8)
    snapshot = load_default_snapshot(cache_size=0)
    for number in range(50):
        outcome = snapshot.authorize(AccessQuery(f"nobody-{number}", "ec2:StopInstances", INSTANCE))
        assert not outcome.principal_known
    assert len(snapshot.memo.principals) <= 8


def test_merged_context_layers_are_kept_bounded_under_a_stream_of_resources(monkeypatch) -> None:
    monkeypatch.setattr(snapshot_module, "LAYERS_KEPT", 8)
    snapshot = load_default_snapshot(cache_size=0)
    for number in range(50):
        snapshot.authorize(
            AccessQuery("sarah-developer", "ec2:StopInstances", f"{INSTANCE}{number}"), now=NOON
        )
    assert 0 < len(snapshot.memo.layers) <= 8


def test_a_resource_too_long_to_memoise_leaves_no_merged_layers_behind() -> None:
    snapshot = load_default_snapshot(cache_size=0)
    long_key = "arn:aws:s3:::my-app-images/" + "k" * (snapshot_module.MEMO_TEXT_LIMIT + 1)
    snapshot.authorize(AccessQuery("sarah-developer", "s3:GetObject", long_key), now=NOON)
    assert len(snapshot.memo.layers) == 0


def test_a_callers_context_never_leaks_into_the_next_request_of_the_same_principal() -> None:
    memoised = load_default_snapshot(cache_size=0)
    with_context = AccessQuery(
        "sarah-developer", "ec2:StopInstances", INSTANCE, (ContextValue("aws:SourceIp", ("10.0.0.1",)),)
    )
    without = AccessQuery("sarah-developer", "ec2:StopInstances", INSTANCE)
    memoised.authorize(with_context, now=NOON)
    again = memoised.authorize(without, now=NOON)
    fresh = load_default_snapshot(cache_size=0).authorize(without, now=NOON)
    assert again.filled_context == fresh.filled_context and "aws:SourceIp" not in again.filled_context
    assert again.evaluation == fresh.evaluation


def test_every_bundle_test_answers_the_same_from_the_memos_at_any_second() -> None:
    snapshot = load_default_snapshot(cache_size=0)
    for test in snapshot.tests:
        query = AccessQuery(test.principal, test.action, test.resource, test.context, test.session_policy)
        for now in (test.now, test.now, test.now + timedelta(hours=1) if test.now else None):
            answer = snapshot.authorize(query, now=now)
            fresh = load_default_snapshot(cache_size=0).authorize(query, now=now)
            assert (answer.evaluation, answer.filled_context, answer.message) == (
                fresh.evaluation,
                fresh.filled_context,
                fresh.message,
            ), test.name


def test_routes_of_questions_are_kept_bounded_under_a_stream_of_actions(monkeypatch) -> None:
    monkeypatch.setattr(snapshot_module, "ROUTES_KEPT", 8)
    snapshot = load_default_snapshot()
    for number in range(50):
        snapshot.authorize(AccessQuery("sarah-developer", f"ec2:Action{number}", INSTANCE), now=NOON)
    assert 0 < len(snapshot.memo.routes) <= 8
    assert len(snapshot.memo.requests) == 0  # a routed question keeps its request in its route


def test_context_free_requests_with_a_session_policy_are_kept_bounded(monkeypatch) -> None:
    monkeypatch.setattr(snapshot_module, "REQUESTS_KEPT", 8)
    snapshot = load_default_snapshot()
    session = "arn:aws:sts::123456789012:assumed-role/MobileApp-Images-Role/task-1"
    policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
    for number in range(50):
        snapshot.authorize(
            AccessQuery(session, f"s3:Action{number}", INSTANCE, session_policy=policy), now=NOON
        )
    assert 0 < len(snapshot.memo.requests) <= 8
    assert len(snapshot.memo.routes) == 0  # session policies take no route


def test_a_repeated_cached_question_gets_the_same_answer_from_either_cache() -> None:
    snapshot = load_default_snapshot()
    other = DecisionCache(100)
    query = AccessQuery("sarah-developer", "ec2:StopInstances", INSTANCE)
    answers = [snapshot.authorize(query, now=NOON, cache=cache) for cache in (None, other, None, other)]
    fresh = load_default_snapshot(cache_size=0).authorize(query, now=NOON)
    assert all(answer == fresh for answer in answers)


def test_a_routed_question_still_refuses_an_owned_context_key() -> None:
    snapshot = load_default_snapshot(cache_size=0)
    owned = (ContextValue("aws:username", ("john-developer",)),)
    for principal in ("sarah-developer", "nobody-known"):
        question = AccessQuery(principal, "ec2:StopInstances", INSTANCE)
        snapshot.authorize(question)  # takes the route
        assert (principal, "ec2:StopInstances", INSTANCE) in snapshot.memo.routes
        with pytest.raises(RequestError, match="aws:username"):
            snapshot.authorize(AccessQuery(principal, "ec2:StopInstances", INSTANCE, owned))


def test_a_routed_question_answers_as_a_fresh_snapshot_with_and_without_context() -> None:
    snapshot = load_default_snapshot(cache_size=0)
    context = (ContextValue("aws:RequestedRegion", ("us-east-1",)),)
    for test in snapshot.tests:
        for extra in ((), context):
            query = AccessQuery(test.principal, test.action, test.resource, test.context + extra)
            for _ in range(2):
                answer = snapshot.authorize(query, now=NOON)
            fresh = load_default_snapshot(cache_size=0).authorize(query, now=NOON)
            assert (answer.evaluation, answer.filled_context, answer.message) == (
                fresh.evaluation,
                fresh.filled_context,
                fresh.message,
            ), test.name


def test_many_resources_of_one_principal_in_one_second_answer_as_fresh_snapshots() -> None:
    """The principal's layers are kept per second (``_base_layers``) and each resource's put on top."""
    snapshot = load_default_snapshot(cache_size=0)
    resources = [
        INSTANCE,
        "arn:aws:s3:::my-app-images/logo.png",
        "arn:aws:s3:::prod-app-logs/app.log",
        "arn:aws:iam::123456789012:user/john-developer",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-untagged",
        "*",
    ]
    for principal in (
        "sarah-developer",
        "mike-devops",
        "ec2.amazonaws.com",
        "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-1",
    ):
        for resource in resources:
            for action in ("ec2:TerminateInstances", "s3:GetObject", "iam:CreateAccessKey"):
                query = AccessQuery(principal, action, resource)
                answer = snapshot.authorize(query, now=NOON)
                fresh = load_default_snapshot(cache_size=0).authorize(query, now=NOON)
                assert (answer.evaluation, answer.filled_context, answer.message) == (
                    fresh.evaluation,
                    fresh.filled_context,
                    fresh.message,
                ), query
    assert 0 < len(snapshot.memo.bases) < len(snapshot.memo.layers)


def test_base_layers_are_kept_per_second_and_bounded(monkeypatch) -> None:
    monkeypatch.setattr(snapshot_module, "LAYERS_KEPT", 4)
    snapshot = load_default_snapshot(cache_size=0)
    query = AccessQuery("sarah-developer", "ec2:StopInstances", INSTANCE)
    for minute in range(10):
        now = NOON + timedelta(minutes=minute)
        answer = snapshot.authorize(query, now=now)
        request_time = snapshot.authorize(query, now=now, explain=True)
        assert answer.filled_context == request_time.filled_context
        assert len(snapshot.memo.bases) <= 4
    expected = NOON + timedelta(minutes=9)
    (base,) = [found for key, found in snapshot.memo.bases.items() if key[1] == int(expected.timestamp())]
    assert base[0]["aws:currenttime"].values == (expected.strftime("%Y-%m-%dT%H:%M:%SZ"),)


def test_refused_session_tags_are_refused_in_the_second_their_role_was_answered_with_allowed_ones(
    tmp_path,
) -> None:
    """A kept base of a session (per role, session name, tags and second) never lets other tags by."""
    from iamgate.bundle.load import load_snapshot
    from tests.security.trust_helpers import ANALYST_SESSION, LEDGER, write_abac_bundle

    snapshot = load_snapshot(write_abac_bundle(tmp_path)).with_cache(0)
    allowed = AccessQuery(ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags=(("Department", "Finance"),))
    refused = AccessQuery(ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags=(("Department", "Legal"),))
    for _ in range(2):
        assert snapshot.authorize(allowed, now=NOON).allowed
        with pytest.raises(RequestError, match="does not allow sts:TagSession"):
            snapshot.authorize(refused, now=NOON)
    assert all(key[0][2] != refused.session_tags for key in snapshot.memo.bases if isinstance(key[0], tuple))
