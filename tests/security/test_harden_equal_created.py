"""Two different signed revisions built in the same second cannot be flipped between.

Signed revisions are ordered by the manifest's ``created`` time. A bundle server holding two
revisions with an equal ``created`` could otherwise serve either, back and forth: neither is older.
A candidate with the active revision's ``created`` is accepted only when it is the same content
(the same manifest, e.g. re-signed with a new key). Real sidecar, HMAC verification.
"""

from __future__ import annotations

from service.bundle_helpers import BundleServer, serving, tarball, wait_until

from iamgate.bundle import format as fmt
from iamgate.bundle.signing import HmacSigner, signatures_document

from .sources_helpers import SECRET, signed_files

SECOND = "2026-02-01T12:00:00Z"


def _secret(tmp_path) -> str:
    path = tmp_path / "bundle.secret"
    path.write_bytes(SECRET)
    return str(path)


def test_a_different_revision_with_an_equal_created_time_is_refused(tmp_path):
    server = BundleServer(tarball(signed_files("2026.02-a", SECOND)))
    try:
        with serving(bundle=server.url, hmac_secret_file=_secret(tmp_path)) as (_, client):
            server.body = tarball(signed_files("2026.02-b", SECOND, write=True))
            message = wait_until(lambda: client.status().last_error)
            assert "[downgrade]" in message and "revision 2026.02-b" in message
            assert "same created time" in message and "active revision 2026.02-a" in message
            status = client.status()
            assert (status.active.revision, status.rejections) == ("2026.02-a", 1)
            assert not client.authorize("alice", "s3:PutObject", "arn:aws:s3:::data/x").allowed
    finally:
        server.close()


def test_the_same_manifest_re_signed_with_another_key_id_is_accepted(tmp_path):
    files = signed_files("2026.02", SECOND)
    server = BundleServer(tarball(files))
    try:
        with serving(bundle=server.url, hmac_secret_file=_secret(tmp_path)) as (_, client):
            resigned = {
                **files,
                fmt.SIGNATURES: signatures_document([HmacSigner(SECRET, "ops-2027")], files[fmt.MANIFEST]),
            }
            server.body = tarball(resigned)
            wait_until(lambda: client.status().activations >= 2)
            status = client.status()
            assert (status.active.revision, status.rejections, status.last_error) == ("2026.02", 0, "")
    finally:
        server.close()
