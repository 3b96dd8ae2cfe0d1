"""Decision-log files are semi-trusted input of ``iamgate access-report``: every line holds caller
data, and whoever can write the log directory can write anything. A huge line, deeply nested JSON,
a gzip bomb, or millions of distinct principals and resources must cost bounded memory and end in a
report that says what it skipped — never a traceback.

The first tests read logs a real sidecar wrote while a caller sent hostile requests; the others
read hand-made files no sidecar would write.
"""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest

import iamgate_client as sdk
from iamgate.bundle.access_report.command import ReportLimits, access_report_command
from iamgate.cli import EXIT_OK, main
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

DEFAULT = Path(__file__).resolve().parents[2] / "server" / "iamgate" / "bundle" / "default" / "bundle"
SARAH = "arn:aws:iam::123456789012:user/sarah-developer"
BUCKET = "arn:aws:s3:::my-app-images/"


def _line(principal: str, resource: str) -> str:
    return json.dumps(
        {
            "version": 1,
            "timestamp": "2026-06-01T12:00:00.000000Z",
            "revision": "r1",
            "request": {
                "principal": principal,
                "action": "s3:GetObject",
                "resource": resource,
                "context": {},
            },
            "decision": "allowed",
            "principal_arn": principal,
            "determining": [],
        }
    )


def _peak(run) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def hostile_sidecar_log(tmp_path) -> Path:
    """A real sidecar's log after a caller sent 3,000 distinct resources and a bloated context."""
    path = tmp_path / "decisions.log"
    config = ServiceConfig(
        address="127.0.0.1:0", metrics_address=None, decision_log=str(path), max_request_bytes=1 << 20
    )
    running = start_sidecar(config, default_source())
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            for start in range(0, 3000, 100):
                checks = [
                    sdk.Check(
                        "sarah-developer",
                        "ec2:StopInstances",
                        f"arn:aws:ec2:us-east-1:123456789012:instance/i-{n}",
                    )
                    for n in range(start, start + 100)
                ]
                client.authorize_batch(checks)
            bloated = {f"k{n}": "v" * 5000 for n in range(100)}
            client.authorize("sarah-developer", "ec2:StopInstances", BUCKET + "x" * 50_000, bloated)
    finally:
        running.stop(0)
    return path


def test_distinct_resources_from_a_real_sidecar_are_replayed_only_up_to_the_limit(hostile_sidecar_log):
    limits = ReportLimits(max_replay=50)
    result = access_report_command(
        [hostile_sidecar_log], bundle=DEFAULT, principal="sarah-developer", limits=limits
    )
    assert result.exit_code == EXIT_OK, result.text
    assert "partial replay: 2,950 distinct request(s) beyond --max-replay 50" in result.text
    assert "replay: 50 request(s) asked again with the suggestion: same decisions" in result.text
    assert "1 decision(s) not replayed: cut by the sidecar" in result.text  # the bloated one


def test_a_huge_line_is_skipped_in_bounded_memory(tmp_path):
    path = tmp_path / "d.log"
    with path.open("w") as out:
        out.write('{"version": 1, "x": "' + "a" * (50 * 1024 * 1024) + '"}\n')
        out.write(_line(SARAH, BUCKET + "a") + "\n")
    result, peak = _peak(lambda: access_report_command([path], limits=ReportLimits(max_line_bytes=64 * 1024)))
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes"
    assert f"{path}:1: line longer than 65,536 bytes (--max-line-bytes); skipped" in result.text
    assert "s3:GetObject: allowed 1x" in result.text


def test_deeply_nested_json_is_a_problem_not_a_traceback(tmp_path):
    path = tmp_path / "d.log"
    path.write_text("[" * 20_000 + "]" * 20_000 + "\n" + '{"a":' * 100 + "1" + "}" * 100 + "\n")
    out = io.StringIO()
    code = main(["access-report", str(path)], out=out)
    text = out.getvalue()
    assert code == EXIT_OK and f"{path}:1: not a decision-log line" in text and f"{path}:2: " in text
    assert "Traceback" not in text


def test_a_gzip_bomb_is_read_as_one_oversized_line_in_bounded_memory(tmp_path):
    path = tmp_path / "d.log.1.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        chunk = b"a" * (1024 * 1024)
        for _ in range(64):
            out.write(chunk)
    result, peak = _peak(lambda: access_report_command([path]))
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes"
    assert "line longer than" in result.text


def test_many_distinct_principals_and_resources_are_tracked_only_up_to_the_limit(tmp_path):
    path = tmp_path / "d.log"
    count = 8_000
    padding = "p" * 1_000  # long (allowed) names: unbounded tracking would hold 8,000 of them
    with path.open("w") as out:
        for n in range(count):
            out.write(_line(f"arn:aws:iam::123456789012:user/{padding}{n}", BUCKET + f"{n}") + "\n")
    limits = ReportLimits(max_entries=200)
    result, peak = _peak(lambda: access_report_command([path], limits=limits))
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes"
    assert "partial report: 7,900 decision(s) not tracked (--max-entries 200 reached)" in result.text


def test_terminal_control_characters_from_a_log_are_shown_escaped(tmp_path):
    path = tmp_path / "d.log"
    path.write_text(_line("evil\x1b[2J\nuser", BUCKET + "a") + "\n" + '{"\x1b[31m": 1}\n')
    for output in ("text", "markdown"):
        text = access_report_command([path], output=output).text
        assert "\x1b" not in text and "evil\\x1b[2J\\nuser" in text
