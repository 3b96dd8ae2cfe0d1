"""`iamgate serve --workers 2` answers exactly as the single-process engine, on every worker.

Issue 9: "the conformance, differential and cache-equivalence tests pass with --workers > 1".
Real `iamgate serve --workers 2` processes; connections are opened until each worker holds some
(the kernel spreads them with SO_REUSEPORT), then every question is asked on a connection of each
worker:

* the 682 shared conformance cases through the Simulate RPC, against their expected decision
  (what the in-process ``simulate`` answers, tests/conformance);
* a random organization of the differential test (``tests/differential/bundle_model``) served
  with the decision cache on and off: each random request twice (fresh, then cached), singly and
  in one AuthorizeBatch, against ``Snapshot.authorize`` in this process with no cache.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from iamgate.bundle.load import load_snapshot
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc
from tests.cli.test_serve_workers import WORKERS, _start, _stop
from tests.differential.bundle_model import Request, random_requests, random_world
from tests.differential.test_bundle_vs_simulate import query, write_world

CASES = json.loads((Path(__file__).parents[1] / "conformance" / "cases.json").read_text())["cases"]
DECISIONS = {
    pb.DECISION_ALLOWED: "allowed",
    pb.DECISION_EXPLICIT_DENY: "explicitDeny",
    pb.DECISION_IMPLICIT_DENY: "implicitDeny",
}
KINDS = {"string": pb.CONTEXT_KEY_TYPE_STRING, "stringList": pb.CONTEXT_KEY_TYPE_STRING_LIST}
MAX_CONNECTIONS = 64
"""Fresh connections tried before giving up on reaching every worker (each misses with 1/2)."""


@contextlib.contextmanager
def serving(*args: str) -> Iterator[str]:
    process, address, _, _ = _start("--workers", str(WORKERS), "--metrics-address", "off", *args)
    try:
        yield address
    finally:
        _stop(process)


@contextlib.contextmanager
def one_stub_per_worker(address: str) -> Iterator[dict[int, pb_grpc.AuthorizerStub]]:
    """A connection to each worker, found by opening fresh ones and asking GetStatus who answers."""
    kept: dict[int, tuple[grpc.Channel, pb_grpc.AuthorizerStub]] = {}
    try:
        for _ in range(MAX_CONNECTIONS):
            channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
            stub = pb_grpc.AuthorizerStub(channel)
            index = stub.GetStatus(pb.GetStatusRequest(), timeout=10).worker.index
            if index in kept:
                channel.close()
            else:
                kept[index] = (channel, stub)
            if len(kept) == WORKERS:
                break
        assert sorted(kept) == list(range(WORKERS)), f"only workers {sorted(kept)} answered"
        yield {index: stub for index, (_channel, stub) in kept.items()}
    finally:
        for channel, _stub in kept.values():
            channel.close()


def _simulate_request(case: dict) -> pb.SimulateRequest:
    request = case["request"]
    return pb.SimulateRequest(
        policy_input_list=[json.dumps(p) for p in request.get("PolicyInputList", [])],
        permissions_boundary_policy_input_list=[
            json.dumps(p) for p in request.get("PermissionsBoundaryPolicyInputList", [])
        ],
        action_names=request["ActionNames"],
        resource_arns=request.get("ResourceArns", []),
        resource_policy=json.dumps(request["ResourcePolicy"]) if "ResourcePolicy" in request else "",
        resource_owner=request.get("ResourceOwner", ""),
        caller_arn=request.get("CallerArn", ""),
        context_entries=[
            pb.SimulateContextEntry(
                context_key_name=entry["ContextKeyName"],
                context_key_values=entry["ContextKeyValues"],
                context_key_type=KINDS[entry["ContextKeyType"]],
            )
            for entry in request.get("ContextEntries", [])
        ],
        service_control_policy_levels=[
            pb.PolicyLevel(policies=[json.dumps(p) for p in level])
            for level in request.get("ServiceControlPolicyLevels", [])
        ],
    )


def test_every_worker_gets_every_conformance_case_right():
    """The expected decisions are the engine's (tests/conformance checks them in process)."""
    assert len(CASES) == 682
    engine = [case["expected"] for case in CASES]
    requests = [_simulate_request(case) for case in CASES]
    with serving() as address, one_stub_per_worker(address) as stubs:
        for index, stub in stubs.items():
            answers = [stub.Simulate(request, timeout=30) for request in requests]
            decisions = [DECISIONS[a.evaluation_results[0].eval_decision] for a in answers]
            wrong = [
                case["id"] for case, got, want in zip(CASES, decisions, engine, strict=True) if got != want
            ]
            assert wrong == [], f"worker {index} got {len(wrong)} cases wrong: {wrong[:10]}"


def _authorize_request(request: Request) -> pb.AuthorizeRequest:
    message = pb.AuthorizeRequest(
        principal=request.principal,
        action=request.action,
        resource=request.resource,
        session_policy=json.dumps(request.session_policy) if request.session_policy else "",
    )
    for key, value in request.context.items():
        if isinstance(value, tuple):  # a multivalued key's set (the drawn organizations carry one)
            values = [pb.ContextValue(string_value=item) for item in value]
            message.context.add(key=key, values=values, multi_valued=True)
        else:
            message.context.add(key=key, values=[pb.ContextValue(string_value=value)])
    return message


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Request], list[str]]:
    """A random organization on disk, 150 random requests and the uncached in-process answers."""
    world = random_world(1, 1).with_unique_scp_names()
    root = write_world(world, tmp_path_factory.mktemp("organization"))
    snapshot = load_snapshot(root, cache_size=0)
    requests = random_requests(world, 150, random.Random(11))
    now = datetime.now(UTC)
    expected = [snapshot.authorize(query(r), now=now).evaluation.decision.value for r in requests]
    assert {"allowed", "explicitDeny", "implicitDeny"} <= set(expected)
    return root, requests, expected


@pytest.mark.parametrize("cache", ["--cache-size=10000", "--no-cache"])
def test_every_worker_answers_the_random_organization_as_the_engine_does(organization, cache):
    root, requests, expected = organization
    messages = [_authorize_request(r) for r in requests]
    # The drawn requests carry more distinct session policies than a batch may by default.
    limit = ("--max-batch-session-policies", str(len(messages)))
    with serving("--bundle", str(root), cache, *limit) as address, one_stub_per_worker(address) as stubs:
        for index, stub in stubs.items():
            for attempt in ("fresh", "cached"):
                got = [DECISIONS[stub.Authorize(m, timeout=10).decision] for m in messages]
                wrong = [i for i, (g, w) in enumerate(zip(got, expected, strict=True)) if g != w]
                assert wrong == [], f"worker {index} ({attempt}, {cache}) differs on requests {wrong[:10]}"
            batch = stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=messages), timeout=30)
            got = [DECISIONS[item.response.decision] for item in batch.results]
            assert got == expected, f"worker {index} ({cache}) AuthorizeBatch differs"
