"""Simulate and Explain can never starve Authorize.

Once, 16 CPU-heavy Simulate calls took every worker thread (16) and one Authorize waited 54 s.
Now at most ``max_expensive_calls`` (default 2, always fewer than the workers) run at once; the
rest are refused at once with RESOURCE_EXHAUSTED, so a thread is always free for Authorize.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import AUTHORIZE, heavy_simulate, rpc_error, sidecar

HAMMERS = 16


@contextmanager
def hammering(stub, request: pb.SimulateRequest, callers: int = HAMMERS) -> Iterator[list[grpc.StatusCode]]:
    """``callers`` threads sending Simulate back to back (a refused one retries at once)."""
    stop = threading.Event()
    codes: list[grpc.StatusCode] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                stub.Simulate(request, timeout=60)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())
                time.sleep(0.01)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(callers)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # every caller's first call has reached a worker thread
        yield codes
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def test_authorize_is_answered_promptly_while_16_heavy_simulates_hammer_the_sidecar():
    with (
        sidecar(max_workers=16, max_expensive_call_seconds=3) as (_, stub),
        hammering(stub, heavy_simulate(50)) as codes,
    ):
        waits = []
        for _ in range(3):
            started = time.monotonic()
            answer = stub.Authorize(pb.AuthorizeRequest(**AUTHORIZE), timeout=20)
            waits.append(time.monotonic() - started)
            assert answer.decision == pb.DECISION_ALLOWED

    assert max(waits) < 2  # it was tens of seconds when every worker thread ran a Simulate
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes


def _refused_while_busy(call, request) -> grpc.RpcError:
    """The error a call meets while the one hammer holds the slot. The hammer frees the slot for
    a moment between its calls, so a call that slipped into that gap (and succeeded) is repeated."""
    for _ in range(5):
        try:
            call(request, timeout=10)
        except grpc.RpcError as error:
            return error
        time.sleep(0.05)
    raise AssertionError(f"{call} succeeded five times while the slot was held; expected an error")


def test_a_simulate_beyond_the_concurrent_limit_is_refused_naming_it():
    with (
        sidecar(max_workers=4, max_expensive_calls=1, max_expensive_call_seconds=3) as (_, stub),
        hammering(stub, heavy_simulate(100), callers=1),
    ):
        error = _refused_while_busy(stub.Simulate, heavy_simulate(1, statements=1))

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == (
        "Simulate: 1 Simulate/Explain calls already running, at most 1 at once "
        "(--max-expensive-calls); try again shortly"
    )


def test_an_explain_shares_the_limit_with_simulate():
    with (
        sidecar(max_workers=4, max_expensive_calls=1, max_expensive_call_seconds=3) as (_, stub),
        hammering(stub, heavy_simulate(100), callers=1),
    ):
        error = _refused_while_busy(stub.Explain, pb.ExplainRequest(**AUTHORIZE))
        answer = stub.Authorize(pb.AuthorizeRequest(**AUTHORIZE), timeout=10)

    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "(--max-expensive-calls)" in error.details()
    assert answer.decision == pb.DECISION_ALLOWED


def test_a_slot_is_given_back_when_a_simulate_ends():
    with sidecar(max_workers=4, max_expensive_calls=1) as (_, stub):
        for _ in range(3):
            rpc_error(stub.Simulate, heavy_simulate(1000, statements=1), timeout=10)
        answer = stub.Simulate(heavy_simulate(1, statements=1), timeout=10)

    assert len(answer.evaluation_results) == 1
