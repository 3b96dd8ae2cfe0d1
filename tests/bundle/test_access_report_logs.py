"""Reading decision logs: rotated, compressed, cut, redacted and broken files, each line bounded."""

from __future__ import annotations

import gzip
import json

from iamgate.bundle.access_report.logs import LoggedDecision, LogProblem, read_logs
from iamgate.bundle.access_report.usage import summarise
from iamgate.bundle.default import load_default_snapshot

from .access_report_helpers import SARAH, event, instance, logged_line, sidecar_log


def _read(*paths, **limits):
    return list(read_logs(paths, **limits))


def test_a_real_sidecars_log_reads_back_as_its_decisions(tmp_path):
    calls = [
        ("sarah-developer", "ec2:StopInstances", instance("i-1"), None),
        ("sarah-developer", "s3:GetObject", "arn:aws:s3:::my-app-images/logo.png", None),
    ]
    items = _read(sidecar_log(tmp_path / "d.log", calls))
    assert [(i.action, i.decision, i.principal_arn) for i in items] == [
        ("ec2:StopInstances", "allowed", SARAH),
        ("s3:GetObject", "implicitDeny", SARAH),
    ]
    assert items[0].determining[0].kind == "identity" and items[0].determining[0].sid == "ManageEC2"


def test_rotated_and_gzip_compressed_files_are_read_alike(tmp_path):
    (tmp_path / "d.log.1").write_text(event() + "\n")
    with gzip.open(tmp_path / "d.log.2.gz", "wt") as compressed:
        compressed.write(event(decision="implicitDeny") + "\n")
    items = _read(tmp_path / "d.log.2.gz", tmp_path / "d.log.1")
    assert [i.decision for i in items] == ["implicitDeny", "allowed"]


def test_a_compressed_file_named_like_a_plain_one_is_recognised_by_its_magic(tmp_path):
    with gzip.open(tmp_path / "d.log.1", "wt") as compressed:
        compressed.write(event() + "\n")
    assert isinstance(_read(tmp_path / "d.log.1")[0], LoggedDecision)


def test_a_malformed_line_is_a_problem_naming_file_and_line(tmp_path):
    path = tmp_path / "d.log"
    path.write_text(event() + "\n" + "{not json\n" + "\n" + event(decision="maybe") + "\n")
    items = _read(path)
    problems = [str(i) for i in items if isinstance(i, LogProblem)]
    assert problems[0].startswith(f"{path}:2: not a decision-log line")
    assert problems[1].startswith(f"{path}:4: decision: 'maybe'")
    assert sum(isinstance(i, LoggedDecision) for i in items) == 1


def test_a_cut_last_line_of_a_file_being_written_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "d.log"
    path.write_text(event() + "\n" + event()[:40])
    assert isinstance(_read(path)[-1], LogProblem)


def test_a_corrupt_gzip_file_stops_with_a_problem(tmp_path):
    path = tmp_path / "d.log.gz"
    data = gzip.compress(((event() + "\n") * 100).encode())
    path.write_bytes(data[: len(data) // 2])
    assert any(isinstance(i, LogProblem) and "stopped reading" in i.message for i in _read(path))


def test_a_missing_file_is_a_problem_naming_it(tmp_path):
    items = _read(tmp_path / "nope.log")
    assert items[0].where == str(tmp_path / "nope.log") and "cannot read" in items[0].message


def test_another_log_version_is_refused_by_name(tmp_path):
    path = tmp_path / "d.log"
    path.write_text(json.dumps({"version": 2}) + "\n")
    assert "unsupported decision-log version 2" in _read(path)[0].message


def test_a_line_over_the_byte_limit_is_skipped_and_reading_goes_on(tmp_path):
    path = tmp_path / "d.log"
    path.write_text("x" * 5000 + "\n" + event() + "\n")
    items = _read(path, max_line_bytes=1000)
    assert "longer than 1,000 bytes" in items[0].message and isinstance(items[1], LoggedDecision)
    assert items[1].where == f"{path}:2"


def test_a_field_over_the_character_limit_makes_the_line_a_problem(tmp_path):
    path = tmp_path / "d.log"
    request = json.loads(event())["request"] | {"resource": "arn:aws:s3:::b/" + "k" * 500}
    path.write_text(event(request=request) + "\n")
    assert "request.resource: 515 characters" in _read(path, max_field_chars=100)[0].message


def test_redacted_context_keys_are_left_out_and_named(tmp_path):
    snapshot = load_default_snapshot(cache_size=0)
    line = logged_line(
        snapshot,
        "sarah-developer",
        "ec2:StopInstances",
        instance("i-1"),
        {"token": "s3cret", "team": "a"},
        sensitive=frozenset({"token"}),
    )
    path = tmp_path / "d.log"
    path.write_text(line + "\n")
    (decision,) = _read(path)
    assert decision.context == (("team", ("a",)),) and decision.redacted == {"token"}
    assert not decision.replayable


def test_lines_the_sidecar_cut_are_marked_and_cut_identities_are_not_attributed(tmp_path):
    from iamgate.service.decision_logs import LineLimits

    snapshot = load_default_snapshot(cache_size=0)
    limits = LineLimits(field_chars=20)
    long_principal = logged_line(
        snapshot, "sarah-developer", "ec2:StopInstances", instance("i-1"), limits=limits
    )
    path = tmp_path / "d.log"
    path.write_text(long_principal + "\n" + event() + "\n")
    items = _read(path)
    assert items[0].identity_cut  # its principal_arn was cut at 20 characters
    report = summarise(items)
    assert report.unattributable == 1 and list(report.principals) == [SARAH]


def test_decisions_of_another_revision_are_read_and_counted_by_revision(tmp_path):
    path = tmp_path / "d.log"
    path.write_text(event(revision="old") + "\n" + event(revision="new") + "\n")
    assert summarise(read_logs([path])).revisions == {"old": 1, "new": 1}


def test_the_period_keeps_since_and_drops_until(tmp_path):
    from datetime import UTC, datetime

    path = tmp_path / "d.log"
    path.write_text("\n".join(event(timestamp=f"2026-06-0{day}T00:00:00Z") for day in (1, 2, 3)) + "\n")
    report = summarise(
        read_logs([path]), since=datetime(2026, 6, 2, tzinfo=UTC), until=datetime(2026, 6, 3, tzinfo=UTC)
    )
    assert report.in_period == 1 and report.first == datetime(2026, 6, 2, tzinfo=UTC)


def test_explain_calls_are_not_counted_as_use(tmp_path):
    path = tmp_path / "d.log"
    path.write_text(event(method="Explain") + "\n" + event(method="AuthorizeBatch") + "\n")
    report = summarise(read_logs([path]))
    assert report.explained == 1 and report.principals[SARAH].actions["ec2:stopinstances"].allowed == 1
