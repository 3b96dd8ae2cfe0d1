"""Resilient calls: per-call timeout and metadata, bounded retries of UNAVAILABLE only, fail closed
when the sidecar cannot be reached, IAMGATE_ADDRESS, and a closed client's clear error."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import grpc
import pytest

import iamgate_client as sdk
from client.scripted import scripted_server
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

FAST = sdk.Retry(attempts=4, initial_backoff=0.01, max_backoff=0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- fail closed ------------------------------------------------------------------------------


def test_an_unreachable_sidecar_answers_a_deny_that_says_why():
    address = f"127.0.0.1:{_free_port()}"
    with sdk.Client(address, timeout=0.5, retry=FAST) as client:
        decision = client.authorize("u", "s3:GetObject", "*", request_id="r-1")
    assert not decision.allowed and decision.outcome is sdk.Outcome.IMPLICIT_DENY
    assert decision.fail_closed and isinstance(decision.error, sdk.ConnectError)
    assert decision.message.startswith("Denied without a decision (fail closed)")
    assert address in decision.message and decision.request_id == "r-1"


def test_on_unreachable_raise_raises_the_connect_error_instead():
    with (
        sdk.Client(f"127.0.0.1:{_free_port()}", timeout=0.5, retry=FAST, on_unreachable="raise") as client,
        pytest.raises(sdk.ConnectError, match="after"),
    ):
        client.authorize("u", "s3:GetObject", "*")


def test_a_batch_to_an_unreachable_sidecar_denies_every_item():
    with sdk.Client(f"127.0.0.1:{_free_port()}", timeout=0.3, retry=sdk.NO_RETRY) as client:
        results = client.authorize_batch(
            [sdk.Check("u", "s3:GetObject", "*"), sdk.Check("u", "s3:PutObject", "*")]
        )
    assert [r.fail_closed and not r.allowed for r in results] == [True, True]


def test_a_decision_the_sidecar_made_is_not_marked_fail_closed(address):
    with sdk.Client(address) as client:
        decision = client.authorize("sarah-developer", "ec2:StopInstances", "*")
    assert decision.allowed and not decision.fail_closed and decision.error is None


def test_explain_to_an_unreachable_sidecar_raises_a_transport_error():
    with (
        sdk.Client(f"127.0.0.1:{_free_port()}", timeout=0.3, retry=sdk.NO_RETRY) as client,
        pytest.raises(sdk.TransportError),
    ):
        client.explain("u", "s3:GetObject", "*")


def test_an_unknown_on_unreachable_policy_is_a_configuration_error():
    with pytest.raises(sdk.ConfigurationError, match="on_unreachable"):
        sdk.Client("127.0.0.1:1", on_unreachable="allow")


def test_the_async_client_fails_closed_too():
    async def ask() -> sdk.Decision:
        async with sdk.AsyncClient(f"127.0.0.1:{_free_port()}", timeout=0.5, retry=FAST) as client:
            return await client.authorize("u", "s3:GetObject", "*")

    decision = asyncio.run(ask())
    assert decision.fail_closed and not decision.allowed


# --- retries ----------------------------------------------------------------------------------


def test_unavailable_is_retried_until_the_sidecar_answers():
    with (
        scripted_server(grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE, "allow") as (
            where,
            script,
        ),
        sdk.Client(where, retry=FAST) as client,
    ):
        decision = client.authorize("u", "s3:GetObject", "*")
    assert decision.allowed and script.calls == 3


def test_a_deny_that_came_back_is_never_retried():
    with scripted_server("deny", "allow") as (where, script), sdk.Client(where, retry=FAST) as client:
        decision = client.authorize("u", "s3:GetObject", "*")
    assert not decision.allowed and script.calls == 1


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL, grpc.StatusCode.RESOURCE_EXHAUSTED]
)
def test_errors_other_than_unavailable_are_never_retried(code):
    with (
        scripted_server(code, "allow") as (where, script),
        sdk.Client(where, retry=FAST) as client,
        pytest.raises(sdk.IamgateClientError) as raised,
    ):
        client.authorize("u", "s3:GetObject", "*")
    assert raised.value.code == code.name and script.calls == 1


def test_retries_are_bounded_by_the_attempts():
    with (
        scripted_server(grpc.StatusCode.UNAVAILABLE) as (where, script),
        sdk.Client(where, retry=FAST, on_unreachable="raise") as client,
        pytest.raises(sdk.ConnectError),
    ):
        client.authorize("u", "s3:GetObject", "*")
    assert script.calls == FAST.attempts


def test_no_retry_makes_one_attempt():
    with (
        scripted_server(grpc.StatusCode.UNAVAILABLE, "allow") as (where, script),
        sdk.Client(where, retry=sdk.NO_RETRY) as client,
    ):
        assert client.authorize("u", "s3:GetObject", "*").fail_closed
    assert script.calls == 1


def test_the_async_client_retries_unavailable_the_same_way():
    async def ask(where: str) -> sdk.Decision:
        async with sdk.AsyncClient(where, retry=FAST) as client:
            return await client.authorize("u", "s3:GetObject", "*")

    with scripted_server(grpc.StatusCode.UNAVAILABLE, "allow") as (where, script):
        assert asyncio.run(ask(where)).allowed
    assert script.calls == 2


def test_a_sidecar_too_slow_to_answer_is_not_retried_and_fails_closed():
    with scripted_server("slow") as (where, script), sdk.Client(where, retry=FAST, timeout=0.2) as client:
        decision = client.authorize("u", "s3:GetObject", "*")
    assert decision.fail_closed and isinstance(decision.error, sdk.DeadlineExceededError)
    assert script.calls == 1


def test_backoff_grows_and_is_capped():
    retry = sdk.Retry(initial_backoff=0.1, multiplier=2, max_backoff=0.3, jitter=0)
    assert [retry.delay(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.3, 0.3]


def test_a_retry_policy_below_one_attempt_is_refused():
    with pytest.raises(sdk.ConfigurationError, match="attempts"):
        sdk.Retry(attempts=0)


def test_calls_keep_answering_through_a_sidecar_restart():
    """A steady loop of decisions while the sidecar stops (draining) and starts again on the
    same port: with retries on, not one call fails or is denied."""
    first = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None), ManagedBundles(BundleSettings())
    )
    port = first.port
    restarted: list = []

    def restart() -> None:
        time.sleep(0.4)
        first.stop(0.5)
        time.sleep(0.3)  # nothing listens for a while
        restarted.append(
            start_sidecar(
                ServiceConfig(address=f"127.0.0.1:{port}", metrics_address=None),
                ManagedBundles(BundleSettings()),
            )
        )

    outcomes: list[sdk.Decision] = []
    thread = threading.Thread(target=restart)
    try:
        with sdk.Client(f"127.0.0.1:{port}", timeout=5) as client:
            thread.start()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline or not restarted:
                outcomes.append(client.authorize("sarah-developer", "ec2:StopInstances", "*"))
    finally:
        thread.join()
        for sidecar in restarted:
            sidecar.stop(0)
    failed = [d for d in outcomes if not d.allowed]
    assert restarted and len(outcomes) > 50
    assert failed == [], failed[0].message


# --- per-call timeout and metadata --------------------------------------------------------------


def test_a_per_call_timeout_bounds_all_attempts():
    with sdk.Client(f"127.0.0.1:{_free_port()}", timeout=30) as client:
        started = time.monotonic()
        decision = client.authorize("u", "s3:GetObject", "*", timeout=0.3)
        elapsed = time.monotonic() - started
    assert decision.fail_closed and elapsed < 2


def test_metadata_of_the_client_and_the_call_reach_the_sidecar():
    with (
        scripted_server("allow") as (where, script),
        sdk.Client(where, metadata=[("x-app", "billing")]) as client,
    ):
        client.authorize("u", "s3:GetObject", "*", metadata=[("x-request-id", "r-7")])
    assert script.metadata[0]["x-app"] == "billing" and script.metadata[0]["x-request-id"] == "r-7"


# --- addresses ----------------------------------------------------------------------------------


def test_the_address_comes_from_iamgate_address(monkeypatch, address):
    monkeypatch.setenv("IAMGATE_ADDRESS", address)
    with sdk.Client() as client:
        assert client.address == address
        assert client.authorize("sarah-developer", "ec2:StopInstances", "*").allowed


def test_a_unix_socket_address_from_the_environment_works(monkeypatch, tmp_path):
    target = f"unix:{tmp_path}/iamgate.sock"
    with _unix_server(target):
        monkeypatch.setenv("IAMGATE_ADDRESS", target)
        with sdk.Client() as client:
            assert client.authorize("sarah-developer", "ec2:StopInstances", "*").allowed


def _unix_server(target: str):
    from contextlib import contextmanager

    from service.fakes import FakeSnapshot

    from iamgate.service import StaticSnapshots, create_server

    @contextmanager
    def serve():
        server, _ = create_server(
            ServiceConfig(address=target, metrics_address=None, max_workers=4),
            snapshots=StaticSnapshots(FakeSnapshot()),
        )
        server.start()
        try:
            yield
        finally:
            server.stop(None).wait()

    return serve()


def test_an_empty_iamgate_address_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("IAMGATE_ADDRESS", " ")
    with pytest.raises(sdk.ConfigurationError, match="IAMGATE_ADDRESS"):
        sdk.Client()


def test_without_an_address_or_environment_the_default_is_loopback(monkeypatch):
    monkeypatch.delenv("IAMGATE_ADDRESS", raising=False)
    with sdk.Client() as client:
        assert client.address == "127.0.0.1:50051"


# --- every failure is a client error ----------------------------------------------------------


def test_a_closed_client_raises_client_closed_error_not_value_error(address):
    client = sdk.Client(address)
    client.close()
    with pytest.raises(sdk.ClientClosedError) as raised:
        client.authorize("u", "s3:GetObject", "*")
    assert isinstance(raised.value, sdk.IamgateClientError) and not isinstance(raised.value, ValueError)


def test_a_closed_async_client_raises_client_closed_error(address):
    async def ask() -> None:
        client = sdk.AsyncClient(address)
        async with client:
            await client.authorize("sarah-developer", "ec2:StopInstances", "*")
        await client.authorize("sarah-developer", "ec2:StopInstances", "*")

    with pytest.raises(sdk.ClientClosedError):
        asyncio.run(ask())


def test_a_context_value_the_wire_cannot_carry_is_an_invalid_request(address):
    with sdk.Client(address) as client, pytest.raises(sdk.InvalidRequestError, match="'k'"):
        client.authorize("u", "s3:GetObject", "*", {"k": object()})


def test_a_non_string_principal_is_an_invalid_request(address):
    with sdk.Client(address) as client, pytest.raises(sdk.InvalidRequestError):
        client.authorize(None, "s3:GetObject", "*")


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:"])
def test_an_address_without_a_port_is_refused_rather_than_dialled_on_443(address):
    with pytest.raises(sdk.ConfigurationError, match="has no port"):
        sdk.Client(address)


def test_an_iamgate_address_without_a_port_is_refused(monkeypatch):
    monkeypatch.setenv("IAMGATE_ADDRESS", "sidecar.local")
    with pytest.raises(sdk.ConfigurationError, match=r"\$IAMGATE_ADDRESS: 'sidecar.local' has no port"):
        sdk.Client()
