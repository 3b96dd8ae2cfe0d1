"""Decision logs: JSON lines written off the request path, redacted, bounded."""

from __future__ import annotations

import io
import json
import threading

from iamgate.service import DecisionLogger
from iamgate.service.decision_logs import REDACTED
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
