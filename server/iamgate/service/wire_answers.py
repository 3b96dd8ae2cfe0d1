"""Remembered answers kept as protobuf wire bytes, so that a repeated request is answered by
splicing bytes: no request or response message is built for it.

Why this is exact (protobuf's wire format):

* a message is the concatenation of its encoded fields, and a parser reads fields in any order,
  the last occurrence of a singular field winning; a repeated message field is the concatenation
  of its encoded entries. So an ``AuthorizeBatchResponse`` is the concatenation of
  ``results`` entries, each of which can be encoded on its own;
* a remembered answer is kept under the bytes ``K`` of the request *without its request id*, as
  protobuf itself serialized the parsed request (``SerializeToString`` after clearing the id:
  see ``request_key``). A request whose bytes are ``K`` followed by one request-id field
  (``request_id`` is field 6 of ``AuthorizeRequest``: tag ``0x32``, a one-byte length, the id)
  parses as ``K``'s request with that id, however those trailing bytes came about, because
  ``K`` parses completely on its own and holds no field 6. Hence a lookup may try any such
  split of the request's bytes: a hit is always the same request; the worst a wrong split does
  is miss (and the request takes the ordinary path). Ids of 128 bytes and more, and ids that
  are not ASCII, always take the ordinary path (their UTF-8 is then checked by protobuf);
* the answer's bytes are protobuf's own encoding of the response's fields, cut into the part
  before ``decision_id`` (field 3), the part between it and ``request_id`` (field 9) and the
  part after it, and joined with the call's decision id and the caller's request id as their
  own encoded fields: byte for byte what ``SerializeToString`` of the whole response gives.

An ``AuthorizeMany`` item is found the same way under the shared fields' bytes and the item's
bytes without its trailing ``ActionOnResource.request_id`` (field 3, tag ``0x1a``).

``tests/service/test_wire_answers.py`` decodes spliced answers with the generated classes and
compares them with the ones built as messages, for random batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

REQUEST_ID_TAG = b"\x32"
"""``AuthorizeRequest.request_id``: field 6, length-delimited."""
_LONGEST_ID = 127
"""Longest request id answered by splicing (its length fits one byte)."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


VARINTS: tuple[bytes, ...] = tuple(_varint(n) for n in range(1 << 14))
"""Encoded lengths below 16 KiB (a result is a few hundred bytes); ``varint`` for the rest."""


def varint(value: int) -> bytes:
    return VARINTS[value] if value < 16384 else _varint(value)


def _raw_class(name: str, number: int) -> Any:
    """A message whose field ``number`` is ``repeated bytes`` and whose other fields are left
    unknown (kept as they came): splits a batch into its items' bytes at C speed. A private
    descriptor pool, so nothing is added to the generated API's."""
    file = descriptor_pb2.FileDescriptorProto(
        name=f"iamgate/internal/{name}.proto", package="iamgate.internal", syntax="proto3"
    )
    message = file.message_type.add(name=name)
    message.field.add(
        name="items",
        number=number,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"iamgate.internal.{name}"))


RawBatch = _raw_class("RawBatch", 1)
"""``RawBatch.FromString(data).items``: the raw bytes of each ``AuthorizeBatchRequest`` item.

Field 1 has the same wire type (length-delimited) as in ``AuthorizeBatchRequest``, so it splits
every batch protobuf would parse; the items themselves are not checked here."""
RawMany = _raw_class("RawMany", 5)
"""``AuthorizeManyRequest`` with its items (field 5) as bytes; with them cleared, serializing it
gives the shared fields' bytes as they came (see ``shared_key``)."""

ACTION_ID_TAG = b"\x1a"
"""``ActionOnResource.request_id``: field 3, length-delimited (an ``AuthorizeMany`` item)."""


def shared_key(request: pb.AuthorizeManyRequest) -> bytes:
    """The bytes an ``AuthorizeMany`` request's shared fields are remembered under (no items)."""
    return pb.AuthorizeManyRequest(
        principal=request.principal,
        context=request.context,
        session_policy=request.session_policy,
        session_tags=request.session_tags,
    ).SerializeToString()


def request_key(request: pb.AuthorizeRequest | pb.ActionOnResource) -> bytes:
    """The bytes a remembered answer to ``request`` is kept under: the request without its id.

    Clears and restores the id in place: call it before the request is shared (the decision
    log reads requests on its own thread)."""
    request_id = request.request_id
    if not request_id:
        return request.SerializeToString()
    request.request_id = ""
    try:
        return request.SerializeToString()
    finally:
        request.request_id = request_id


