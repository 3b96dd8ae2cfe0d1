"""Answers spliced from remembered bytes (``service/wire_answers.py``) are the answers a fresh
evaluation gives, field by field.

The servicer's bytes entry points (``AuthorizeWire``, ``AuthorizeBatchWire``, what the gRPC
server calls) are fed random batches of the embedded bundle's test requests mixed with request
ids of every shape (none, empty, with '2' and '%' bytes, 127 and 128 bytes long, non-ASCII),
malformed items, items over a size limit and session policies; every answer is decoded with the
generated classes and compared with what a servicer on a bundle with no decision cache (nothing
remembered, every item evaluated afresh) answers to the same request, decision ids aside. The
spliced bytes are also protobuf's own encoding (re-encoding the decoded answer gives them back).
"""

from __future__ import annotations

import random

import grpc
import pytest

from bench.service_requests import embedded_requests
from iamgate.bundle.default import load_default_snapshot
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source
from iamgate.service.decision_logs import DecisionLogger
from iamgate.service.metrics import ServiceMetrics
from iamgate.service.servicer import AuthorizerServicer
from iamgate.service.wire_answers import RawBatch, id_splits, request_key
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"
SESSION = "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-0abc"
UPLOAD = "arn:aws:s3:::my-app-uploads/images/cat.jpg"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}'


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Context:
    def abort(self, code: grpc.StatusCode, message: str) -> None:
        raise Aborted(code, message)

    def invocation_metadata(self) -> tuple:
        return ()


def _servicer(cache_size: int, **settings) -> tuple[AuthorizerServicer, object]:
    source = default_source(cache_size=cache_size)
    source.start()
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, **settings)
    return AuthorizerServicer(source, metrics=ServiceMetrics(), config=config), source


def _ordinary_calls(servicer: AuthorizerServicer) -> list[str]:
    """Records each call the bytes entry points hand to the ordinary (message) path."""
    calls: list[str] = []
    for name in ("_authorize_message", "_authorize_batch", "_authorize_many"):
        ordinary = getattr(servicer, name)

        def recorded(*arguments, name=name, ordinary=ordinary, **options):
            calls.append(name)
            return ordinary(*arguments, **options)

        setattr(servicer, name, recorded)
    return calls


def _without_decision_ids(response: pb.AuthorizeBatchResponse) -> pb.AuthorizeBatchResponse:
    copy = pb.AuthorizeBatchResponse()
    copy.CopyFrom(response)
    for result in copy.results:
        if result.HasField("response"):
            assert result.response.decision_id
            result.response.decision_id = ""
    return copy


REQUEST_IDS = ["", "r-2", "%d%b%%", "2" * 127, "x" * 128, "id-é", "\x322", "a\x32\x01"]


def _item(base: pb.AuthorizeRequest, rng: random.Random) -> pb.AuthorizeRequest:
    item = pb.AuthorizeRequest()
    item.CopyFrom(base)
    item.request_id = rng.choice(REQUEST_IDS)
    kind = rng.random()
    if kind < 0.05:
        item.principal = ""  # malformed: INVALID_ARGUMENT for this item
    elif kind < 0.1:
        item.action = "ec2:*"  # a wildcard action: refused by the trust model
    elif kind < 0.15:
        item.principal, item.action, item.resource = SESSION, "s3:PutObject", UPLOAD
        item.session_policy = POLICY.replace("ec2:*", "s3:*")
    elif kind < 0.2:
        item.context.add(key="aws:SourceIp", values=[pb.ContextValue(ip_value="10.0.0.1")] * 40)
    return item


def _random_batches(seed: int, count: int) -> list[pb.AuthorizeBatchRequest]:
    rng = random.Random(seed)
    requests = embedded_requests()[0]
    pool = [_item(rng.choice(requests), rng) for _ in range(30)]
    clean_ids = [request_id for request_id in REQUEST_IDS if len(request_id) < 128 and request_id.isascii()]
    batches = []
    for number in range(count):
        # every other batch only of requests that are answered and whose answers can be kept
        choices = [rng.choice(requests) for _ in range(10)] if number % 2 else pool
        items = [pb.AuthorizeRequest() for _ in range(rng.randint(1, 40))]
        for item in items:
            item.CopyFrom(rng.choice(choices))
            if rng.random() < 0.3 or number % 2:
                item.request_id = rng.choice(REQUEST_IDS if number % 2 == 0 else clean_ids)
        batches.append(pb.AuthorizeBatchRequest(requests=items))
    return batches


SETTINGS = {"max_context_values": 30, "max_request_bytes": 1200}


