"""Issue 9 (issue-8 leftover): a caller's value substituted next to a ``?`` builds no large matcher.

A policy pattern holding ``?`` beside a policy variable the caller supplies (a resource
``arn:aws:s3:::b/?${s3:prefix}``, a StringLike value ``*?${s3:prefix}*``) is built at every
evaluation from the caller's value. It used to be compiled character by character into a
bit-parallel table with one value-long integer per distinct character: one Authorize carrying
20,000 distinct characters cost the sidecar ~30 MB and ~0.5 s, 40,000 ~115 MB. Substituted text
now goes in as whole literal strings and long segments are searched by their longest literal
run; the answers stay those of the wildcard reference (tests/engine/test_glob_pieces.py).
"""

from __future__ import annotations

import contextlib
import json
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import iamgate_client as sdk
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

ACCOUNT = "111122223333"
ERIN = f"arn:aws:iam::{ACCOUNT}:user/erin"
LONG = "".join(chr(0x10000 + i) for i in range(40_000))
PEAK_LIMIT = 25_000_000
"""Bytes Python may allocate at peak for one such Authorize: before the fix ~115 MB, after ~3 MB."""


def _bundle(root: Path) -> Path:
    statements = [
        {
            "Sid": "PrefixObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/?${s3:prefix}",
        },
        {
            "Sid": "PrefixListing",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {"StringLike": {"s3:delimiter": "*?${s3:prefix}*"}},
        },
        {
            "Sid": "TwoValues",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/*${s3:prefix}?${s3:delimiter}*",
        },
    ]
    user = {
        "UserName": "erin",
        "UserPolicyList": [
            {"PolicyName": "Prefix", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
        ],
    }
    target = root / "accounts" / ACCOUNT / "users.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"Users": [user]}))
    return root


@contextlib.contextmanager
def sidecar_client(root: Path) -> Iterator[tuple[sdk.Client, object]]:
    """A real sidecar serving the bundle, taking requests of up to 1 MiB (an operator's setting)."""
    config = ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_request_bytes=1 << 20)
    running = start_sidecar(config, ManagedBundles(BundleSettings(bundle=str(root))))
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            yield client, running
    finally:
        running.stop(0)


def _peak_of(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_long_value_beside_a_question_mark_in_a_resource_costs_little(tmp_path: Path) -> None:
    with sidecar_client(_bundle(tmp_path)) as (client, _running):
        decision, peak = _peak_of(
            lambda: client.authorize(ERIN, "s3:GetObject", "arn:aws:s3:::b/x" + LONG, {"s3:prefix": LONG})
        )
    assert isinstance(decision, sdk.Decision) and decision.allowed
    assert peak < PEAK_LIMIT, f"one Authorize peaked at {peak / 1e6:.1f} MB"


def test_a_long_value_beside_a_question_mark_in_string_like_costs_little(tmp_path: Path) -> None:
    context = {"s3:prefix": LONG, "s3:delimiter": "/" + LONG + "/"}
    with sidecar_client(_bundle(tmp_path)) as (client, _running):
        decision, peak = _peak_of(lambda: client.authorize(ERIN, "s3:ListBucket", "arn:aws:s3:::b", context))
    assert isinstance(decision, sdk.Decision) and decision.allowed
    assert peak < PEAK_LIMIT, f"one Authorize peaked at {peak / 1e6:.1f} MB"


def test_the_substituted_value_still_has_to_match(tmp_path: Path) -> None:
    context = {"s3:prefix": LONG, "s3:delimiter": "/" + LONG[:-1] + "/"}
    with sidecar_client(_bundle(tmp_path)) as (client, _running):
        listing = client.authorize(ERIN, "s3:ListBucket", "arn:aws:s3:::b", context)
        reading = client.authorize(ERIN, "s3:GetObject", "arn:aws:s3:::b/" + LONG, {"s3:prefix": LONG})
    assert not listing.allowed
    assert not reading.allowed


CPU_LIMIT = 1.0
"""CPU seconds the process (sidecar and client) may spend on one such Authorize: ~0.1 s now, ~4 s
when each candidate start was checked in turn (the SDK's default deadline would cut that short
and answer a fail-closed deny, hence the long timeout)."""


def test_a_long_periodic_value_beside_a_question_mark_is_matched_in_linear_time(tmp_path: Path) -> None:
    """Every start of ``aaaa...`` is a candidate for one value and fails on the other; checking the
    candidates one by one costs value x segment length."""
    context = {"s3:prefix": "a" * 16_000, "s3:delimiter": "a" * 15_999 + "c"}
    with sidecar_client(_bundle(tmp_path)) as (client, _running):
        before = time.process_time()
        resource = "arn:aws:s3:::b/" + "a" * 96_000
        decision = client.authorize(ERIN, "s3:PutObject", resource, context, timeout=60)
        spent = time.process_time() - before
        granted = client.authorize(
            ERIN, "s3:PutObject", "arn:aws:s3:::b/" + "a" * 16_000 + "x" + "a" * 15_999 + "c", context
        )
    assert not decision.allowed and granted.allowed
    assert spent < CPU_LIMIT, f"one Authorize took {spent:.2f} s of CPU"
