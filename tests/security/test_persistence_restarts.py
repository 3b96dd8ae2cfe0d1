"""What a sidecar restarts with: one consistent persisted state, and the revision an admin chose.

Each test runs real sidecars (``ManagedBundles`` on loopback) one after the other on the same
``--persist-dir``, as a restarted pod does.
"""

from __future__ import annotations

import json
import logging

import pytest
from service.bundle_helpers import (
    BundleServer,
    bundle_files,
    revision_becomes,
    serving,
    tarball,
    wait_until,
)

from iamgate.bundle.sources import content_fingerprint

PERSISTED = "last-good.bundle.json"
"""The one file holding the persisted bundle and its state."""


def _polls_pass(server: BundleServer, count: int = 5) -> None:
    seen = len(server.answers)
    wait_until(lambda: len(server.answers) >= seen + count)


def test_a_torn_legacy_state_of_two_revisions_is_ignored_and_the_source_serves(tmp_path, caplog):
    """The old layout renamed the tarball, then its metadata: a crash between left A with B's state."""
    caplog.set_level(logging.INFO)
    persist = tmp_path / "state"
    persist.mkdir()
    revision_b = bundle_files(write=True, revision="B")
    (persist / "last-good.tar.gz").write_bytes(tarball(bundle_files(revision="A")))
    state = {"name": "alice", "revision": "B", "source": "x", "fingerprint": content_fingerprint(revision_b)}
    (persist / "last-good.json").write_text(json.dumps(state))
    server = BundleServer(tarball(revision_b))
    try:
        with serving(bundle=server.url, persist_dir=str(persist)) as (_, client):
            revision_becomes(client, "B", timeout=3)
    finally:
        server.close()
    assert "(a torn write); ignoring the persisted state and waiting for the source" in caplog.text


def test_a_truncated_persisted_state_is_ignored_with_a_log_line(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    persist = tmp_path / "state"
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        with serving(bundle=server.url, persist_dir=str(persist)) as (_, client):
            assert client.status().active.revision == "A"
        data = (persist / PERSISTED).read_bytes()
        (persist / PERSISTED).write_bytes(data[: len(data) // 2])
        server.body = tarball(bundle_files(write=True, revision="B"))
        with serving(bundle=server.url, persist_dir=str(persist)) as (_, client):
            assert client.status().active.revision == "B"  # from the source, not a half file
    finally:
        server.close()
    assert "truncated or damaged); ignoring the persisted state and waiting for the source" in caplog.text
    assert json.loads((persist / PERSISTED).read_text())["revision"] == "B"  # committed afresh


@pytest.mark.parametrize("restarts", [1, 2])
def test_an_admin_rollback_survives_a_restart_until_the_source_offers_another_revision(tmp_path, restarts):
    persist = str(tmp_path / "state")
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        with serving(bundle=server.url, persist_dir=persist, enable_admin=True) as (_, client):
            server.body = tarball(bundle_files(write=True, revision="B"))
            revision_becomes(client, "B")
            assert client.rollback(expected_revision="B") == ("A", "B")
            _polls_pass(server)
            assert client.status().active.revision == "A"
        for _ in range(restarts):  # the source still offers B
            with serving(bundle=server.url, persist_dir=persist, enable_admin=True) as (_, client):
                _polls_pass(server)
                answer = client.authorize("alice", "s3:PutObject", "arn:aws:s3:::data/x")
                assert (answer.allowed, answer.revision) == (False, "A")
        with serving(bundle=server.url, persist_dir=persist, enable_admin=True) as (_, client):
            server.body = tarball(bundle_files(revision="C"))
            revision_becomes(client, "C")
    finally:
        server.close()
