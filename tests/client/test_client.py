"""The SDK against a real server: answers, typed context, batches, and the error tree."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime

import pytest
from service.fakes import FakeSnapshot, running_server

import iamgate_client as sdk
from iamgate.service import StaticSnapshots

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def test_authorize_returns_a_decision(address):
    with sdk.Client(address) as client:
        decision = client.authorize(
            "sarah-developer",
            "ec2:TerminateInstances",
            INSTANCE,
            {"ec2:ResourceTag/Environment": "production"},
        )
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY
    assert not decision.allowed and not decision
    assert decision.determining[0].label == "DenyTerminateProduction"
    assert decision.denied_by is sdk.PolicyType.IDENTITY


def test_an_allowed_decision_is_truthy(address):
    with sdk.Client(address) as client:
        decision = client.authorize("sarah-developer", "ec2:StopInstances", INSTANCE)
    assert decision.allowed and decision


def test_python_types_choose_the_context_value_type():
    snapshot = FakeSnapshot()
    with running_server(StaticSnapshots(snapshot)) as (address, _), sdk.Client(address) as client:
        client.authorize(
            "u",
            "ec2:StopInstances",
            "*",
            {
                "aws:MultiFactorAuthPresent": True,
                "aws:MultiFactorAuthAge": 300,
                "aws:CurrentTime": datetime(2026, 1, 1, tzinfo=UTC),
                "aws:SourceIp": sdk.Ip("10.0.0.1"),
                "aws:TagKeys": ["team", "env"],
            },
        )
    values = {c.name: (c.values, c.multi) for c in snapshot.queries[0].context}
    assert values == {
        "aws:MultiFactorAuthPresent": (("true",), False),
        "aws:MultiFactorAuthAge": (("300",), False),
        "aws:CurrentTime": (("2026-01-01T00:00:00Z",), False),
        "aws:SourceIp": (("10.0.0.1",), False),
        "aws:TagKeys": (("team", "env"), True),
    }


def test_a_malformed_request_raises_invalid_request_naming_the_field(address):
    with sdk.Client(address) as client, pytest.raises(sdk.InvalidRequestError) as raised:
        client.authorize("sarah-developer", "", "*")
    assert raised.value.code == "INVALID_ARGUMENT"
    assert raised.value.details.startswith("action:")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_raises_connect_error_when_told_to_raise():
    with (
        sdk.Client(f"127.0.0.1:{_free_port()}", timeout=2, on_unreachable="raise") as client,
        pytest.raises(sdk.ConnectError),
    ):
        client.authorize("u", "s3:GetObject", "*")


def test_a_connect_error_is_a_transport_error_and_a_client_error():
    assert issubclass(sdk.ConnectError, sdk.TransportError)
    assert issubclass(sdk.TransportError, sdk.IamgateClientError)


def test_a_batch_answers_each_item_or_gives_its_own_error(address):
    with sdk.Client(address) as client:
        results = client.authorize_batch(
            [sdk.Check("sarah-developer", "ec2:StopInstances", "*"), sdk.Check("sarah-developer", "", "*")]
        )
    assert isinstance(results[0], sdk.Decision) and results[0].allowed
    assert isinstance(results[1], sdk.InvalidRequestError)


def test_explain_returns_the_trace(address):
    with sdk.Client(address) as client:
        explanation = client.explain(
            "sarah-developer", "ec2:TerminateInstances", INSTANCE, {"ec2:ResourceTag/Environment": "staging"}
        )
    assert explanation.allowed
    deny = explanation.policies[0].statements[1]
    assert (deny.effect, deny.applies, deny.conditions[0].matched) == ("Deny", False, False)


def test_simulate_accepts_documents_as_dicts(address):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    with sdk.Client(address) as client:
        [result] = client.simulate([policy], ["s3:GetObject"], caller_arn="arn:aws:iam::123456789012:user/u")
    assert result.allowed and result.action == "s3:GetObject"


def test_status_reports_the_active_bundle(address):
    with sdk.Client(address) as client:
        status = client.status()
    assert status.active is not None and status.active.revision == "rev-1"
    assert status.active.activated_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_rollback_when_admin_is_disabled_raises_permission_denied(address):
    with sdk.Client(address) as client, pytest.raises(sdk.PermissionDeniedError):
        client.rollback()


def test_the_async_client_gives_the_same_answers(address):
    async def ask() -> tuple[sdk.Decision, sdk.Decision]:
        async with sdk.AsyncClient(address) as client:
            return await asyncio.gather(
                client.authorize("sarah-developer", "ec2:StopInstances", INSTANCE),
                client.authorize(
                    "sarah-developer",
                    "ec2:TerminateInstances",
                    INSTANCE,
                    {"ec2:ResourceTag/Environment": "production"},
                ),
            )

    allowed, denied = asyncio.run(ask())
    assert (allowed.outcome, denied.outcome) == (sdk.Outcome.ALLOWED, sdk.Outcome.EXPLICIT_DENY)


def test_the_async_client_maps_errors_like_the_sync_one(address):
    async def ask() -> None:
        async with sdk.AsyncClient(address) as client:
            await client.authorize("", "s3:GetObject", "*")

    with pytest.raises(sdk.InvalidRequestError):
        asyncio.run(ask())


def test_status_reports_shadow_counters_and_disagreements_with_both_explanations(tmp_path):
    from service.bundle_helpers import OBJECT, bundle_files, serving, write_tree

    active = write_tree(tmp_path / "a", bundle_files(revision="A"))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    with serving(bundle=str(active), shadow_bundle=str(candidate)) as (sidecar, client):
        client.authorize("alice", "s3:PutObject", OBJECT)

        async def ask() -> sdk.Status:
            async with sdk.AsyncClient(f"127.0.0.1:{sidecar.port}") as async_client:
                return await async_client.status(disagreements=1)

        deadline = time.monotonic() + 30  # the shadow's access verdict is computed in the background
        while client.status().shadow_stats.access_diff.state == "computing" and time.monotonic() < deadline:
            time.sleep(0.05)
        sync_status, async_status = client.status(disagreements=1), asyncio.run(ask())
    assert sync_status == async_status
    stats = sync_status.shadow_stats
    assert (sync_status.shadow.revision, stats.evaluated, stats.disagreed) == ("B", 1, 1)
    (disagreement,) = stats.recent
    assert isinstance(disagreement, sdk.ShadowDisagreement)
    assert disagreement.active.decision.outcome is sdk.Outcome.IMPLICIT_DENY
    assert disagreement.shadow.decision.outcome is sdk.Outcome.ALLOWED
    assert disagreement.shadow.policies[0].statements[0].applies


def test_a_sidecar_owned_context_key_raises_owned_context_key_error_naming_it():
    from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

    sidecar = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None), ManagedBundles(BundleSettings())
    )
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as client:
            with pytest.raises(sdk.OwnedContextKeyError) as raised:
                client.authorize("sarah-developer", "ec2:StopInstances", INSTANCE, {"aws:username": "admin"})
            [item] = client.authorize_batch(
                [sdk.Check("sarah-developer", "ec2:StopInstances", INSTANCE, {"aws:username": "admin"})]
            )
    finally:
        sidecar.stop(0)
    assert raised.value.key == "aws:username" and "session_tags" not in raised.value.details
    assert isinstance(raised.value, sdk.InvalidRequestError)
    assert isinstance(item, sdk.OwnedContextKeyError) and item.key == "aws:username"
