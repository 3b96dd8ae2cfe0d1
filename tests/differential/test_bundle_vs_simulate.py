"""The bundle path and simulate agree: Authorize on a served bundle == simulate given its policies.

Random organizations (``bundle_model``) are written as bundle files and loaded as the sidecar
loads them; each random request is answered by ``Snapshot.authorize`` (what the servicer calls,
with a fixed ``now``) and by ``iamgate.engine.simulate`` given the policies AWS would evaluate --
identity, boundary, SCP levels, resource or trust policy, owner, session policy -- with every
context key the sidecar fills written out. Any difference is a bug in one of the two paths (issue
14: SCPs compiled by name gave one account another's SCP).

``make test`` runs a few small seeds; ``make difftest`` (or IAMGATE_DIFFTEST_SEEDS=N,
IAMGATE_DIFFTEST_SIZE=S, IAMGATE_DIFFTEST_REQUESTS=R) runs many larger ones.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

import iamgate_client as sdk
from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.snapshot import Snapshot
from iamgate.engine.request import ContextValue
from iamgate.engine.simulate import simulate
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

from .bundle_model import (
    Request,
    World,
    describe,
    filled_context,
    random_requests,
    random_world,
    resolve,
    simulation,
)

SEEDS = int(os.environ.get("IAMGATE_DIFFTEST_SEEDS", "4"))
SIZE = int(os.environ.get("IAMGATE_DIFFTEST_SIZE", "1"))
REQUESTS = int(os.environ.get("IAMGATE_DIFFTEST_REQUESTS", "150"))
CACHE = 10_000
"""Snapshots keep a decision cache, as the servicer's do; each request is asked twice (fresh, cached)."""


def write_world(world: World, root: Path) -> Path:
    import json

    for path, value in world.files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value, indent=1))
    return root


def load_world(world: World, root: Path) -> tuple[Snapshot, bool]:
    """The served snapshot, and whether the bundle as drawn was refused.

    A bundle with two SCPs of one name must be refused, as AWS refuses it; the organization is
    then served with the names made unique (and compared all the same).
    """
    try:
        return load_snapshot(write_world(world, root / "bundle"), cache_size=CACHE), False
    except BundleValidationError as refused:
        assert world.scp_names_clash, str(refused)
        assert all("SCP name" in problem.message for problem in refused.errors), str(refused)
        return load_snapshot(
            write_world(world.with_unique_scp_names(), root / "renamed"), cache_size=CACHE
        ), True


def expected(world: World, request: Request) -> str:
    simulated = simulation(world, request)
    if isinstance(simulated, str):
        return simulated
    return simulate(simulated)["EvaluationResults"][0]["EvalDecision"]


def query(request: Request) -> AccessQuery:
    import json

    return AccessQuery(
        request.principal,
        request.action,
        request.resource,
        tuple(
            ContextValue(key, value, multi=True) if isinstance(value, tuple) else ContextValue(key, (value,))
            for key, value in request.context.items()
        ),
        json.dumps(request.session_policy) if request.session_policy else None,
    )


@pytest.mark.parametrize("seed", range(SEEDS))
def test_authorize_on_the_bundle_agrees_with_simulate(seed, tmp_path):
    world = random_world(seed, SIZE)
    snapshot, refused = load_world(world, tmp_path)
    disagreements = []
    for request in random_requests(world, REQUESTS, random.Random(seed)):
        outcome = snapshot.authorize(query(request), now=request.now)
        again = snapshot.authorize(query(request), now=request.now)
        assert again.evaluation.decision is outcome.evaluation.decision, describe(world, request)
        ours, reference = outcome.evaluation.decision.value, expected(world, request)
        if ours != reference:
            disagreements.append(f"bundle {ours} != simulate {reference}: {describe(world, request)}")
        resolved = resolve(world, request.principal)
        if resolved is not None and not isinstance(simulation(world, request), str):
            filled = {name.lower() for name in outcome.filled_context}
            wanted = {name.lower() for name in filled_context(world, *resolved, request)}
            assert wanted <= filled, describe(world, request)
    assert disagreements == [], f"{len(disagreements)} of {REQUESTS}:\n" + "\n".join(disagreements[:5])
    assert refused == world.scp_names_clash, "two SCPs with one name were accepted"


def test_the_drawn_requests_reach_every_decision():
    """A comparison is only as good as its cases: allows, explicit and implicit denies all occur."""
    decisions: dict[str, int] = {}
    for seed in range(4):
        world = random_world(seed, 1)
        for request in random_requests(world, 150, random.Random(seed)):
            reference = expected(world, request)
            decisions[reference] = decisions.get(reference, 0) + 1
    assert min(decisions.get(d, 0) for d in ("allowed", "explicitDeny", "implicitDeny")) >= 30, decisions


def test_a_real_sidecar_answers_as_simulate(tmp_path):
    """A handful of the same questions over gRPC, at the sidecar's own clock."""
    world = random_world(1, 1).with_unique_scp_names()
    source = ManagedBundles(
        BundleSettings(bundle=str(write_world(world, tmp_path / "bundle")), cache_size=1000)
    )
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None, max_workers=4), source)
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as client:
            for request in random_requests(world, 40, random.Random(7)):
                now = datetime.now(UTC)
                answer = client.authorize(
                    request.principal,
                    request.action,
                    request.resource,
                    request.context,
                    request.session_policy,
                )
                reference = expected(world, Request(**{**request.__dict__, "now": now}))
                assert answer.outcome.value == reference, describe(world, request)
    finally:
        sidecar.stop(0)
