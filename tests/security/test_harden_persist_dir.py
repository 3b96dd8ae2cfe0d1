"""Tampering with ``--persist-dir`` while the sidecar is stopped cannot pin an old revision.

Whoever can write the persist directory chooses what a restarted sidecar serves first. The
attack: persist an older (validly signed) revision and mark the source's current revision as held
back (or as the restored bundle's own fingerprint), so the source's revision is never activated
again. Each test runs real sidecars (``ManagedBundles`` on loopback) one after the other on the
same ``--persist-dir``, as a restarted pod does.
"""

from __future__ import annotations

import json
import logging
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from service.bundle_helpers import BundleServer, bundle_files, revision_becomes, serving, tarball, wait_until

from iamgate.bundle import format as fmt
from iamgate.bundle.activation import BundleManager
from iamgate.bundle.signing import Ed25519Signer, signatures_document
from iamgate.bundle.sources import content_fingerprint

from .sources_helpers import SECRET, signed_files

PERSISTED = "last-good.bundle.json"
JANUARY, FEBRUARY = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


def _secret(tmp_path) -> str:
    path = tmp_path / "bundle.secret"
    path.write_bytes(SECRET)
    return str(path)


def _persist_then_forge(persist, server: BundleServer, current: dict[str, bytes], **settings) -> None:
    """Persist the old revision the server offers now, then forge a hold-back of ``current``."""
    with serving(bundle=server.url, persist_dir=str(persist), **settings) as (_, client):
        assert client.status().active is not None
    document = json.loads((persist / PERSISTED).read_text())
    document["held_back"] = {"revision": "current", "fingerprint": content_fingerprint(current)}
    (persist / PERSISTED).write_text(json.dumps(document))
    server.body = tarball(current)


