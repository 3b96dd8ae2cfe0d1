"""The decision log records a session's tags (``request.session_tags``) so that ``iamgate
access-report`` can ask a role session's request again; they are bounded and redacted like the
context. Lines without session tags are unchanged."""

from __future__ import annotations

import json

from iamgate.service.decision_logs import LineLimits, build_event, encode_event
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

SESSION = "arn:aws:sts::123456789012:assumed-role/analyst/alice"


def _event(
    tags: dict[str, str], *, sensitive: frozenset[str] = frozenset(), limits: LineLimits | None = None
):
    request = pb.AuthorizeRequest(principal=SESSION, action="s3:GetObject", resource="arn:aws:s3:::b/k")
    for key, value in tags.items():
        request.session_tags.add(key=key, value=value)
    response = pb.AuthorizeResponse(decision=pb.DECISION_ALLOWED, decision_id="d-1", revision="r1")
    limits = limits or LineLimits()
    return json.loads(
        encode_event(build_event((0.0, "Authorize", request, response, 0.001), sensitive, limits), limits)
    )


def test_a_sessions_tags_are_logged_with_its_request():
    assert _event({"Department": "Finance"})["request"]["session_tags"] == {"Department": "Finance"}


def test_a_request_without_session_tags_logs_no_session_tags_field():
    assert "session_tags" not in _event({})["request"]


def test_a_sensitive_session_tag_is_redacted_and_named_as_the_principal_tag_it_becomes():
    event = _event({"Clearance": "top", "Team": "a"}, sensitive=frozenset({"aws:principaltag/clearance"}))
    assert event["request"]["session_tags"] == {"Clearance": "**REDACTED**", "Team": "a"}
    assert event["redacted"] == ["aws:PrincipalTag/Clearance"]


def test_session_tags_are_cut_and_counted_like_the_context():
    event = _event({f"k{n}": "v" * 50 for n in range(10)}, limits=LineLimits(context_keys=3, value_chars=20))
    tags = event["request"]["session_tags"]
    assert list(tags) == ["k0", "k1", "k2"] and tags["k0"].startswith("v" * 20 + "…[truncated 30 chars]")
    assert "request.session_tags" in event["truncated"]
