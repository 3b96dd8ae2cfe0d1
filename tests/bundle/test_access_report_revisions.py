"""Logs of one revision read against another: a narrowing change (revision B lets alice write,
revision A does not) shows as requests the bundle no longer reproduces, and the statement named
in B's decisions is matched by its Sid, never counted as used in A."""

from __future__ import annotations

import json

from service.bundle_helpers import ACCOUNT, OBJECT, bundle_files, write_tree

import iamgate_client as sdk
from iamgate.bundle.access_report.command import access_report_command
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_a_log_of_the_wider_revision_read_against_the_narrower_one(tmp_path):
    wide = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    narrow = write_tree(tmp_path / "a", bundle_files(write=False, revision="A"))
    log = tmp_path / "d.log"
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, decision_log=str(log))
    running = start_sidecar(config, ManagedBundles(BundleSettings(bundle=str(wide))))
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            for action in ("s3:GetObject", "s3:PutObject"):
                assert client.authorize("alice", action, OBJECT).outcome is sdk.Outcome.ALLOWED
    finally:
        running.stop(0)
    result = access_report_command([log], bundle=narrow, principal="alice", output="json")
    data = json.loads(result.text)
    assert result.exit_code == 0 and data["revisions"] == {"B": 2}
    assert data["suggestion"]["actions"] == ["s3:GetObject"]  # PutObject: A denies it
    assert data["suggestion"]["replay"] == {
        "replayed": 1,
        "same": True,
        "lost": [],
        "gained": [],
        "not_reproduced": 1,
    }
    (statement,) = data["statements"]
    assert statement["decided"] == 0 and statement["other_revisions"] == 2
    assert data["unused_statements"] == [statement["statement"]]
