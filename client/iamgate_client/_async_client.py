"""The asynchronous client over grpc.aio: ``async with AsyncClient() as c: await c.authorize(...)``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc
from grpc import aio

from iamgate_client import _base, _resilience
from iamgate_client._client import Metadata, Timeout
from iamgate_client._errors import ClientClosedError, IamgateClientError, TransportError, from_rpc_error
from iamgate_client._models import (
    AccessAnswer,
    Check,
    ContextInput,
    Decision,
    EvaluationResult,
    Explanation,
    SimulateContextEntry,
    Status,
)
from iamgate_client._resilience import OnUnreachable, Retry
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc


class AsyncClient:
    """The async twin of :class:`~iamgate_client.Client`; same arguments and methods, awaited.

    The channel is created lazily inside the running event loop (grpc.aio channels belong to
    the loop they were created in).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float | None = _base.DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        metadata: Metadata = (),
        retry: Retry = _resilience.DEFAULT_RETRY,
        on_unreachable: OnUnreachable = "deny",
    ) -> None:
        self.address = _resilience.resolve_address(address)
        self.timeout = timeout
        self.retry = retry
        self.on_unreachable = _resilience.check_on_unreachable(on_unreachable)
        self._metadata = tuple(metadata)
        self._credentials = credentials
        self._options = _resilience.channel_options(list(options))
        self._channel: aio.Channel | None = None
        self._stub: pb_grpc.AuthorizerStub | None = None
        self._closed = False

    async def __aenter__(self) -> AsyncClient:
        self._connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _connect(self) -> pb_grpc.AuthorizerStub:
        if self._closed:
            raise ClientClosedError()
        if self._stub is None:
            if self._credentials is None:
                self._channel = aio.insecure_channel(self.address, options=self._options)
            else:
                self._channel = aio.secure_channel(self.address, self._credentials, options=self._options)
            self._stub = pb_grpc.AuthorizerStub(self._channel)
        return self._stub

    async def aclose(self) -> None:
        """Close the channel; later calls raise :class:`ClientClosedError`. Closing twice is fine."""
        self._closed = True
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None

    async def _call(
        self, name: str, request: Any, timeout: Timeout, metadata: Metadata, *, retryable: bool = True
    ) -> Any:
        method = getattr(self._connect(), name)
        plan = _resilience.CallPlan(
            self.retry, self.timeout if timeout is ... else timeout, retryable=retryable
        )
        sent_metadata = self._metadata + tuple(metadata) if metadata else self._metadata
        while True:
            attempt_timeout, wait = plan.attempt()
            try:
                return await method(
                    request, timeout=attempt_timeout, metadata=sent_metadata or None, wait_for_ready=wait
                )
            except grpc.RpcError as error:
                failure: IamgateClientError = from_rpc_error(error)
            except aio.UsageError as error:  # the channel was closed under the call
                raise ClientClosedError(f"the channel is closed: {error}") from None
            await asyncio.sleep(plan.failed(failure))

    async def _decide(self, name: str, request: Any, timeout: Timeout, metadata: Metadata) -> Any:
        try:
            return await self._call(name, request, timeout, metadata)
        except TransportError as error:
            if self.on_unreachable == "raise":
                raise
            return error

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
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> Decision:
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        request = _base.checked(_base.authorize_request, check)
        response = await self._decide("Authorize", request, timeout, metadata)
        if isinstance(response, TransportError):
            return _resilience.fail_closed(self.address, response, request_id)
        return _base.decision(response)

    async def authorize_batch(
        self, checks: Iterable[Check], *, timeout: Timeout = ..., metadata: Metadata = ()
    ) -> list[Decision | Exception]:
        checks = list(checks)
        request = _base.checked(
            lambda: pb.AuthorizeBatchRequest(requests=[_base.authorize_request(c) for c in checks])
        )
        response = await self._decide("AuthorizeBatch", request, timeout, metadata)
        if isinstance(response, TransportError):
            return [_resilience.fail_closed(self.address, response, c.request_id) for c in checks]
        return _base.batch_results(response)

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
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> Explanation:
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        request = _base.checked(_base.explain_request, check)
        return _base.explanation(await self._call("Explain", request, timeout, metadata))

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
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> list[EvaluationResult]:
        request = _base.checked(
            _base.simulate_request,
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
        return _base.evaluation_results(await self._call("Simulate", request, timeout, metadata))

    async def status(
        self, *, disagreements: int = 0, timeout: Timeout = ..., metadata: Metadata = ()
    ) -> Status:
        request = pb.GetStatusRequest(max_disagreements=disagreements)
        return _base.status(await self._call("GetStatus", request, timeout, metadata))

    async def rollback(
        self, *, expected_revision: str = "", timeout: Timeout = ..., metadata: Metadata = ()
    ) -> tuple[str, str]:
        request = pb.RollbackRequest(expected_revision=expected_revision)
        response = await self._call("Rollback", request, timeout, metadata, retryable=False)
        return response.active_revision, response.rolled_back_revision

    async def who_can(
        self,
        action: str,
        resource: str,
        *,
        page_size: int = 0,
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> AccessAnswer:
        request = pb.WhoCanRequest(action=action, resource=resource, page_size=page_size)
        return await self._access_pages("WhoCan", request, timeout, metadata)

    async def what_can(
        self,
        principal: str,
        *,
        service: str = "",
        page_size: int = 0,
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> AccessAnswer:
        request = pb.WhatCanRequest(principal=principal, service=service, page_size=page_size)
        return await self._access_pages("WhatCan", request, timeout, metadata)

    async def _access_pages(
        self, method: str, request: Any, timeout: Timeout, metadata: Metadata
    ) -> AccessAnswer:
        pages = [await self._call(method, request, timeout, metadata)]
        while pages[-1].next_page_token:
            request.page_token = pages[-1].next_page_token
            pages.append(await self._call(method, request, timeout, metadata))
        return _base.access_answer(pages)
