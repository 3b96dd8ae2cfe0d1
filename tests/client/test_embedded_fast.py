"""Embedded's fast authorize path answers exactly as its general path and as a memo-less engine:
the plain path, the answer memo (per snapshot, per second), limits, validation and the trust model."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service.bundle_helpers import ACCOUNT, OBJECT, bundle_files, wait_until, write_tree

import iamgate_client as sdk
from iamgate_client import _embedded
from iamgate_client._models import Check, Decision, Outcome, PolicyType, StatementRef, decision_from

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
DEADLINE = 1893456000  # 2030-01-01T00:00:00Z


def _comparable(decision: Decision) -> Decision:
    return dataclasses.replace(decision, decision_id="")


@pytest.fixture
def bundle(tmp_path):
    return str(write_tree(tmp_path / "bundle", bundle_files(revision="A")))


def test_decision_from_builds_the_same_frozen_decision_as_the_constructor():
    ref = StatementRef("p", PolicyType.IDENTITY, "S", 0)
    share = (Outcome.ALLOWED, "m", "r", "arn", (ref,), ("k",), ("x",), PolicyType.UNSPECIFIED)
    made = decision_from(share, "d", "q")
    fields = (Outcome.ALLOWED, "m", "r", "d", "arn", "q", (ref,), ("k",), ("x",), PolicyType.UNSPECIFIED)
    assert type(made) is Decision and made == Decision(*fields) and hash(made) == hash(Decision(*fields))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.outcome = Outcome.EXPLICIT_DENY  # type: ignore[misc]
    assert made.error is None and made.hints == () and made.allowed


def test_the_decision_twin_keeps_the_slots_of_decision_in_order():
    assert _embedded.decision_from is decision_from
    from iamgate_client._models import _DecisionTwin

    assert _DecisionTwin.__slots__ == Decision.__slots__
    assert [field.name for field in dataclasses.fields(Decision)] == list(Decision.__slots__)


def test_the_plain_path_answers_as_the_general_path_on_every_default_bundle_test():
    with sdk.Embedded(cache_size=0) as embedded:
        tests = [t for t in embedded._current().tests if not t.context and t.now is None]
        assert tests
        for test in tests:
            plain = embedded.authorize(test.principal, test.action, test.resource, request_id="r")
            general = embedded._authorize_message(
                Check(test.principal, test.action, test.resource, None, None, "r"), 0.0
            )
            assert _comparable(plain) == _comparable(general)
            assert plain.decision_id != general.decision_id


def test_memoised_answers_equal_fresh_ones_and_only_the_identity_differs():
    with sdk.Embedded() as memoised, sdk.Embedded(cache_size=0) as fresh:
        tests = [t for t in fresh._current().tests if t.now is None]
        for _ in range(3):
            for test in tests:
                context = {c.name: list(c.values) if c.multi else c.values[0] for c in test.context} or None
                got = memoised.authorize(test.principal, test.action, test.resource, context, request_id="x")
                expected = fresh.authorize(
                    test.principal, test.action, test.resource, context, request_id="x"
                )
                assert _comparable(got) == _comparable(expected)
        assert memoised.stats().memo_hits > 0 and fresh.stats().memo_hits == 0
        ids = {
            memoised.authorize(tests[0].principal, tests[0].action, tests[0].resource).decision_id
            for _ in range(5)
        }
        assert len(ids) == 5


def test_a_memoised_answer_carries_each_calls_request_id(monkeypatch):
    monkeypatch.setattr(_embedded, "_time", lambda: 1_900_000_000.5)  # no second boundary mid-test
    with sdk.Embedded() as embedded:
        first = embedded.authorize("alex-contractor", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png")
        second = embedded.authorize(
            "alex-contractor", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", request_id="r-2"
        )
        assert (first.request_id, second.request_id) == ("", "r-2")
        assert embedded.stats().memo_hits >= 1


def _clocked_bundle(tmp_path):
    """Alice may read until half a second past DEADLINE (a date the memo cannot round away)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ObjectAccess",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00.500Z"}},
            }
        ],
    }
    extra = {
        f"accounts/{ACCOUNT}/policies.json": {
            "Policies": [{"PolicyName": "ObjectAccess", "Document": policy}]
        },
        "tests/alice.json": {"tests": []},
    }
    return str(write_tree(tmp_path / "clocked", bundle_files(revision="T", extra=extra)))