def test_random_batches_from_memory_answer_what_fresh_evaluations_answer():
    remembered, _ = _servicer(100_000, **SETTINGS)
    ordinary = _ordinary_calls(remembered)
    fresh, _ = _servicer(0, **SETTINGS)
    context = Context()
    spliced = 0
    for batch in _random_batches(seed=9, count=60):
        data = batch.SerializeToString()
        for _ in range(2):  # the second time, every answer that could be kept was kept
            before = len(ordinary)
            raw = remembered.AuthorizeBatchWire(data, context)
            spliced += len(ordinary) == before
            answer = pb.AuthorizeBatchResponse.FromString(raw)
            assert answer.SerializeToString() == raw  # protobuf's own encoding
            expected = fresh.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
            assert _without_decision_ids(answer) == _without_decision_ids(expected)
            ids = [r.response.decision_id for r in answer.results if r.HasField("response")]
            assert len(set(ids)) == len(ids)
    assert spliced > 10, "the batches were never answered from memory"


def _random_many(seed: int, count: int) -> list[pb.AuthorizeManyRequest]:
    rng = random.Random(seed)
    tests = [t for t in load_default_snapshot(cache_size=0).tests if not t.session_policy]
    calls = []
    for number in range(count):
        principal = rng.choice(tests).principal
        mine = [t for t in tests if t.principal == principal] or tests
        call = pb.AuthorizeManyRequest(principal=principal)
        if number % 3 == 0:
            call.context.add(key="aws:SourceIp", values=[pb.ContextValue(ip_value="10.0.0.1")])
        for _ in range(rng.randint(1, 30)):
            test = rng.choice(mine)
            item = call.items.add(action=test.action, resource=test.resource)
            item.request_id = rng.choice(REQUEST_IDS if number % 2 == 0 else REQUEST_IDS[:4])
            if number % 2 == 0 and rng.random() < 0.1:
                item.action = rng.choice(["", "ec2:*", "nocolon"])
        calls.append(call)
    return calls


def test_random_authorize_many_calls_from_memory_answer_what_fresh_evaluations_answer():
    remembered, _ = _servicer(100_000, max_request_bytes=300)
    ordinary = _ordinary_calls(remembered)
    fresh, _ = _servicer(0, max_request_bytes=300)
    context = Context()
    spliced = 0
    for call in _random_many(seed=5, count=40):
        data = call.SerializeToString()
        for _ in range(2):
            before = len(ordinary)
            raw = remembered.AuthorizeManyWire(data, context)
            spliced += len(ordinary) == before
            answer = pb.AuthorizeBatchResponse.FromString(raw)
            assert answer.SerializeToString() == raw
            expected = fresh.AuthorizeMany(pb.AuthorizeManyRequest.FromString(data), context)
            assert _without_decision_ids(answer) == _without_decision_ids(expected)
    assert spliced > 10, "the calls were never answered from memory"


def test_random_unary_requests_from_memory_answer_what_fresh_evaluations_answer():
    remembered, _ = _servicer(100_000, **SETTINGS)
    ordinary = _ordinary_calls(remembered)
    fresh, _ = _servicer(0, **SETTINGS)
    context = Context()
    asked = 0
    for batch in _random_batches(seed=4, count=6):
        for item in batch.requests:
            data = item.SerializeToString()
            for _ in range(2):
                try:
                    raw = remembered.AuthorizeWire(data, context)
                except Aborted as refused:
                    with pytest.raises(Aborted) as again:
                        fresh.Authorize(pb.AuthorizeRequest.FromString(data), context)
                    assert (again.value.code, str(again.value)) == (refused.code, str(refused))
                    continue
                answer = pb.AuthorizeResponse.FromString(raw)
                assert answer.SerializeToString() == raw
                expected = fresh.Authorize(pb.AuthorizeRequest.FromString(data), context)
                assert answer.decision_id and answer.decision_id != expected.decision_id
                answer.decision_id = expected.decision_id = ""
                assert answer == expected
                asked += 1
    assert len(ordinary) < asked * 0.75, "the requests were never answered from memory"


def test_a_request_id_split_off_the_end_leaves_the_remembered_request_bytes():
    request = embedded_requests()[0][0]
    request.request_id = "abc-2"
    data = request.SerializeToString()
    assert data[: next(id_splits(data))] == request_key(request)
    request.request_id = "é"  # not ASCII: never split (protobuf checks its UTF-8)
    assert next(id_splits(request.SerializeToString()), None) is None


def test_an_item_with_a_request_id_that_is_not_utf8_refuses_the_whole_batch():
    remembered, _ = _servicer(100_000)
    request = embedded_requests()[0][0]
    good = pb.AuthorizeBatchRequest(requests=[request]).SerializeToString()
    remembered.AuthorizeBatchWire(good, Context())
    item = request.SerializeToString() + b"\x32\x02\xc3\x28"  # request_id: invalid UTF-8
    with pytest.raises(Aborted) as refused:
        remembered.AuthorizeBatchWire(b"\x0a" + bytes([len(item)]) + item, Context())
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed request" in str(refused.value)


