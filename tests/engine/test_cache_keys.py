"""The decision cache's hit path (issue 9): one flat key per entry, lookups without the lock.

A hit builds its entry key with a straight-line function compiled per plan *shape* (``signer``)
and looks the plan and the entry up without taking the lock. These tests pin down what that must
keep true: the compiled signer builds exactly the key its reference (``CachePlan.entry_key``)
builds; an absent key, a key present with no values and a multivalued key never share an entry
they should not; the positions an ordered key remembers per text are the positions a fresh read
gives; and under threads and constant eviction every answer is still a fresh evaluation's, and
every decision is counted once.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import compile_document, context, make_request
from test_cache import (
    CALLERS,
    EPOCHS,
    REQUEST_ACTIONS,
    REQUEST_RESOURCES,
    keys_read,
    random_entries,
    random_policy_set,
    random_requests,
)

from iamgate.engine import ContextValue, PolicySet, Request, build_context, evaluate
from iamgate.engine import cache as cache_module
from iamgate.engine.cache import ORDERED_TEXTS_KEPT, DecisionCache, build_plan

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fresh_copy(request: Request) -> Request:
    """An equal request made of new objects (new strings too), as the sidecar builds each one."""

    def new(text: str) -> str:
        return text.encode().decode()

    entries = [
        ContextValue(new(v.name), tuple(map(new, v.values)), v.multi) for v in request.context.values()
    ]
    owner = request.resource_account
    return Request(
        request.principal,
        new(request.action),
        new(request.resource),
        build_context(entries),
        None if owner is None else new(owner),
    )


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_the_compiled_signer_builds_the_reference_key(seed):
    """``plan.signer(context.get)`` is ``plan.entry_key(context)``, for plans of every shape
    (raw, presence-only and ordered keys in any order) and contexts with absent, empty and
    multivalued keys."""
    rng = random.Random(seed)
    policy_set = random_policy_set(rng)
    for request in random_requests(rng, 30, keys_read(policy_set)):
        plan = build_plan(policy_set, request, {})
        if plan.signer is None:
            continue
        assert plan.signer(request.context.get) == plan.entry_key(request.context)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), start=st.integers(EPOCHS[0] - 10**6, EPOCHS[-1] + 10**6))
def test_cached_answers_equal_fresh_evaluations_under_a_moving_clock(seed, start):
    """Random policies and requests whose aws:CurrentTime and aws:EpochTime advance by random
    steps (across the policies' boundaries), each request asked twice: as built and as an equal
    copy made of new objects. Every answer equals a fresh evaluation."""
    rng = random.Random(seed)
    cache = DecisionCache(maxsize=rng.choice([4, 64, 100_000]))
    now = start
    for number in range(3):
        policy_set = random_policy_set(rng)
        for request in random_requests(rng, 40, keys_read(policy_set)):
            now += rng.choice([0, 1, 1, 30, 3600, 86_400 * 40])
            clock = {
                "aws:CurrentTime": (datetime.fromtimestamp(now, UTC)).isoformat().replace("+00:00", "Z"),
                "aws:EpochTime": str(now),
            }
            entries = {v.name: v for v in request.context.values()}
            for name, text in clock.items():
                entries[name] = ContextValue(name, (text,))
            timed = Request(
                request.principal,
                request.action,
                request.resource,
                build_context(entries.values()),
                request.resource_account,
            )
            fresh = evaluate(policy_set, timed)
            scope = (number, timed.principal.arn)
            assert cache.evaluate(scope, policy_set, timed) == fresh, timed
            assert cache.evaluate(scope, policy_set, _fresh_copy(timed)) == fresh, timed


def test_equal_requests_made_of_new_objects_hit_the_same_entry():
    """The key compares values, not objects: the sidecar builds a new request for every call."""
    policy_set = PolicySet(
        identity=(
            compile_document(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:username": "alice"},
                        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                        "Null": {"aws:TokenIssueTime": "false"},
                    },
                }
            ),
        )
    )
    entries = {
        "aws:username": "alice",
        "aws:CurrentTime": "2026-12-03T18:00:00Z",
        "aws:TokenIssueTime": "2026-12-03T17:00:00Z",
    }
    request, cache = make_request(entries=entries), DecisionCache()
    assert cache.evaluate("alice", policy_set, request).allowed
    for _ in range(3):
        assert cache.evaluate("alice", policy_set, _fresh_copy(request)).allowed
    assert (cache.size, cache.hits, cache.misses) == (1, 3, 1)


def test_a_plans_last_stored_entry_is_answered_from_its_slot_by_value():
    """The slot under a plan's base holds the entry last stored for that plan: equal values made
    of new objects are answered from it without the entry map (emptied here to show it), other
    values still go to the map."""
    policy_set = PolicySet(
        identity=(
            compile_document(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:username": "alice"}},
                }
            ),
        )
    )
    alice = make_request(entries={"aws:username": "alice"})
    bob = make_request(entries={"aws:username": "bob"})
    cache = DecisionCache()
    assert cache.evaluate("s", policy_set, bob) == evaluate(policy_set, bob)
    assert cache.evaluate("s", policy_set, alice) == evaluate(policy_set, alice)  # the slot now holds alice's
    (slot,) = cache._plans.values()
    assert slot[1] == slot[0](alice.context.get) and slot[2] == evaluate(policy_set, alice)
    cache._entries.pop(slot[1])
    assert cache.evaluate("s", policy_set, _fresh_copy(alice)) == evaluate(policy_set, alice)
    evaluation, plan = cache.decide("s", policy_set, _fresh_copy(alice))
    assert evaluation == evaluate(policy_set, alice) and plan is cache_module._plan_of(slot[0])
    assert cache.evaluate("s", policy_set, _fresh_copy(bob)) == evaluate(policy_set, bob)  # from the map
    assert (cache.hits, cache.misses) == (3, 2)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {"aws:username": None}),  # absent / present with no values
        ({}, {"aws:username": []}),  # absent / present, multivalued, with no values
        ({"aws:username": "alice"}, {"aws:username": ["alice"]}),  # single / multivalued
        ({"aws:username": ["alice", "bob"]}, {"aws:username": ["bob", "alice"]}),  # order of values
    ],
)
def test_a_read_key_absent_empty_or_multivalued_gets_its_own_entry(first, second):
    """Values a condition can tell apart never share an entry, whatever the first answer was."""
    condition = {"ForAllValues:StringEquals": {"aws:username": ["alice"]}}
    policy_set = PolicySet(
        identity=(
            compile_document(
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}
            ),
        )
    )
    cache = DecisionCache()
    for entries in (first, second, first):
        request = make_request(entries=entries)
        assert cache.evaluate("alice", policy_set, request) == evaluate(policy_set, request)
    assert cache.size == 2


def test_a_null_only_key_present_with_no_values_shares_with_present_not_with_absent():
    """Null asks only whether the key is there (an empty list is there)."""
    policy_set = PolicySet(
        identity=(
            compile_document(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"Null": {"aws:TokenIssueTime": "false"}},
                }
            ),
        )
    )
    cache = DecisionCache()
    answers = [
        cache.evaluate("alice", policy_set, make_request(entries=entries)).decision
        for entries in ({"aws:TokenIssueTime": "x"}, {"aws:TokenIssueTime": None}, {})
    ]
    assert answers == ["allowed", "allowed", "implicitDeny"]
    assert cache.size == 2


def _ordered_plan():
    policy_set = PolicySet(
        identity=(
            compile_document(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
                }
            ),
        )
    )
    plan = build_plan(policy_set, make_request(entries={"aws:CurrentTime": "2025-01-01T00:00:00Z"}))
    ((_, ordered),) = plan.keys
    return ordered


def test_an_ordered_key_remembers_the_position_a_fresh_read_gives():
    """A single value (its part is the text) places to one int; any other part to ``(multi,
    positions)``; each is the position a fresh read gives, placed afresh, then remembered."""
    ordered = _ordered_plan()
    texts = ("2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z", "1767225600", "2027-01-01", "not a date")
    for _ in range(2):
        for text in texts:
            position = ordered.position(text)
            assert ordered[text] == (-1 if position is None else 2 * position[0] + position[1])
            assert ordered[(True, (text, text))] == (True, (position, position))
            assert ordered[(False, ())] == (False, ())
    assert ordered[None] is None  # an absent key: placed once and kept like any text
    assert None in ordered


def test_an_ordered_key_places_values_apart_exactly_when_their_positions_differ():
    """Two texts share a place only when a fresh read puts them at the same position (and the
    same side of a bound); a single value never shares with a multivalued one."""
    ordered = _ordered_plan()
    texts = (
        "2025-06-01T00:00:00Z",
        "2025-07-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:01Z",
        "2027-01-01",
        "not a date",
        "also not",
    )
    for first in texts:
        for second in texts:
            same = ordered.position(first) == ordered.position(second)
            assert (ordered[first] == ordered[second]) is same
            assert ordered[first] != ordered[(True, (second,))]
            assert ordered[(True, (first, second))] != ordered[(False, (first, second))]


def test_a_date_and_a_number_compared_against_equal_bounds_get_maps_of_their_own():
    """Maps are shared by reader and bounds: a date and a number with the same bound read the
    same text differently ("1767225600" is that instant as a date, and a number)."""
    policy_set = PolicySet(
        identity=(
            compile_document(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {
                        "DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
                        "NumericLessThan": {"s3:max-keys": "1767225600"},
                    },
                }
            ),
        )
    )
    cache = DecisionCache()
    for time, keys in (("2025-01-01T00:00:00Z", "10"), ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z")):
        request = make_request(entries={"aws:CurrentTime": time, "s3:max-keys": keys})
        assert cache.evaluate("alice", policy_set, request) == evaluate(policy_set, request)
        assert cache.evaluate("alice", policy_set, _fresh_copy(request)) == evaluate(policy_set, request)


def test_an_ordered_key_keeps_only_short_texts_and_at_most_its_bound():
    ordered = _ordered_plan()
    long_text = "2025-06-01T00:00:00" + "0" * 100 + "Z"
    assert ordered[long_text] == ordered.place(long_text)
    assert long_text not in ordered
    assert ordered[(True, (long_text,))] == (True, (ordered.position(long_text),))
    assert (True, (long_text,)) not in ordered
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for second in range(ORDERED_TEXTS_KEPT + 10):
        text = (start + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")
        assert ordered[text] == ordered.place(text)
        assert len(ordered) <= ORDERED_TEXTS_KEPT


_VALUE_TEXTS = st.sampled_from(["", "a", "b", "true", "1", "10", "a,b", "('a',)"])
_CONTEXT_VALUES = st.tuples(st.lists(_VALUE_TEXTS, max_size=3).map(tuple), st.sampled_from([False, True]))


@settings(max_examples=300, deadline=None)
@given(first=_CONTEXT_VALUES, second=_CONTEXT_VALUES)
def test_a_context_values_part_is_equal_exactly_when_its_multi_and_values_are(first, second):
    """``ContextValue.part`` stands for ``multi`` and ``values`` in every cache key: two values
    share a part (and so may share an entry) only when both are equal."""
    (values_a, multi_a), (values_b, multi_b) = first, second
    a = ContextValue("k", values_a, multi_a)
    b = ContextValue("K", tuple(v.encode().decode() for v in values_b), multi_b)
    assert (a.part == b.part) is (values_a == values_b and multi_a == multi_b)
    assert a.part is not None  # None is an absent key's part
    hash(a.part)


def test_plans_comparing_a_key_against_the_same_values_share_one_ordered_map():
    """Each plan reading the clock against the same dates uses the cache's one map for them."""
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}},
    }
    policy_set = PolicySet(identity=(compile_document({**statement, "Resource": "*"}),))
    cache = DecisionCache()
    for resource in ("arn:aws:s3:::a/1", "arn:aws:s3:::a/2"):
        request = make_request(resource=resource, entries={"aws:CurrentTime": "2025-01-01T00:00:00Z"})
        assert cache.evaluate("alice", policy_set, request) == evaluate(policy_set, request)
    first, second = (cache_module._plan_of(signer) for signer, _, _ in cache._plans.values())
    assert first is not second and first.keys[0][1] is second.keys[0][1]
    later = PolicySet(identity=(compile_document({**statement, "Resource": "*", "Sid": "Other"}),))
    other = build_plan(later, make_request(entries={}), {}, cache._orders)
    assert other.keys[0][1] is first.keys[0][1]


