"""Which Allow statements decided something: matched by position in the bundle's own revision,
by policy and Sid in others (shown, never counted as use)."""

from __future__ import annotations

import json

import pytest

from iamgate.bundle.access_report.logs import parse_line
from iamgate.bundle.access_report.usage import summarise
from iamgate.bundle.default import load_default_snapshot

from .access_report_helpers import SARAH, instance, logged_line

MANAGE_EC2 = "identity:arn:aws:iam::123456789012:policy/DeveloperAccess#ManageEC2"


@pytest.fixture(scope="module")
def embedded():
    return load_default_snapshot(cache_size=0)


def _statements(snapshot, lines, **kwargs):
    items = [parse_line(line, f"t:{n}") for n, line in enumerate(lines, 1)]
    return {s.ref: s for s in summarise(items, snapshot=snapshot, **kwargs).statements}


def test_a_statement_that_determined_a_decision_of_this_revision_is_used(embedded):
    statements = _statements(
        embedded, [logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance("i-1"))]
    )
    assert statements[MANAGE_EC2].decided == 1
    assert (
        statements["identity:arn:aws:iam::123456789012:policy/DeveloperAccess#ReadCloudWatchLogs"].decided
        == 0
    )


def test_a_statement_named_by_another_revisions_decision_is_shown_but_not_counted(embedded):
    line = json.loads(logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance("i-1")))
    line["revision"] = "an-older-revision"
    line["determining"][0]["index"] = 7  # the statement moved; its Sid did not
    statement = _statements(embedded, [json.dumps(line)])[MANAGE_EC2]
    assert (statement.decided, statement.other_revisions) == (0, 1)


def test_with_a_principal_only_its_own_policies_statements_are_listed(embedded):
    statements = _statements(embedded, [], only=SARAH)
    assert MANAGE_EC2 in statements
    assert not any(ref.startswith("resource:") or "LambdaDynamoDBAccess" in ref for ref in statements)


def test_scp_allows_are_not_listed_the_log_never_names_them(embedded):
    assert not any(ref.startswith("scp:") for ref in _statements(embedded, []))


def test_statements_a_log_names_that_the_bundle_lacks_are_ignored(embedded):
    line = json.loads(logged_line(embedded, "sarah-developer", "ec2:StopInstances", instance("i-1")))
    line["determining"] = [
        {"policy_id": "x" * 100, "policy_type": "identity", "sid": "", "index": n} for n in range(50)
    ]
    statements = _statements(embedded, [json.dumps(line)])
    assert sum(s.decided for s in statements.values()) == 0 and len(statements) < 50
