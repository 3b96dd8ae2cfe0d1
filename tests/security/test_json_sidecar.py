"""Hostile JSON and hostile request bytes against a real sidecar (gRPC on loopback).

Each test once found the sidecar crashing a bundle load with an uncaught RecursionError, keeping
the last of two repeated keys (``"Effect": "Deny", "Effect": "Allow"`` read as an Allow), or
answering INTERNAL with a traceback for a caller's malformed input. Now each is a counted,
explained rejection and the sidecar keeps serving.
"""

from __future__ import annotations

import json
import logging
import shutil

import grpc
import pytest
from service.bundle_helpers import (
    OBJECT,
    ConfigMapVolume,
    bundle_files,
    serving,
    tarball,
    wait_until,
)

import iamgate_client as sdk
from iamgate.bundle import activation
from iamgate.bundle import format as fmt
from iamgate.bundle.commands import build_command
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

ACCOUNT = "123456789012"
READ = ("alice", "s3:GetObject", OBJECT)
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/EC2-S3-Upload-Role/i-0abc"
DEEP = 2000


def _deep_list(levels: int) -> str:
    return "[" * levels + "]" * levels


def _sample(sidecar, name: str, labels: dict[str, str]) -> float:
    return sidecar.metrics.registry.get_sample_value(name, labels) or 0.0


def _rejected(client: sdk.Client):
    return wait_until(lambda: (status := client.status()).last_error and status)


def _assert_old_revision_serves(sidecar, client: sdk.Client, revision: str) -> None:
    answer = client.authorize(*READ)
    assert (answer.outcome, answer.revision) == (sdk.Outcome.ALLOWED, revision)
    # the rejection is counted by the event listener just after last_error is set: wait for it
    wait_until(lambda: _sample(sidecar, "iamgate_bundle_activations_total", {"result": "rejected"}) >= 1)
    assert _sample(sidecar, "iamgate_bundle_activations_total", {"result": "rejected"}) == 1


# -- bundles ----------------------------------------------------------------------------------------


def test_a_bundle_file_nested_2000_levels_deep_is_a_counted_rejection(tmp_path, caplog):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    deep_users = '{"Users": ' + _deep_list(DEEP) + "}"
    with caplog.at_level(logging.DEBUG), serving(bundle=str(volume.root)) as (sidecar, client):
        volume.publish(bundle_files(revision="A", extra={f"accounts/{ACCOUNT}/users.json": deep_users}))
        status = _rejected(client)
        assert status.last_error_step == "validate"
        assert f"accounts/{ACCOUNT}/users.json: nested too deeply (the limit is 64" in status.last_error
        _assert_old_revision_serves(sidecar, client, "A")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no error-level traceback"


def test_a_signatures_file_nested_2000_levels_deep_is_a_counted_rejection(tmp_path):
    secret = tmp_path / "bundle.secret"
    secret.write_text("a-shared-secret-of-at-least-16-bytes\n")
    source = tmp_path / "source"
    for path, data in bundle_files().items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_bytes(data)
    signed = tmp_path / "signed.tar.gz"
    assert build_command(source, signed, revision="A", sign_key=secret).exit_code == 0
    served = tmp_path / "served.tar.gz"
    shutil.copy(signed, served)
    with serving(bundle=str(served), hmac_secret_file=str(secret)) as (sidecar, client):
        assert client.status().active.revision == "A"
        hostile = bundle_files(revision="A")
        hostile[fmt.SIGNATURES] = ('{"signatures": ' + _deep_list(DEEP) + "}").encode()
        served.write_bytes(tarball(hostile))
        status = _rejected(client)
        assert status.last_error_step == "verify"
        assert "signatures.json: nested too deeply" in status.last_error
        _assert_old_revision_serves(sidecar, client, "A")


def test_a_bundle_policy_with_a_repeated_effect_is_rejected_naming_its_path(tmp_path):
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    # The last "Effect" would have made the Deny an Allow of every write.
    policies = (
        '{"Policies": [{"PolicyName": "ObjectAccess", "Document": {"Version": "2012-10-17", "Statement": ['
        '{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},'
        '{"Effect": "Deny", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}}]}'
    )
    with serving(bundle=str(volume.root)) as (sidecar, client):
        volume.publish(bundle_files(revision="A", extra={f"accounts/{ACCOUNT}/policies.json": policies}))
        status = _rejected(client)
        assert status.last_error_step == "validate"
        assert (
            f"accounts/{ACCOUNT}/policies.json: Policies[0].Document.Statement[1].Effect: duplicate key"
            in status.last_error
        )
        _assert_old_revision_serves(sidecar, client, "A")
        assert not client.authorize("alice", "s3:PutObject", OBJECT).allowed


