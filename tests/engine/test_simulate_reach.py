"""Simulate compiles a large document only as far as the call's actions and resources reach.

A policy of thousands of statements asked about a few actions and resources reaches a few dozen of
them; ``compile_policy(reach=...)`` leaves the others out, deciding reach the way the statement
index offers candidates. That must never change an answer: for generated documents (literal and
wildcard actions, NotAction, exact ARNs, prefixes, short ARNs, ``*``, NotResource, policy
variables, conditions, principals) and generated requests, every decision, MatchedStatements and
MissingContextValues must be those of ``--explain`` (which compiles and traces every statement),
one request at a time, in a batch sharing one reach, and with documents remembered between calls.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    ACCOUNT,
    CALLERS,
    OPTIONAL_CONTEXT,
    OTHER_ACCOUNT,
    REQUEST_ACTIONS,
    RESOURCES,
    TEAMS,
    USERNAMES,
    random_statements,
)

from iamgate.engine import simulate as simulate_module
from iamgate.engine.simulate import REACH_FROM, CompiledPolicies, simulate, simulate_many

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _document(rng: random.Random, count: int, **options: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": random_statements(rng, count, **options)})


def _context_entries(rng: random.Random) -> list[dict[str, Any]]:
    entries = []
    if rng.randrange(4):
        entries.append({"ContextKeyName": "aws:username", "ContextKeyValues": [rng.choice(USERNAMES)]})
    if rng.randrange(2):
        entries.append({"ContextKeyName": "aws:PrincipalTag/team", "ContextKeyValues": [rng.choice(TEAMS)]})
    types = {"aws:SecureTransport": "boolean", "aws:MultiFactorAuthPresent": "boolean", "aws:SourceIp": "ip"}
    types |= {"aws:CurrentTime": "date", "aws:TokenIssueTime": "date", "s3:max-keys": "numeric"}
    for key, values in OPTIONAL_CONTEXT.items():
        if rng.randrange(2):
            entries.append(
                {
                    "ContextKeyName": key,
                    "ContextKeyValues": [rng.choice(values)],
                    "ContextKeyType": types[key],
                }
            )
    return entries


def _request(seed: int, count: int) -> dict[str, Any]:
    """A request giving large generated documents of every kind, about a few actions and resources."""
    rng = random.Random(seed)
    request: dict[str, Any] = {
        "CallerArn": rng.choice(CALLERS),
        "ActionNames": rng.sample(REQUEST_ACTIONS, rng.randint(1, 3)),
        "ResourceArns": rng.sample([r for r in RESOURCES if r != "*"], rng.randint(1, 3)),
        "PolicyInputList": [_document(rng, count), _document(rng, count // 2)],
        "ContextEntries": _context_entries(rng),
        "ResourceOwner": rng.choice([ACCOUNT, OTHER_ACCOUNT]),
    }
    if rng.randrange(2):
        request["ResourcePolicy"] = _document(rng, count, with_principal=True)
    if rng.randrange(3) == 0:
        request["PermissionsBoundaryPolicyInputList"] = [_document(rng, count)]
    if rng.randrange(3) == 0:
        request["SessionPolicyList"] = [_document(rng, count)]
    if rng.randrange(3) == 0:
        request["ServiceControlPolicyLevels"] = [[_document(rng, count)] for _ in range(rng.randint(1, 2))]
    return request


def _explained(request: dict[str, Any]) -> dict[str, Any]:
    answer = simulate(request, explain=True, compiled=CompiledPolicies())
    for result in answer["EvaluationResults"]:
        del result["Explanation"]
    return answer


@pytest.fixture(autouse=True)
def _small_documents_are_reached_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated documents of a few dozen statements, compiled for their reach like large ones."""
    monkeypatch.setattr(simulate_module, "REACH_FROM", 1)


@EXAMPLES
@given(st.integers(0, 2**32 - 1), st.integers(20, 60))
def test_a_request_answers_as_its_explanation_does(seed: int, count: int) -> None:
    request = _request(seed, count)
    assert simulate(request, compiled=CompiledPolicies()) == _explained(request)


@EXAMPLES
@given(st.integers(0, 2**32 - 1), st.integers(20, 40))
def test_a_batch_sharing_its_documents_and_one_reach_answers_as_each_explanation(
    seed: int, count: int
) -> None:
    first = _request(seed, count)
    rng = random.Random(seed + 1)
    batch = []
    for _ in range(4):  # the same documents, other actions, resources, callers and context
        other = _request(rng.randrange(2**32), 1)
        batch.append({**first, **{k: other[k] for k in ("ActionNames", "ResourceArns", "CallerArn")}})
    assert simulate_many(batch) == [_explained(request) for request in batch]