def test_the_memo_follows_the_clock_second_by_second_like_the_engine(tmp_path, monkeypatch):
    """A clock-dependent answer is memoised for one second only, the second the engine decided in."""
    bundle = _clocked_bundle(tmp_path)
    now = [DEADLINE - 5.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    monkeypatch.setattr(_embedded, "_time", lambda: now[0])
    with sdk.Embedded(bundle, poll_interval=60) as memoised, sdk.Embedded(bundle, cache_size=0) as fresh:
        answers = []
        for moment in (-1.7, -0.2, 0.1, 0.4, 0.6, 0.9, 1.05, 1.6, 2.2):
            now[0] = DEADLINE + moment
            for _ in range(2):
                got = memoised.authorize("alice", "s3:GetObject", OBJECT)
                assert got.allowed == fresh.authorize("alice", "s3:GetObject", OBJECT).allowed
            answers.append(got.allowed)
        assert answers == [True, True, True, True, True, True, False, False, False]
        assert memoised.stats().memo_hits >= 9


def test_a_new_revision_is_answered_at_once_not_from_the_memo(tmp_path):
    root = tmp_path / "bundle"
    write_tree(root, bundle_files(revision="A"))
    with sdk.Embedded(str(root), poll_interval=0.05) as embedded:
        for _ in range(3):
            assert not embedded.authorize("alice", "s3:PutObject", OBJECT)
        write_tree(root, bundle_files(write=True, revision="B"))
        wait_until(lambda: embedded.status().active.revision == "B")
        decision = embedded.authorize("alice", "s3:PutObject", OBJECT)
        assert decision.allowed and decision.revision == "B"


def test_the_request_size_limit_holds_for_a_memoised_question(bundle):
    with sdk.Embedded(bundle, service_options={"max_request_bytes": 200}) as embedded:
        assert embedded.authorize("alice", "s3:GetObject", OBJECT)
        assert embedded.authorize("alice", "s3:GetObject", OBJECT)
        with pytest.raises(sdk.IamgateClientError) as raised:
            embedded.authorize("alice", "s3:GetObject", OBJECT, request_id="r" * 300)
        assert raised.value.code == "RESOURCE_EXHAUSTED" and "--max-request-bytes" in str(raised.value)


def _outcome_or_code(ask, *args):
    try:
        return ask(*args).outcome
    except sdk.IamgateClientError as error:
        return error.code


def test_the_plain_path_refuses_exactly_the_sizes_the_general_path_refuses(bundle):
    with sdk.Embedded(bundle, service_options={"max_request_bytes": 150}) as embedded:
        for length in range(80, 130):
            check = Check("alice", "s3:GetObject", OBJECT, None, None, "r" * length)
            plain = _outcome_or_code(
                lambda c: embedded.authorize(c.principal, c.action, c.resource, request_id=c.request_id),
                check,
            )
            general = _outcome_or_code(embedded._authorize_message, check, 0.0)
            assert plain == general, length
        assert plain == "RESOURCE_EXHAUSTED"


def test_an_owned_context_key_is_refused_after_the_same_question_was_memoised(bundle):
    with sdk.Embedded(bundle) as embedded:
        for _ in range(2):
            assert embedded.authorize("alice", "s3:GetObject", OBJECT)
        with pytest.raises(sdk.OwnedContextKeyError):
            embedded.authorize("alice", "s3:GetObject", OBJECT, {"aws:PrincipalArn": ALICE})


@pytest.mark.parametrize(
    ("principal", "action", "field"),
    [("", "s3:GetObject", "principal"), ("alice", "nocolon", "action"), ("alice", "s3:Get*", "action")],
)
def test_invalid_plain_questions_are_refused_every_time(bundle, principal, action, field):
    with sdk.Embedded(bundle) as embedded:
        for _ in range(2):
            with pytest.raises(sdk.InvalidRequestError) as raised:
                embedded.authorize(principal, action, OBJECT)
            assert raised.value.details.startswith(f"{field}:")


def test_a_value_of_the_wrong_type_is_an_invalid_request(bundle):
    with sdk.Embedded(bundle) as embedded, pytest.raises(sdk.InvalidRequestError):
        embedded.authorize(42, "s3:GetObject", OBJECT)  # type: ignore[arg-type]


def test_a_non_ascii_question_is_answered_like_the_sidecar_would(bundle):
    with sdk.Embedded(bundle) as embedded:
        decision = embedded.authorize("alicé", "s3:GetObject", OBJECT)
        assert not decision.allowed and not decision.fail_closed
        with pytest.raises(sdk.InvalidRequestError):
            embedded.authorize("alice\ud800", "s3:GetObject", OBJECT)


_KEYS = st.sampled_from(
    [
        "team",
        "Team",
        "aws:SourceIp",
        "aws:SecureTransport",
        "aws:PrincipalArn",
        "s3:prefix",
        "",
        "clé",
        "aws:TagKeys",
    ]
)
_SCALARS = st.one_of(
    st.text(max_size=12),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([sdk.Ip("10.0.0.1"), sdk.Ip("not an ip"), sdk.Ip("::1")]),
    st.binary(max_size=4),
)
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=4), st.tuples(_SCALARS, _SCALARS))
_CONTEXTS = st.dictionaries(_KEYS, _VALUES, max_size=5)


