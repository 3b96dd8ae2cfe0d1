"""The decision cache (issue 5, "Decision cache"): a cached answer is always a fresh evaluation's answer.

The cache keys an answer by only the context its conditions and policy variables can read, and by
where a time or number falls among the boundaries written in the policies. That is a strong claim:
any key it leaves out, or any two values it wrongly lumps together, hands one caller another
caller's decision. So the main test replays thousands of random requests, through one shared cache,
against policies with conditions of every family, and compares each answer with an uncached
evaluation; the others pin down the sharing the cache promises (and its limits).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from strategies import (
    ACCOUNT,
    ALICE,
    APP_SESSION,
    BOB,
    OTHER_ACCOUNT,
    OUTSIDER,
    compile_document,
    context,
    make_request,
)

from iamgate.engine import PolicyKind, PolicySet, Principal, Request, evaluate
from iamgate.engine.cache import MAX_PLAN_KEYS, DecisionCache

# Boundaries written in the policies, each as ISO text and as epoch seconds (the same instants).
ISO_BOUNDS = ["2025-01-01T00:00:00Z", "2025-06-01T12:00:00Z", "2026-01-01"]
EPOCH_BOUNDS = ["1735689600", "1748779200", "1767225600"]
EPOCHS = [int(e) for e in EPOCH_BOUNDS]
TIME_KEYS = ("aws:CurrentTime", "aws:EpochTime")

# --------------------------------------------------------------------------------------------------
# Random policies: every condition family, IfExists, set operators, variables in Resource and values

STRING_OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
]
ORDERED = ["Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals"]
STRING_KEYS = {
    "aws:username": ["alice", "Alice", "bob", "a*", "guest", "${aws:PrincipalTag/team}"],
    "aws:PrincipalTag/team": ["red", "blue", "r?d", "${aws:username}"],
    "s3:prefix": ["home/${aws:username}/*", "home/${aws:username, 'guest'}/", "home/*", "${s3:max-keys}"],
}
RESOURCE_VARIABLE_KEYS = ["aws:username", "aws:PrincipalTag/team"]
NULL_KEYS = ["aws:TokenIssueTime", "aws:MultiFactorAuthAge", "aws:SourceIp", "s3:max-keys", "aws:CurrentTime"]


FAMILIES = ["string", "numeric", "date", "epoch", "bool", "ip", "null", "set", "arn", "binary"]


def _clause(rng: random.Random, family: str, *, null_keys: Sequence[str]) -> tuple[str, str, Any]:
    """One (operator, key, values) condition clause of the given family."""
    if family == "string":
        key = rng.choice(sorted(STRING_KEYS))
        operator, values = rng.choice(STRING_OPERATORS), rng.sample(STRING_KEYS[key], rng.randint(1, 2))
    elif family == "numeric":
        operator = "Numeric" + rng.choice(ORDERED)
        key, values = "s3:max-keys", rng.sample(["10", "100", "2.5", "-1"], rng.randint(1, 3))
    elif family == "date":
        operator, key = "Date" + rng.choice(ORDERED), "aws:CurrentTime"
        values = rng.sample(ISO_BOUNDS + EPOCH_BOUNDS[1:2], rng.randint(1, 3))
    elif family == "epoch":  # aws:EpochTime is compared both as a date and as a number in real policies
        operator, key = rng.choice(["Date", "Date", "Numeric"]) + rng.choice(ORDERED), "aws:EpochTime"
        values = rng.sample(EPOCH_BOUNDS, rng.randint(1, 3))
    elif family == "bool":
        operator = "Bool"
        key, values = (
            rng.choice(["aws:SecureTransport", "aws:MultiFactorAuthPresent"]),
            rng.choice(["true", "false"]),
        )
    elif family == "ip":
        operator, key = rng.choice(["IpAddress", "NotIpAddress"]), "aws:SourceIp"
        values = rng.sample(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32", "203.0.113.7"], rng.randint(1, 2))
    elif family == "null":
        return "Null", rng.choice(list(null_keys)), rng.choice(["true", "false"])
    elif family == "set":
        operator = rng.choice(["ForAnyValue:", "ForAllValues:"]) + rng.choice(
            ["StringEquals", "StringLike", "StringNotEquals"]
        )
        key, values = "aws:TagKeys", rng.sample(["Owner", "Env*", "team"], rng.randint(1, 2))
    elif family == "arn":
        operator, key = rng.choice(["ArnLike", "ArnEquals", "ArnNotLike"]), "aws:SourceArn"
        values = rng.sample(
            [
                f"arn:aws:sns:*:{ACCOUNT}:*",
                f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
                "arn:aws:sns:*:*:${aws:username}",
            ],
            rng.randint(1, 2),
        )
    else:
        operator, key, values = "BinaryEquals", "aws:PrincipalTag/fingerprint", ["QmluYXJ5"]
    if rng.randrange(4) == 0:
        operator += "IfExists"
    if family in ("numeric", "date", "epoch") and rng.randrange(6) == 0:
        operator = rng.choice(["ForAnyValue:", "ForAllValues:"]) + operator
    return operator, key, values


def _condition(rng: random.Random, families: Sequence[str], *, null_keys: Sequence[str]) -> dict[str, Any]:
    block: dict[str, dict[str, Any]] = {}
    for _ in range(rng.choice([1, 1, 2, 3])):
        operator, key, values = _clause(rng, rng.choice(families), null_keys=null_keys)
        block.setdefault(operator, {})[key] = values
    return block


RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:s3:::home/${aws:username, 'guest'}/*",
    "arn:aws:s3:::team/${aws:PrincipalTag/team}/*",
    "arn:aws:s3:::home/*",
    "arn:aws:s3:::team/red/*",
    f"arn:aws:sqs:*:{ACCOUNT}:queue",
]
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:*", "sqs:SendMessage", "*"]
PRINCIPALS = ["*", {"AWS": ACCOUNT}, {"AWS": ALICE}, {"AWS": [APP_SESSION, OUTSIDER]}]


def _statement(
    rng: random.Random, families: Sequence[str], *, principal: bool, null_keys: Sequence[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
    if principal:
        body["Principal"] = rng.choice(PRINCIPALS)
    body["NotAction" if rng.randrange(10) == 0 else "Action"] = rng.sample(ACTIONS, rng.randint(1, 2))
    body["NotResource" if rng.randrange(10) == 0 else "Resource"] = rng.sample(
        RESOURCE_PATTERNS, rng.randint(1, 2)
    )
    if rng.randrange(5):
        body["Condition"] = _condition(rng, families, null_keys=null_keys)
    return body


def random_policy_set(rng: random.Random, *, null_keys: Sequence[str] = NULL_KEYS) -> PolicySet:
    """Policies whose conditions draw on one to three families, so that single keys decide often."""
    families = rng.sample(FAMILIES, rng.choice([1, 2, 2, 3]))

    def policy(policy_id: str, kind: PolicyKind, count: int, *, principal: bool = False):
        statements = [
            _statement(rng, families, principal=principal, null_keys=null_keys) for _ in range(count)
        ]
        return compile_document(statements, policy_id=policy_id, kind=kind)

    identity = tuple(
        policy(f"id-{i}", PolicyKind.IDENTITY, rng.randint(1, 5)) for i in range(rng.randint(1, 2))
    )
    resource = (
        policy("res", PolicyKind.RESOURCE, rng.randint(1, 3), principal=True) if rng.randrange(2) else None
    )
    boundary = (policy("pb", PolicyKind.BOUNDARY, rng.randint(1, 3)),) if rng.randrange(4) == 0 else None
    scps = tuple(
        (policy(f"scp-{i}", PolicyKind.SCP, rng.randint(1, 3)),) for i in range(rng.choice([0, 0, 1]))
    )
    session = (policy("session", PolicyKind.SESSION, rng.randint(1, 3)),) if rng.randrange(5) == 0 else None
    return PolicySet(identity, resource, boundary, session, scps)


def keys_read(policy_set: PolicySet) -> list[str]:
    """The context keys (as named in CONTEXT_VALUES) that the policies' conditions and variables read."""
    by_lower = {key.lower(): key for key in [*CONTEXT_VALUES, *TIME_KEYS]}
    policies = [
        *policy_set.identity,
        *(policy_set.boundary or ()),
        *(policy_set.session or ()),
        *(p for lv in policy_set.scp_levels for p in lv),
    ]
    if policy_set.resource is not None:
        policies.append(policy_set.resource)
    return sorted({by_lower[k] for p in policies for s in p.statements for k in s.reads if k in by_lower})


