"""bundle diff: generated revisions with known changes, and what the diff says about each."""

from __future__ import annotations

from pathlib import Path

from iamgate.bundle.access import diff_access
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.load import load_snapshot
from iamgate.catalogue import empty_catalogue

from . import access_helpers as h
from .helpers import NOON, minimal_files, write_files


def _revision(root: Path, overrides: dict) -> object:
    root.mkdir()
    write_files(root, minimal_files({**h.users(), **h.s3_read(), "tests/basic.json": None, **overrides}))
    return load_snapshot(root)


def _changes(tmp_path: Path, old: dict, new: dict) -> tuple[object, list[tuple[str, str, str, str]]]:
    diff = diff_access(
        _revision(tmp_path / "old", old), _revision(tmp_path / "new", new), empty_catalogue(), now=NOON
    )
    rows = [(c.change, c.row.principal, c.row.action, c.row.resource) for c in diff.changes]
    return diff, rows


def test_an_identical_revision_changes_nothing():
    snapshot = load_default_snapshot(cache_size=0)
    diff = diff_access(snapshot, snapshot, empty_catalogue(), now=NOON)
    assert diff.changes == () and not diff.adds_access


def test_an_added_statement_is_added_access(tmp_path):
    diff, rows = _changes(tmp_path, {}, h.users(alice_inline=h.PUT_DATA))
    assert rows == [("added", h.ALICE, "s3:PutObject", "arn:aws:s3:::data/*")]
    assert diff.adds_access


def test_a_removed_group_membership_is_removed_access(tmp_path):
    diff, rows = _changes(tmp_path, {}, h.users(alice_groups=()))
    assert rows == [("removed", h.ALICE, "s3:GetObject", "arn:aws:s3:::data/*")]
    assert not diff.adds_access


def test_a_new_condition_narrows_allowed_access_to_conditional(tmp_path):
    diff, rows = _changes(tmp_path, {}, h.s3_read(h.SOURCE_IP))
    assert rows == [("narrowed", h.ALICE, "s3:GetObject", "arn:aws:s3:::data/*")]
    assert diff.changes[0].row.status == "conditional" and not diff.adds_access


def test_dropping_a_condition_widens_access(tmp_path):
    diff, rows = _changes(tmp_path, h.s3_read(h.SOURCE_IP), {})
    assert rows == [("widened", h.ALICE, "s3:GetObject", "arn:aws:s3:::data/*")]
    assert diff.adds_access


def test_a_new_resource_policy_grants_the_principal_it_names(tmp_path):
    diff, rows = _changes(tmp_path, {}, h.bucket_policy(h.BOB))
    assert ("added", h.BOB, "s3:PutObject", "arn:aws:s3:::data/*") in rows
    assert diff.adds_access


def test_a_principal_only_in_the_new_revision_is_all_added(tmp_path):
    new_users = {
        h.USERS: {
            "Users": [
                {"UserName": "alice", "GroupList": ["Readers"]},
                {"UserName": "carol", "GroupList": ["Readers"]},
            ]
        }
    }
    _, rows = _changes(tmp_path, {}, new_users)
    assert ("added", "arn:aws:iam::123456789012:user/carol", "s3:GetObject", "arn:aws:s3:::data/*") in rows


def test_the_diff_stops_at_its_limit_and_says_so(tmp_path):
    old, new = _revision(tmp_path / "old", {}), _revision(tmp_path / "new", h.users(alice_inline=h.PUT_DATA))
    diff = diff_access(old, new, empty_catalogue(), now=NOON, limit=1)
    assert diff.truncated and diff.evaluations == 1


def _allow_on_instances(**actions: object) -> dict:
    statement = {"Sid": "Broad", "Effect": "Allow", **actions, "Resource": "arn:aws:ec2:*:*:instance/*"}
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_a_new_notaction_allow_is_unproven_access_and_the_diff_is_incomplete(tmp_path):
    diff, rows = _changes(tmp_path, {}, h.users(alice_inline=_allow_on_instances(NotAction="iam:*")))
    assert rows == []  # nothing enumerable changed: only the unproven list shows the new grant
    assert [item.split(": ")[0] for item in diff.unproven] == [h.ALICE]
    assert "NotAction" in diff.unproven[0] and not diff.complete


def test_a_new_allow_of_every_action_is_unproven_access(tmp_path):
    diff, rows = _changes(tmp_path, {}, h.users(alice_inline=_allow_on_instances(Action="*")))
    assert rows == [] and not diff.complete
    assert diff.unproven == (f"{h.ALICE}: action pattern '*' is not expanded (it spans services)",)


def test_an_unenumerable_statement_both_revisions_hold_leaves_the_diff_complete(tmp_path):
    broad = h.users(alice_inline=_allow_on_instances(NotAction="iam:*"))
    diff, rows = _changes(tmp_path, broad, broad)
    assert rows == [] and diff.unproven == () and diff.complete
