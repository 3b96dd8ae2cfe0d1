"""Decision logs: JSON lines written off the request path, redacted, bounded in size and on disk."""

from __future__ import annotations

import io
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.cli import _decision_log_limits, build_parser
from iamgate.service import ConfigError, DecisionLogger, ServiceConfig
from iamgate.service.decision_logs import (
    REDACTED,
    LineLimits,
    build_event,
    decision_log_limits,
    encode_event,
)
from iamgate.service.log_files import RotatingFile
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb


def _request() -> pb.AuthorizeRequest:
    return pb.AuthorizeRequest(
        principal="sarah-developer",
        action="ec2:StopInstances",
        resource="*",
        request_id="req-1",
        context=[
            pb.ContextEntry(
                key="ec2:ResourceTag/Environment", values=[pb.ContextValue(string_value="staging")]
            ),
            pb.ContextEntry(key="X-Api-Token", values=[pb.ContextValue(string_value="s3cr3t")]),
        ],
    )


def _response() -> pb.AuthorizeResponse:
    return pb.AuthorizeResponse(
        decision=pb.DECISION_ALLOWED,
        revision="rev-1",
        decision_id="d-1",
        determining_statements=[
            pb.StatementRef(policy_id="DeveloperAccess", policy_type=pb.POLICY_TYPE_IDENTITY, index=0)
        ],
        filled_context_keys=["aws:username"],
    )


