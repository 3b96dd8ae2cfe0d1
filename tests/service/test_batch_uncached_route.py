"""The uncached AuthorizeBatch's route path (``AuthorizerServicer._decide_items`` asking
``Snapshot.uncached_on_route`` / ``uncached_on_route_with`` with an item's fields before any
query is built) answers exactly as the ordinary path: same responses, refusals and error
answers, same decision counters and histogram counts, same decision-log entries.

The reference is a servicer of the same kind whose batch items all take the ordinary path (its
``_source_authorizes`` is off: each item is converted to a query and asked of the source's
``authorize``). ``limits.items_within_size`` — the bound that lets the route path skip measuring
each item — is checked on mutated and crafted items.
"""

from __future__ import annotations

import random

import pytest
from google.protobuf.message import DecodeError

from bench.service_requests import embedded_requests
from iamgate.bundle.snapshot import Snapshot
from iamgate.service import limits
from iamgate.service.config import ServiceConfig
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

from .test_batch_metrics import _histogram
from .test_wire_answers import SETTINGS, Context, _random_batches, _servicer, _without_decision_ids

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def _ordinary(cache_size: int = 0, **settings):
    servicer, _ = _servicer(cache_size, **settings)
    servicer._source_authorizes = False  # every item: a query, and the source's authorize
    return servicer


@pytest.fixture
def route_calls(monkeypatch) -> dict[str, int]:
    """How often the servicer's route path asked the snapshot (``uncached_on_route_with`` is
    asked by nothing else; ``uncached_on_route`` also by ``authorize`` itself)."""
    calls = {"plain": 0, "context": 0}
    plain, with_context = Snapshot.uncached_on_route, Snapshot.uncached_on_route_with

    def counted_plain(self, *arguments):
        calls["plain"] += 1
        return plain(self, *arguments)

    def counted_context(self, *arguments):
        calls["context"] += 1
        return with_context(self, *arguments)

    monkeypatch.setattr(Snapshot, "uncached_on_route", counted_plain)
    monkeypatch.setattr(Snapshot, "uncached_on_route_with", counted_context)
    return calls


def _context_item(
    principal: str, action: str, resource: str, *entries, request_id: str = ""
) -> pb.AuthorizeRequest:
    item = pb.AuthorizeRequest(principal=principal, action=action, resource=resource, request_id=request_id)
    for key, value in entries:
        item.context.add(key=key, values=[pb.ContextValue(string_value=value)])
    return item


CONTEXT_ITEMS = [
    _context_item(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, ("ec2:ResourceTag/Environment", "production")
    ),
    _context_item(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, ("ec2:ResourceTag/Environment", "staging")
    ),
    _context_item(
        "sarah-developer", "ec2:TerminateInstances", INSTANCE, ("aws:username", "root")
    ),  # owned: refused
    _context_item("sarah-developer", "ec2:TerminateInstances", INSTANCE, ("aws:NoSuchKey", "x")),  # undefined
    _context_item(
        "nobody", "s3:GetObject", "arn:aws:s3:::b/k", ("aws:SourceIp", "10.0.0.1")
    ),  # unknown caller
    _context_item("nobody", "s3:GetObject", "arn:aws:s3:::b/k", ("aws:username", "x")),
    _context_item("sarah-developer", "s3:GetObject", "arn:aws:s3:::b/k", ("", "x")),  # empty key
    _context_item(
        "sarah-developer",
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        ("aws:SourceIp", "10.0.0.1"),
        request_id="ctx-7",
    ),
    _context_item(
        "sarah-developer",
        "ec2:TerminateInstances",
        INSTANCE,
        ("aws:SourceIp", "10.0.0.1"),
        ("aws:sourceip", "10.0.0.2"),  # twice: merged
    ),
    _context_item(
        "sarah-developer",
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        ("aws:SourceIp", "10.0.0.1"),
        ("docs:Classification", "internal"),
        ("aws:RequestTag/team", "a"),
    ),  # three entries: over a small max_context_entries
    _context_item("sarah-developer", "s3:GetObject", "arn:aws:s3:::b/k", ("aws:SourceIp", "")),  # empty text
    pb.AuthorizeRequest(
        principal="sarah-developer",
        action="ec2:TerminateInstances",
        resource=INSTANCE,
        context=[
            pb.ContextEntry(key="aws:MultiFactorAuthPresent", values=[pb.ContextValue(bool_value=True)]),
            pb.ContextEntry(
                key="aws:TagKeys",
                values=[pb.ContextValue(string_value="a"), pb.ContextValue(number_value=2)],
                multi_valued=True,
            ),
            pb.ContextEntry(key="aws:RequestTag/none", multi_valued=True),  # an empty set
        ],
    ),
    pb.AuthorizeRequest(
        principal="sarah-developer",
        action="ec2:TerminateInstances",
        resource=INSTANCE,
        context=[pb.ContextEntry(key="aws:SourceIp", values=[pb.ContextValue()])],  # no value type: refused
    ),
    pb.AuthorizeRequest(
        principal="sarah-developer",
        action="ec2:TerminateInstances",
        resource=INSTANCE,
        context=[pb.ContextEntry(key="aws:RequestTag/none")],  # no value, not multivalued: refused
    ),
]