def test_an_unexpected_error_in_any_activation_step_is_a_counted_rejection(tmp_path, monkeypatch, caplog):
    """Whatever a step raises (here: a bug in the compiler), the bundle is rejected at that step."""
    real_build = activation.build_snapshot

    def build(bundle, **kwargs):
        if bundle.manifest.revision == "B":
            raise RecursionError("maximum recursion depth exceeded")
        return real_build(bundle, **kwargs)

    monkeypatch.setattr(activation, "build_snapshot", build)
    volume = ConfigMapVolume(tmp_path / "configmap")
    volume.publish(bundle_files(revision="A"))
    with caplog.at_level(logging.DEBUG), serving(bundle=str(volume.root)) as (sidecar, client):
        volume.publish(bundle_files(write=True, revision="B"))
        status = _rejected(client)
        assert status.last_error_step == "compile"
        assert "unexpected RecursionError: maximum recursion depth exceeded" in status.last_error
        _assert_old_revision_serves(sidecar, client, "A")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no error-level traceback"
    rejected = [r for r in caplog.records if r.getMessage().startswith("rejected bundle")]
    assert len(rejected) == 1 and rejected[0].exc_info is None


# -- requests ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded():
    with serving() as (sidecar, client):
        yield sidecar, client


def _policy_text(statement: str) -> str:
    """A policy as JSON text, written by hand: a repeated key cannot be written with json.dumps."""
    return '{"Version": "2012-10-17", "Statement": [' + statement + "]}"


def _invalid_argument(call) -> str:
    with pytest.raises(sdk.IamgateClientError) as raised:
        call()
    assert raised.value.code == "INVALID_ARGUMENT", raised.value
    return str(raised.value)


def test_a_session_policy_with_a_repeated_effect_is_invalid_argument_naming_the_path(embedded):
    _, client = embedded
    policy = _policy_text('{"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}')
    message = _invalid_argument(
        lambda: client.authorize(SESSION, "s3:PutObject", "arn:aws:s3:::b/k", None, policy)
    )
    assert "session_policy" in message and "Statement[0].Effect: duplicate key" in message


def test_a_session_policy_nested_2000_levels_deep_is_invalid_argument(embedded):
    sidecar, client = embedded
    policy = '{"Version": "2012-10-17", "Statement": ' + _deep_list(DEEP) + "}"
    message = _invalid_argument(
        lambda: client.authorize(SESSION, "s3:PutObject", "arn:aws:s3:::b/k", None, policy)
    )
    assert "session_policy" in message and "nested too deeply" in message
    assert _sample(sidecar, "iamgate_internal_errors_total", {"method": "Authorize"}) == 0


def test_a_simulate_policy_with_a_repeated_key_is_invalid_argument_naming_the_path(embedded):
    _, client = embedded
    policy = _policy_text('{"Effect": "Allow", "Action": "s3:GetObject", "Action": "*", "Resource": "*"}')
    message = _invalid_argument(lambda: client.simulate([policy], ["s3:GetObject"], ["*"]))
    assert "Statement[0].Action: duplicate key" in message


def _raw_authorize(sidecar, payload: bytes) -> pb.AuthorizeResponse:
    """Send ``payload`` as the request's bytes, as a hostile or broken client could."""
    with grpc.insecure_channel(f"127.0.0.1:{sidecar.port}") as channel:
        call = channel.unary_unary(
            "/iamgate.v1.Authorizer/Authorize",
            request_serializer=lambda raw: raw,
            response_deserializer=pb.AuthorizeResponse.FromString,
        )
        return call(payload, timeout=10)


@pytest.mark.parametrize(
    "payload",
    [
        pb.AuthorizeRequest(principal="sarah-developer", action="s3:GetObject", resource="*")
        .SerializeToString()
        .replace(b"GetObject", b"Get\xffbject"),
        b"\xff\xff\xff\xff",
    ],
    ids=["invalid-utf8-in-a-string-field", "not-protobuf"],
)
def test_request_bytes_protobuf_refuses_are_invalid_argument_and_the_server_keeps_serving(
    embedded, payload, caplog
):
    sidecar, _ = embedded
    with caplog.at_level(logging.ERROR), pytest.raises(grpc.RpcError) as raised:
        _raw_authorize(sidecar, payload)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith("malformed request: not a valid iamgate.v1.AuthorizeRequest")
    assert not caplog.records, "no traceback logged for a caller's mistake"
    assert (
        _sample(sidecar, "iamgate_requests_total", {"method": "Authorize", "code": "INVALID_ARGUMENT"}) >= 1
    )
    valid = pb.AuthorizeRequest(principal="sarah-developer", action="s3:GetObject", resource="*")
    assert _raw_authorize(sidecar, valid.SerializeToString()).revision


def test_a_session_policy_of_json_text_that_is_not_utf8_in_a_valid_request_is_still_refused(embedded):
    """A JSON escape can smuggle a lone surrogate past protobuf's UTF-8 check."""
    _, client = embedded
    policy = _policy_text('{"Sid": "\\ud800", "Effect": "Allow", "Action": "*", "Resource": "*"}')
    message = _invalid_argument(
        lambda: client.authorize(SESSION, "s3:PutObject", "arn:aws:s3:::b/k", None, policy)
    )
    assert "Statement[0].Sid: a lone UTF-16 surrogate" in message
    json.loads(policy)  # the lenient reader would have taken it