def test_the_ordered_maps_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(cache_module, "ORDERS_KEPT", 2)
    cache = DecisionCache()
    for day in range(1, 8):
        condition = {"DateLessThan": {"aws:CurrentTime": f"2026-01-0{day}T00:00:00Z"}}
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}
        policy_set = PolicySet(identity=(compile_document(statement),))
        request = make_request(entries={"aws:CurrentTime": "2026-01-03T12:00:00Z"})
        assert cache.evaluate(day, policy_set, request) == evaluate(policy_set, request)
        assert len(cache._orders) <= 2


def test_signers_are_compiled_once_per_shape_and_bounded(monkeypatch):
    """Plans of one shape share one compiled function; the compiled shapes kept are bounded."""
    monkeypatch.setattr(cache_module, "SHAPES_KEPT", 2)
    cache, rng = DecisionCache(), random.Random(5)
    for number in range(20):
        policy_set = random_policy_set(rng)
        for request in random_requests(rng, 10, keys_read(policy_set)):
            assert cache.evaluate(number, policy_set, request) == evaluate(policy_set, request)
            assert len(cache._shapes) <= 2


def test_threads_hitting_and_evicting_get_fresh_answers_and_every_decision_is_counted():
    """Hits take no lock: eight threads through a cache small enough to evict all the time still
    get fresh evaluations' answers, and hits + misses + uncacheable is exactly the calls made."""
    rng = random.Random(2026)
    policy_sets = [random_policy_set(rng) for _ in range(4)]
    work = []
    for _ in range(300):
        entries = random_entries(rng)
        request = Request(
            rng.choice(CALLERS), rng.choice(REQUEST_ACTIONS), rng.choice(REQUEST_RESOURCES), context(entries)
        )
        work.append((rng.randrange(4), request))
    expected = [evaluate(policy_sets[i], request) for i, request in work]
    cache, failures, start = DecisionCache(maxsize=16), [], threading.Barrier(8)
    rounds = 3

    def hammer(offset: int) -> None:
        start.wait()
        for step in range(rounds * len(work)):
            index = (step * 7 + offset * 37) % len(work)
            number, request = work[index]
            if step % 2:
                request = _fresh_copy(request)
            answer = cache.evaluate((number, request.principal.arn), policy_sets[number], request)
            if answer != expected[index]:
                failures.append((index, answer, expected[index]))

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert cache.size <= 16
    assert cache.hits + cache.misses + cache.uncacheable == 8 * rounds * len(work)
    assert cache.hits > 0


def test_count_hits_adds_to_the_hits_the_cache_counted_itself():
    policy_set = PolicySet(identity=(compile_document({"Effect": "Allow", "Action": "*", "Resource": "*"}),))
    cache, request = DecisionCache(), make_request()
    cache.evaluate("alice", policy_set, request)
    cache.evaluate("alice", policy_set, request)
    cache.count_hits(5)
    assert (cache.hits, cache.misses) == (6, 1)
