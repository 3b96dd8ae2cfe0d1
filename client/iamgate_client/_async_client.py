"""The asynchronous client over grpc.aio: ``async with AsyncClient() as c: await c.authorize(...)``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc
from grpc import aio

from iamgate_client import _base
from iamgate_client._errors import from_rpc_error
from iamgate_client._models import (
    Check,
    ContextInput,
    Decision,
    EvaluationResult,
    Explanation,
    SimulateContextEntry,
    Status,
)
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc


class AsyncClient:
    """The async twin of :class:`~iamgate_client.Client`; same methods, awaited.

    The channel is created lazily inside the running event loop (grpc.aio channels belong to
    the loop they were created in).
    """

    def __init__(
        self,
        address: str = _base.DEFAULT_ADDRESS,
        *,
        timeout: float | None = _base.DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._credentials = credentials
        self._options = list(options)
        self._channel: aio.Channel | None = None
        self._stub: pb_grpc.AuthorizerStub | None = None

    async def __aenter__(self) -> AsyncClient:
        self._connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _connect(self) -> pb_grpc.AuthorizerStub:
        if self._stub is None:
            if self._credentials is None:
                self._channel = aio.insecure_channel(self.address, options=self._options)
            else:
                self._channel = aio.secure_channel(self.address, self._credentials, options=self._options)
            self._stub = pb_grpc.AuthorizerStub(self._channel)
        return self._stub

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None

    async def _call(self, name: str, request: Any) -> Any:
        method = getattr(self._connect(), name)
        try:
            return await method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def authorize(
        self,
        principal: str,
        action: str,
        resource: str,
        context: ContextInput | None = None,
        session_policy: str | Mapping[str, Any] | None = None,
        *,
        request_id: str = "",
        session_tags: Mapping[str, str] | None = None,
    ) -> Decision:
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        return _base.decision(await self._call("Authorize", _base.authorize_request(check)))

    async def authorize_batch(self, checks: Iterable[Check]) -> list[Decision | Exception]:
        request = pb.AuthorizeBatchRequest(requests=[_base.authorize_request(c) for c in checks])
        return _base.batch_results(await self._call("AuthorizeBatch", request))

    async def explain(
        self,
        principal: str,
        action: str,
        resource: str,
        context: ContextInput | None = None,
        session_policy: str | Mapping[str, Any] | None = None,
        *,
        request_id: str = "",
        session_tags: Mapping[str, str] | None = None,
    ) -> Explanation:
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        return _base.explanation(await self._call("Explain", _base.explain_request(check)))

    async def simulate(
        self,
        policies: Sequence[str | Mapping[str, Any]],
        actions: Sequence[str],
        resources: Sequence[str] = (),
        *,
        caller_arn: str = "",
        resource_policy: str | Mapping[str, Any] | None = None,
        resource_owner: str = "",
        permissions_boundaries: Sequence[str | Mapping[str, Any]] = (),
        context: Iterable[SimulateContextEntry] = (),
        scp_levels: Sequence[Sequence[str | Mapping[str, Any]]] = (),
        session_policies: Sequence[str | Mapping[str, Any]] = (),
    ) -> list[EvaluationResult]:
        request = _base.simulate_request(
            policies,
            actions,
            resources,
            caller_arn=caller_arn,
            resource_policy=resource_policy,
            resource_owner=resource_owner,
            permissions_boundaries=permissions_boundaries,
            context=context,
            scp_levels=scp_levels,
            session_policies=session_policies,
        )
        return _base.evaluation_results(await self._call("Simulate", request))

    async def status(self, *, disagreements: int = 0) -> Status:
        request = pb.GetStatusRequest(max_disagreements=disagreements)
        return _base.status(await self._call("GetStatus", request))

    async def rollback(self, *, expected_revision: str = "") -> tuple[str, str]:
        response = await self._call("Rollback", pb.RollbackRequest(expected_revision=expected_revision))
        return response.active_revision, response.rolled_back_revision