def test_remembered_items_still_count_toward_the_batch_session_policy_limit():
    remembered, _ = _servicer(100_000, max_batch_session_policies=2)
    items = []
    for number in range(3):
        item = pb.AuthorizeRequest(principal=SESSION, action="s3:PutObject", resource=UPLOAD)
        item.session_policy = POLICY.replace("ec2:*", f"s3:Put{number}*")
        items.append(item)
        remembered.AuthorizeBatchWire(
            pb.AuthorizeBatchRequest(requests=[item]).SerializeToString(), Context()
        )
    ordinary = _ordinary_calls(remembered)
    remembered.AuthorizeBatchWire(pb.AuthorizeBatchRequest(requests=items[:2]).SerializeToString(), Context())
    assert not ordinary, "two remembered session policies are answered from memory"
    with pytest.raises(Aborted) as refused:
        remembered.AuthorizeBatchWire(pb.AuthorizeBatchRequest(requests=items).SerializeToString(), Context())
    assert refused.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_items_from_memory_are_counted_and_logged_as_the_ordinary_path_does(tmp_path):
    requests = embedded_requests()[0]
    for number, request in enumerate(requests):
        request.request_id = f"q{number}" if number % 2 else ""
    data = pb.AuthorizeBatchRequest(requests=requests).SerializeToString()
    logs = []
    for cache_size in (100_000, 0):
        servicer, _ = _servicer(cache_size)
        log = DecisionLogger.open(str(tmp_path / f"log-{cache_size}.jsonl"))
        servicer._log = log
        servicer.AuthorizeBatchWire(data, Context())
        metrics = ServiceMetrics()
        servicer._metrics = metrics
        ordinary = _ordinary_calls(servicer)
        servicer.AuthorizeBatchWire(data, Context())
        assert bool(ordinary) == (cache_size == 0)
        log.close()
        registry = metrics.registry
        decisions = {
            name: registry.get_sample_value("iamgate_decisions_total", {"decision": name})
            for name in ("allowed", "explicitDeny", "implicitDeny")
        }
        assert sum(decisions.values()) == len(requests)
        assert registry.get_sample_value("iamgate_decision_seconds_count") == len(requests)
        assert (
            registry.get_sample_value("iamgate_requests_total", {"method": "AuthorizeBatch", "code": "OK"})
            == 1
        )
        logs.append((decisions, _log_lines(tmp_path / f"log-{cache_size}.jsonl")))
    assert logs[0][0] == logs[1][0]
    assert logs[0][1] == logs[1][1]


def _log_lines(path) -> list[dict]:
    import json

    lines = [json.loads(line) for line in path.read_text().splitlines()][-len(embedded_requests()[0]) :]
    for line in lines:
        for key in ("decision_id", "timestamp", "latency_ms"):
            line.pop(key, None)
    return lines


def test_a_real_sidecar_answers_repeated_batches_and_requests_from_memory():
    requests = embedded_requests()[0]
    for number, request in enumerate(requests):
        request.request_id = f"id-{number}" if number % 2 else ""
    source = default_source(cache_size=1000)
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            first = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests))
            cache = source.current().decision_cache
            hits = cache.hits
            again = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests))
            assert cache.hits >= hits + len(requests)
            assert _without_decision_ids(first) == _without_decision_ids(again)
            for _ in range(2):  # asked, then answered from memory
                singles = pb.AuthorizeBatchResponse(
                    results=[pb.AuthorizeBatchResult(response=stub.Authorize(r)) for r in requests]
                )
                assert _without_decision_ids(singles) == _without_decision_ids(again)
            with pytest.raises(grpc.RpcError) as refused:
                stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=[pb.AuthorizeRequest()] * 1001))
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            malformed = channel.unary_unary("/iamgate.v1.Authorizer/AuthorizeBatch")
            with pytest.raises(grpc.RpcError) as refused:
                malformed(b"\x0a\x05\x0a\x03\xff\xfe\xfd")
            assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    finally:
        sidecar.stop(0)


def test_raw_batch_splits_exactly_the_items_protobuf_parses():
    requests = embedded_requests()[0]
    batch = pb.AuthorizeBatchRequest(requests=requests)
    items = list(RawBatch.FromString(batch.SerializeToString()).items)
    assert items == [request.SerializeToString() for request in requests]


def test_a_batch_of_mostly_remembered_items_decides_only_the_others_and_names_their_indexes():
    requests = embedded_requests()[0]
    remembered, _ = _servicer(100_000)
    fresh, _ = _servicer(0)
    remembered.AuthorizeBatchWire(
        pb.AuthorizeBatchRequest(requests=requests[:10]).SerializeToString(), Context()
    )
    ordinary = _ordinary_calls(remembered)
    unknown = pb.AuthorizeRequest(principal="sarah-developer", action="ec2:StopInstances", resource=INSTANCE)
    malformed = pb.AuthorizeRequest(principal="sarah-developer", action="nocolon", resource="*")
    batch = pb.AuthorizeBatchRequest(requests=[*requests[:5], unknown, *requests[5:10], malformed])
    data = batch.SerializeToString()
    answer = pb.AuthorizeBatchResponse.FromString(remembered.AuthorizeBatchWire(data, Context()))
    assert not ordinary
    expected = fresh.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), Context())
    assert _without_decision_ids(answer) == _without_decision_ids(expected)
    assert answer.results[11].error.message.startswith("requests[11].action")
