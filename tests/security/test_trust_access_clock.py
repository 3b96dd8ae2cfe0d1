"""WhoCan and WhatCan never list, from memory, a grant whose deadline has passed.

The sidecar keeps each answer per revision so that its later pages cost nothing. A grant written
with ``DateLessThan aws:CurrentTime`` expires while the revision stays active, and the kept answer
used to go on listing it: an auditor asking "who can read the ledger?" after the deadline was told
the contractor still could, while Authorize denied. Now an answer of a revision whose policies
read the clock is kept for the second it was computed in only. The sidecar's clock is stepped
here (the modules' ``datetime`` and ``time``), so the test need not wait for a real deadline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

import iamgate_client as sdk
from iamgate.bundle import access
from iamgate.service import (
    BundleSettings,
    ManagedBundles,
    ServiceConfig,
    access_queries,
    servicer,
    start_sidecar,
)

ACCOUNT = "111122223333"
CONTRACTOR = f"arn:aws:iam::{ACCOUNT}:user/contractor"
LEDGER = "arn:aws:s3:::ledger/2026/q1.csv"
DEADLINE = datetime(2030, 1, 1, tzinfo=UTC)


class _Clock:
    """The instant the sidecar's access questions read as now."""

    def __init__(self) -> None:
        self.now = DEADLINE - timedelta(seconds=5)

    def datetime(self) -> type[datetime]:
        clock = self

        class Stepped(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[override]
                return clock.now

        return Stepped


def _bundle(root):
    users = {
        "Users": [
            {
                "UserName": "contractor",
                "UserPolicyList": [
                    {
                        "PolicyName": "UntilTheDeadline",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::ledger/*",
                                    "Condition": {
                                        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}
                                    },
                                }
                            ],
                        },
                    }
                ],
            }
        ]
    }
    target = root / "accounts" / ACCOUNT / "users.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(users))
    return root


@pytest.fixture
def clock(monkeypatch):
    stepped = _Clock()
    monkeypatch.setattr(access, "datetime", stepped.datetime())
    monkeypatch.setattr(
        access_queries, "time", SimpleNamespace(time=lambda: stepped.now.timestamp()), raising=False
    )
    return stepped


@pytest.fixture
def client(tmp_path, clock):
    source = ManagedBundles(BundleSettings(bundle=str(_bundle(tmp_path))))
    config = ServiceConfig(
        address="127.0.0.1:0", metrics_address=None, max_workers=4, enable_access_queries=True
    )
    running = start_sidecar(config, source)
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            yield client
    finally:
        running.stop(0)


def test_who_can_stops_listing_a_grant_once_its_deadline_has_passed(client, clock):
    before = client.who_can("s3:GetObject", LEDGER)
    assert [grant.principal for grant in before.grants] == [CONTRACTOR]
    clock.now = DEADLINE + timedelta(seconds=1)
    assert client.who_can("s3:GetObject", LEDGER).grants == ()


def test_what_can_stops_listing_a_grant_once_its_deadline_has_passed(client, clock):
    before = client.what_can("contractor", service="s3")
    assert [(grant.action, grant.resource) for grant in before.grants] == [
        ("s3:GetObject", "arn:aws:s3:::ledger/*")
    ]
    clock.now = DEADLINE + timedelta(seconds=1)
    assert client.what_can("contractor", service="s3").grants == ()


def test_an_answer_is_still_kept_within_its_second(client, clock, monkeypatch):
    client.who_can("s3:GetObject", LEDGER)
    monkeypatch.setattr(servicer, "who_can", lambda *a, **k: pytest.fail("computed again within the second"))
    assert [grant.principal for grant in client.who_can("s3:GetObject", LEDGER).grants] == [CONTRACTOR]