def test_a_group_writable_persist_dir_is_not_restored_and_the_source_serves(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    persist = tmp_path / "state"
    current = bundle_files(write=True, revision="B")
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        _persist_then_forge(persist, server, current)
        os.chmod(persist, 0o777)
        with serving(bundle=server.url, persist_dir=str(persist)) as (_, client):
            revision_becomes(client, "B", timeout=3)
            assert client.status().rejections >= 1
    finally:
        server.close()
    assert "at step restore: writable by group or others (mode 777); refusing to restore" in caplog.text


def test_a_world_writable_persisted_file_is_not_restored(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    persist = tmp_path / "state"
    current = bundle_files(write=True, revision="B")
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        _persist_then_forge(persist, server, current)
        os.chmod(persist / PERSISTED, 0o666)
        with serving(bundle=server.url, persist_dir=str(persist)) as (_, client):
            revision_becomes(client, "B", timeout=3)
    finally:
        server.close()
    assert "writable by group or others (mode 666)" in caplog.text


def test_a_persisted_state_whose_mac_does_not_verify_is_refused(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    persist = tmp_path / "state"
    current = signed_files("2026.02", FEBRUARY, write=True)
    server = BundleServer(tarball(signed_files("2026.01", JANUARY)))
    try:
        _persist_then_forge(persist, server, current, hmac_secret_file=_secret(tmp_path))
        with serving(bundle=server.url, persist_dir=str(persist), hmac_secret_file=_secret(tmp_path)) as (
            _,
            client,
        ):
            revision_becomes(client, "2026.02", timeout=3)
            assert client.status().rejections >= 1
    finally:
        server.close()
    assert "has a MAC that does not verify" in caplog.text


def test_a_state_persisted_with_an_hmac_secret_restores_its_rollback(tmp_path):
    persist = str(tmp_path / "state")
    secret = _secret(tmp_path)
    server = BundleServer(tarball(signed_files("2026.01", JANUARY)))
    try:
        with serving(bundle=server.url, persist_dir=persist, hmac_secret_file=secret, enable_admin=True) as (
            _,
            client,
        ):
            server.body = tarball(signed_files("2026.02", FEBRUARY, write=True))
            revision_becomes(client, "2026.02")
            assert client.rollback(expected_revision="2026.02") == ("2026.01", "2026.02")
        with serving(bundle=server.url, persist_dir=persist, hmac_secret_file=secret) as (_, client):
            status = client.status()
            assert (status.active.revision, status.rejections, status.last_error) == ("2026.01", 0, "")
    finally:
        server.close()


def _ed25519_files(key: Ed25519PrivateKey, revision: str, created: str, **kwargs) -> dict[str, bytes]:
    files = bundle_files(**kwargs)
    manifest = fmt.dump_manifest(
        fmt.manifest_object(name="alice", revision=revision, created=created, files=fmt.file_hashes(files))
    )
    files[fmt.MANIFEST] = manifest
    files[fmt.SIGNATURES] = signatures_document([Ed25519Signer(key, "ops")], manifest)
    return files


def test_a_forged_persisted_fingerprint_cannot_make_the_source_revision_look_unchanged(tmp_path, caplog):
    """Ed25519 only (no secret to authenticate the state): the fingerprint is checked against the bundle."""
    caplog.set_level(logging.INFO)
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "verify.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    persist = tmp_path / "state"
    current = _ed25519_files(key, "2026.02", FEBRUARY, write=True)
    server = BundleServer(tarball(_ed25519_files(key, "2026.01", JANUARY)))
    try:
        with serving(bundle=server.url, persist_dir=str(persist), verify_key=str(public)) as (_, client):
            assert client.status().active.revision == "2026.01"
        document = json.loads((persist / PERSISTED).read_text())
        document["fingerprint"] = content_fingerprint(current)
        (persist / PERSISTED).write_text(json.dumps(document))
        server.body = tarball(current)
        with serving(bundle=server.url, persist_dir=str(persist), verify_key=str(public)) as (_, client):
            revision_becomes(client, "2026.02", timeout=3)
    finally:
        server.close()
    assert "the persisted fingerprint is not the bundle's own (altered)" in caplog.text


def test_after_a_restore_an_older_signed_revision_from_the_source_is_still_a_downgrade(tmp_path):
    persist = str(tmp_path / "state")
    secret = _secret(tmp_path)
    server = BundleServer(tarball(signed_files("2026.02", FEBRUARY, write=True)))
    try:
        with serving(bundle=server.url, persist_dir=persist, hmac_secret_file=secret) as (_, client):
            assert client.status().active.revision == "2026.02"
        server.body = tarball(signed_files("2026.01", JANUARY))
        with serving(bundle=server.url, persist_dir=persist, hmac_secret_file=secret) as (_, client):
            message = wait_until(lambda: client.status().last_error)
            assert "[downgrade]" in message and client.status().active.revision == "2026.02"
    finally:
        server.close()


def test_a_persist_dir_owned_by_another_user_is_not_restored(tmp_path, monkeypatch):
    """Unit level: the test cannot chown, so the running user's id is made to differ."""
    persist = tmp_path / "state"
    manager = BundleManager(persist_dir=persist)
    (tmp_path / "a.tar.gz").write_bytes(tarball(bundle_files(revision="A")))
    manager.activate_path(tmp_path / "a.tar.gz")
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(persist).st_uid + 1)
    restarted = BundleManager(persist_dir=persist)
    assert restarted.restore() is None
    status = restarted.status()
    assert status.rejections == 1 and status.last_error.step == "restore"
    assert "not by the running user" in status.last_error.message


@pytest.mark.parametrize("mode", [0o700, 0o755])
def test_a_private_persist_dir_restores(tmp_path, mode):
    persist = tmp_path / "state"
    manager = BundleManager(persist_dir=persist)
    (tmp_path / "a.tar.gz").write_bytes(tarball(bundle_files(revision="A")))
    manager.activate_path(tmp_path / "a.tar.gz")
    assert oct(os.stat(persist).st_mode & 0o777) == oct(0o700)  # created private
    os.chmod(persist, mode)
    assert BundleManager(persist_dir=persist).restore().revision == "A"


def test_persisting_into_a_group_writable_dir_says_at_once_that_a_restart_will_not_restore(tmp_path):
    persist = tmp_path / "state"
    persist.mkdir(mode=0o775)
    os.chmod(persist, 0o775)
    (tmp_path / "a.tar.gz").write_bytes(tarball(bundle_files(revision="A")))
    manager = BundleManager(persist_dir=persist)
    manager.activate_path(tmp_path / "a.tar.gz")
    assert manager.status().persist_error.startswith("persisted, but a restart will not restore it: ")
    assert "writable by group or others (mode 775)" in manager.status().persist_error
