"""Signing and verifying a bundle's manifest: HMAC-SHA256 with a shared secret, or Ed25519.

The signature covers manifest.json's exact bytes (prefixed with a domain string), and the manifest
lists the SHA-256 of every other file, so one signature vouches for the whole bundle. Signatures
live in ``signatures.json``::

    {"signatures": [{"keyid": "ops-2026", "algorithm": "ed25519", "signature": "<base64>"}]}

A key file holding a PEM private key signs with Ed25519; any other key file is an HMAC secret
(its bytes, surrounding whitespace stripped). A key id defaults to a fingerprint of the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from iamgate.bundle import format as fmt
from iamgate.bundle.errors import BundleError, BundleVerificationError
from iamgate.policy.json_text import JsonTextError, load_strict

# cryptography is imported where an Ed25519 key is used: unsigned and HMAC bundles never load it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_FINGERPRINT_ID = re.compile(r"^(ed25519|hmac):[0-9a-f]{16}$")
"""The default key ids (``ed25519_key_id``, ``hmac_key_id``): derived from the key itself."""

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
ALGORITHMS = (HMAC_SHA256, ED25519)


@dataclass(frozen=True, slots=True)
class SignatureEntry:
    keyid: str
    algorithm: str
    signature: bytes


class Signer(Protocol):
    key_id: str
    algorithm: str

    def sign(self, payload: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class HmacSigner:
    secret: bytes
    key_id: str
    algorithm: str = HMAC_SHA256

    def sign(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    private_key: Ed25519PrivateKey
    key_id: str
    algorithm: str = ED25519

    def sign(self, payload: bytes) -> bytes:
        return self.private_key.sign(payload)


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A key a verifier accepts: an HMAC secret or an Ed25519 public key, under its key id.

    ``pinned`` keys (configured with an explicit id) only check signatures carrying that id. A key
    configured without an id checks a signature of its algorithm whatever id it carries: the id
    is a hint for choosing keys, the signature check itself is what authenticates.
    """

    key_id: str
    algorithm: str
    secret: bytes | None = None
    public_key: Ed25519PublicKey | None = None
    pinned: bool = True

    def accepts(self, entry: SignatureEntry) -> bool:
        return entry.algorithm == self.algorithm and (entry.keyid == self.key_id or not self.pinned)

    def verify(self, payload: bytes, signature: bytes) -> bool:
        if self.algorithm == HMAC_SHA256 and self.secret is not None:
            expected = hmac.new(self.secret, payload, hashlib.sha256).digest()
            return hmac.compare_digest(expected, signature)
        if self.algorithm == ED25519 and self.public_key is not None:
            from cryptography.exceptions import InvalidSignature

            try:
                self.public_key.verify(signature, payload)
            except InvalidSignature:
                return False
            return True
        return False


@dataclass(frozen=True, slots=True)
class Verifier:
    """The keys a sidecar trusts; a bundle must carry a valid signature by one of them."""

    keys: tuple[TrustedKey, ...]

    def check(self, manifest_bytes: bytes, signatures_bytes: bytes | None) -> str:
        """Return ``verified (KEYID, ALGORITHM)`` or raise BundleVerificationError with the reason."""
        if signatures_bytes is None:
            raise BundleVerificationError(
                "unsigned",
                f"unsigned bundle: {fmt.SIGNATURES} is missing and verification is configured",
            )
        entries = parse_signatures(signatures_bytes)
        if not entries:
            raise BundleVerificationError("unsigned", f"unsigned bundle: {fmt.SIGNATURES} lists no signature")
        payload = fmt.SIGNATURE_DOMAIN + manifest_bytes
        known_failures: list[str] = []  # a configured key with the entry's id: the manifest was altered
        checked_failures: list[str] = []  # a key that checks any id of its algorithm: altered or foreign
        for entry in entries:
            named = f"{entry.keyid} ({entry.algorithm})"
            for key in self.keys:
                if not key.accepts(entry):
                    continue
                if key.verify(payload, entry.signature):
                    return f"verified ({entry.keyid}, {entry.algorithm})"
                if key.key_id == entry.keyid:
                    known_failures.append(named)
                elif not _FINGERPRINT_ID.match(entry.keyid):
                    # a chosen id ("ops-2026") says nothing about the key; a fingerprint id that
                    # is not this key's names another key: that is an untrusted key, below
                    checked_failures.append(named)
        if known_failures:
            raise BundleVerificationError(
                "bad-signature",
                f"bad signature: the signature by trusted key id {_listing(known_failures)} does not "
                f"verify over {fmt.MANIFEST}: the manifest was altered after signing, or the signature "
                "is corrupt",
            )
        if checked_failures:
            configured = _listing(f"{key.key_id} ({key.algorithm})" for key in self.keys if not key.pinned)
            raise BundleVerificationError(
                "bad-signature",
                f"bad signature: the signature by key id {_listing(checked_failures)} does not verify "
                f"over {fmt.MANIFEST} with the configured key {configured} (which checks signatures "
                "whatever key id they carry): the manifest was altered after signing, or it was signed "
                "by a key that is not configured",
            )
        listed = _listing(f"{entry.keyid} ({entry.algorithm})" for entry in entries)
        trusted = _listing(f"{key.key_id} ({key.algorithm})" for key in self.keys)
        raise BundleVerificationError(
            "untrusted-key",
            f"untrusted key: the bundle is signed only by key id {listed}, which is not a configured "
            f"key (configured: {trusted})",
        )


