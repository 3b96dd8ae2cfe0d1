"""Downgrade protection: with verification on, signed revisions are ordered by the manifest's ``created``."""

from __future__ import annotations

import pytest
from service.bundle_helpers import bundle_files

from iamgate.bundle import format as fmt
from iamgate.bundle.activation import ActivationError, BundleManager, manifest_time
from iamgate.bundle.archive import archive_bytes
from iamgate.bundle.loader import files_from_bytes
from iamgate.bundle.signing import HmacSigner, Verifier, hmac_key, signatures_document

SECRET = b"a shared secret of enough length"


def _signed(revision: str, created: str, *, write: bool = False, signed: bool = True):
    files = bundle_files(write=write)
    manifest = fmt.dump_manifest(
        fmt.manifest_object(name="alice", revision=revision, created=created, files=fmt.file_hashes(files))
    )
    files[fmt.MANIFEST] = manifest
    if signed:
        files[fmt.SIGNATURES] = signatures_document([HmacSigner(SECRET, "ops")], manifest)
    return files_from_bytes(archive_bytes(files), "test")


def _manager() -> BundleManager:
    return BundleManager(verifier=Verifier((hmac_key(SECRET),)))


def test_a_newer_signed_revision_replaces_an_older_one():
    manager = _manager()
    manager.activate_files(_signed("1", "2026-01-01T00:00:00Z"))
    assert manager.activate_files(_signed("2", "2026-01-02T00:00:00Z", write=True)).revision == "2"


def test_an_older_signed_revision_is_refused_at_the_verify_step_naming_both_revisions():
    manager = _manager()
    manager.activate_files(_signed("2", "2026-01-02T00:00:00Z", write=True))
    with pytest.raises(ActivationError, match=r"revision 1 .*older than the active revision 2") as caught:
        manager.activate_files(_signed("1", "2026-01-01T00:00:00Z"))
    assert caught.value.step.value == "verify"
    assert (manager.current().revision, manager.status().rejections) == ("2", 1)


def test_a_different_revision_created_at_the_same_time_is_refused():
    manager = _manager()
    manager.activate_files(_signed("1", "2026-01-01T00:00:00Z"))
    with pytest.raises(ActivationError, match=r"revision 1b has the same created time .* revision 1 "):
        manager.activate_files(_signed("1b", "2026-01-01T00:00:00Z", write=True))
    assert manager.current().revision == "1"


def test_equal_created_times_compare_as_instants_not_strings():
    manager = _manager()
    manager.activate_files(_signed("1", "2026-01-01T00:00:00Z"))
    with pytest.raises(ActivationError, match="same created time"):
        manager.activate_files(_signed("1b", "2026-01-01T01:00:00+01:00", write=True))


def test_an_active_revision_without_a_created_time_orders_nothing():
    manager = _manager()
    manager.activate_files(_signed("undated", ""))
    assert manager.activate_files(_signed("1", "2026-01-01T00:00:00Z", write=True)).revision == "1"


def test_offsets_are_honoured_when_ordering():
    manager = _manager()
    manager.activate_files(_signed("1", "2026-01-01T12:00:00Z"))
    with pytest.raises(ActivationError, match="downgrade"):
        manager.activate_files(_signed("0", "2026-01-01T13:00:00+02:00", write=True))  # 11:00 UTC


def test_without_verification_revisions_are_not_ordered():
    manager = BundleManager()
    manager.activate_files(_signed("2", "2026-01-02T00:00:00Z", signed=False, write=True))
    assert manager.activate_files(_signed("1", "2026-01-01T00:00:00Z", signed=False)).revision == "1"


def test_a_rollback_may_return_to_an_older_signed_revision_and_holds_the_newer_one_back():
    manager = _manager()
    older, newer = _signed("1", "2026-01-01T00:00:00Z"), _signed("2", "2026-01-02T00:00:00Z", write=True)
    manager.activate_files(older)
    manager.activate_files(newer)
    assert manager.rollback().revision == "1"
    event = manager.offer(newer)
    assert (event.result, manager.current().revision) == ("unchanged", "1")
    assert "rolled back" in event.message


@pytest.mark.parametrize(
    ("text", "usable"),
    [("2026-01-01T00:00:00Z", True), ("2026-01-01T00:00:00", True), ("", False), ("yesterday", False)],
)
def test_manifest_time_reads_rfc3339_and_nothing_else(text, usable):
    assert (manifest_time(text) is not None) is usable
