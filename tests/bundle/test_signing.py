"""Signatures and file hashes: a bundle that does not check out is refused before parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from iamgate.bundle import format as fmt
from iamgate.bundle.commands import build_command, manifest_command
from iamgate.bundle.errors import BundleError, BundleValidationError, BundleVerificationError
from iamgate.bundle.load import load_bundle
from iamgate.bundle.loader import load_files
from iamgate.bundle.signing import hmac_key, load_signer, load_verifier, signatures_document

SECRET = b"correct horse battery staple 42"


@pytest.fixture
def ed25519_keys(tmp_path: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "signing.pem"
    public = tmp_path / "signing.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "hmac.secret"
    path.write_bytes(SECRET + b"\n")
    return path


def _signed_dir(root: Path, key: Path, key_id: str | None = None) -> Path:
    """Sign a bundle directory in place (manifest + signatures.json)."""
    result = manifest_command(root, sign_key=key, key_id=key_id)
    assert result.exit_code == 0, result.text
    return root


def test_an_ed25519_signed_bundle_is_verified_with_the_public_key(make_bundle, ed25519_keys):
    private, public = ed25519_keys
    root = _signed_dir(make_bundle(), private, key_id="ops-2026")
    bundle = load_bundle(root, verifier=load_verifier(public_keys={"ops-2026": public}))
    assert bundle.signature == "verified (ops-2026, ed25519)"


def test_an_hmac_signed_bundle_is_verified_with_the_shared_secret(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file)
    bundle = load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))
    assert bundle.signature.startswith("verified (hmac:")


def test_a_built_archive_carries_a_signature_that_verifies(make_bundle, ed25519_keys, tmp_path):
    private, public = ed25519_keys
    output = tmp_path / "signed.tar.gz"
    result = build_command(make_bundle(), output, sign_key=private, key_id="ops")
    assert result.exit_code == 0, result.text
    assert load_bundle(output, verifier=load_verifier(public_keys={"ops": public})).signature.startswith(
        "verified"
    )


def test_an_unsigned_bundle_is_refused_when_verification_is_configured(make_bundle, secret_file):
    root = make_bundle(manifest=True)
    with pytest.raises(BundleVerificationError, match="unsigned") as caught:
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))
    assert caught.value.reason == "unsigned"


def test_a_bundle_without_a_manifest_cannot_be_verified(make_bundle, secret_file):
    with pytest.raises(BundleVerificationError, match=r"no manifest\.json") as caught:
        load_bundle(make_bundle(), verifier=load_verifier(hmac_secrets=[secret_file]))
    assert caught.value.reason == "unsigned"


def test_a_signature_by_another_key_is_refused(make_bundle, ed25519_keys, tmp_path):
    private, _ = ed25519_keys
    other = Ed25519PrivateKey.generate().public_key()
    other_pem = tmp_path / "other.pub.pem"
    other_pem.write_bytes(
        other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    root = _signed_dir(make_bundle(), private, key_id="ops")
    with pytest.raises(BundleVerificationError, match=r"bad signature.*does not verify") as caught:
        load_bundle(root, verifier=load_verifier(public_keys={"ops": other_pem}))
    assert caught.value.reason == "bad-signature"


def test_a_signature_by_an_untrusted_key_id_is_refused(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file, key_id="someone-else")
    with pytest.raises(BundleVerificationError, match=r"untrusted key.*someone-else") as caught:
        load_bundle(root, verifier=load_verifier(hmac_secrets={"ops": secret_file}))
    assert caught.value.reason == "untrusted-key"


def test_a_manifest_edited_after_signing_is_refused(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file)
    manifest = json.loads((root / fmt.MANIFEST).read_text())
    manifest["revision"] = "forged"
    (root / fmt.MANIFEST).write_text(json.dumps(manifest, indent=2))
    with pytest.raises(BundleVerificationError, match=r"does not verify over manifest\.json"):
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))


def test_an_added_file_is_refused_and_named(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file)
    (root / "tests" / "smuggled.json").write_text('{"tests": []}')
    with pytest.raises(BundleVerificationError, match=r"extra file\(s\).*tests/smuggled\.json") as caught:
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))
    assert caught.value.reason == "extra-file"


def test_an_altered_file_is_refused_and_named(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file)
    users = root / "accounts/123456789012/users.json"
    users.write_text(users.read_text().replace("alice", "mallory"))
    with pytest.raises(BundleVerificationError, match=r"altered file\(s\).*users\.json") as caught:
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))
    assert caught.value.reason == "altered-file"


def test_a_removed_file_is_refused_and_named(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file)
    (root / "tests" / "basic.json").unlink()
    with pytest.raises(BundleVerificationError, match=r"missing file\(s\).*tests/basic\.json") as caught:
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))
    assert caught.value.reason == "missing-file"


def test_file_hashes_are_checked_even_without_verification(make_bundle):
    root = make_bundle(manifest=True)
    (root / "tests" / "basic.json").write_text('{"tests": []}')
    with pytest.raises(BundleVerificationError, match="altered"):
        load_bundle(root)


def test_verification_happens_before_any_document_is_parsed(make_bundle, secret_file):
    """A tampered file that is also malformed JSON is refused for the tampering, not parsed."""
    root = _signed_dir(make_bundle(), secret_file)
    (root / "accounts/123456789012/users.json").write_text("{ not json")
    with pytest.raises(BundleVerificationError):
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))


def test_a_validly_signed_but_invalid_bundle_is_still_rejected_by_validation(make_bundle, secret_file):
    root = make_bundle(
        {"accounts/123456789012/users.json": {"Users": [{"UserName": "bob", "GroupList": ["Nope"]}]}}
    )
    _signed_dir_force(root, secret_file)
    with pytest.raises(BundleValidationError, match="group 'Nope' does not exist"):
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))


def _signed_dir_force(root: Path, secret: Path) -> None:
    """Sign without validating (manifest_command refuses invalid bundles), as an attacker could not."""
    files = {p: d for p, d in load_files(root).files.items() if p not in fmt.UNHASHED}
    manifest = fmt.dump_manifest(
        fmt.manifest_object(name="x", revision="r", created="", files=fmt.file_hashes(files))
    )
    (root / fmt.MANIFEST).write_bytes(manifest)
    (root / fmt.SIGNATURES).write_bytes(signatures_document([load_signer(secret)], manifest))


def test_a_malformed_signatures_file_is_refused_with_its_path(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file)
    (root / fmt.SIGNATURES).write_text(
        '{"signatures": [{"keyid": "k", "algorithm": "rsa", "signature": "AA=="}]}'
    )
    with pytest.raises(BundleVerificationError, match=r"signatures\[0\]\.algorithm"):
        load_bundle(root, verifier=load_verifier(hmac_secrets=[secret_file]))


def test_a_malformed_manifest_is_refused_with_its_field(make_bundle):
    root = make_bundle(manifest=True)
    manifest = json.loads((root / fmt.MANIFEST).read_text())
    manifest["files"]["tests/basic.json"] = "not-a-digest"
    (root / fmt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleVerificationError, match=r"files\['tests/basic\.json'\]") as caught:
        load_bundle(root)
    assert caught.value.reason == "bad-manifest"


def test_without_verification_a_signature_is_reported_but_not_checked(make_bundle, secret_file):
    root = _signed_dir(make_bundle(), secret_file, key_id="ops")
    assert load_bundle(root).signature == "signed by ops (hmac-sha256), not verified"


def test_a_short_hmac_secret_is_refused(tmp_path):
    path = tmp_path / "weak"
    path.write_text("short")
    with pytest.raises(BundleError, match="at least 16 bytes"):
        load_signer(path)


def test_a_non_ed25519_private_key_is_refused(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(BundleError, match="not an Ed25519 key"):
        load_signer(path)


def test_an_hmac_key_id_does_not_reveal_the_secret():
    assert SECRET.decode() not in hmac_key(SECRET).key_id


def test_a_key_given_without_an_id_checks_signatures_whatever_their_key_id(make_bundle, ed25519_keys):
    """`serve --verify-key PUB.pem` trusts the key itself; the id recorded at build time is a hint."""
    private, public = ed25519_keys
    root = _signed_dir(make_bundle(), private, key_id="ops-2026")
    assert (
        load_bundle(root, verifier=load_verifier(public_keys=[public])).signature
        == "verified (ops-2026, ed25519)"
    )


def test_a_key_given_without_an_id_still_refuses_another_keys_signature(make_bundle, ed25519_keys, tmp_path):
    """A key without an id checks every signature of its algorithm: a failure is a bad signature,
    whose message says it may also come from a key that is not configured."""
    private, _ = ed25519_keys
    other = tmp_path / "other.pub.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    root = _signed_dir(make_bundle(), private, key_id="ops-2026")
    with pytest.raises(BundleVerificationError, match="signed by a key that is not configured") as caught:
        load_bundle(root, verifier=load_verifier(public_keys=[other]))
    assert caught.value.reason == "bad-signature"


def test_an_hmac_signature_is_not_checked_with_an_ed25519_key(make_bundle, secret_file, ed25519_keys):
    _, public = ed25519_keys
    root = _signed_dir(make_bundle(), secret_file)
    with pytest.raises(BundleVerificationError) as caught:
        load_bundle(root, verifier=load_verifier(public_keys=[public]))
    assert caught.value.reason == "untrusted-key"