def _batches(seed: int, count: int) -> list[bytes]:
    """The embedded requests, the context items above, and ``_random_batches``' refusals."""
    rng = random.Random(seed)
    pool = [*embedded_requests()[0], *CONTEXT_ITEMS]
    out = [batch.SerializeToString() for batch in _random_batches(seed, count)]
    for _ in range(count):
        items = [rng.choice(pool) for _ in range(rng.randint(1, 60))]
        out.append(pb.AuthorizeBatchRequest(requests=items).SerializeToString())
    return out


COUNTS = {"max_context_entries": 2, "max_context_values": 3}
"""Small context limits under the default size limit: items are cleared by the batch's size, and
the route path counts entries and values itself (``convert.counted_context_values``)."""


@pytest.mark.parametrize(
    "settings", [SETTINGS, {}, COUNTS], ids=["small limits", "default limits", "small context counts"]
)
def test_batches_on_the_route_path_answer_what_the_ordinary_path_answers(route_calls, settings):
    fast, _ = _servicer(0, **settings)
    ordinary = _ordinary(**settings)
    context = Context()
    for data in _batches(seed=11, count=30):
        for _ in range(3):  # routes are kept after the first time
            expected = ordinary.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
            for raw in (
                fast.AuthorizeBatchWire(data, context),
                fast.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context).SerializeToString(),
            ):
                answer = pb.AuthorizeBatchResponse.FromString(raw)
                assert _without_decision_ids(answer) == _without_decision_ids(expected)
                ids = [r.response.decision_id for r in answer.results if r.HasField("response")]
                assert len(set(ids)) == len(ids)
    assert route_calls["plain"] > 100 and route_calls["context"] > 100


def test_the_route_path_counts_and_times_every_item_as_the_ordinary_path(route_calls):
    fast, _ = _servicer(0)
    ordinary = _ordinary()
    context = Context()
    for data in _batches(seed=12, count=10):
        fast.AuthorizeBatchWire(data, context)
        ordinary.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
    assert route_calls["plain"] and route_calls["context"]
    for name in ("iamgate_decisions", "iamgate_requests", "iamgate_internal_errors"):
        assert _samples(fast, name) == _samples(ordinary, name), name
    # one observation per decided item (which bucket: how long it took, faster on the route path)
    counts = {k: v for k, v in _histogram(fast._metrics).items() if "_count" in k or "+Inf" in k}
    assert counts == {k: v for k, v in _histogram(ordinary._metrics).items() if "_count" in k or "+Inf" in k}
    assert counts and all(counts.values())


def _samples(servicer, family_name: str) -> dict[str, float]:
    found = {}
    for family in servicer._metrics.registry.collect():
        if family.name == family_name:
            for sample in family.samples:
                if not sample.name.endswith("_created"):
                    found[f"{sample.name}{sorted(sample.labels.items())}"] = sample.value
    return found


class _Log:
    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def submit(self, method, request, response, elapsed, at, trace_id="") -> None:
        copy = pb.AuthorizeResponse()
        copy.CopyFrom(response)
        copy.decision_id = ""
        self.entries.append((method, request.SerializeToString(), copy.SerializeToString()))


def test_the_decision_log_gets_the_same_entries_from_the_route_path(route_calls):
    fast, _ = _servicer(0)
    ordinary = _ordinary()
    fast._log, ordinary._log = _Log(), _Log()
    context = Context()
    for data in _batches(seed=13, count=8):
        fast.AuthorizeBatchWire(data, context)
        ordinary.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
    assert route_calls["plain"] and route_calls["context"]
    assert fast._log.entries == ordinary._log.entries and fast._log.entries