def _listing(items: Iterable[str]) -> str:
    return ", ".join(sorted(set(items)))


def parse_signatures(data: bytes) -> list[SignatureEntry]:
    """Read signatures.json; a malformed file is a verification failure, never a traceback."""
    try:
        document = load_strict(data)
    except JsonTextError as error:
        raise BundleVerificationError("bad-signature", f"{fmt.SIGNATURES}: {error}") from None
    listed = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(listed, list):
        raise BundleVerificationError(
            "bad-signature", f'{fmt.SIGNATURES}: expected an object with a "signatures" list'
        )
    entries = []
    for index, item in enumerate(listed):
        where = f"{fmt.SIGNATURES}: signatures[{index}]"
        if not isinstance(item, dict):
            raise BundleVerificationError("bad-signature", f"{where}: expected an object")
        keyid, algorithm, encoded = item.get("keyid"), item.get("algorithm"), item.get("signature")
        if not isinstance(keyid, str) or not keyid:
            raise BundleVerificationError("bad-signature", f"{where}.keyid: expected a non-empty string")
        if algorithm not in ALGORITHMS:
            raise BundleVerificationError(
                "bad-signature",
                f"{where}.algorithm: expected one of {', '.join(ALGORITHMS)}, got {algorithm!r}",
            )
        try:
            signature = base64.b64decode(str(encoded), validate=True)
        except ValueError:
            raise BundleVerificationError("bad-signature", f"{where}.signature: not base64") from None
        entries.append(SignatureEntry(keyid, str(algorithm), signature))
    return entries


def signatures_document(signers: Sequence[Signer], manifest_bytes: bytes) -> bytes:
    """signatures.json's bytes for ``manifest_bytes`` signed by each of ``signers``."""
    payload = fmt.SIGNATURE_DOMAIN + manifest_bytes
    listed = [
        {
            "keyid": signer.key_id,
            "algorithm": signer.algorithm,
            "signature": base64.b64encode(signer.sign(payload)).decode("ascii"),
        }
        for signer in signers
    ]
    return (json.dumps({"signatures": listed}, indent=2) + "\n").encode("utf-8")


def load_signer(path: str | Path, key_id: str | None = None) -> Signer:
    """An Ed25519 signer for a PEM private key file, else an HMAC-SHA256 signer for a secret file."""
    data = _read_key(path)
    if b"-----BEGIN" in data:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as error:
            raise BundleError(f"{path}: not a usable PEM private key ({error})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise BundleError(f"{path}: the private key is not an Ed25519 key")
        return Ed25519Signer(key, key_id or ed25519_key_id(key.public_key()))
    secret = data.strip()
    if len(secret) < 16:
        raise BundleError(f"{path}: an HMAC secret must be at least 16 bytes")
    return HmacSigner(secret, key_id or hmac_key_id(secret))


def hmac_key(secret: bytes | str, key_id: str | None = None) -> TrustedKey:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return TrustedKey(key_id or hmac_key_id(raw), HMAC_SHA256, secret=raw, pinned=key_id is not None)


def ed25519_key(public_pem: bytes, key_id: str | None = None, *, source: str = "public key") -> TrustedKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(public_pem)
    except (ValueError, TypeError) as error:
        raise BundleError(f"{source}: not a usable PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{source}: the public key is not an Ed25519 key")
    return TrustedKey(key_id or ed25519_key_id(key), ED25519, public_key=key, pinned=key_id is not None)


def load_verifier(
    *,
    public_keys: Mapping[str | None, str | Path] | Sequence[str | Path] = (),
    hmac_secrets: Mapping[str | None, str | Path] | Sequence[str | Path] = (),
) -> Verifier:
    """A verifier from key files: Ed25519 public key PEMs and/or HMAC secret files.

    Pass a sequence of paths (the keys then check signatures whatever key id they carry) or a
    mapping ``key_id -> path`` (each key only checks signatures carrying its id).
    """
    keys = [ed25519_key(_read_key(path), key_id, source=str(path)) for key_id, path in _pairs(public_keys)]
    keys += [hmac_key(_read_key(path).strip(), key_id) for key_id, path in _pairs(hmac_secrets)]
    if not keys:
        raise BundleError("verification needs at least one public key or HMAC secret")
    return Verifier(tuple(keys))


def ed25519_key_id(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def hmac_key_id(secret: bytes) -> str:
    return "hmac:" + hashlib.sha256(b"iamgate-hmac-key-id\n" + secret).hexdigest()[:16]


def _pairs(
    keys: Mapping[str | None, str | Path] | Sequence[str | Path],
) -> list[tuple[str | None, str | Path]]:
    if isinstance(keys, Mapping):
        return list(keys.items())
    return [(None, path) for path in keys]


def _read_key(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise BundleError(f"{path}: cannot read key file ({error.strerror})") from None
