"""The floor of ``make bench-service``: the sidecar's gRPC stack with handlers that do nothing.

Same grpcio sync server, same thread pool size, same generated messages and (de)serializers as
``iamgate serve``; Authorize answers one constant response, AuthorizeBatch as many constant
results as it was asked. What iamgate adds on top of this is what the sidecar costs.

    python bench/empty_server.py [--address 127.0.0.1:0] [--threads 16]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

SERVICE = "iamgate.v1.Authorizer"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1:0")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--aio", action="store_true", help="grpc.aio (asyncio) instead of the thread pool")
    parser.add_argument(
        "--message-bytes",
        type=int,
        default=0,
        help="answers carry a message of this many bytes (to weigh what an answer's size costs gRPC)",
    )
    args = parser.parse_args()
    if args.aio:
        return _serve_aio(args.address)
    answer = pb.AuthorizeResponse(
        decision=pb.DECISION_ALLOWED, revision="empty", message="x" * args.message_bytes
    )
    results: dict[int, pb.AuthorizeBatchResponse] = {}

    def authorize(request: pb.AuthorizeRequest, context: grpc.ServicerContext) -> pb.AuthorizeResponse:
        return answer

    def batch(request: pb.AuthorizeBatchRequest, context: grpc.ServicerContext) -> pb.AuthorizeBatchResponse:
        count = len(request.requests)
        if count not in results:
            results[count] = pb.AuthorizeBatchResponse(
                results=[pb.AuthorizeBatchResult(response=answer) for _ in range(count)]
            )
        return results[count]

    handlers = {
        "Authorize": grpc.unary_unary_rpc_method_handler(
            authorize,
            request_deserializer=pb.AuthorizeRequest.FromString,
            response_serializer=pb.AuthorizeResponse.SerializeToString,
        ),
        "AuthorizeBatch": grpc.unary_unary_rpc_method_handler(
            batch,
            request_deserializer=pb.AuthorizeBatchRequest.FromString,
            response_serializer=pb.AuthorizeBatchResponse.SerializeToString,
        ),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.threads))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port(args.address)
    server.start()
    print(f"listening on {args.address.rpartition(':')[0]}:{port}", file=sys.stderr, flush=True)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    stopping.wait()
    server.stop(1).wait()
    return 0


def _serve_aio(address: str) -> int:
    """The same two handlers on grpc.aio (coroutines on one event loop, no thread pool)."""
    import asyncio

    answer = pb.AuthorizeResponse(decision=pb.DECISION_ALLOWED, revision="empty")
    results: dict[int, pb.AuthorizeBatchResponse] = {}

    async def authorize(request: pb.AuthorizeRequest, context: object) -> pb.AuthorizeResponse:
        return answer

    async def batch(request: pb.AuthorizeBatchRequest, context: object) -> pb.AuthorizeBatchResponse:
        count = len(request.requests)
        if count not in results:
            results[count] = pb.AuthorizeBatchResponse(
                results=[pb.AuthorizeBatchResult(response=answer) for _ in range(count)]
            )
        return results[count]

    async def main() -> None:
        handlers = {
            "Authorize": grpc.unary_unary_rpc_method_handler(
                authorize,
                request_deserializer=pb.AuthorizeRequest.FromString,
                response_serializer=pb.AuthorizeResponse.SerializeToString,
            ),
            "AuthorizeBatch": grpc.unary_unary_rpc_method_handler(
                batch,
                request_deserializer=pb.AuthorizeBatchRequest.FromString,
                response_serializer=pb.AuthorizeBatchResponse.SerializeToString,
            ),
        }
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        port = server.add_insecure_port(address)
        await server.start()
        print(f"listening on {address.rpartition(':')[0]}:{port}", file=sys.stderr, flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        await server.stop(1)

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
