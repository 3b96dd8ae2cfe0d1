"""A batch (or AuthorizeMany call) whose every item was found by its bytes alone before is
answered whole (``AuthorizerServicer._splice_quick``: one ``map`` to find the items, one ``%``
format to answer) with what a fresh evaluation answers, and counted as the item-by-item path
counts it.

Every test here checks first that the whole-batch path was the one taken (a spy on
``_splice_quick``), so that none of them can pass through another path unnoticed.
"""

from __future__ import annotations

import itertools
import random

import grpc
import pytest

from bench.service_requests import embedded_requests
from iamgate.service.metrics import ServiceMetrics
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

from .test_wire_answers import (
    POLICY,
    SESSION,
    UPLOAD,
    Aborted,
    Context,
    _ordinary_calls,
    _servicer,
    _without_decision_ids,
)


def _spy(servicer) -> list[bool]:
    """Records, for each call of ``_splice_quick``, whether it answered the batch."""
    answered: list[bool] = []
    quick = servicer._splice_quick

    def recorded(*arguments):
        answer = quick(*arguments)
        answered.append(answer is not None)
        return answer

    servicer._splice_quick = recorded
    return answered


def _clean_requests() -> list[pb.AuthorizeRequest]:
    """The embedded bundle's requests that are found by their bytes alone once asked twice
    (answered, kept for any second: their decisions read no clock)."""
    servicer, _ = _servicer(100_000)
    requests = [r for r in embedded_requests()[0] if not r.request_id]
    _warm(servicer, requests)
    quick = servicer._quick[2]
    kept = [r for r in requests if r.SerializeToString() in quick]
    assert len(kept) > len(requests) // 2, len(kept)
    return kept


def _warm(servicer, requests: list[pb.AuthorizeRequest]) -> None:
    """Each request asked twice in a batch of its own: kept, then found by its bytes alone.

    Decision numbers start at 100,000 here: the quick items are kept for one number of digits,
    and a servicer's first numbers change digits within a few batches."""
    servicer._ids = itertools.count(100_000)
    for request in requests:
        data = pb.AuthorizeBatchRequest(requests=[request]).SerializeToString()
        for _ in range(2):
            servicer.AuthorizeBatchWire(data, Context())


def test_random_batches_answered_whole_answer_what_fresh_evaluations_answer():
    remembered, _ = _servicer(100_000)
    fresh, _ = _servicer(0)
    requests = _clean_requests()
    _warm(remembered, requests)
    answered = _spy(remembered)
    ordinary = _ordinary_calls(remembered)
    rng = random.Random(11)
    for _ in range(40):
        batch = pb.AuthorizeBatchRequest(requests=[rng.choice(requests) for _ in range(rng.randint(1, 120))])
        data = batch.SerializeToString()
        raw = remembered.AuthorizeBatchWire(data, Context())
        answer = pb.AuthorizeBatchResponse.FromString(raw)
        assert answer.SerializeToString() == raw  # protobuf's own encoding
        expected = fresh.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), Context())
        assert _without_decision_ids(answer) == _without_decision_ids(expected)
        ids = [r.response.decision_id for r in answer.results]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(remembered._id_prefix + "-") for i in ids)
    assert answered and all(answered), "a batch was not answered whole"
    assert not ordinary


def test_decision_numbers_gaining_a_digit_mid_batch_are_answered_item_by_item():
    remembered, _ = _servicer(100_000)
    fresh, _ = _servicer(0)
    requests = _clean_requests()[:12]
    _warm(remembered, requests)
    answered = _spy(remembered)
    data = pb.AuthorizeBatchRequest(requests=requests).SerializeToString()
    expected = fresh.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), Context())
    digits = remembered._quick[1]
    remembered._ids = itertools.count(10**digits - 5)  # the batch crosses to one digit more
    seen: set[str] = set()
    for _ in range(3):
        answer = pb.AuthorizeBatchResponse.FromString(remembered.AuthorizeBatchWire(data, Context()))
        assert _without_decision_ids(answer) == _without_decision_ids(expected)
        ids = {r.response.decision_id for r in answer.results}
        assert len(ids) == len(requests) and not ids & seen
        seen |= ids
    assert answered[0] is False, "numbers of two lengths must not share one template"
    assert answered[-1] is True, "the next digit's templates are found again"


def test_a_batch_answered_whole_still_refuses_too_many_session_policies():
    remembered, _ = _servicer(100_000, max_batch_session_policies=2)
    items = []
    for number in range(3):
        item = pb.AuthorizeRequest(principal=SESSION, action="s3:PutObject", resource=UPLOAD)
        item.session_policy = POLICY.replace("ec2:*", f"s3:Put{number}*")
        items.append(item)
    _warm(remembered, items)
    answered = _spy(remembered)
    two = pb.AuthorizeBatchRequest(requests=items[:2]).SerializeToString()
    remembered.AuthorizeBatchWire(two, Context())
    assert answered == [True]
    with pytest.raises(Aborted) as refused:
        remembered.AuthorizeBatchWire(pb.AuthorizeBatchRequest(requests=items).SerializeToString(), Context())
    assert refused.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert answered == [True, False]


def test_a_batch_over_the_item_limit_is_refused_before_anything_is_found():
    remembered, _ = _servicer(100_000, max_batch_size=5)
    requests = _clean_requests()[:6]
    _warm(remembered, requests)
    answered = _spy(remembered)
    data = pb.AuthorizeBatchRequest(requests=requests).SerializeToString()
    with pytest.raises(Aborted) as refused:
        remembered.AuthorizeBatchWire(data, Context())
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert answered == []


