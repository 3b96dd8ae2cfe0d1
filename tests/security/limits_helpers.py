"""Real sidecars on the embedded bundle, and heavy requests, for the bounded-work tests."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import grpc

from iamgate.service import ServiceConfig, Sidecar, start_sidecar
from iamgate.service.bundles import default_source
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

AUTHORIZE = {"principal": "sarah-developer", "action": "ec2:DescribeInstances", "resource": "*"}


@contextlib.contextmanager
def sidecar(**config: Any) -> Iterator[tuple[Sidecar, pb_grpc.AuthorizerStub]]:
    """A real sidecar (gRPC on an ephemeral loopback port) and a raw stub talking to it."""
    running = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address=None, **config), default_source()
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield running, pb_grpc.AuthorizerStub(channel)
    finally:
        running.stop(0)


def policy(statements: int, *, padding: int = 0) -> str:
    """An identity policy whose statements all need checking (wildcards and a condition each)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"S{i}" + "x" * padding,
                    "Effect": "Allow" if i % 3 else "Deny",
                    "Action": [f"s3:Get*{i}", "s3:Put*", "ec2:*Instances"],
                    "Resource": [f"arn:aws:s3:::bucket-{i}/*", "arn:aws:s3:::data/*"],
                    "Condition": {"StringLike": {"aws:PrincipalTag/team": [f"team-{i}-*"]}},
                }
                for i in range(statements)
            ],
        }
    )


def heavy_simulate(scale: int, statements: int = 30) -> pb.SimulateRequest:
    """``scale`` actions x ``scale`` resources over ``statements`` statements."""
    return pb.SimulateRequest(
        policy_input_list=[policy(statements)],
        action_names=[f"s3:GetObject{i}" for i in range(scale)],
        resource_arns=[f"arn:aws:s3:::data/{i}" for i in range(scale)],
    )


def rpc_error(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError:
    """The error a call ends with; fails the test when it succeeds."""
    try:
        call(*args, **kwargs)
    except grpc.RpcError as error:
        return error
    raise AssertionError(f"{call} succeeded; expected an error")
