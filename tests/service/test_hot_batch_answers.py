"""Batch items answered from remembered answers (issue 9) are exactly what Authorize answers.

A real sidecar on the embedded bundle: a repeated ``AuthorizeBatch`` item (same bytes but its
request id) or ``AuthorizeMany`` pair skips conversion and the bundle layer; its response must
still be the Authorize response, with its own request id and a fresh decision id, every limit
that depends on the request id must still hold, and a request that would be refused is refused.
"""

from __future__ import annotations

import contextlib

import grpc

from bench.service_requests import embedded_requests
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


@contextlib.contextmanager
def _sidecar(cache_size: int = 1000, **settings):
    source = default_source(cache_size=cache_size)
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, **settings)
    sidecar = start_sidecar(config, source)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
            yield pb_grpc.AuthorizerStub(channel), source
    finally:
        sidecar.stop(0)


def _without_id(response: pb.AuthorizeResponse) -> pb.AuthorizeResponse:
    copy = pb.AuthorizeResponse()
    copy.CopyFrom(response)
    copy.decision_id = ""
    return copy


def test_repeated_batch_items_carry_the_authorize_response_with_their_own_ids():
    requests = embedded_requests()[0]
    with _sidecar() as (stub, source):
        single = [_without_id(stub.Authorize(r)) for r in requests]
        for round_ in range(3):
            batch = []
            for number, request in enumerate(requests):
                item = pb.AuthorizeRequest()
                item.CopyFrom(request)
                item.request_id = f"round{round_}-{number}" if number % 3 else ""
                batch.append(item)
            results = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=batch)).results
            for item, result, expected in zip(batch, results, single, strict=True):
                answer = _without_id(result.response)
                assert answer.request_id == item.request_id
                answer.request_id = expected.request_id
                assert answer == expected
            assert len({r.response.decision_id for r in results}) == len(results)
        assert source.current().answers, "nothing was remembered"


def test_without_a_decision_cache_nothing_is_remembered():
    requests = embedded_requests()[0]
    with _sidecar(cache_size=0) as (stub, source):
        for _ in range(2):
            stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=requests))
        assert not source.current().answers


def test_a_remembered_item_whose_request_id_is_over_the_size_limit_is_refused():
    request = pb.AuthorizeRequest(principal="sarah-developer", action="ec2:StartInstances", resource=INSTANCE)
    limit = request.ByteSize() + 10
    with _sidecar(max_request_bytes=limit) as (stub, _):
        long_id = pb.AuthorizeRequest()
        long_id.CopyFrom(request)
        long_id.request_id = "r" * 20
        batch = [request, request, long_id]
        results = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=batch)).results
        assert [r.WhichOneof("outcome") for r in results] == ["response", "response", "error"]
        assert results[2].error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert "requests[2]" in results[2].error.message


def test_an_item_asserting_an_owned_key_is_refused_after_the_same_item_without_it_was_remembered():
    plain = pb.AuthorizeRequest(principal="lisa-finance", action="ec2:StartInstances", resource=INSTANCE)
    asserting = pb.AuthorizeRequest()
    asserting.CopyFrom(plain)
    asserting.context.add(key="aws:username", values=[pb.ContextValue(string_value="sarah-developer")])
    with _sidecar() as (stub, _):
        for _ in range(2):
            results = stub.AuthorizeBatch(
                pb.AuthorizeBatchRequest(requests=[plain, plain, asserting])
            ).results
            assert [r.WhichOneof("outcome") for r in results] == ["response", "response", "error"]
            assert results[2].error.message.startswith("requests[2].context[0].key")


def test_repeated_authorize_many_pairs_carry_the_authorize_response():
    pairs = [("ec2:StartInstances", INSTANCE), ("ec2:RunInstances", "*"), ("iam:CreateUser", "*")]
    with _sidecar() as (stub, source):
        single = [
            _without_id(
                stub.Authorize(pb.AuthorizeRequest(principal="sarah-developer", action=a, resource=r))
            )
            for a, r in pairs
        ]
        for _ in range(3):
            many = pb.AuthorizeManyRequest(
                principal="sarah-developer",
                items=[pb.ActionOnResource(action=a, resource=r) for a, r in pairs],
            )
            results = stub.AuthorizeMany(many).results
            assert [_without_id(item.response) for item in results] == single
        hits = source.current().decision_cache.hits
        stub.AuthorizeMany(many)
        assert source.current().decision_cache.hits == hits + len(pairs)  # remembered = cache hits


def test_a_remembered_authorize_many_pair_over_the_size_limit_with_its_request_id_is_refused():
    shared = pb.AuthorizeRequest(principal="sarah-developer", action="ec2:StartInstances", resource=INSTANCE)
    limit = shared.ByteSize() + 10
    with _sidecar(max_request_bytes=limit) as (stub, _):
        items = [
            pb.ActionOnResource(action="ec2:StartInstances", resource=INSTANCE),
            pb.ActionOnResource(action="ec2:StartInstances", resource=INSTANCE),
            pb.ActionOnResource(action="ec2:StartInstances", resource=INSTANCE, request_id="r" * 20),
        ]
        results = stub.AuthorizeMany(
            pb.AuthorizeManyRequest(principal="sarah-developer", items=items)
        ).results
        assert [r.WhichOneof("outcome") for r in results] == ["response", "response", "error"]
        assert results[2].error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]


class _Context:
    def abort(self, code, message):
        raise AssertionError(f"aborted: {code} {message}")

    def invocation_metadata(self):
        return ()


def _batch_keys_kept(shadowing: bool) -> int:
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.service.servicer import AuthorizerServicer
    from iamgate.service.snapshots import StaticSnapshots

    class Source(StaticSnapshots):
        pass

    Source.shadowing = shadowing  # what ManagedBundles says while a shadow bundle is compared
    snapshot = load_default_snapshot(cache_size=1000)
    servicer = AuthorizerServicer(Source(snapshot), config=ServiceConfig(metrics_address=None))
    batch = pb.AuthorizeBatchRequest(requests=embedded_requests()[0])
    for _ in range(2):
        servicer.AuthorizeBatch(batch, _Context())
    return sum(1 for key in snapshot.answers if len(key) == 2)  # the batch path's (token, bytes)


def test_batch_items_are_not_answered_from_memory_while_a_shadow_bundle_is_compared():
    assert _batch_keys_kept(shadowing=False) > 0
    assert _batch_keys_kept(shadowing=True) == 0
