"""Activation: only a bundle that passes every step is swapped in; the last good one keeps serving."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
import time

import pytest

from iamgate.bundle.activation import (
    PERSISTED,
    ActivationError,
    BundleManager,
    NoActiveBundleError,
    Step,
)
from iamgate.bundle.archive import archive_bytes
from iamgate.bundle.commands import manifest_command
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.errors import BundleError
from iamgate.bundle.loader import files_from_bytes, load_files
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.signing import load_verifier
from iamgate.engine.result import Decision

from .helpers import ACCOUNT, DETAILS_FIXTURE, NOON

READ = AccessQuery("alice", "s3:GetObject", "arn:aws:s3:::data/x")
WRITE = AccessQuery("alice", "s3:PutObject", "arn:aws:s3:::data/x")
READ_WRITE = {
    f"accounts/{ACCOUNT}/policies.json": {
        "Policies": [
            {
                "PolicyName": "S3Read",
                "Document": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
                    ],
                },
            }
        ]
    }
}
FAILING_TEST = {
    "tests": [
        {
            "name": "alice may delete",
            "principal": "alice",
            "action": "s3:DeleteObject",
            "resource": "*",
            "expected": "allowed",
        }
    ]
}


@pytest.fixture
def bundles(make_bundle):
    """Two revisions that disagree on alice's s3:PutObject: A denies it, B allows it."""
    a = make_bundle(manifest=True)
    b = make_bundle(READ_WRITE, manifest=True)
    manifest_command(a, revision="A")
    manifest_command(b, revision="B")
    return load_files(a), load_files(b)


def _decision(manager, query=WRITE):
    return manager.authorize(query, now=NOON).evaluation.decision


def test_before_any_activation_authorize_says_no_bundle_is_active():
    with pytest.raises(NoActiveBundleError):
        BundleManager().authorize(READ)


def test_an_activated_bundle_answers_and_shows_in_status(bundles):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    status = manager.status()
    assert (status.active.revision, status.previous, status.activations) == ("A", None, 1)
    assert _decision(manager) is Decision.IMPLICIT_DENY


def test_a_second_activation_keeps_the_first_as_previous(bundles):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    manager.activate_files(bundles[1])
    assert (manager.current().revision, manager.previous().revision) == ("B", "A")
    assert _decision(manager) is Decision.ALLOWED


def test_offering_the_same_content_again_changes_nothing(bundles):
    manager = BundleManager()
    manager.offer(bundles[0])
    assert manager.offer(bundles[0]).result == "unchanged"
    assert manager.status().activations == 1


def test_rollback_makes_the_previous_revision_active(bundles):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    manager.activate_files(bundles[1])
    assert manager.rollback().revision == "A"
    assert (manager.current().revision, manager.previous().revision) == ("A", "B")


def test_rollback_without_a_previous_revision_is_refused(bundles):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    with pytest.raises(BundleError, match="no previous revision"):
        manager.rollback()


def _rejected(manager, files, step):
    event = manager.offer(files)
    assert (event.result, event.step) == ("rejected", step.value)
    status = manager.status()
    assert status.active.revision == "A" and status.last_error.step == step.value
    assert _decision(manager, READ) is Decision.ALLOWED  # the old revision keeps answering
    return status.last_error


def test_a_bundle_whose_tests_fail_is_rejected_and_the_old_revision_keeps_answering(bundles, make_bundle):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    error = _rejected(manager, load_files(make_bundle({"tests/basic.json": FAILING_TEST})), Step.TEST)
    assert "alice may delete: expected allowed, got implicitDeny" in error.message


def test_a_bundle_with_malformed_json_is_rejected_and_the_old_revision_keeps_answering(bundles, make_bundle):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    error = _rejected(manager, load_files(make_bundle({"tests/basic.json": "{oops"})), Step.VALIDATE)
    assert "tests/basic.json: malformed JSON" in error.message


def test_a_bundle_whose_file_list_was_altered_is_rejected_and_the_old_revision_keeps_answering(
    bundles, make_bundle
):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    root = make_bundle(manifest=True)
    (root / "tests" / "extra.json").write_text('{"tests": []}')
    error = _rejected(manager, load_files(root), Step.VERIFY)
    assert "extra file(s) not listed in the manifest: tests/extra.json" in error.message


def test_a_bundle_with_a_wrong_signature_is_rejected_and_the_old_revision_keeps_answering(
    make_bundle, tmp_path
):
    secret = tmp_path / "secret"
    secret.write_text("a shared secret of enough length")
    other = tmp_path / "other"
    other.write_text("another secret, also long enough")
    good, bad = make_bundle(), make_bundle()
    manifest_command(good, revision="A", sign_key=secret, key_id="ops")
    manifest_command(bad, revision="X", sign_key=other, key_id="ops")
    manager = BundleManager(verifier=load_verifier(hmac_secrets={"ops": secret}))
    manager.activate_files(load_files(good))
    error = _rejected(manager, load_files(bad), Step.VERIFY)
    assert "[bad-signature]" in error.message


