"""Issue 8's leftover: the session-policy memo is bounded by bytes, not by count.

Each revision remembers the session policies it compiled, so that a repeated one is not parsed
again. The memo was bounded to 1,024 policies, but one 10 KiB policy compiles to several hundred
KiB: a caller sending distinct big session policies made one revision hold hundreds of MiB. It
is now bounded by an estimate of the compiled size (``--session-policy-memo-bytes``, 16 MiB by
default; a policy over a quarter of it is compiled and never kept), and so is the memo of
session-tag checks; a kept ``PolicySet`` no longer pins a session policy either. Measured on a
real sidecar with tracemalloc: what the process keeps after many distinct big policies.
"""

from __future__ import annotations

import gc
import json
import tracemalloc

import grpc
import pytest

from iamgate.engine import arn, compiled, glob
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import BundleSetupError, default_source
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

SESSION = "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-0abc"
UPLOADS = "arn:aws:s3:::my-app-uploads/"
MIB = 1 << 20
DEFAULT_BUDGET = 16 * MIB


def _big_policy(number: int, size: int = 10_000) -> str:
    """A distinct session policy of about ``size`` bytes that lets the session upload."""
    statements = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{UPLOADS}*"}]
    policy = {"Version": "2012-10-17", "Statement": statements}
    padding = 0
    while len(json.dumps(policy)) < size - 200:
        statements.append(
            {
                "Effect": "Deny",
                "Action": [f"ec2:Describe{number}x{padding}*", f"s3:Get{padding}Object"],
                "Resource": f"arn:aws:s3:::bucket-{number}-{padding}/*",
            }
        )
        padding += 1
    return json.dumps(policy)


def _request(policy: str) -> pb.AuthorizeRequest:
    return pb.AuthorizeRequest(
        principal=SESSION, action="s3:PutObject", resource=f"{UPLOADS}a.jpg", session_policy=policy
    )


def _forget_process_wide_patterns() -> None:
    """Empty the process-wide memos of short pattern texts (engine/glob.py, arn.py, compiled.py).

    They are bounded on their own (tests/security/test_review_glob_memory.py and
    test_review_memory_amplification.py) and hold what earlier tests of the same process left,
    so what they add here depended on the order tests ran in (4.8 MiB alone, 5.3 in a full run)."""
    glob._compiled.cache_clear()
    arn._compiled.cache_clear()
    compiled._ACTION_PATTERNS.clear()


def _kept_after(policies: list[str], **settings: int) -> tuple[int, object]:
    """Bytes the sidecar process still holds after answering one request per policy, and its memo."""
    source = default_source(**settings)
    running = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.AuthorizerStub(channel)
            assert stub.Authorize(_request(_big_policy(-1))).decision == pb.DECISION_ALLOWED  # warm up
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                for policy in policies:
                    assert stub.Authorize(_request(policy)).decision == pb.DECISION_ALLOWED
                _forget_process_wide_patterns()
                gc.collect()
                kept = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
        return kept, source.current().memo
    finally:
        running.stop(0)


def test_distinct_big_session_policies_keep_no_more_than_the_memo_budget() -> None:
    # 2 MiB of budget and 24 distinct 4 KiB policies: each is estimated at ~264 KiB (under a
    # quarter of the budget, so it may be kept), and all of them would hold ~3 MiB. (At 10 KiB
    # each estimate is over a quarter of 2 MiB and nothing is kept: this test measured only the
    # process-wide pattern memos then.)
    policies = [_big_policy(n, size=4_000) for n in range(24)]
    kept, memo = _kept_after(policies, session_policy_memo_bytes=2 * MIB)
    assert 0 < len(memo.session_policies) < len(policies)
    assert memo.session_policies.currsize <= 2 * MIB
    assert kept < 2 * MIB, f"the sidecar kept {kept / MIB:.1f} MiB for a 2 MiB session-policy memo"


def test_the_default_budget_bounds_what_distinct_big_session_policies_keep() -> None:
    # Kept whole, 80 distinct 10 KiB policies hold ~21 MiB (measured: ~265 KiB each); the
    # budget's estimate (~650 KiB each) is an upper bound, so what is kept stays well under it.
    policies = [_big_policy(n) for n in range(80)]
    kept, memo = _kept_after(policies)
    assert kept < DEFAULT_BUDGET, f"the sidecar kept {kept / MIB:.1f} MiB for a 16 MiB memo"
    assert memo.session_policies.currsize <= DEFAULT_BUDGET


def test_a_zero_budget_keeps_no_session_policy_and_still_answers() -> None:
    policies = [_big_policy(n, size=2_000) for n in range(3)]
    _, memo = _kept_after(policies + policies, session_policy_memo_bytes=0)
    assert len(memo.session_policies) == 0


def test_a_policy_over_a_quarter_of_the_budget_is_compiled_and_not_kept() -> None:
    # ~10 KiB compiles to an estimated ~650 KiB: over a quarter of 2 MiB, under a quarter of 4 MiB.
    _, memo = _kept_after([_big_policy(1)], session_policy_memo_bytes=4 * MIB)
    assert len(memo.session_policies) == 2  # the warm-up's and this one
    _, memo = _kept_after([_big_policy(1)], session_policy_memo_bytes=2 * MIB)
    assert len(memo.session_policies) == 0


def test_a_negative_budget_is_refused_naming_the_flag() -> None:
    with pytest.raises(BundleSetupError, match="--session-policy-memo-bytes -1"):
        default_source(session_policy_memo_bytes=-1)


def test_the_session_tag_memo_is_bounded_by_bytes_too(tmp_path):
    import iamgate_client as sdk
    from iamgate.service.bundles import BundleSettings, ManagedBundles

    from .trust_helpers import ANALYST_SESSION, LEDGER, write_abac_bundle

    # Every checked tag set is remembered, refused ones too: a caller can send endless new ones.
    budget = 64 << 10
    source = ManagedBundles(
        BundleSettings(bundle=str(write_abac_bundle(tmp_path)), session_policy_memo_bytes=budget)
    )
    running = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            for number in range(50):
                with pytest.raises(sdk.InvalidRequestError, match="does not allow sts:TagSession"):
                    client.authorize(
                        ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": f"D{number}"}
                    )
            allowed = client.authorize(
                ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"}
            )
            assert allowed.outcome is sdk.Outcome.ALLOWED
        memo = source.current().memo
        assert memo.session_tags.currsize <= budget
        assert len(memo.session_tags) < 50
    finally:
        running.stop(0)
