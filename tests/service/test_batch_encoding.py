"""Batch answers encoded from an outcome's templates (``AuthorizerServicer._encoded``) are the
answers the message path builds, field by field and as protobuf's own bytes.

Without a decision cache every item is evaluated; a repeated outcome object (the route's last
outcome in ``Snapshot.authorize``) has its response spliced from bytes made the second time it
is seen. Random batches of the embedded bundle's requests (with request ids of every shape,
malformed items, refusals, caller context and session policies) are answered several times
through the bytes entry points and compared with ``AuthorizeBatch`` / ``AuthorizeMany`` built as
messages by a servicer of the same kind, decision ids aside.
"""

from __future__ import annotations

import random

from bench.service_requests import embedded_requests
from iamgate.bundle.trust import TrustedKeys
from iamgate.service import servicer as servicer_module
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

from .test_wire_answers import (
    SETTINGS,
    Context,
    _random_batches,
    _servicer,
    _without_decision_ids,
)


def _check(raw: bytes, expected: pb.AuthorizeBatchResponse) -> None:
    answer = pb.AuthorizeBatchResponse.FromString(raw)
    assert answer.SerializeToString() == raw  # protobuf's own encoding
    assert _without_decision_ids(answer) == _without_decision_ids(expected)
    ids = [r.response.decision_id for r in answer.results if r.HasField("response")]
    assert len(set(ids)) == len(ids)


def test_uncached_batches_encoded_from_templates_answer_what_the_message_path_answers():
    encoded, _ = _servicer(0, **SETTINGS)
    messages, _ = _servicer(0, **SETTINGS)
    context = Context()
    for batch in _random_batches(seed=4, count=40):
        data = batch.SerializeToString()
        for _ in range(3):  # the second and third time, repeated outcomes come from templates
            expected = messages.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
            _check(encoded.AuthorizeBatchWire(data, context), expected)
    assert any(kept[1] is not None for kept in encoded._encodings.values()), "no template was used"


def test_uncached_authorize_many_encoded_from_templates_answers_what_the_message_path_answers():
    encoded, _ = _servicer(0, **SETTINGS)
    messages, _ = _servicer(0, **SETTINGS)
    context = Context()
    rng = random.Random(5)
    requests = embedded_requests()[0]
    for _ in range(30):
        base = rng.choice(requests)
        chosen = [rng.choice(requests) for _ in range(rng.randint(1, 30))]
        ids = ["", "r-1", "x" * 130, "id-é"]
        request = pb.AuthorizeManyRequest(
            principal=base.principal,
            context=base.context,
            items=[
                pb.ActionOnResource(action=r.action, resource=r.resource, request_id=rng.choice(ids))
                for r in chosen
            ],
        )
        data = request.SerializeToString()
        for _ in range(3):
            expected = messages.AuthorizeMany(pb.AuthorizeManyRequest.FromString(data), context)
            _check(encoded.AuthorizeManyWire(data, context), expected)


def test_cached_batches_with_new_items_encode_them_as_the_message_path_does():
    remembered, _ = _servicer(100_000, **SETTINGS)
    messages, _ = _servicer(0, **SETTINGS)
    context = Context()
    for batch in _random_batches(seed=6, count=30):
        data = batch.SerializeToString()
        for _ in range(2):
            expected = messages.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
            _check(remembered.AuthorizeBatchWire(data, context), expected)


def test_the_encoding_memo_is_bounded_and_keyed_by_the_outcome_object(monkeypatch):
    monkeypatch.setattr(servicer_module, "ENCODINGS_KEPT", 8)
    encoded, _ = _servicer(0)
    context = Context()
    requests = embedded_requests()[0]
    data = pb.AuthorizeBatchRequest(requests=requests).SerializeToString()
    for _ in range(3):
        expected = encoded.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
        _check(encoded.AuthorizeBatchWire(data, context), expected)
        assert len(encoded._encodings) <= 8
    for key, (outcome, _) in encoded._encodings.items():
        assert key == id(outcome)


def test_cached_batch_items_found_by_their_bytes_alone_answer_as_the_message_path_does():
    remembered, source = _servicer(100_000, **SETTINGS)
    messages, _ = _servicer(0, **SETTINGS)
    context = Context()
    requests = embedded_requests()[0]
    data = pb.AuthorizeBatchRequest(requests=requests * 2).SerializeToString()
    for _ in range(3):
        expected = messages.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
        _check(remembered.AuthorizeBatchWire(data, context), expected)
    answers, _, quick = remembered._quick
    assert answers is source.current().answers and quick, "no item was found by its bytes alone"


def test_items_found_by_their_bytes_alone_are_kept_for_one_snapshot_only():
    remembered, source = _servicer(100_000)
    snapshot = source.current()
    quick = remembered._quick_answers(snapshot.answers, 3)
    quick[b"item"] = (b"template", "allowed", "")
    assert remembered._quick_answers(snapshot.answers, 3) is quick
    assert remembered._quick_answers(snapshot.answers, 4) == {}
    for other in (snapshot.with_cache(10), snapshot.with_trust(TrustedKeys.of(["aws:SourceIp"]))):
        assert other.answers is not snapshot.answers
        assert remembered._quick_answers(other.answers, 4) == {}


class _RecordingShadow:
    """Stands for a shadow bundle: records each answer it is shown."""

    def __init__(self) -> None:
        self.compared: list[str] = []

    def compare(self, snapshot, query, outcome, now) -> None:
        self.compared.append(query.action)


def test_every_uncached_batch_item_is_compared_with_a_shadow_bundle_when_one_is_loaded():
    servicer, source = _servicer(0)
    requests = embedded_requests()[0]
    data = pb.AuthorizeBatchRequest(requests=requests).SerializeToString()
    shadow = _RecordingShadow()
    source.manager._shadow = shadow
    try:
        for _ in range(2):
            servicer.AuthorizeBatchWire(data, Context())
    finally:
        source.manager._shadow = None
    assert shadow.compared == [r.action for r in requests] * 2
    servicer.AuthorizeBatchWire(data, Context())
    assert len(shadow.compared) == 2 * len(requests), "without a shadow bundle nothing is compared"