def _answer(ask, check):
    try:
        return _comparable(ask(check))
    except sdk.IamgateClientError as error:
        return type(error).__name__, str(error)


@pytest.fixture(scope="module")
def tight():
    """Limits small enough that random contexts reach them; the default bundle."""
    options = {"max_request_bytes": 400, "max_context_entries": 3, "max_context_values": 5}
    with (
        sdk.Embedded(service_options=options) as memoised,
        sdk.Embedded(cache_size=0, service_options=options) as fresh,
    ):
        yield memoised, fresh


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    context=_CONTEXTS,
    who=st.sampled_from(["sarah-developer", "alex-contractor", "nobody"]),
    request_id=st.sampled_from(["", "r-1"]),
)
def test_any_context_is_answered_as_the_general_path_answers_it(tight, context, who, request_id):
    memoised, fresh = tight
    check = Check(
        who, "ec2:StopInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", context, None, request_id
    )
    expected = _answer(lambda c: fresh._authorize_message(c, 0.0), check)
    for embedded in (fresh, memoised, memoised):
        got = _answer(
            lambda c, e=embedded: e.authorize(
                c.principal, c.action, c.resource, c.context, request_id=c.request_id
            ),
            check,
        )
        assert got == expected


@pytest.fixture
def bundleless(free_port):
    """An Embedded whose bundle URL cannot be fetched: no bundle is ever active."""
    with sdk.Embedded(f"http://127.0.0.1:{free_port}/bundle.tar.gz", poll_interval=60) as embedded:
        assert embedded.status().active is None
        yield embedded


@pytest.fixture
def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("context", [None, {"team": "blue"}, {"rate": 1.5}])
def test_with_no_bundle_active_every_path_fails_closed(bundleless, context):
    decision = bundleless.authorize("alice", "s3:GetObject", OBJECT, context, request_id="r-9")
    assert not decision.allowed and decision.fail_closed and decision.request_id == "r-9"
    assert isinstance(decision.error, sdk.ConnectError)


@pytest.mark.parametrize("context", [None, {"team": "blue"}, {"rate": 1.5}])
def test_with_no_bundle_active_every_path_raises_when_told(bundleless, context):
    bundleless.on_unreachable = "raise"
    with pytest.raises(sdk.ConnectError, match="no policy bundle is active"):
        bundleless.authorize("alice", "s3:GetObject", OBJECT, context)


@pytest.mark.parametrize("context", [None, {"team": "blue"}, {"rate": 1.5}])
def test_with_no_bundle_active_an_invalid_question_is_still_invalid(bundleless, context):
    with pytest.raises(sdk.InvalidRequestError) as raised:
        bundleless.authorize("alice", "nocolon", OBJECT, context)
    assert raised.value.details.startswith("action:")