def test_a_successful_activation_clears_the_last_error(bundles, make_bundle):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    manager.offer(load_files(make_bundle({"tests/basic.json": "{oops"})))
    manager.activate_files(bundles[1])
    assert manager.status().last_error is None
    assert manager.status().rejections == 1


def test_activate_files_raises_the_step_that_failed(bundles, make_bundle):
    with pytest.raises(ActivationError) as caught:
        BundleManager().activate_files(load_files(make_bundle({"tests/basic.json": FAILING_TEST})))
    assert caught.value.step is Step.TEST


def test_the_listener_sees_every_outcome(bundles, make_bundle):
    events = []
    manager = BundleManager(listener=events.append)
    manager.offer(bundles[0])
    manager.offer(bundles[0])
    manager.offer(load_files(make_bundle({"tests/basic.json": "{oops"})))
    assert [event.result for event in events] == ["activated", "unchanged", "rejected"]


def test_a_hot_reload_under_concurrent_evaluation_answers_from_exactly_one_revision(bundles):
    """Threads hammer authorize while the bundle is swapped 50 times: no error, no mixed answer."""
    manager = BundleManager()
    manager.activate_files(bundles[0])
    expected = {
        "A": {WRITE: Decision.IMPLICIT_DENY, READ: Decision.ALLOWED},
        "B": {WRITE: Decision.ALLOWED, READ: Decision.ALLOWED},
    }
    stop = threading.Event()
    problems: list[str] = []
    seen: set[str] = set()
    answers = {"A": 0, "B": 0}

    def hammer() -> None:
        while not stop.is_set():
            for query in (WRITE, READ):
                try:
                    outcome = manager.authorize(query, now=NOON)
                except Exception as error:  # any error fails the test
                    problems.append(repr(error))
                    return
                if outcome.evaluation.decision is not expected[outcome.revision][query]:
                    problems.append(f"{outcome.revision} answered {outcome.evaluation.decision} to {query}")
                seen.add(outcome.revision)
                answers[outcome.revision] += 1

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for swap in range(50):
        manager.activate_files(bundles[(swap + 1) % 2])
        revision = manager.current().revision
        answered = answers[revision]
        deadline = time.monotonic() + 2
        while answers[revision] == answered and time.monotonic() < deadline:
            time.sleep(0.0005)  # let the hammering threads answer from the new revision
    stop.set()
    for thread in threads:
        thread.join()
    assert problems == []
    assert manager.status().activations == 51
    assert seen == {"A", "B"}


# -- persistence --------------------------------------------------------------------------------


def test_the_last_good_bundle_survives_a_restart_with_the_source_gone(make_bundle, tmp_path):
    source = make_bundle(READ_WRITE, manifest=True)
    manifest_command(source, revision="B")
    persist = tmp_path / "state"
    BundleManager(persist_dir=persist).activate_files(load_files(source))
    shutil.rmtree(source)
    restarted = BundleManager(persist_dir=persist)
    snapshot = restarted.restore()
    assert snapshot.revision == "B"
    assert snapshot.source.endswith("(persisted)")
    assert _decision(restarted) is Decision.ALLOWED


def test_a_rejected_bundle_is_never_persisted(bundles, make_bundle, tmp_path):
    manager = BundleManager(persist_dir=tmp_path / "state")
    manager.activate_files(bundles[0])
    manager.offer(load_files(make_bundle({"tests/basic.json": FAILING_TEST})))
    assert BundleManager(persist_dir=tmp_path / "state").restore().revision == "A"


