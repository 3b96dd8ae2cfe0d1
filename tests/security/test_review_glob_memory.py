"""Review finding: a wildcard pattern can no longer make the sidecar build gigabytes of masks.

A stretch of a pattern between two ``*`` that holds a ``?`` is matched bit-parallel, with one
mask per distinct character, each as long as the stretch: memory grows with characters x
length. One Simulate carrying ``arn:aws:s3:::`` + 20,000 distinct characters each followed by ``?``
(80 KB of policy) left 110 MB behind in the sidecar (kept by the glob cache), and Simulate
accepts 1 MiB of policies. Such patterns are refused as the policy is read (INVALID_ARGUMENT
naming the JSON path), in Simulate, session policies and bundles alike.
"""

from __future__ import annotations

import json

import pytest

import iamgate_client as sdk
from iamgate.policy.parser import MAX_WILDCARD_SEGMENT
from tests.security.trust_helpers import UPLOAD, UPLOADER, sidecar_client

HUGE = "arn:aws:s3:::" + "".join(chr(0x4E00 + i) + "?" for i in range(20_000))


def _policy(resource: str) -> str:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, ensure_ascii=False)


def _rss_mb() -> int:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) // 1024


def test_simulate_refuses_a_pattern_whose_masks_would_be_huge() -> None:
    with sidecar_client() as (client, _running):
        before = _rss_mb()
        with pytest.raises(sdk.InvalidRequestError, match=f"at most {MAX_WILDCARD_SEGMENT} characters"):
            client.simulate([_policy(HUGE)], ["s3:GetObject"], ["arn:aws:s3:::x"])
        assert _rss_mb() - before < 50


def test_a_session_policy_with_such_a_pattern_is_refused() -> None:
    pattern = "arn:aws:s3:::" + "a?" * (MAX_WILDCARD_SEGMENT // 2 + 1)
    with sidecar_client() as (client, _running), pytest.raises(sdk.InvalidRequestError, match="Resource"):
        client.authorize(UPLOADER, "s3:PutObject", UPLOAD, session_policy=_policy(pattern))


def test_long_patterns_with_stars_between_their_question_marks_are_fine() -> None:
    pattern = "arn:aws:s3:::" + "*".join(["ab?"] * 400)
    with sidecar_client() as (client, _running):
        results = client.simulate([_policy(pattern)], ["s3:GetObject"], ["arn:aws:s3:::x"])
    assert len(results) == 1