def test_a_batch_answered_whole_is_counted_as_the_ordinary_path_counts_it():
    requests = _clean_requests()
    data = pb.AuthorizeBatchRequest(requests=requests).SerializeToString()
    counted = []
    for cache_size in (100_000, 0):
        servicer, source = _servicer(cache_size)
        _warm(servicer, requests)
        answered = _spy(servicer)
        metrics = ServiceMetrics()
        servicer._metrics = metrics
        cache = source.current().decision_cache
        hits = cache.hits if cache is not None else 0
        servicer.AuthorizeBatchWire(data, Context())
        assert answered == ([True] if cache_size else [])
        if cache is not None:
            assert cache.hits == hits + len(requests)
        registry = metrics.registry
        decisions = {
            name: registry.get_sample_value("iamgate_decisions_total", {"decision": name})
            for name in ("allowed", "explicitDeny", "implicitDeny")
        }
        assert registry.get_sample_value("iamgate_decision_seconds_count") == len(requests)
        assert registry.get_sample_value("iamgate_decision_seconds_sum") > 0
        ok = {"method": "AuthorizeBatch", "code": "OK"}
        assert registry.get_sample_value("iamgate_requests_total", ok) == 1
        counted.append(decisions)
    assert counted[0] == counted[1]


def test_a_batch_with_one_item_not_found_by_its_bytes_goes_item_by_item():
    remembered, _ = _servicer(100_000)
    fresh, _ = _servicer(0)
    requests = _clean_requests()[:10]
    _warm(remembered, requests)
    answered = _spy(remembered)
    with_id = pb.AuthorizeRequest()
    with_id.CopyFrom(requests[0])
    with_id.request_id = "r-1"
    data = pb.AuthorizeBatchRequest(requests=[*requests, with_id]).SerializeToString()
    answer = pb.AuthorizeBatchResponse.FromString(remembered.AuthorizeBatchWire(data, Context()))
    expected = fresh.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), Context())
    assert _without_decision_ids(answer) == _without_decision_ids(expected)
    assert answer.results[-1].response.request_id == "r-1"
    assert answered == [False]


def _many_calls(seed: int) -> list[pb.AuthorizeManyRequest]:
    """AuthorizeMany calls without request ids: several principals (their items found under
    their own shared fields), with and without context, some items over the size limit."""
    rng = random.Random(seed)
    requests = [r for r in embedded_requests()[0] if not r.session_policy and not r.session_tags]
    principals = sorted({r.principal for r in requests})
    calls = []
    for number in range(30):
        call = pb.AuthorizeManyRequest(principal=rng.choice(principals))
        if number % 3 == 0:
            call.context.add(key="aws:SourceIp", values=[pb.ContextValue(ip_value="10.0.0.1")])
        for _ in range(rng.randint(1, 30)):
            chosen = rng.choice(requests)
            call.items.add(action=chosen.action, resource=chosen.resource)
        calls.append(call)
    return calls


def test_authorize_many_calls_answered_whole_answer_what_fresh_evaluations_answer():
    remembered, _ = _servicer(100_000, max_request_bytes=200)
    fresh, _ = _servicer(0, max_request_bytes=200)
    remembered._ids = itertools.count(100_000)
    calls = _many_calls(seed=8)
    for call in calls:  # each call twice: kept, then found by its bytes alone
        for _ in range(2):
            remembered.AuthorizeManyWire(call.SerializeToString(), Context())
    answered = _spy(remembered)
    rng = random.Random(2)
    for call in [*calls, *rng.sample(calls, 10)]:
        data = call.SerializeToString()
        raw = remembered.AuthorizeManyWire(data, Context())
        answer = pb.AuthorizeBatchResponse.FromString(raw)
        assert answer.SerializeToString() == raw
        expected = fresh.AuthorizeMany(pb.AuthorizeManyRequest.FromString(data), Context())
        assert _without_decision_ids(answer) == _without_decision_ids(expected)
        ids = [r.response.decision_id for r in answer.results if r.HasField("response")]
        assert len(set(ids)) == len(ids)
    assert answered.count(True) >= 20, "the calls were not answered whole"
    results = [r for call in calls for r in fresh.AuthorizeMany(call, Context()).results]
    assert any(r.HasField("error") for r in results), "no item was over the size limit"


def test_an_authorize_many_item_is_found_only_under_its_own_shared_fields():
    remembered, _ = _servicer(100_000)
    fresh, _ = _servicer(0)
    remembered._ids = itertools.count(100_000)
    request = next(r for r in embedded_requests()[0] if r.principal == "sarah-developer")
    items = [pb.ActionOnResource(action=request.action, resource=request.resource)]
    calls = [pb.AuthorizeManyRequest(principal=p, items=items) for p in ("sarah-developer", "eve")]
    for call in calls:
        for _ in range(2):
            remembered.AuthorizeManyWire(call.SerializeToString(), Context())
    answered = _spy(remembered)
    for call in calls:
        raw = remembered.AuthorizeManyWire(call.SerializeToString(), Context())
        answer = pb.AuthorizeBatchResponse.FromString(raw)
        expected = fresh.AuthorizeMany(call, Context())
        assert _without_decision_ids(answer) == _without_decision_ids(expected)
    assert answered == [True, True]
    first, second = (fresh.AuthorizeMany(call, Context()).results[0].response for call in calls)
    assert first.principal_arn != second.principal_arn
