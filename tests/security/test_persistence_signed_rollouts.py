"""Signed rollouts: an older signed revision is never taken for a newer one, and every refusal of a
signature says what is wrong (a bad signature, an untrusted key, or no signature at all).

Revisions of signed bundles are ordered by the manifest's ``created`` time, which the signature
covers. Each test runs a real sidecar (``ManagedBundles`` on loopback) verifying with an HMAC secret.
"""

from __future__ import annotations

import json

from service.bundle_helpers import (
    BundleServer,
    revision_becomes,
    serving,
    tarball,
    wait_until,
    write_tree,
)

from iamgate.bundle import format as fmt
from iamgate.bundle.signing import load_signer, signatures_document

from .sources_helpers import SECRET, signed_files

JANUARY, FEBRUARY = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


def _secret(tmp_path) -> str:
    path = tmp_path / "bundle.secret"
    path.write_bytes(SECRET)
    return str(path)


def _error_becomes(client, step: str) -> str:
    return wait_until(lambda: (s := client.status()).last_error_step == step and s.last_error)


def test_an_older_validly_signed_revision_is_refused_as_a_downgrade(tmp_path):
    server = BundleServer(tarball(signed_files("2026.01", JANUARY)))
    try:
        with serving(bundle=server.url, hmac_secret_file=_secret(tmp_path), enable_admin=True) as (_, client):
            server.body = tarball(signed_files("2026.02", FEBRUARY, write=True))
            revision_becomes(client, "2026.02")
            server.body = tarball(signed_files("2026.01", JANUARY))  # a replay of the old bundle
            message = _error_becomes(client, "verify")
            assert "revision 2026.01" in message and "active revision 2026.02" in message
            assert "[downgrade]" in message
            status = client.status()
            assert (status.active.revision, status.rejections) == ("2026.02", 1)
            assert client.authorize("alice", "s3:PutObject", "arn:aws:s3:::data/x").allowed
            # an explicit rollback is the way back
            assert client.rollback(expected_revision="2026.02") == ("2026.01", "2026.02")
    finally:
        server.close()


def test_a_signed_revision_without_a_created_time_cannot_replace_one_with_it(tmp_path):
    server = BundleServer(tarball(signed_files("2026.02", FEBRUARY, write=True)))
    try:
        with serving(bundle=server.url, hmac_secret_file=_secret(tmp_path)) as (_, client):
            server.body = tarball(signed_files("undated", ""))
            message = _error_becomes(client, "verify")
            assert "revision undated has no usable manifest created time" in message
            assert client.status().active.revision == "2026.02"
    finally:
        server.close()


def _tampered(files: dict[str, bytes]) -> dict[str, bytes]:
    manifest = json.loads(files[fmt.MANIFEST])
    manifest["revision"] = "forged"
    return {**files, fmt.MANIFEST: fmt.dump_manifest(manifest)}


def test_a_bad_signature_an_untrusted_key_and_no_signature_are_three_distinct_errors(tmp_path):
    """The key id ``ops-2026`` is the one the trusted key signs with (as in the docs' example)."""
    root = tmp_path / "bundle"
    write_tree(root, _tampered(signed_files("2026.01", JANUARY)))
    with serving(bundle=str(root), hmac_secret_file=_secret(tmp_path)) as (_, client):
        bad = _error_becomes(client, "verify")
        other = tmp_path / "other.secret"
        other.write_bytes(b"another secret of enough length")
        foreign = signed_files("2026.02", FEBRUARY)
        foreign[fmt.SIGNATURES] = signatures_document([load_signer(other)], foreign[fmt.MANIFEST])
        write_tree(root, foreign)
        untrusted = wait_until(lambda: (e := client.status().last_error) != bad and e)
        write_tree(root, {k: v for k, v in foreign.items() if k != fmt.SIGNATURES})
        unsigned = wait_until(lambda: (e := client.status().last_error) != untrusted and e)
        assert client.status().active is None
    assert bad.startswith("verify: bad signature:") and bad.endswith("[bad-signature]")
    assert "ops-2026" in bad and "altered after signing" in bad
    assert untrusted.startswith("verify: untrusted key:") and untrusted.endswith("[untrusted-key]")
    assert unsigned.startswith("verify: unsigned bundle:") and unsigned.endswith("[unsigned]")
