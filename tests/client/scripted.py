"""A scripted Authorizer on loopback: each Authorize takes the next step of a script.

A step is a gRPC status code to fail with, ``"allow"`` / ``"deny"`` to answer, or ``"slow"`` to
answer allow after half a second. The server
records how many calls arrived and the metadata of each, so tests can count retries exactly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc

Step = str | grpc.StatusCode


@dataclass
class Script:
    steps: list[Step]
    calls: int = 0
    metadata: list[dict[str, str]] = field(default_factory=list)


class _Scripted(pb_grpc.AuthorizerServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    def Authorize(self, request: pb.AuthorizeRequest, context: grpc.ServicerContext) -> pb.AuthorizeResponse:
        script = self.script
        step = script.steps[min(script.calls, len(script.steps) - 1)]
        script.calls += 1
        script.metadata.append({k: v for k, v in context.invocation_metadata()})
        if isinstance(step, grpc.StatusCode):
            context.abort(step, f"scripted {step.name}")
        if step == "slow":
            time.sleep(0.5)
        outcome = pb.DECISION_ALLOWED if step in ("allow", "slow") else pb.DECISION_EXPLICIT_DENY
        return pb.AuthorizeResponse(decision=outcome, message=f"scripted {step}", revision="scripted")


@contextlib.contextmanager
def scripted_server(*steps: Step) -> Iterator[tuple[str, Script]]:
    script = Script(list(steps))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_AuthorizerServicer_to_server(_Scripted(script), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", script
    finally:
        server.stop(None).wait()