# --------------------------------------------------------------------------------------------------
# Random requests: times on and around every boundary, irrelevant keys, odd values


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _time_value(rng: random.Random) -> str:
    bound = rng.choice(EPOCHS)
    choice = rng.randrange(9)
    if choice == 0:
        return ISO_BOUNDS[EPOCHS.index(bound)]  # exactly at a boundary, as written in the policy
    if choice == 1:
        return str(bound)  # the same instant, as epoch seconds
    if choice == 2:
        return _iso(bound + rng.choice([-1, 1]))  # one second either side
    if choice == 3:
        return _iso(bound + rng.choice([-0.25, 0.25]))  # a fraction of a second either side
    if choice == 4:
        return "2025-06-01T14:00:00+02:00"  # a boundary in another offset
    if choice == 5:
        return _iso(rng.uniform(EPOCHS[0] - 10**8, EPOCHS[-1] + 10**8))  # anywhere
    if choice == 6:
        return _iso(bound + rng.choice([-1, 1]) * rng.randint(2, 10**6))  # same interval, elsewhere
    if choice == 7:
        return str(bound + rng.choice([-1, 0, 1]))
    return rng.choice(["tomorrow", "", "2025-13-45"])  # not a date at all


CONTEXT_VALUES: dict[str, Any] = {
    "aws:username": ["alice", "bob", "Alice", "guest", "a*", "", ["alice", "bob"], ["alice"]],
    "aws:PrincipalTag/team": ["red", "blue", "alice", "Red", "", ["red"]],
    "s3:prefix": ["home/alice/", "home/alice/x", "home/guest/", "home/bob/", "10"],
    "s3:max-keys": ["10", "9", "11", "100", "2.5", "2.50", "-1", "1000", "abc", ["5", "500"]],
    "aws:SecureTransport": ["true", "false", "TRUE", "yes"],
    "aws:MultiFactorAuthPresent": ["true", "false"],
    "aws:SourceIp": ["10.1.2.3", "192.0.2.9", "2001:db8::5", "8.8.8.8", "bogus"],
    "aws:TokenIssueTime": ["2025-01-01T00:00:00Z", None],
    "aws:MultiFactorAuthAge": ["30", None],
    "aws:TagKeys": [[], ["Owner"], ["Env-prod", "team"], ["Owner", "team", "other"]],
    "aws:SourceArn": [f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts", "arn:aws:sns:eu-west-1:1:alice", "alice"],
    "aws:PrincipalTag/fingerprint": ["QmluYXJ5", "b3RoZXI=", "%%%"],
}
REQUEST_RESOURCES = [
    "arn:aws:s3:::home/alice/notes",
    "arn:aws:s3:::home/bob/notes",
    "arn:aws:s3:::home/guest/notes",
    "arn:aws:s3:::team/red/plan",
    "arn:aws:s3:::team/blue/plan",
    f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue",
]
REQUEST_ACTIONS = ["s3:GetObject", "s3:PutObject", "S3:getobject", "sqs:SendMessage"]
CALLERS = [Principal.parse(arn) for arn in (ALICE, BOB, APP_SESSION, OUTSIDER)]


def _value(rng: random.Random, key: str) -> Any:
    if key in TIME_KEYS:
        value = _time_value(rng)
        if key == "aws:EpochTime" and rng.randrange(2):
            value = str(rng.choice(EPOCHS) + rng.choice([-1, 0, 0, 1]))
        return [value, _time_value(rng)] if rng.randrange(12) == 0 else value
    return rng.choice(CONTEXT_VALUES[key])


def random_entries(rng: random.Random) -> dict[str, Any]:
    entries = {key: _value(rng, key) for key in [*CONTEXT_VALUES, *TIME_KEYS] if rng.randrange(3)}
    for _ in range(rng.randint(0, 3)):  # irrelevant to every policy
        entries[f"app:junk-{rng.randrange(50)}"] = str(rng.randrange(10**6))
    return entries


def nudged(rng: random.Random, entries: dict[str, Any], focus: Sequence[str]) -> dict[str, Any]:
    """A near-duplicate: one or two keys changed, removed or added, junk keys reshuffled.

    A cache that lumps together values it should tell apart is caught only when two requests agree
    on everything else; independent random contexts almost never do.
    """
    changed = dict(entries)
    for _ in range(rng.choice([1, 1, 1, 2])):
        key = rng.choice(focus) if focus and rng.randrange(4) else rng.choice([*CONTEXT_VALUES, *TIME_KEYS])
        if key in changed and rng.randrange(4) == 0:
            del changed[key]
        else:
            changed[key] = _value(rng, key)
    for junk in [k for k in changed if k.startswith("app:")]:
        if rng.randrange(2):
            del changed[junk]
    changed[f"app:junk-{rng.randrange(50)}"] = str(rng.randrange(10**6))
    return changed


def random_requests(rng: random.Random, count: int, focus: Sequence[str] = ()) -> list[Request]:
    """Groups of near-duplicate requests: a random base, then variants each nudged from the last
    (mostly in the ``focus`` keys, those the policies read)."""
    requests: list[Request] = []
    while len(requests) < count:
        principal, action = rng.choice(CALLERS), rng.choice(REQUEST_ACTIONS)
        resource, owner = rng.choice(REQUEST_RESOURCES), rng.choice([None, ACCOUNT, OTHER_ACCOUNT])
        entries = random_entries(rng)
        for _ in range(rng.randint(4, 12)):
            requests.append(Request(principal, action, resource, context(entries), owner))
            entries = nudged(rng, entries, focus) if rng.randrange(5) else random_entries(rng)
            if rng.randrange(10) == 0:
                resource = rng.choice(REQUEST_RESOURCES)
            if rng.randrange(10) == 0:
                owner = rng.choice([None, ACCOUNT, OTHER_ACCOUNT])
            if rng.randrange(10) == 0:
                principal = rng.choice(CALLERS)
    return requests[:count]


def _replay(seed: int, *, sets: int, per_set: int, null_keys: Sequence[str] = NULL_KEYS) -> DecisionCache:
    """Replay random requests through one shared cache; every answer must equal a fresh evaluation."""
    rng = random.Random(seed)
    cache = DecisionCache()
    for number in range(sets):
        policy_set = random_policy_set(rng, null_keys=null_keys)
        for request in random_requests(rng, per_set, keys_read(policy_set)):
            scope = (number, request.principal.arn)
            cached, fresh = cache.evaluate(scope, policy_set, request), evaluate(policy_set, request)
            assert cached == fresh, (
                f"seed {seed}, policy set {number}: cached {cached} != fresh {fresh}\n"
                f"request: {request}\npolicies: "
                + repr([p.document for p in [*policy_set.identity, policy_set.resource] if p])
            )
    return cache


def test_cached_answers_equal_fresh_evaluations_on_random_requests():
    """Issue 5's acceptance test: thousands of random requests (times at, just around and far from
    every boundary, irrelevant keys, odd values) against random policies of every condition family,
    one shared cache, each answer compared with an uncached evaluation."""
    cache = _replay(20261128, sets=40, per_set=250)
    assert cache.hits > 1000, "the requests should share entries, or the test proves little"
    assert cache.misses > 1000


def test_cached_answers_equal_fresh_evaluations_when_null_guards_a_resource_variable():
    """The same replay, but Null conditions test the keys that Resource variables read, as AWS's own
    examples do: ``"Null": {"aws:PrincipalTag/team": "false"}`` beside ``team/${aws:PrincipalTag/team}/*``."""
    _replay(7, sets=16, per_set=250, null_keys=RESOURCE_VARIABLE_KEYS)


def test_a_null_check_does_not_hide_the_value_a_resource_variable_reads():
    """AWS's documented pattern: allow ``team/${aws:PrincipalTag/team}/*`` when the tag is present.
    Two callers whose tags differ must not share an entry."""
    policy = compile_document(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::team/${aws:PrincipalTag/team}/*",
            "Condition": {"Null": {"aws:PrincipalTag/team": "false"}},
        }
    )
    policy_set, cache = PolicySet(identity=(policy,)), DecisionCache()
    red = make_request("s3:GetObject", "arn:aws:s3:::team/red/plan", {"aws:PrincipalTag/team": "red"})
    blue = make_request("s3:GetObject", "arn:aws:s3:::team/red/plan", {"aws:PrincipalTag/team": "blue"})
    assert cache.evaluate("alice", policy_set, red).decision == "allowed"
    assert cache.evaluate("alice", policy_set, blue) == evaluate(policy_set, blue)
    assert evaluate(policy_set, blue).decision == "implicitDeny"


# --------------------------------------------------------------------------------------------------
# What the cache shares, and what it must not


def _allow_when(condition: dict[str, Any]) -> PolicySet:
    return PolicySet(
        identity=(
            compile_document(
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}
            ),
        )
    )


def test_requests_differing_only_in_irrelevant_context_share_one_entry():
    """Context keys no condition reads (request ids, user agents...) must not split the cache."""
    policy_set, cache = _allow_when({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), DecisionCache()
    for n in range(20):
        request = make_request(entries={"aws:SourceIp": "10.1.2.3", "app:request-id": str(n), f"x:{n}": "y"})
        assert cache.evaluate("alice", policy_set, request).decision == "allowed"
    assert cache.size == 1
    assert (cache.hits, cache.misses) == (19, 1)


def test_a_relevant_key_splits_the_cache():
    """The key the condition reads does change the answer, so each value gets its own entry."""
    policy_set, cache = _allow_when({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), DecisionCache()
    inside, outside = (
        make_request(entries={"aws:SourceIp": "10.1.2.3"}),
        make_request(entries={"aws:SourceIp": "8.8.8.8"}),
    )
    assert cache.evaluate("alice", policy_set, inside).decision == "allowed"
    assert cache.evaluate("alice", policy_set, outside).decision == "implicitDeny"
    assert cache.size == 2


TIME_WINDOW = {
    "DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"},
    "DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
}


def _at(time: str) -> Request:
    return make_request(entries={"aws:CurrentTime": time})


def test_two_times_between_the_same_boundaries_share_an_entry():
    """A decision on aws:CurrentTime holds until the next date written in the policy: within one
    interval the cache answers without evaluating."""
    policy_set, cache = _allow_when(TIME_WINDOW), DecisionCache()
    assert cache.evaluate("alice", policy_set, _at("2025-03-01T09:00:00Z")).decision == "allowed"
    assert cache.evaluate("alice", policy_set, _at("2025-11-30T23:59:59Z")).decision == "allowed"
    assert (cache.size, cache.hits) == (1, 1)


@pytest.mark.parametrize(
    ("time", "decision"),
    [
        ("2024-12-31T23:59:59Z", "implicitDeny"),
        ("2025-01-01T00:00:00Z", "implicitDeny"),  # DateGreaterThan is strict
        ("1735689600", "implicitDeny"),  # the same instant in epoch seconds
        ("2025-01-01T00:00:00.500Z", "allowed"),
        ("2025-01-01T00:00:01Z", "allowed"),
        ("2025-12-31T23:59:59Z", "allowed"),
        ("2026-01-01T00:00:00Z", "implicitDeny"),  # DateLessThan is strict
        ("2026-01-01T01:00:00+01:00", "implicitDeny"),  # the same instant in another offset
        ("2026-01-01T00:00:01Z", "implicitDeny"),
    ],
)
def test_times_on_either_side_of_a_boundary_get_their_own_correct_answer(time, decision):
    """After an answer cached inside the window, a time at or beyond a boundary is evaluated afresh."""
    policy_set, cache = _allow_when(TIME_WINDOW), DecisionCache()
    assert cache.evaluate("alice", policy_set, _at("2025-06-01T00:00:00Z")).decision == "allowed"
    assert cache.evaluate("alice", policy_set, _at(time)).decision == decision
    assert evaluate(policy_set, _at(time)).decision == decision


def test_a_time_exactly_at_a_boundary_does_not_share_with_its_neighbours():
    """``DateLessThanEquals`` flips between the boundary and one instant after it; the boundary
    itself must be an entry of its own."""
    policy_set = _allow_when({"DateLessThanEquals": {"aws:EpochTime": "1767225600"}})
    cache = DecisionCache()
    answers = [
        cache.evaluate("alice", policy_set, make_request(entries={"aws:EpochTime": t})).decision
        for t in ("1767225599", "1767225600", "1767225600.5")
    ]
    assert answers == ["allowed", "allowed", "implicitDeny"]
    assert cache.size == 3


def test_a_null_only_key_shares_an_entry_across_values():
    """A key read only by Null matters only through its presence."""
    policy_set, cache = _allow_when({"Null": {"aws:TokenIssueTime": "false"}}), DecisionCache()
    for time in ("2025-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "whenever"):
        assert cache.evaluate("alice", policy_set, make_request(entries={"aws:TokenIssueTime": time})).allowed
    assert cache.evaluate("alice", policy_set, make_request()).decision == "implicitDeny"
    assert cache.size == 2


def test_a_changed_principal_scope_never_reuses_another_scopes_entry():
    """The scope names the policy set (bundle revision, principal...): the same request under another
    scope is evaluated against that scope's policies, never answered from the first scope's entry."""
    allow = PolicySet(
        identity=(compile_document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),)
    )
    nothing = PolicySet(identity=(compile_document({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}),))
    cache, request = DecisionCache(), make_request()
    assert cache.evaluate(("rev-1", ALICE), allow, request).decision == "allowed"
    assert cache.evaluate(("rev-1", BOB), nothing, request).decision == "implicitDeny"
    assert cache.evaluate(("rev-2", ALICE), nothing, request).decision == "implicitDeny"
    assert cache.evaluate(("rev-1", ALICE), allow, request).decision == "allowed"
    assert cache.size == 3


def test_the_resource_owner_is_part_of_the_key():
    """Same caller, action and resource, another owning account: a cross-account request needs the
    resource side too, so it must not reuse the same-account answer."""
    policy_set = PolicySet(
        identity=(compile_document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),)
    )
    cache = DecisionCache()
    assert cache.evaluate("alice", policy_set, make_request(resource_account=ACCOUNT)).decision == "allowed"
    cross = make_request(resource_account=OTHER_ACCOUNT)
    assert cache.evaluate("alice", policy_set, cross).decision == "implicitDeny"


def test_the_cache_is_bounded():
    """A flood of distinct requests must not grow memory without limit; evictions cost only speed."""
    policy_set = _allow_when({"StringEquals": {"aws:username": "user-7"}})
    cache = DecisionCache(maxsize=10)
    for round_ in range(2):
        for n in range(100):
            request = make_request(entries={"aws:username": f"user-{n}"})
            expected = "allowed" if n == 7 else "implicitDeny"
            assert cache.evaluate("alice", policy_set, request).decision == expected, (round_, n)
            assert cache.size <= 10


def test_a_plan_reading_too_many_keys_is_evaluated_uncached():
    """Past MAX_PLAN_KEYS the key would cost as much as an evaluation: the cache steps aside and
    still answers correctly."""
    condition = {"StringEquals": {f"app:key-{i}": "yes" for i in range(MAX_PLAN_KEYS + 1)}}
    policy_set, cache = _allow_when(condition), DecisionCache()
    every = {f"app:key-{i}": "yes" for i in range(MAX_PLAN_KEYS + 1)}
    for entries, decision in [(every, "allowed"), ({**every, "app:key-3": "no"}, "implicitDeny")]:
        assert cache.evaluate("alice", policy_set, make_request(entries=entries)).decision == decision
    assert cache.size == 0
    assert cache.uncacheable == 2


def test_clear_forgets_every_entry():
    policy_set, cache = _allow_when(TIME_WINDOW), DecisionCache()
    cache.evaluate("alice", policy_set, _at("2025-06-01T00:00:00Z"))
    cache.clear()
    assert cache.size == 0


def test_eight_threads_sharing_one_cache_get_the_uncached_answers():
    """The sidecar serves requests from a thread pool through one cache per bundle."""
    rng = random.Random(99)
    policy_sets = [random_policy_set(rng) for _ in range(4)]
    work = [(i % 4, request) for i, request in enumerate(random_requests(rng, 600))]
    expected = [evaluate(policy_sets[i], request) for i, request in work]
    cache, failures, start = DecisionCache(maxsize=200), [], threading.Barrier(8)

    def hammer(offset: int) -> None:
        start.wait()
        for step in range(len(work)):
            index = (step * 7 + offset * 75) % len(work)
            set_number, request = work[index]
            answer = cache.evaluate((set_number, request.principal.arn), policy_sets[set_number], request)
            if answer != expected[index]:
                failures.append((index, answer, expected[index]))

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert cache.size <= 200
