"""The suggested policy: only used actions, exact or carefully collapsed resources, conditions and
carve-outs kept, and validated by replaying the logged requests (Snapshot.authorize)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iamgate.bundle.access_report.logs import parse_line, read_logs
from iamgate.bundle.access_report.suggest import ReplaySet, suggest, validate
from iamgate.bundle.access_report.usage import summarise
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery

from .access_helpers import ALICE, POLICIES, users
from .access_report_helpers import (
    SARAH,
    instance,
    logged_line,
    sidecar_log,
    suggestion_for,
    with_suggestion,
)
from .helpers import minimal_files, write_files

CONTRACT = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
ALEX = "arn:aws:iam::123456789012:user/alex-contractor"


@pytest.fixture(scope="module")
def embedded():
    return load_default_snapshot(cache_size=0)


def _allowed(snapshot, principal, action, resource, when=CONTRACT) -> bool:
    return snapshot.authorize(AccessQuery(principal, action, resource), now=when).allowed


def test_from_a_real_sidecars_log_the_suggestion_holds_exactly_the_used_actions(tmp_path, embedded):
    calls = [("sarah-developer", "ec2:StopInstances", instance(f"i-{n}"), None) for n in range(2)]
    calls += [("sarah-developer", "iam:CreateAccessKey", SARAH.replace("user/", "user/"), None)]
    calls += [("sarah-developer", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", None)]  # denied
    log = sidecar_log(tmp_path / "d.log", calls)
    replay_set = ReplaySet()
    summarise(read_logs([log]), snapshot=embedded, only=SARAH, on_decision=replay_set)
    suggestion = suggest(embedded, embedded.by_arn[SARAH], replay_set)
    assert suggestion.actions == ("ec2:StopInstances", "iam:CreateAccessKey")
    allows = [s for s in suggestion.document["Statement"] if s["Effect"] == "Allow"]
    assert {s["Action"] for s in allows} == {"ec2:StopInstances", "iam:CreateAccessKey"}
    assert suggestion.replay.replayed == 4 and suggestion.replay.same


def test_a_few_resources_stay_exact_arns(embedded):
    lines = [
        logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance(f"i-{n}")) for n in range(4)
    ]
    suggestion = suggestion_for(embedded, lines, SARAH)
    (statement,) = suggestion.document["Statement"]
    assert statement["Resource"] == sorted(instance(f"i-{n}") for n in range(4))


def test_many_resources_under_one_parent_collapse_to_its_prefix(embedded):
    lines = [
        logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance(f"i-{n}")) for n in range(5)
    ]
    suggestion = suggestion_for(embedded, lines, SARAH)
    (statement,) = suggestion.document["Statement"]
    assert statement["Resource"] == instance("*")
    assert suggestion.replay.same


def test_collapse_at_zero_never_collapses(embedded):
    lines = [
        logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance(f"i-{n}")) for n in range(6)
    ]
    (statement,) = suggestion_for(embedded, lines, SARAH, collapse_at=0).document["Statement"]
    assert len(statement["Resource"]) == 6


def test_the_determining_statements_conditions_are_kept(embedded):
    line = logged_line(
        embedded, "alex-contractor", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", when=CONTRACT
    )
    suggestion = suggestion_for(embedded, [line], ALEX)
    (statement,) = suggestion.document["Statement"]
    assert statement["Condition"] == {
        "DateGreaterThan": {"aws:CurrentTime": "2025-01-01T09:00:00Z"},
        "DateLessThan": {"aws:CurrentTime": "2025-12-31T18:00:00Z"},
    }
    after = with_suggestion(embedded, suggestion)
    logo = "arn:aws:s3:::my-app-images/logo.png"
    assert _allowed(after, ALEX, "s3:GetObject", logo)
    assert not _allowed(after, ALEX, "s3:GetObject", logo, when=datetime(2026, 1, 5, tzinfo=UTC))


def test_the_principals_deny_on_a_used_action_is_kept(embedded):
    lines = [
        logged_line(embedded, "sarah-developer", "ec2:TerminateInstances", instance("i-0stag1234567890ab"))
    ]
    suggestion = suggestion_for(embedded, lines, SARAH)
    kept = [s for s in suggestion.document["Statement"] if s["Effect"] == "Deny"]
    assert kept and kept[0]["Sid"] == "KeptDeny1"
    assert (
        "KeptDeny1",
        "identity:arn:aws:iam::123456789012:policy/DeveloperAccess#DenyTerminateProduction",
    ) in (suggestion.origins)


def _bundle(tmp_path, statements):
    document = {"Version": "2012-10-17", "Statement": statements}
    files = minimal_files(
        {
            **users(),
            POLICIES: {"Policies": [{"PolicyName": "S3Read", "Document": document}]},
            "tests/basic.json": None,
        }
    )
    return load_snapshot(write_files(tmp_path / "bundle", files))


def test_a_collapse_never_reaches_past_a_carve_out(tmp_path):
    snapshot = _bundle(
        tmp_path,
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/secret*"},
        ],
    )
    lines = [logged_line(snapshot, ALICE, "s3:GetObject", f"arn:aws:s3:::data/f{n}") for n in range(6)]
    suggestion = suggestion_for(snapshot, lines, ALICE)
    assert "arn:aws:s3:::data/*" in str(suggestion.document)
    after = with_suggestion(snapshot, suggestion)
    assert not _allowed(after, ALICE, "s3:GetObject", "arn:aws:s3:::data/secret-plans")
    assert _allowed(after, ALICE, "s3:GetObject", "arn:aws:s3:::data/f9")


def test_no_collapse_where_the_granting_statement_names_exact_arns(tmp_path):
    objects = [f"arn:aws:s3:::data/f{n}" for n in range(6)]
    snapshot = _bundle(tmp_path, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}])
    suggestion = suggestion_for(
        snapshot, [logged_line(snapshot, ALICE, "s3:GetObject", o) for o in objects], ALICE
    )
    (statement,) = suggestion.document["Statement"]
    assert statement["Resource"] == objects
    assert not _allowed(with_suggestion(snapshot, suggestion), ALICE, "s3:GetObject", "arn:aws:s3:::data/f9")


def test_wildcard_characters_in_a_used_resource_are_escaped(tmp_path):
    snapshot = _bundle(tmp_path, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    line = logged_line(snapshot, ALICE, "s3:GetObject", "arn:aws:s3:::data/a*b")
    suggestion = suggestion_for(snapshot, [line], ALICE)
    (statement,) = suggestion.document["Statement"]
    assert statement["Resource"] == "arn:aws:s3:::data/a${*}b"
    after = with_suggestion(snapshot, suggestion)
    assert _allowed(after, ALICE, "s3:GetObject", "arn:aws:s3:::data/a*b")
    assert not _allowed(after, ALICE, "s3:GetObject", "arn:aws:s3:::data/aXb")


def test_actions_in_the_same_resources_share_one_statement_and_no_cross_product(tmp_path):
    snapshot = _bundle(tmp_path, [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    lines = [
        logged_line(snapshot, ALICE, "s3:GetObject", "arn:aws:s3:::data/a"),
        logged_line(snapshot, ALICE, "s3:PutObject", "arn:aws:s3:::data/a"),
        logged_line(snapshot, ALICE, "s3:DeleteObject", "arn:aws:s3:::data/b"),
    ]
    suggestion = suggestion_for(snapshot, lines, ALICE)
    statements = {
        tuple(s["Action"]) if isinstance(s["Action"], list) else s["Action"]: s["Resource"]
        for s in suggestion.document["Statement"]
    }
    assert statements == {
        ("s3:GetObject", "s3:PutObject"): "arn:aws:s3:::data/a",
        "s3:DeleteObject": "arn:aws:s3:::data/b",
    }
    assert not _allowed(
        with_suggestion(snapshot, suggestion), ALICE, "s3:DeleteObject", "arn:aws:s3:::data/a"
    )


def test_a_request_the_bundle_now_decides_otherwise_is_not_reproduced_and_not_used(tmp_path, embedded):
    line = logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance("i-1"))
    forged = line.replace('"decision":"allowed"', '"decision":"implicitDeny"')
    suggestion = suggestion_for(embedded, [forged], SARAH)
    assert suggestion.document is None and suggestion.replay.not_reproduced_count == 1


def test_validation_reports_every_request_a_suggestion_loses(embedded):
    lines = [logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance("i-1"))]
    suggestion = suggestion_for(embedded, lines, SARAH)
    requests = []
    from iamgate.bundle.access_report.logs import parse_line

    replay_set = ReplaySet()
    replay_set(parse_line(lines[0], "t:1"))
    requests = list(replay_set.requests.values())
    replay = validate(embedded, embedded.with_identity_policies(SARAH, ()), requests)
    assert [str(r) for r in replay.lost] == [str(requests[0])] and not replay.same
    assert suggestion.replay.same


def test_a_roles_sessions_are_reported_under_the_role_and_its_suggestion_covers_them(embedded):
    role = "arn:aws:iam::123456789012:role/EC2-S3-Upload-Role"
    session = "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-0abc"
    lines = [
        logged_line(embedded, session, "s3:PutObject", f"arn:aws:s3:::my-app-uploads/{n}.png")
        for n in range(2)
    ]
    items = [parse_line(line, f"t:{n}") for n, line in enumerate(lines)]
    assert list(summarise(items, snapshot=embedded, only=role).principals[role].actions) == ["s3:putobject"]
    suggestion = suggestion_for(embedded, lines, role)
    assert (
        suggestion.actions == ("s3:PutObject",) and suggestion.replay.replayed == 2 and suggestion.replay.same
    )
    after = with_suggestion(embedded, suggestion)
    assert not _allowed(after, session, "s3:PutObject", "arn:aws:s3:::my-app-uploads/other.png")


def test_a_resource_that_is_no_arn_is_granted_on_star_only_where_the_statement_was(tmp_path):
    snapshot = _bundle(
        tmp_path,
        [
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"},
        ],
    )
    lines = [logged_line(snapshot, ALICE, action, "*") for action in ("s3:ListAllMyBuckets", "s3:GetObject")]
    suggestion = suggestion_for(snapshot, lines, ALICE)
    assert [s["Action"] for s in suggestion.document["Statement"]] == ["s3:ListAllMyBuckets"]
    assert any("is no ARN" in note for note in suggestion.notes)
    assert [str(r).split(": ", 1)[1] for r in suggestion.replay.lost] == [
        "s3:GetObject on * (allowed in the log)"
    ]