def _events(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_decision_is_one_json_line_with_its_id_revision_and_outcome():
    stream = io.StringIO()
    logger = DecisionLogger(stream)
    logger.submit("Authorize", _request(), _response(), 0.000042, 1_800_000_000.0)
    assert logger.flush()
    logger.close()
    [event] = _events(stream)
    assert (event["decision_id"], event["revision"], event["decision"]) == ("d-1", "rev-1", "allowed")
    assert event["request"]["principal"] == "sarah-developer"
    assert event["request"]["context"]["ec2:ResourceTag/Environment"] == ["staging"]
    assert event["determining"] == [
        {"policy_id": "DeveloperAccess", "policy_type": "identity", "sid": "", "index": 0}
    ]
    assert event["timestamp"].startswith("2027-01-15T08:00:00") and event["latency_ms"] == 0.042


def test_sensitive_context_keys_are_redacted_whatever_their_case():
    stream = io.StringIO()
    logger = DecisionLogger(stream, sensitive_keys=frozenset({"x-api-token"}))
    logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    logger.flush()
    logger.close()
    [event] = _events(stream)
    assert event["request"]["context"]["X-Api-Token"] == REDACTED
    assert event["redacted"] == ["X-Api-Token"]
    assert "s3cr3t" not in stream.getvalue()


def test_a_session_policy_is_logged_only_as_present():
    stream = io.StringIO()
    logger = DecisionLogger(stream)
    request = _request()
    request.session_policy = '{"Statement": []}'
    logger.submit("Authorize", request, _response(), 0.0, 0.0)
    logger.flush()
    logger.close()
    assert _events(stream)[0]["request"]["session_policy"] is True


class _BlockedStream(io.StringIO):
    """A sink that blocks until released, to fill the buffer behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.release.wait(5)
        return super().write(text)


def test_a_full_buffer_drops_the_oldest_events_and_counts_them():
    stream = _BlockedStream()
    drops: list[tuple[str, int]] = []
    logger = DecisionLogger(
        stream, max_queue=2, on_drop=lambda reason, n: drops.append((reason, n)), flush_interval=0.01
    )
    logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    # the writer thread now blocks on the first event; the next ones queue behind it
    threading.Event().wait(0.1)
    for _ in range(5):
        logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    stream.release.set()
    logger.flush()
    logger.close()
    assert sum(n for reason, n in drops if reason == "queue_full") == 3
    assert len(stream.getvalue().splitlines()) == 3


class _BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("disk full")


def test_a_failing_sink_drops_events_without_raising():
    drops: list[tuple[str, int]] = []
    logger = DecisionLogger(_BrokenStream(), on_drop=lambda reason, n: drops.append((reason, n)))
    logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    assert logger.flush()
    logger.close()
    assert drops == [("write_error", 1)]


def test_close_writes_what_is_still_queued(tmp_path):
    path = tmp_path / "decisions.jsonl"
    logger = DecisionLogger.open(str(path), flush_interval=10)
    for _ in range(3):
        logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    logger.close()
    assert len(path.read_text().splitlines()) == 3


# --- bounded lines --------------------------------------------------------------------------------

SMALL = LineLimits(value_chars=10, field_chars=20, context_keys=3, values_per_key=2, line_bytes=4096)


def _entry(key: str, *texts: str) -> pb.ContextEntry:
    return pb.ContextEntry(key=key, values=[pb.ContextValue(string_value=text) for text in texts])


def _event(request: pb.AuthorizeRequest, limits: LineLimits = SMALL, sensitive=frozenset()) -> dict:
    event = build_event((0.0, "Authorize", request, _response(), 0.0), sensitive, limits)
    line = encode_event(event, limits)
    assert len(line.encode()) <= limits.line_bytes
    return json.loads(line)


def test_a_long_context_value_is_cut_at_the_limit_and_marked():
    event = _event(pb.AuthorizeRequest(principal="p", context=[_entry("app:note", "x" * 13_530)]))
    assert event["request"]["context"]["app:note"] == ["x" * 10 + "…[truncated 13,520 chars]"]
    assert event["truncated"] == ["request.context"]


def test_a_long_principal_action_resource_or_request_id_is_cut_and_named():
    long = "a" * 100
    event = _event(pb.AuthorizeRequest(principal=long, action="s3:GetObject", resource=long, request_id=long))
    assert event["request"]["principal"] == "a" * 20 + "…[truncated 80 chars]"
    assert event["request"]["action"] == "s3:GetObject"
    assert event["truncated"] == ["request.request_id", "request.principal", "request.resource"]


def test_context_keys_beyond_the_limit_are_dropped_and_counted():
    event = _event(pb.AuthorizeRequest(context=[_entry(f"app:k{i}", "v") for i in range(10)]))
    assert list(event["request"]["context"]) == ["app:k0", "app:k1", "app:k2"]
    assert event["context_keys_dropped"] == 7


def test_a_long_context_key_name_is_cut_too():
    event = _event(pb.AuthorizeRequest(context=[_entry("app:" + "k" * 50, "v")]))
    assert list(event["request"]["context"]) == ["app:kkkkkk…[truncated 44 chars]"]


def test_values_beyond_the_limit_of_one_key_are_counted():
    event = _event(pb.AuthorizeRequest(context=[_entry("app:tags", "a", "b", "c", "d")]))
    assert event["request"]["context"]["app:tags"] == ["a", "b", "…[2 more values]"]


def test_a_sensitive_key_is_recognised_by_its_full_name_before_it_is_cut():
    secret_key = "x-api-token-" + "t" * 40
    event = _event(
        pb.AuthorizeRequest(context=[_entry(secret_key.upper(), "s3cr3t" * 100)]),
        sensitive=frozenset({secret_key}),
    )
    [(key, value)] = event["request"]["context"].items()
    assert value == REDACTED and event["redacted"] == [key]
    assert "s3cr3t" not in json.dumps(event)


def test_a_huge_binary_value_is_cut_without_encoding_all_of_it():
    value = pb.ContextValue(binary_value=b"\x00" * 3_000_000)
    event = _event(pb.AuthorizeRequest(context=[pb.ContextEntry(key="app:blob", values=[value])]))
    assert event["request"]["context"]["app:blob"] == ["AAAAAAAAAA…[truncated 3,999,990 chars]"]


def test_a_line_that_escapes_to_more_than_the_maximum_loses_context_keys_from_the_end():
    limits = LineLimits(value_chars=256, context_keys=64, line_bytes=4096)
    # each astral character is 12 bytes once JSON-escaped: 64 x 256 of them would be ~200 KB
    request = pb.AuthorizeRequest(principal="p", context=[_entry(f"app:k{i}", "😀" * 300) for i in range(64)])
    event = _event(request, limits)
    kept = len(event["request"]["context"])
    assert 0 < kept < 64 and event["context_keys_dropped"] == 64 - kept
    assert "request.context" in event["truncated"]


def test_when_even_the_request_fields_overflow_the_line_keeps_only_the_decision_identity():
    limits = LineLimits(field_chars=1024, line_bytes=4096)
    long = "😀" * 2000
    request = pb.AuthorizeRequest(principal=long, action=long, resource=long, request_id=long)
    event = _event(request, limits)
    assert event["truncated"] == ["line"] and event["decision_id"] == "d-1"
    assert event["request"]["principal"].startswith("😀" * 32 + "…[truncated")
    assert event["line_bytes"] > 4096


def test_a_line_within_the_limits_is_unchanged_and_not_marked():
    event = _event(_request(), LineLimits())
    assert "truncated" not in event and "context_keys_dropped" not in event


def test_truncated_lines_are_counted():
    counted: list[int] = []
    logger = DecisionLogger(io.StringIO(), limits=SMALL, on_truncate=counted.append)
    long = pb.AuthorizeRequest(principal="p" * 100)
    for request in (long, pb.AuthorizeRequest(principal="p"), long):
        logger.submit("Authorize", request, _response(), 0.0, 0.0)
    logger.flush()
    logger.close()
    assert sum(counted) == 2


def test_line_limits_below_the_minimum_line_are_refused():
    with pytest.raises(ValueError, match="line_bytes must be at least 4096"):
        LineLimits(line_bytes=1000)


# --- rotation -------------------------------------------------------------------------------------


def _write(sink: RotatingFile, count: int, size: int = 99) -> None:
    for _ in range(count):
        sink.write_lines(["x" * size])  # 100 bytes with its newline


def test_the_file_is_rotated_before_it_would_grow_past_max_bytes(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=1000, max_files=2)
    _write(sink, 25)
    sink.close()
    sizes = {p.name: p.stat().st_size for p in tmp_path.iterdir()}
    assert sizes == {"d.jsonl": 500, "d.jsonl.1": 1000, "d.jsonl.2": 1000}


def test_the_oldest_rotated_file_is_removed(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=100, max_files=2)
    for index in range(5):
        sink.write_lines([f"{index}" * 99])
    sink.close()
    assert [(tmp_path / name).read_text()[0] for name in ("d.jsonl", "d.jsonl.1", "d.jsonl.2")] == list("432")
    assert len(list(tmp_path.iterdir())) == 3


def test_with_no_rotated_files_kept_the_full_file_starts_again(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=1000, max_files=0)
    _write(sink, 15)
    sink.close()
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"] and path.stat().st_size == 500


def test_a_batch_is_split_across_the_rotation(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=1000, max_files=1)
    sink.write_lines(["x" * 99] * 15)
    sink.close()
    assert (path.stat().st_size, (tmp_path / "d.jsonl.1").stat().st_size) == (500, 1000)


def test_an_existing_file_counts_towards_the_cap(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("y" * 950)
    sink = RotatingFile(str(path), max_bytes=1000, max_files=1)
    _write(sink, 1)
    sink.close()
    assert (tmp_path / "d.jsonl.1").read_text() == "y" * 950 and path.stat().st_size == 100


def test_a_file_renamed_by_logrotate_is_reopened(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=10_000, max_files=1)
    _write(sink, 2)
    path.rename(tmp_path / "d.jsonl-20261203")
    _write(sink, 1)
    sink.close()
    assert (tmp_path / "d.jsonl-20261203").stat().st_size == 200 and path.stat().st_size == 100


def test_a_deleted_file_is_recreated(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=10_000, max_files=1)
    _write(sink, 2)
    path.unlink()
    _write(sink, 1)
    sink.close()
    assert path.stat().st_size == 100


def test_new_log_files_are_not_world_readable(tmp_path):
    path = tmp_path / "d.jsonl"
    RotatingFile(str(path), max_bytes=1000, max_files=1).close()
    assert path.stat().st_mode & 0o007 == 0


def test_an_unwritable_log_is_counted_as_write_errors_and_recovers(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    drops: list[tuple[str, int]] = []
    logger = DecisionLogger.open(
        str(folder / "d.jsonl"), on_drop=lambda reason, n: drops.append((reason, n)), max_bytes=10_000
    )
    (folder / "d.jsonl").unlink()
    folder.rmdir()
    logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    assert logger.flush()
    folder.mkdir()
    logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    assert logger.flush()
    logger.close()
    assert drops == [("write_error", 1)]
    assert len((folder / "d.jsonl").read_text().splitlines()) == 1


def test_dash_logs_to_stderr_without_rotation(capsys):
    logger = DecisionLogger.open("-", max_bytes=4096, max_files=0)
    for _ in range(20):
        logger.submit("Authorize", _request(), _response(), 0.0, 0.0)
    logger.flush()
    logger.close()
    assert len(capsys.readouterr().err.splitlines()) == 20


# --- configuration --------------------------------------------------------------------------------


def test_the_decision_log_limits_come_from_the_service_configuration():
    config = ServiceConfig(decision_log_max_value_chars=7, decision_log_max_line_bytes=5000)
    assert decision_log_limits(config) == LineLimits(value_chars=7, line_bytes=5000)


def test_a_file_cap_smaller_than_one_line_is_a_configuration_error():
    with pytest.raises(ConfigError, match="decision_log_max_bytes"):
        ServiceConfig(decision_log_max_bytes=1000)


def test_serve_flags_set_the_decision_log_limits():
    args = build_parser().parse_args(
        ["serve", "--decision-log-max-bytes", "1048576", "--decision-log-max-files", "2",
         "--decision-log-max-context-keys", "8"]
    )  # fmt: skip
    assert _decision_log_limits(args) == {
        "decision_log_max_bytes": 1048576,
        "decision_log_max_files": 2,
        "decision_log_max_context_keys": 8,
    }


def test_a_key_given_twice_is_logged_once_with_the_values_of_both():
    event = _event(pb.AuthorizeRequest(context=[_entry("app:tags", "a"), _entry("app:tags", "b", "c")]))
    assert event["request"]["context"] == {"app:tags": ["a", "b", "…[1 more values]"]}


def test_a_sensitive_key_cut_to_the_same_name_as_an_earlier_key_still_hides_its_values():
    secret_key = "k" * 20 + "-token"
    limits = LineLimits(value_chars=10)
    request = pb.AuthorizeRequest(context=[_entry("k" * 26, "public"), _entry(secret_key, "s3cr3t")])
    event = _event(request, limits, sensitive=frozenset({secret_key}))
    assert event["request"]["context"] == {"kkkkkkkkkk…[truncated 16 chars]": REDACTED}
    assert "s3cr3t" not in json.dumps(event)


def test_a_file_truncated_in_place_by_logrotate_is_measured_again(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = RotatingFile(str(path), max_bytes=1000, max_files=1)
    _write(sink, 9)
    path.write_text("")  # copytruncate
    _write(sink, 2)
    sink.close()
    assert path.stat().st_size == 200 and not (tmp_path / "d.jsonl.1").exists()


def test_a_path_that_is_not_a_regular_file_is_never_rotated(tmp_path):
    path = tmp_path / "stdout"
    path.symlink_to("/dev/null")  # as --decision-log /dev/stdout is in a container
    sink = RotatingFile(str(path), max_bytes=100, max_files=1)
    _write(sink, 5)
    sink.close()
    assert path.is_symlink() and [p.name for p in tmp_path.iterdir()] == ["stdout"]


_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(lambda char, n: char * n, st.sampled_from(["a", "\x00", "é", "😀", '"']), st.integers(0, 6000)),
)
_SECRET = "s3cr3t-value"


@settings(max_examples=150, deadline=None)
@given(
    fields=st.lists(_TEXT, min_size=4, max_size=4),
    context=st.lists(
        st.tuples(st.one_of(_TEXT, st.just("X-Api-Token")), st.lists(_TEXT, max_size=20)), max_size=80
    ),
)
def test_no_line_exceeds_the_maximum_or_reveals_a_sensitive_value_whatever_the_request(fields, context):
    limits = LineLimits(line_bytes=4096)
    entries = [_entry(key, *values) for key, values in context]
    entries.append(_entry("x-api-token", _SECRET))
    request_id, principal, action, resource = fields
    request = pb.AuthorizeRequest(
        request_id=request_id, principal=principal, action=action, resource=resource, context=entries
    )
    event = _event(request, limits, sensitive=frozenset({"x-api-token"}))  # asserts the line's size
    assert _SECRET not in json.dumps(event, ensure_ascii=False)
