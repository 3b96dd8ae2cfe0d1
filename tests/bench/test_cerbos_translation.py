"""Cerbos, as bench-service runs it, decides the embedded bundle's requests as iamgate does.

The translation (bench/cerbos_policies.py) is checked against a real Cerbos when `make bench-cerbos`
installed it (skipped otherwise); its shape is checked everywhere.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from bench import cerbos_bench
from bench.cerbos_policies import Directory, canonical_arn, policies
from bench.service_requests import embedded_requests

ROOT = Path(__file__).resolve().parents[2]
needs_cerbos = pytest.mark.skipif(
    cerbos_bench.missing() is not None, reason="run `make bench-cerbos` to install Cerbos"
)


def test_every_request_of_the_mix_translates_to_a_resource_kind_with_a_policy_or_a_deny():
    requests, expected = embedded_requests()
    kinds = {policy["resourcePolicy"]["resource"] for policy in policies().values()}
    directory = Directory()
    for request, decision in zip(requests, expected, strict=True):
        check = directory.to_cerbos(request)
        assert check.roles, request.principal
        if decision == 1:  # allowed: some policy must grant it
            assert check.kind in kinds, request


def test_users_become_their_groups_and_sessions_their_role():
    directory = Directory()
    assert directory.principal("sarah-developer")[0] == ("Developers",)
    assert directory.principal("arn:aws:sts::210987654321:assumed-role/ProductionDebugRole/s")[0] == (
        "ProductionDebugRole",
    )
    assert directory.principal("ec2.amazonaws.com")[0] == ("service",)
    assert directory.principal("eve")[0] == ("unknown",)


def test_arns_lose_the_case_of_their_case_insensitive_parts_only():
    assert (
        canonical_arn("arn:AWS:EC2:US-EAST-1:123456789012:instance/I-0Prod")
        == "arn:aws:ec2:us-east-1:123456789012:instance/I-0Prod"
    )


def test_the_policies_are_json_cerbos_reads_as_yaml():
    for name, policy in policies().items():
        assert name.endswith(".yaml")
        assert json.loads(json.dumps(policy))["apiVersion"] == "api.cerbos.dev/v1"


@pytest.fixture(scope="module")
def cerbos_address():
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "cerbos_bench.py"), "serve"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()
        found = re.search(r"listening on cerbos:(\S+)", line)
        assert found, line
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


@needs_cerbos
def test_cerbos_answers_every_request_of_the_mix_as_iamgate_does(cerbos_address):
    from cerbos.svc.v1 import svc_pb2_grpc

    with grpc.insecure_channel(cerbos_address) as channel:
        assert cerbos_bench.disagreements(svc_pb2_grpc.CerbosServiceStub(channel)) == []


@needs_cerbos
def test_a_cerbos_that_allows_everything_is_caught():
    from cerbos.response.v1 import response_pb2

    class AllowAll:
        def CheckResources(self, request, timeout):
            results = [
                response_pb2.CheckResourcesResponse.ResultEntry(actions={entry.actions[0]: 1})
                for entry in request.resources
            ]
            return response_pb2.CheckResourcesResponse(results=results)

    wrong = cerbos_bench.disagreements(AllowAll())
    assert any("sarah-developer ec2:TerminateInstances" in w and "Cerbos allows" in w for w in wrong)


@needs_cerbos
@pytest.mark.parametrize("shape", ["unary", "batch"])
def test_the_load_generator_checks_then_drives_cerbos(cerbos_address, shape):
    from bench.service import run_cell

    result = run_cell(f"cerbos:{cerbos_address}", os.getpid(), shape, 2, 0.3, True, processes=1)
    assert result["errors"] == 0 and result["calls"] > 0
    assert result["decisions"] == result["calls"] * (100 if shape == "batch" else 1)
