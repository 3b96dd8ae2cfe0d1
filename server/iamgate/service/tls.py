"""TLS and mutual TLS for the gRPC port, with certificates reloaded when their files change.

cert-manager, Vault agents and SPIFFE helpers rotate certificates by rewriting files in place, so
the server must pick new ones up without a restart. grpcio's dynamic server credentials ask a
*fetcher* for the configuration at every new handshake; ``CertificateFiles`` answers from the
files' stat signatures (mtime, size, inode), so a handshake costs three ``stat`` calls at most
once per ``check_interval`` and a rotation is seen by the next connection. A half-written or
mismatched pair is refused at reload (logged, counted) and the previous configuration keeps
serving; at start-up it is a ``ConfigError`` naming the file.

With a client CA (``--tls-client-ca-file``), clients must present a certificate it signed (mTLS).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from iamgate.service.errors import ConfigError

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TlsSettings:
    cert_file: str
    key_file: str
    client_ca_file: str | None = None
    """Set: mutual TLS, clients must present a certificate this CA bundle signed."""


class CertificateFiles:
    """Reads the PEM files, checks they fit together, and notices when they change."""

    def __init__(self, settings: TlsSettings, *, check_interval: float = 1.0) -> None:
        self.settings = settings
        self._interval = check_interval
        self._lock = threading.Lock()
        self._checked = 0.0
        self._signature = self._stat()
        self.reloads = 0
        self.failed_reloads = 0
        self.config = self._load()

    def _paths(self) -> tuple[tuple[str, str], ...]:
        paths = [("tls_cert_file", self.settings.cert_file), ("tls_key_file", self.settings.key_file)]
        if self.settings.client_ca_file:
            paths.append(("tls_client_ca_file", self.settings.client_ca_file))
        return tuple(paths)

    def _stat(self) -> tuple[tuple[int, int, int], ...]:
        signature = []
        for _, path in self._paths():
            try:
                stat = os.stat(path)
                signature.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
            except OSError:
                signature.append((0, 0, 0))
        return tuple(signature)

    def _load(self) -> Any:
        data = {}
        for setting, path in self._paths():
            try:
                with open(path, "rb") as file:
                    data[setting] = file.read()
            except OSError as error:
                raise ConfigError(setting, f"cannot read {path}: {error.strerror}") from None
        check_pair(data["tls_cert_file"], data["tls_key_file"], self.settings)
        ca = data.get("tls_client_ca_file")
        if ca is not None:
            _check_certificates(ca, "tls_client_ca_file", self.settings.client_ca_file or "")
        return grpc.ssl_server_certificate_configuration(
            [(data["tls_key_file"], data["tls_cert_file"])], root_certificates=ca
        )

    def fetch(self) -> Any | None:
        """grpcio's fetcher: a new configuration when the files changed since the last one, else None."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self._interval:
                return None
            self._checked = now
            signature = self._stat()
            if signature == self._signature:
                return None
            self._signature = signature
            try:
                self.config = self._load()
            except ConfigError as error:
                self.failed_reloads += 1
                _log.warning("TLS certificates not reloaded, the previous ones keep serving: %s", error)
                return None
            self.reloads += 1
            _log.info("TLS certificates reloaded from %s", self.settings.cert_file)
            return self.config


def check_pair(cert_pem: bytes, key_pem: bytes, settings: TlsSettings) -> None:
    """The certificate chain parses, the key parses, and the key is the certificate's."""
    certificates = _check_certificates(cert_pem, "tls_cert_file", settings.cert_file)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            "tls_key_file", f"{settings.key_file}: not an unencrypted PEM private key ({error})"
        ) from None
    public = (
        certificates[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    if (
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        != public
    ):
        raise ConfigError("tls_key_file", f"{settings.key_file} is not the key of {settings.cert_file}")


def _check_certificates(pem: bytes, setting: str, path: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        raise ConfigError(setting, f"{path}: not PEM certificates ({error})") from None
    if not certificates:
        raise ConfigError(setting, f"{path}: holds no certificate")
    return certificates


def server_credentials(settings: TlsSettings) -> tuple[grpc.ServerCredentials, CertificateFiles]:
    """Credentials for ``add_secure_port``; ConfigError naming the file when one cannot serve."""
    files = CertificateFiles(settings)
    credentials = grpc.dynamic_ssl_server_credentials(
        files.config, files.fetch, require_client_authentication=settings.client_ca_file is not None
    )
    return credentials, files