def id_splits(item: bytes, tag: bytes = REQUEST_ID_TAG) -> Iterator[int]:
    """Where a trailing request-id field (``tag``, a one-byte length, an ASCII id) may start in
    ``item``, last first. Only candidates: see the module's docstring."""
    end = len(item)
    low = max(0, end - _LONGEST_ID - 2)
    position = item.rfind(tag, low, end - 1)
    while position >= 0:
        if item[position + 1] == end - position - 2 and item[position + 2 :].isascii():
            yield position
        position = item.rfind(tag, low, position)


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """One remembered response, as the byte templates (``%`` formats) that splice it.

    ``item(digits)`` is one ``results`` entry of an ``AuthorizeBatchResponse`` for a decision
    number of that many digits and no request id: its only hole is ``%d``, the number.
    ``unary(digits)`` is the same ``AuthorizeResponse`` unframed. ``item_id`` and ``unary_id``
    also carry a request id, so their lengths are holes too: ``item_id % (result length, response
    length, decision-id length, number, id field)`` and ``unary_id % (decision-id length, number,
    id field)``, where the id field is the request's length byte and id. ``fixed`` is the
    response's length without the number and the id field.
    """

    head: bytes
    middle: bytes
    tail: bytes
    prefix: bytes
    fixed: int
    decision: str
    session_policy: str
    item_id: bytes
    unary_id: bytes
    shared_size: int = 0
    items: dict[int, bytes] = field(default_factory=dict)
    unaries: dict[int, bytes] = field(default_factory=dict)

    def item(self, digits: int) -> bytes:
        template = self.items.get(digits)
        if template is None:
            size = self.fixed + digits
            framing = b"\n" + varint(size + 1 + len(varint(size))) + b"\n" + varint(size)
            template = _escaped(framing) + self.unary(digits)
            self.items[digits] = template  # the same bytes whichever thread builds it first
        return template

    def item_with_id(self, number: int, digits: int, id_field: bytes) -> bytes:
        """One ``results`` entry for decision ``number`` (of ``digits`` digits) carrying a
        request id: ``id_field`` is the id's encoded length and the id's bytes."""
        size = self.fixed + digits + 1 + len(id_field)
        head = varint(size)
        named = varint(len(self.prefix) + digits)
        return self.item_id % (varint(size + 1 + len(head)), head, named, number, id_field)

    def unary(self, digits: int) -> bytes:
        template = self.unaries.get(digits)
        if template is None:
            named = _escaped(varint(len(self.prefix) + digits))
            template = self.head + b"\x1a" + named + _escaped(self.prefix) + b"%d" + self.middle + self.tail
            self.unaries[digits] = template
        return template


def _escaped(data: bytes) -> bytes:
    return data.replace(b"%", b"%%")


_HEAD = ("decision", "revision")
_MIDDLE = (
    "determining_statements",
    "message",
    "filled_context_keys",
    "missing_context_keys",
    "principal_arn",
)
_TAIL = ("denied_by",)


def wire_answer(
    fields: dict[str, Any], id_prefix: str, decision: str, session_policy: str, shared_size: int = 0
) -> WireAnswer:
    """A response's fields (``convert.authorize_fields`` without ids) as splicing templates.

    ``shared_size``: for an ``AuthorizeMany`` item, the size its shared fields add to the
    ``AuthorizeRequest`` it stands for (the request-size limit counts them)."""
    unknown = {name for name, value in fields.items() if value} - {*_HEAD, *_MIDDLE, *_TAIL}
    if unknown:  # a field added to the response must be placed here first
        raise ValueError(f"cannot splice response fields {sorted(unknown)}")

    def part(names: tuple[str, ...]) -> bytes:
        return pb.AuthorizeResponse(**{k: v for k, v in fields.items() if k in names}).SerializeToString()

    head, middle, tail = part(_HEAD), part(_MIDDLE), part(_TAIL)
    prefix = f"{id_prefix}-".encode("ascii")
    # field 3 (decision_id): tag 0x1a, its length, the prefix and the number; field 9
    # (request_id): tag 0x4a ("J"), then the request's own length byte and id
    unary_id = (
        _escaped(head) + b"\x1a%b" + _escaped(prefix) + b"%d" + _escaped(middle) + b"J%b" + _escaped(tail)
    )
    return WireAnswer(
        head=_escaped(head),
        middle=_escaped(middle),
        tail=_escaped(tail),
        prefix=prefix,
        fixed=len(head) + len(middle) + len(tail) + 2 + len(prefix),
        decision=decision,
        session_policy=session_policy,
        item_id=b"\n%b\n%b" + unary_id,
        unary_id=unary_id,
        shared_size=shared_size,
    )


def item_result(result: dict[str, Any]) -> bytes:
    """One ``results`` entry of an ``AuthorizeBatchResponse`` from its mapping (``{"response":
    fields}`` or ``{"error": {...}}``, as ``AuthorizerServicer._decide_items`` gives them)."""
    encoded = pb.AuthorizeBatchResult(**result).SerializeToString()
    return b"\n" + varint(len(encoded)) + encoded