@EXAMPLES
@given(st.integers(0, 2**32 - 1), st.integers(20, 40))
def test_a_remembered_document_answers_a_later_request_of_another_reach_alike(seed: int, count: int) -> None:
    memo = CompiledPolicies()
    first = _request(seed, count)
    second = {
        **first,
        "ActionNames": ["s3:PutObject", "ec2:DescribeInstances"],
        "ResourceArns": list(RESOURCES),
    }
    assert simulate(first, compiled=memo) == _explained(first)
    assert simulate(second, compiled=memo) == _explained(second)
    assert simulate(first, compiled=memo) == _explained(first)


def test_a_large_document_compiles_only_the_statements_its_request_can_reach(monkeypatch) -> None:
    monkeypatch.setattr(simulate_module, "REACH_FROM", REACH_FROM)
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::bucket-{i}/*",
        }
        for i in range(1000)
    ]
    statements.append({"Sid": "Everything", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    request = {
        "PolicyInputList": [text],
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::bucket-7/k"],
    }
    memo = CompiledPolicies()
    answer = simulate(request, compiled=memo)
    assert answer == _explained(request)
    [(_, policy, _)] = memo._compiled.values()
    assert [s.ref.sid for s in policy.statements] == ["S7", "Everything"]
    assert len(policy.document.statements) == 1001


def test_a_small_document_is_compiled_whole_and_serves_any_later_request(monkeypatch) -> None:
    monkeypatch.setattr(simulate_module, "REACH_FROM", REACH_FROM)
    text = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::b-{i}"} for i in range(3)
            ]
        }
    )
    memo = CompiledPolicies()
    simulate({"PolicyInputList": [text], "ActionNames": ["s3:GetObject"]}, compiled=memo)
    [(_, policy, _)] = memo._compiled.values()
    assert len(policy.statements) == 3
    simulate({"PolicyInputList": [text], "ActionNames": ["ec2:RunInstances"]}, compiled=memo)
    assert len(memo._compiled) == 1


def test_a_batch_too_wide_for_one_reach_answers_alike(monkeypatch) -> None:
    monkeypatch.setattr(simulate_module, "BATCH_REACH_UP_TO", 2)
    request = _request(7, 30)
    batch = [{**request, "ActionNames": [action]} for action in REQUEST_ACTIONS]
    assert simulate_many(batch) == [_explained(r) for r in batch]


def test_a_large_document_kept_for_its_reach_is_found_again(monkeypatch) -> None:
    """The reach is worked out for a lookup only while some document is kept for one
    (``CompiledPolicies.holds_reached``): a second call of the same reach must still find it."""
    monkeypatch.setattr(simulate_module, "REACH_FROM", REACH_FROM)
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}
        for i in range(200)
    ]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    request = {
        "PolicyInputList": [text],
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::bucket-7/k"],
    }
    memo = CompiledPolicies()
    assert not memo.holds_reached
    answer = simulate(request, compiled=memo)
    assert answer == _explained(request)
    assert memo.holds_reached
    monkeypatch.setattr(
        simulate_module, "compile_policy", lambda *args, **kwargs: pytest.fail("compiled again")
    )
    assert simulate(request, compiled=memo) == answer


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("put"), st.integers(0, 5), st.booleans(), st.integers(1, 30)),
            st.tuples(st.just("clear"), st.just(0), st.just(False), st.just(0)),
        ),
        max_size=40,
    ),
    st.integers(1, 4),
)
def test_the_count_of_documents_kept_for_a_reach_stays_exact(steps, size) -> None:
    """Puts of keys with and without a reach, repeated keys, evictions by number, statements and
    characters, and clears: ``holds_reached`` says exactly whether a kept key has a reach."""
    from iamgate.engine.compiled import Reach, compile_policy
    from iamgate.engine.result import PolicyKind
    from iamgate.policy import parse_policy

    memo = CompiledPolicies(size, max_statements=60, max_chars=400)
    reach = Reach.of(["s3:GetObject"], ["*"])
    for kind, name, reached, statements in steps:
        if kind == "clear":
            memo.clear()
            continue
        document = parse_policy(
            json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}] * statements})
        )
        key: Any = (True, f"text-{name}" * (name + 1) * 10, "p", PolicyKind.IDENTITY)
        policy = compile_policy(document, policy_id="p", kind=PolicyKind.IDENTITY)
        memo.put((*key, reach) if reached else key, (document, policy, ()))
        kept = sum(len(k) > 4 for k in memo._compiled)
        assert memo._reached == kept
        assert memo.holds_reached == (kept > 0)
