"""A role session's requests, logged by a real sidecar with their session tags, are replayed with
them: the suggestion for the role keeps the tag condition that granted them."""

from __future__ import annotations

from security.trust_helpers import ABAC, ANALYST_SESSION, LEDGER, write_abac_bundle

import iamgate_client as sdk
from iamgate.bundle.access_report.command import access_report_command
from iamgate.bundle.access_report.logs import read_logs
from iamgate.bundle.access_report.suggest import ReplaySet, suggest
from iamgate.bundle.access_report.usage import summarise
from iamgate.bundle.load import load_snapshot
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

ANALYST = f"arn:aws:iam::{ABAC}:role/analyst"


def test_a_tagged_sessions_request_is_reproduced_and_its_tag_condition_kept(tmp_path):
    bundle = write_abac_bundle(tmp_path / "abac")
    log = tmp_path / "d.log"
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, decision_log=str(log))
    running = start_sidecar(config, ManagedBundles(BundleSettings(bundle=str(bundle))))
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            decision = client.authorize(
                ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"}
            )
            assert decision.outcome is sdk.Outcome.ALLOWED
    finally:
        running.stop(0)
    snapshot = load_snapshot(bundle)
    replay_set = ReplaySet()
    report = summarise(read_logs([log]), snapshot=snapshot, only=ANALYST, on_decision=replay_set)
    assert report.principals[ANALYST].actions["s3:getobject"].allowed == 1
    suggestion = suggest(snapshot, snapshot.by_arn[ANALYST], replay_set)
    assert suggestion.replay.replayed == 1 and suggestion.replay.not_reproduced_count == 0
    (statement,) = suggestion.document["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalTag/Department": "Finance"}}
    assert access_report_command([log], bundle=bundle, principal="analyst").exit_code == 0
