"""The shadow status carries its verdict: the candidate's access diff against the active revision.

Computed once per (active, candidate) pair on a background thread, never on a request thread,
and shown by GetStatus, the SDK and ``iamgate status`` beside the live disagreements.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading

import pytest

import iamgate_client as sdk
from iamgate import cli
from iamgate.bundle import shadow_diff
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.shadow import ShadowEvaluator
from iamgate.bundle.shadow_diff import AccessDiffJob
from iamgate.catalogue import empty_catalogue
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar
from service.bundle_helpers import OBJECT, bundle_files, wait_until, write_tree

ALICE = "arn:aws:iam::123456789012:user/alice"


@contextlib.contextmanager
def serving(**settings):
    """A real sidecar on ``BundleSettings(**settings)`` and a client of it.

    (``bundle_helpers.serving`` also asserts that no lifecycle thread of *any* sidecar is left in
    the process, which other files' servers without a bundle may leave behind.)
    """
    source = ManagedBundles(BundleSettings(poll_interval=0.05, **settings))
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_workers=4), source)
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as client:
            yield sidecar, client
    finally:
        sidecar.stop(0)


def _verdict(client):
    status = client.status()
    verdict = status.shadow_stats.access_diff if status.shadow_stats else None
    return verdict if verdict is not None and verdict.state != "computing" else None


@pytest.fixture
def rollout(tmp_path):
    """Revision A active; B (alice may also write) as the shadow."""
    active = write_tree(tmp_path / "a", bundle_files(revision="A"))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    with serving(bundle=str(active), shadow_bundle=str(candidate)) as (sidecar, client):
        wait_until(lambda: client.status().shadow is not None)
        yield sidecar, client


def test_the_shadow_status_counts_the_access_the_candidate_adds(rollout):
    _, client = rollout
    verdict = wait_until(lambda: _verdict(client), timeout=30)
    assert (verdict.state, verdict.active_revision) == ("done", "A")
    assert (verdict.added, verdict.removed, verdict.widened, verdict.narrowed) == (1, 0, 0, 0)
    assert [(p.principal, p.added) for p in verdict.principals] == [(ALICE, 1)]
    assert verdict.adds_access and not verdict.truncated and verdict.computed_at is not None


def test_the_verdict_sits_beside_the_live_disagreements(rollout):
    sidecar, client = rollout
    client.authorize("alice", "s3:PutObject", OBJECT)
    wait_until(lambda: _verdict(client), timeout=30)
    out = io.StringIO()
    assert cli.main(["status", "--address", f"127.0.0.1:{sidecar.port}"], out=out) == 0
    text = out.getvalue()
    assert "1 evaluated, 0 agreed, 1 disagreed" in text
    assert "access:     against A: 1 added, 0 widened, 0 removed, 0 narrowed" in text
    assert f"{ALICE}: 1 added" in text
    out = io.StringIO()
    cli.main(["status", "--address", f"127.0.0.1:{sidecar.port}", "--output", "json"], out=out)
    assert json.loads(out.getvalue())["shadow"]["accessDiff"]["addsAccess"] is True


def test_the_diff_runs_once_per_pair_off_the_request_threads(monkeypatch):
    calls: list[str] = []
    real = shadow_diff.diff_access

    def recording(*args, **kwargs):
        calls.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(shadow_diff, "diff_access", recording)
    active, candidate = load_default_snapshot(cache_size=0), load_default_snapshot(cache_size=0)
    evaluator = ShadowEvaluator(candidate, catalogue=empty_catalogue)
    evaluator.compare_with(active)
    wait_until(lambda: evaluator.status(active).access.state == "done", timeout=60)
    for _ in range(5):
        evaluator.status(active)
    assert calls == ["iamgate-shadow-diff"]
    assert evaluator.status(active).access.totals() == dict.fromkeys(shadow_diff.CHANGES, 0)


def test_a_new_active_revision_gets_a_new_verdict():
    first, second = load_default_snapshot(cache_size=0), load_default_snapshot(cache_size=0)
    evaluator = ShadowEvaluator(load_default_snapshot(cache_size=0), catalogue=empty_catalogue)
    evaluator.compare_with(first)
    job = evaluator._diff
    evaluator.compare_with(second)
    assert evaluator._diff is not job and evaluator._diff.active is second


def test_a_replaced_pair_stops_computing():
    active, candidate = load_default_snapshot(cache_size=0), load_default_snapshot(cache_size=0)
    job = AccessDiffJob(active, candidate, empty_catalogue, start=False)
    job.cancel()
    job.run()
    assert job.verdict().state == "computing" and job.verdict().diff is None


def test_the_diff_leaves_the_request_paths_memos_alone():
    active, candidate = load_default_snapshot(cache_size=0), load_default_snapshot(cache_size=0)
    before = (len(active.memo.resources), len(candidate.memo.resources))
    job = AccessDiffJob(active, candidate, empty_catalogue, start=False)
    job.run()
    assert job.verdict().state == "done"
    assert (len(active.memo.resources), len(candidate.memo.resources)) == before


def test_a_failing_diff_says_so():
    def broken():
        raise RuntimeError("no catalogue")

    active = load_default_snapshot(cache_size=0)
    job = AccessDiffJob(active, active, broken, start=False)
    job.run()
    assert job.verdict().state == "failed" and "no catalogue" in job.verdict().error


def test_a_shadow_diff_limit_of_zero_switches_the_verdict_off(tmp_path):
    active = write_tree(tmp_path / "a", bundle_files(revision="A"))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    with serving(bundle=str(active), shadow_bundle=str(candidate), shadow_diff_limit=0) as (_, client):
        status = wait_until(lambda: client.status() if client.status().shadow is not None else None)
    assert status.shadow_stats.access_diff is None


def test_the_shadow_diff_limit_marks_a_partial_verdict(tmp_path):
    active = write_tree(tmp_path / "a", bundle_files(revision="A"))
    candidate = write_tree(tmp_path / "b", bundle_files(write=True, revision="B"))
    with serving(bundle=str(active), shadow_bundle=str(candidate), shadow_diff_limit=1) as (_, client):
        verdict = wait_until(lambda: _verdict(client), timeout=30)
    assert verdict.truncated and verdict.evaluations == 1


def test_a_negative_shadow_diff_limit_is_a_usage_error(capsys):
    code = cli.main(["serve", "--shadow-diff-limit", "-1"], out=io.StringIO())
    assert code == cli.EXIT_USAGE and "--shadow-diff-limit" in capsys.readouterr().err