def test_the_route_path_is_not_taken_with_a_cache_or_a_shadow(route_calls, monkeypatch):
    cached, _ = _servicer(100_000)
    context = Context()
    data = pb.AuthorizeBatchRequest(requests=[*embedded_requests()[0], *CONTEXT_ITEMS]).SerializeToString()
    for _ in range(3):
        cached.AuthorizeBatchWire(data, context)
    assert route_calls["context"] == 0

    shadowed, source = _servicer(0)
    # a shadow bundle compared with every answer (monkeypatch restores the class's own property)
    monkeypatch.setattr(type(source), "shadowing", property(lambda self: True))
    for _ in range(3):
        shadowed.AuthorizeBatchWire(data, context)
    assert route_calls["context"] == 0


def test_an_item_over_the_size_limit_is_refused_on_either_path(route_calls):
    settings = {"max_request_bytes": 300}
    fast, _ = _servicer(0, **settings)
    ordinary = _ordinary(**settings)
    context = Context()
    plain = pb.AuthorizeRequest(
        principal="sarah-developer", action="s3:GetObject", resource="arn:aws:s3:::b/k"
    )
    big = pb.AuthorizeRequest()
    big.CopyFrom(plain)
    big.request_id = "r" * 300
    with_context = _context_item(
        "sarah-developer", "s3:GetObject", "arn:aws:s3:::b/k", ("aws:SourceIp", "1" * 300)
    )
    data = pb.AuthorizeBatchRequest(requests=[plain, big, with_context, plain]).SerializeToString()
    for _ in range(3):
        answer = pb.AuthorizeBatchResponse.FromString(fast.AuthorizeBatchWire(data, context))
        expected = ordinary.AuthorizeBatch(pb.AuthorizeBatchRequest.FromString(data), context)
        assert _without_decision_ids(answer) == _without_decision_ids(expected)
        assert [r.HasField("response") for r in answer.results] == [True, False, False, True]
        assert "requests[1]" in answer.results[1].error.message
        assert "max-request-bytes" in answer.results[1].error.message


def test_a_batch_whose_double_is_within_the_limit_clears_every_item():
    config = ServiceConfig()
    assert limits.items_within_size(config.max_request_bytes // 2, config)
    assert not limits.items_within_size(config.max_request_bytes // 2 + 1, config)


def _mutations(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        what = rng.random()
        if what < 0.4 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif what < 0.6:
            out += data[: rng.randint(0, len(data))]  # fields repeated
        elif what < 0.8 and out:
            del out[rng.randrange(len(out)) :]
        else:
            out += rng.choice(NEGATIVE_NANOS)
    return bytes(out)


def _timestamp_item(nanos_varint: bytes) -> bytes:
    """A context entry with one date value whose nanos field has the given varint encoding."""
    timestamp = b"\x10" + nanos_varint  # field 2 (nanos), varint
    value = b"\x22" + bytes([len(timestamp)]) + timestamp  # ContextValue.date_value = 4
    entry = b"\x0a\x01k" + b"\x12" + bytes([len(value)]) + value  # key, values
    return b"\x22" + bytes([len(entry)]) + entry  # AuthorizeRequest.context = 4


NEGATIVE_NANOS = [
    _timestamp_item(b"\xff\xff\xff\xff\x0f"),  # -1 as a 32-bit varint: re-encoded in 10 bytes
    _timestamp_item(b"\x80\x80\x80\x80\x08"),
    _timestamp_item(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
]


def test_an_item_re_encodes_in_at_most_twice_its_bytes():
    """The bound behind ``items_within_size``, on crafted items that grow when re-encoded and on
    mutated embedded requests (repeated fields, flipped bytes, truncations)."""
    for data in NEGATIVE_NANOS[:2]:  # the 5-byte forms grow by 5 bytes each; the 10-byte one does not
        item = pb.AuthorizeRequest.FromString(data * 3)
        assert len(data * 3) < item.ByteSize() <= 2 * len(data * 3)
    grew = 0
    rng = random.Random(17)
    seeds = [request.SerializeToString() for request in embedded_requests()[0]]
    for _ in range(20_000):
        data = _mutations(rng.choice(seeds), rng)
        try:
            item = pb.AuthorizeRequest.FromString(data)
        except DecodeError:
            continue
        size = item.ByteSize()
        assert size <= 2 * len(data), data
        grew += size > len(data)
    assert grew > 3


def test_the_batch_check_counts_the_distinct_session_policies_it_read():
    """The route path reads no item's session policy again when this says none carries one."""
    policy = '{"Version": "2012-10-17", "Statement": []}'
    items = [pb.AuthorizeRequest(principal="p"), pb.AuthorizeRequest(principal="p", session_policy=policy)]
    assert limits.check_batch_items(items[:1], ServiceConfig()) == 0
    assert limits.check_batch_items(items * 3, ServiceConfig()) == 1
