"""Review finding: the caller's action text is never remembered when it is longer than any AWS
action.

The decision cache, each policy set's programs and each index's action plans are keyed on the
action the caller sent, bounded by count only. 300 Authorize requests with 60 KB action names
grew the sidecar by 37.7 MB (the default cache would keep 100,000 of them: ~12 GB), and a batch
keeps each outcome (its message quotes the action) for reuse of its response bytes: 300 batch
items of 20 KB grew it by 12 MB. Action texts over ``ACTION_TEXT_KEPT`` and outcome messages
over ``ENCODED_MESSAGE_KEPT`` are now evaluated and answered afresh, never kept.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from iamgate.engine.index import ACTION_TEXT_KEPT
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import sidecar

DEVOPS = "mike-devops"
LONG = 60_000
MEGABYTE = 1 << 20


def _long_action(n: int, length: int = LONG) -> str:
    """A name no AWS service has, still matched by mike-devops's ``ec2:*``."""
    return f"ec2:Describe{n}" + "x" * length


def _growth(send: Callable[[], None]) -> int:
    """Bytes still allocated after ``send`` (and a collection), traced in this process."""
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        send()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_authorize_with_huge_action_names_leaves_nothing_behind() -> None:
    with sidecar() as (running, stub):
        stub.Authorize(pb.AuthorizeRequest(principal=DEVOPS, action="ec2:DescribeInstances", resource="*"))

        def send() -> None:
            for n in range(100):
                answer = stub.Authorize(
                    pb.AuthorizeRequest(principal=DEVOPS, action=_long_action(n), resource="*")
                )
                assert answer.decision == pb.DECISION_ALLOWED

        grown = _growth(send)
        cache = running.snapshots.current().decision_cache
        assert all(len(base[1]) <= ACTION_TEXT_KEPT for base in cache._plans)
    assert grown < MEGABYTE, f"100 requests of 60 KB actions left {grown / MEGABYTE:.1f} MB behind"


def test_batches_of_huge_action_names_leave_nothing_behind() -> None:
    with sidecar() as (_, stub):
        long_items = [
            [
                pb.AuthorizeRequest(principal=DEVOPS, action=_long_action(n * 3 + m, 20_000), resource="*")
                for m in range(3)
            ]
            for n in range(100)
        ]

        def send() -> None:
            for items in long_items:
                answer = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=items))
                assert [r.response.decision for r in answer.results] == [pb.DECISION_ALLOWED] * 3

        grown = _growth(send)
    assert grown < 2 * MEGABYTE, f"300 batch items of 20 KB actions left {grown / MEGABYTE:.1f} MB behind"


def test_authorize_many_with_huge_action_names_leaves_nothing_behind() -> None:
    with sidecar() as (_, stub):

        def send() -> None:
            for n in range(100):
                items = [
                    pb.ActionOnResource(action=_long_action(n * 3 + m, 20_000), resource="*")
                    for m in range(3)
                ]
                answer = stub.AuthorizeMany(pb.AuthorizeManyRequest(principal=DEVOPS, items=items))
                assert [r.response.decision for r in answer.results] == [pb.DECISION_ALLOWED] * 3

        grown = _growth(send)
    assert grown < 2 * MEGABYTE, f"300 items of 20 KB actions left {grown / MEGABYTE:.1f} MB behind"


def test_a_huge_action_name_is_decided_as_a_short_one_matching_the_same_statements() -> None:
    with sidecar() as (_, stub):
        for action, expected in ((_long_action(1), pb.DECISION_ALLOWED), ("s3:Get" + "x" * LONG, None)):
            short = action[:ACTION_TEXT_KEPT]
            answers = [
                stub.Authorize(pb.AuthorizeRequest(principal=DEVOPS, action=text, resource="*")).decision
                for text in (action, short, action)
            ]
            assert answers[0] == answers[1] == answers[2]
            assert expected is None or answers[0] == expected