def test_a_signed_bundle_is_persisted_byte_for_byte_and_verified_on_restore(make_bundle, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("a shared secret of enough length")
    source = make_bundle()
    manifest_command(source, revision="S1", sign_key=secret, key_id="ops")
    verifier = load_verifier(hmac_secrets={"ops": secret})
    BundleManager(verifier=verifier, persist_dir=tmp_path / "state").activate_files(load_files(source))
    restored = BundleManager(verifier=verifier, persist_dir=tmp_path / "state").restore()
    assert (restored.revision, restored.signature) == ("S1", "verified (ops, hmac-sha256)")


def test_a_tampered_persisted_bundle_is_not_restored(bundles, tmp_path):
    state = tmp_path / "state"
    BundleManager(persist_dir=state).activate_files(bundles[0])
    document = json.loads((state / PERSISTED).read_text())
    archive = files_from_bytes(base64.b64decode(document["archive"]), "persisted")
    tampered = dict(archive.files)
    tampered["tests/basic.json"] = b'{"tests": []}'
    data = archive_bytes(tampered)  # consistent with its own SHA-256, but not with the manifest
    document.update(archive=base64.b64encode(data).decode(), archive_sha256=hashlib.sha256(data).hexdigest())
    (state / PERSISTED).write_text(json.dumps(document))
    manager = BundleManager(persist_dir=state)
    assert manager.restore() is None
    assert manager.status().last_error.step == "restore"


def test_a_persisted_bundle_refused_at_restore_counts_as_a_rejection(bundles, tmp_path):
    state = tmp_path / "state"
    BundleManager(persist_dir=state).activate_files(bundles[0])  # unsigned
    secret = tmp_path / "secret"
    secret.write_text("a shared secret of enough length")
    restarted = BundleManager(verifier=load_verifier(hmac_secrets={"ops": secret}), persist_dir=state)
    assert restarted.restore() is None
    status = restarted.status()
    assert (status.rejections, status.last_error.step) == (1, "restore")


def test_a_details_file_is_persisted_with_its_revision(tmp_path):
    manager = BundleManager(persist_dir=tmp_path / "state")
    snapshot = manager.activate_path(DETAILS_FIXTURE)
    assert BundleManager(persist_dir=tmp_path / "state").restore().revision == snapshot.revision


def test_restore_without_a_persisted_bundle_returns_none(tmp_path):
    assert BundleManager(persist_dir=tmp_path).restore() is None


def test_persistence_writes_no_temporary_files_behind(bundles, tmp_path):
    state = tmp_path / "state"
    manager = BundleManager(persist_dir=state)
    manager.activate_files(bundles[0])
    manager.activate_files(bundles[1])
    assert sorted(path.name for path in state.iterdir()) == [PERSISTED]
    assert json.loads((state / PERSISTED).read_text())["revision"] == "B"


def test_the_legacy_two_file_layout_is_restored_when_its_files_agree(bundles, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "last-good.tar.gz").write_bytes(archive_bytes(dict(bundles[0].files)))
    (state / "last-good.json").write_text(json.dumps({"revision": "A", "source": "s", "fingerprint": ""}))
    manager = BundleManager(persist_dir=state)
    assert manager.restore().revision == "A"
    manager.activate_files(bundles[1])
    assert sorted(path.name for path in state.iterdir()) == [PERSISTED]  # migrated by the next commit


# -- shadow -------------------------------------------------------------------------------------


def test_a_shadow_bundle_reports_its_disagreements_with_both_explanations(bundles):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    assert manager.offer_shadow(bundles[1]).result == "shadowed"
    answers = [manager.authorize(query, now=NOON) for query in (READ, WRITE, READ, WRITE)]
    assert [a.revision for a in answers] == ["A"] * 4  # the active bundle answers
    shadow = manager.status().shadow
    assert (shadow.revision, shadow.evaluated, shadow.agreed, shadow.disagreed) == ("B", 4, 2, 2)
    disagreement = shadow.recent[0]
    assert disagreement.query == WRITE
    assert disagreement.active.evaluation.decision is Decision.IMPLICIT_DENY
    assert disagreement.shadow.evaluation.decision is Decision.ALLOWED
    assert (
        disagreement.active.evaluation.trace is not None and disagreement.shadow.evaluation.trace is not None
    )


def test_a_shadow_that_fails_a_step_is_not_loaded(bundles, make_bundle):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    manager.offer_shadow(load_files(make_bundle({"tests/basic.json": FAILING_TEST})))
    status = manager.status()
    assert status.shadow is None and status.shadow_error.step == "test"


def test_a_shadow_bundle_can_be_promoted(bundles):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    manager.offer_shadow(bundles[1])
    assert manager.promote_shadow().revision == "B"
    assert (manager.current().revision, manager.previous().revision, manager.status().shadow) == (
        "B",
        "A",
        None,
    )


def test_the_embedded_default_snapshot_can_be_installed_and_replaced(bundles):
    manager = BundleManager()
    manager.activate_snapshot(load_default_snapshot())
    manager.activate_files(bundles[0])
    assert (manager.current().revision, manager.previous().name) == ("A", "default")


def test_watch_feeds_the_manager_and_records_fetch_failures(make_bundle, tmp_path):
    root = make_bundle()
    manager = BundleManager()
    poller = manager.watch(str(root), interval=60)
    poller.poll_once()
    assert manager.current() is not None
    shutil.rmtree(root)
    poller.poll_once()
    status = manager.status()
    assert status.last_error.step == "fetch" and status.active is not None


def test_watch_with_shadow_loads_the_candidate_beside_the_active_bundle(bundles, make_bundle):
    manager = BundleManager()
    manager.activate_files(bundles[0])
    manager.watch(str(make_bundle(READ_WRITE)), shadow=True).poll_once()
    assert manager.status().shadow is not None and manager.current().revision == "A"
