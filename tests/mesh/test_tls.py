"""TLS and mutual TLS on the gRPC port, with certificates made in the test and rotated in place."""

from __future__ import annotations

import os
import time

import grpc
import pytest

import iamgate_client as sdk
from iamgate.service import ConfigError, ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

from .certs import CertificateAuthority

QUESTION = ("lisa-finance", "ec2:RunInstances", "*")


@pytest.fixture
def ca():
    return CertificateAuthority()


def _start(tmp_path, ca, *, mutual: bool = False):
    cert, key = ca.issue("iamgate", server=True).write(tmp_path, "server")
    client_ca = None
    if mutual:
        client_ca = tmp_path / "clients-ca.pem"
        client_ca.write_bytes(ca.pem)
    config = ServiceConfig(
        address="127.0.0.1:0",
        metrics_address=None,
        tls_cert_file=str(cert),
        tls_key_file=str(key),
        tls_client_ca_file=str(client_ca) if client_ca else None,
    )
    return start_sidecar(config, default_source())


def _ask(port: int, credentials: grpc.ChannelCredentials | None):
    # A refused handshake must surface as an error here, not as the SDK's fail-closed deny.
    with sdk.Client(
        f"127.0.0.1:{port}", timeout=5, credentials=credentials, retry=sdk.NO_RETRY, on_unreachable="raise"
    ) as client:
        return client.authorize(*QUESTION).outcome


def test_a_client_trusting_the_ca_gets_answers_over_tls(tmp_path, ca):
    sidecar = _start(tmp_path, ca)
    try:
        assert _ask(sidecar.port, grpc.ssl_channel_credentials(ca.pem)) is sdk.Outcome.IMPLICIT_DENY
    finally:
        sidecar.stop(0)


def test_a_plaintext_client_gets_nothing_from_a_tls_port(tmp_path, ca):
    sidecar = _start(tmp_path, ca)
    try:
        with pytest.raises(sdk.TransportError):
            _ask(sidecar.port, None)
    finally:
        sidecar.stop(0)


def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path, ca):
    sidecar = _start(tmp_path, ca, mutual=True)
    try:
        with pytest.raises(sdk.TransportError):
            _ask(sidecar.port, grpc.ssl_channel_credentials(ca.pem))
    finally:
        sidecar.stop(0)


def test_mutual_tls_refuses_a_client_certificate_of_another_ca(tmp_path, ca):
    stranger = CertificateAuthority("someone else").issue("app", uri="spiffe://example.org/sa/app")
    sidecar = _start(tmp_path, ca, mutual=True)
    try:
        credentials = grpc.ssl_channel_credentials(ca.pem, stranger.key_pem, stranger.cert_pem)
        with pytest.raises(sdk.TransportError):
            _ask(sidecar.port, credentials)
    finally:
        sidecar.stop(0)


def test_mutual_tls_answers_a_client_the_ca_certified(tmp_path, ca):
    client = ca.issue("app", uri="spiffe://example.org/sa/app")
    sidecar = _start(tmp_path, ca, mutual=True)
    try:
        credentials = grpc.ssl_channel_credentials(ca.pem, client.key_pem, client.cert_pem)
        assert _ask(sidecar.port, credentials) is sdk.Outcome.IMPLICIT_DENY
    finally:
        sidecar.stop(0)


def test_rotated_certificate_files_serve_the_next_connection_without_a_restart(tmp_path, ca):
    sidecar = _start(tmp_path, ca)
    try:
        assert _ask(sidecar.port, grpc.ssl_channel_credentials(ca.pem)) is sdk.Outcome.IMPLICIT_DENY
        successor = CertificateAuthority("rotated CA")
        successor.issue("iamgate", server=True).write(tmp_path, "server")
        later = time.time() + 5
        for name in ("server.crt", "server.key"):
            os.utime(tmp_path / name, (later, later))
        deadline = time.monotonic() + 10
        while True:  # the fetcher looks at the files at most once a second
            try:
                assert (
                    _ask(sidecar.port, grpc.ssl_channel_credentials(successor.pem))
                    is sdk.Outcome.IMPLICIT_DENY
                )
                break
            except sdk.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with pytest.raises(sdk.TransportError):
            _ask(sidecar.port, grpc.ssl_channel_credentials(ca.pem))
    finally:
        sidecar.stop(0)


def test_a_half_written_rotation_keeps_the_previous_certificate(tmp_path, ca):
    sidecar = _start(tmp_path, ca)
    try:
        (tmp_path / "server.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\ntruncated")
        time.sleep(1.1)
        assert _ask(sidecar.port, grpc.ssl_channel_credentials(ca.pem)) is sdk.Outcome.IMPLICIT_DENY
    finally:
        sidecar.stop(0)


@pytest.mark.parametrize(
    ("broken", "setting"),
    [("server.key", "tls_key_file"), ("server.crt", "tls_cert_file")],
)
def test_an_unusable_certificate_file_at_start_is_a_config_error_naming_it(tmp_path, ca, broken, setting):
    ca.issue("iamgate", server=True).write(tmp_path, "server")
    (tmp_path / broken).write_text("not PEM")
    config = ServiceConfig(
        address="127.0.0.1:0",
        metrics_address=None,
        tls_cert_file=str(tmp_path / "server.crt"),
        tls_key_file=str(tmp_path / "server.key"),
    )
    with pytest.raises(ConfigError) as raised:
        start_sidecar(config, default_source())
    assert raised.value.setting == setting and broken in str(raised.value)


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path, ca):
    ca.issue("iamgate", server=True).write(tmp_path, "server")
    (tmp_path / "server.key").write_bytes(ca.issue("other", server=True).key_pem)
    config = ServiceConfig(
        address="127.0.0.1:0",
        metrics_address=None,
        tls_cert_file=str(tmp_path / "server.crt"),
        tls_key_file=str(tmp_path / "server.key"),
    )
    with pytest.raises(ConfigError, match="is not the key of"):
        start_sidecar(config, default_source())


def test_tls_needs_both_the_certificate_and_the_key():
    with pytest.raises(ConfigError, match="tls_key_file"):
        ServiceConfig(tls_cert_file="server.crt")


def test_serve_with_an_unreadable_certificate_exits_1_with_one_line_naming_the_flag(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    iamgate = str(Path(sys.executable).parent / "iamgate")
    result = subprocess.run(
        [
            iamgate,
            "serve",
            "--address",
            "127.0.0.1:0",
            "--metrics-address",
            "off",
            "--tls-cert-file",
            str(tmp_path / "missing.crt"),
            "--tls-key-file",
            str(tmp_path / "missing.key"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    missing = tmp_path / "missing.crt"
    assert (
        result.stderr == f"iamgate serve: --tls-cert-file: cannot read {missing}: No such file or directory\n"
    )
