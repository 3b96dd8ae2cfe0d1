"""Reading a bundle's policy tests (``tests/*.json``).

::

    {"tests": [{"name": "sarah may stop instances",
                "principal": "sarah-developer",
                "action": "ec2:StopInstances",
                "resource": "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
                "context": {"ec2:ResourceTag/Environment": "staging", "aws:TagKeys": ["a", "b"]},
                "sessionPolicy": {...},
                "sessionTags": {"team": "red"},
                "now": "2025-06-02T10:00:00Z",
                "expected": "allowed"}]}

``expected`` is ``allowed``, ``explicitDeny`` or ``implicitDeny``. A context value that is a list is a
multivalued key; numbers and booleans are compared in their JSON text form, as IAM does. Tests follow
the sidecar's trust model (docs/security.md), so they prove what serving answers: a context key the
sidecar owns (``aws:username``, ``aws:PrincipalTag/*``, ``aws:CurrentTime``, tags of a resource the
bundle tags, ...) is refused like in a request; use ``now`` for the clock and ``sessionTags`` for a
role session's tags.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from iamgate.bundle.documents import decode_document
from iamgate.bundle.jsonread import (
    FileReport,
    check_keys,
    describe,
    expect_object,
    get_list,
    get_str,
    item_path,
)
from iamgate.bundle.jsonread import key_path as kp
from iamgate.bundle.model import Origin, PolicyTest
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision

TEST_KEYS = frozenset(
    {
        "name",
        "description",
        "principal",
        "action",
        "resource",
        "context",
        "sessionPolicy",
        "sessionTags",
        "now",
        "expected",
        "principalUnknown",
    }
)
_DECISIONS = {decision.value.lower(): decision for decision in Decision}


def read_tests(report: FileReport, document: Any) -> list[PolicyTest]:
    obj = expect_object(report, document, "")
    if obj is None:
        return []
    check_keys(report, obj, "", {"tests", "description"}, errors=True)
    tests = []
    for index, value in enumerate(get_list(report, obj, "tests", "", required=True)):
        test = read_test(report, value, item_path("tests", index))
        if test is not None:
            tests.append(test)
    return tests


def read_test(report: FileReport, value: Any, path: str) -> PolicyTest | None:
    obj = expect_object(report, value, path)
    if obj is None:
        return None
    check_keys(report, obj, path, TEST_KEYS, errors=True)  # a typo'd field would silently test less
    name = get_str(report, obj, "name", path, required=True)
    principal = get_str(report, obj, "principal", path, required=True)
    action = get_str(report, obj, "action", path, required=True)
    resource = get_str(report, obj, "resource", path, default="*") or "*"
    expected_text = get_str(report, obj, "expected", path, required=True)
    expected = _DECISIONS.get(expected_text.lower())
    if expected_text and expected is None:
        report.error(
            kp(path, "expected"), f"{expected_text!r} is not one of allowed, explicitDeny, implicitDeny"
        )
    context = _context(report, obj.get("context"), kp(path, "context"))
    session_policy = None
    if obj.get("sessionPolicy") is not None:
        decoded, reason = decode_document(obj["sessionPolicy"])
        if decoded is None:
            report.error(kp(path, "sessionPolicy"), reason)
            return None
        session_policy = json.dumps(decoded)
    principal_unknown = obj.get("principalUnknown", False)
    if not isinstance(principal_unknown, bool):
        report.error(
            kp(path, "principalUnknown"), f"expected true or false, got {describe(principal_unknown)}"
        )
        principal_unknown = False
    now = _now(report, obj.get("now"), kp(path, "now"))
    session_tags = _session_tags(report, obj.get("sessionTags"), kp(path, "sessionTags"))
    if (
        not (name and principal and action and expected is not None)
        or context is None
        or now is False
        or session_tags is None
    ):
        return None
    return PolicyTest(
        name=name,
        principal=principal,
        action=action,
        resource=resource,
        expected=expected,
        origin=Origin(report.file, path),
        context=context,
        session_policy=session_policy,
        now=now or None,
        session_tags=session_tags,
        principal_unknown=principal_unknown,
    )


def _context(report: FileReport, value: Any, path: str) -> tuple[ContextValue, ...] | None:
    if value is None:
        return ()
    obj = expect_object(report, value, path)
    if obj is None:
        return None
    entries = []
    ok = True
    for key, raw in obj.items():
        where = kp(path, key)
        if isinstance(raw, list):
            values = [_scalar(item) for item in raw]
            if any(item is None for item in values):
                report.error(where, "a list value holds only strings, numbers and booleans")
                ok = False
                continue
            entries.append(ContextValue(key, tuple(v for v in values if v is not None), multi=True))
            continue
        scalar = _scalar(raw)
        if scalar is None:
            report.error(where, f"expected a string, number, boolean or list, got {describe(raw)}")
            ok = False
            continue
        entries.append(ContextValue(key, (scalar,)))
    return tuple(entries) if ok else None


def _session_tags(report: FileReport, value: Any, path: str) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return ()
    obj = expect_object(report, value, path)
    if obj is None:
        return None
    tags = []
    for key, raw in obj.items():
        if not isinstance(raw, str):
            report.error(kp(path, key), f"a session tag's value is a string, got {describe(raw)}")
            return None
        tags.append((key, raw))
    return tuple(tags)


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return None


def _now(report: FileReport, value: Any, path: str) -> datetime | bool | None:
    """The test's clock, or ``None`` (real time), or ``False`` when it is unreadable (recorded)."""
    if value is None:
        return None
    if not isinstance(value, str):
        report.error(path, f"expected an ISO 8601 time such as 2025-06-02T10:00:00Z, got {describe(value)}")
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        report.error(path, f"{value!r} is not an ISO 8601 time such as 2025-06-02T10:00:00Z")
        return False
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
