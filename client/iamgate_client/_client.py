"""The synchronous client: ``with Client() as c: c.authorize(...)``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from types import EllipsisType
from typing import Any

import grpc

from iamgate_client import _base, _resilience
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

Metadata = Sequence[tuple[str, str | bytes]]
Timeout = float | None | EllipsisType
"""Per-call timeout: seconds, ``None`` for no deadline, ``...`` (the default) for the client's."""


class SyncApi:
    """The methods :class:`Client` and :class:`~iamgate_client.Embedded` share: the same requests,
    answers, retries, fail-closed policy and errors, whatever carries the call.

    A subclass sets ``address``, ``timeout``, ``retry``, ``on_unreachable``, ``_metadata``,
    ``_closed`` and ``_stub`` (gRPC's stub, or an in-process one with the same call signature).
    """

    address: str
    timeout: float | None
    retry: Retry
    on_unreachable: OnUnreachable
    _metadata: tuple[tuple[str, str | bytes], ...]
    _closed: bool
    _stub: Any

    def _call(
        self, method: Any, request: Any, timeout: Timeout, metadata: Metadata, *, retryable: bool = True
    ) -> Any:
        if self._closed:
            raise ClientClosedError()
        plan = _resilience.CallPlan(
            self.retry, self.timeout if timeout is ... else timeout, retryable=retryable
        )
        sent_metadata = self._metadata + tuple(metadata) if metadata else self._metadata
        while True:
            attempt_timeout, wait = plan.attempt()
            try:
                return method(
                    request, timeout=attempt_timeout, metadata=sent_metadata or None, wait_for_ready=wait
                )
            except grpc.RpcError as error:
                failure: IamgateClientError = from_rpc_error(error)
            except ValueError as error:  # grpc's "Cannot invoke RPC on closed channel!"
                if self._closed:
                    raise ClientClosedError() from None
                raise ClientClosedError(f"the channel is closed: {error}") from None
            time.sleep(plan.failed(failure))

    def _decide(self, method: Any, request: Any, timeout: Timeout, metadata: Metadata) -> Any:
        """A decision RPC; an unreachable sidecar gives its TransportError when the policy is to deny."""
        try:
            return self._call(method, request, timeout, metadata)
        except TransportError as error:
            if self.on_unreachable == "raise":
                raise
            return error

    def authorize(
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
        """May ``principal`` perform ``action`` on ``resource``?"""
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        request = _base.checked(_base.authorize_request, check)
        response = self._decide(self._stub.Authorize, request, timeout, metadata)
        if isinstance(response, TransportError):
            return _resilience.fail_closed(self.address, response, request_id)
        return _base.decision(response)

    def authorize_batch(
        self, checks: Iterable[Check], *, timeout: Timeout = ..., metadata: Metadata = ()
    ) -> list[Decision | Exception]:
        """Many questions in one call; each answer is a Decision or that item's own error."""
        checks = list(checks)
        request = _base.checked(
            lambda: pb.AuthorizeBatchRequest(requests=[_base.authorize_request(c) for c in checks])
        )
        response = self._decide(self._stub.AuthorizeBatch, request, timeout, metadata)
        if isinstance(response, TransportError):
            return [_resilience.fail_closed(self.address, response, c.request_id) for c in checks]
        return _base.batch_results(response)

    def explain(
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
        """The decision and the full evaluation trace behind it (raises when unreachable)."""
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        request = _base.checked(_base.explain_request, check)
        return _base.explanation(self._call(self._stub.Explain, request, timeout, metadata))

    def simulate(
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
        """Evaluate ad-hoc policies like AWS SimulateCustomPolicy (one result per action x resource)."""
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
        return _base.evaluation_results(self._call(self._stub.Simulate, request, timeout, metadata))

    def status(self, *, disagreements: int = 0, timeout: Timeout = ..., metadata: Metadata = ()) -> Status:
        """The sidecar's active and previous bundles, last load error and shadow counters.

        ``disagreements``: also return up to this many recent shadow disagreements (at most
        100), each with both explanations.
        """
        request = pb.GetStatusRequest(max_disagreements=disagreements)
        return _base.status(self._call(self._stub.GetStatus, request, timeout, metadata))

    def rollback(
        self, *, expected_revision: str = "", timeout: Timeout = ..., metadata: Metadata = ()
    ) -> tuple[str, str]:
        """Admin: re-activate the previous revision; returns (active, rolled back from).

        Never retried: it changes the sidecar's state.
        """
        request = pb.RollbackRequest(expected_revision=expected_revision)
        response = self._call(self._stub.Rollback, request, timeout, metadata, retryable=False)
        return response.active_revision, response.rolled_back_revision

    def who_can(
        self,
        action: str,
        resource: str,
        *,
        page_size: int = 0,
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> AccessAnswer:
        """Every user and role of the active bundle allowed ``action`` on ``resource`` (all pages).

        Needs a sidecar started with ``--enable-access-queries`` (else PermissionDeniedError).
        Should the sidecar activate another revision between two pages, the next page is refused
        (InvalidRequestError): ask again.
        """
        request = pb.WhoCanRequest(action=action, resource=resource, page_size=page_size)
        return self._access_pages(self._stub.WhoCan, request, timeout, metadata)

    def what_can(
        self,
        principal: str,
        *,
        service: str = "",
        page_size: int = 0,
        timeout: Timeout = ...,
        metadata: Metadata = (),
    ) -> AccessAnswer:
        """The actions and resource patterns one user or role is allowed (all pages); as :meth:`who_can`."""
        request = pb.WhatCanRequest(principal=principal, service=service, page_size=page_size)
        return self._access_pages(self._stub.WhatCan, request, timeout, metadata)

    def _access_pages(self, method: Any, request: Any, timeout: Timeout, metadata: Metadata) -> AccessAnswer:
        pages = [self._call(method, request, timeout, metadata)]
        while pages[-1].next_page_token:
            request.page_token = pages[-1].next_page_token
            pages.append(self._call(method, request, timeout, metadata))
        return _base.access_answer(pages)


class Client(SyncApi):
    """A connection to one iamgate sidecar.

    ``address`` is ``HOST:PORT`` or ``unix:/path/to.sock``; left out, ``$IAMGATE_ADDRESS`` or
    127.0.0.1:50051. The channel is insecure unless ``credentials`` are given: the sidecar listens
    on loopback or a Unix socket by default.

    Every method takes ``timeout=`` (seconds, one deadline over all attempts; default the client's
    ``timeout``) and ``metadata=`` (sent after the client's own ``metadata``). UNAVAILABLE is
    retried per ``retry`` (:class:`Retry`; ``NO_RETRY`` turns it off); no other failure, and never
    a decision, is retried. A deny is a :class:`Decision`, not an exception. When the sidecar
    cannot be reached, ``authorize`` answers a fail-closed deny whose ``error`` says why
    (``on_unreachable="raise"`` raises the :class:`TransportError` instead); every other failure
    raises an :class:`IamgateClientError`.
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
        channel_options = _resilience.channel_options(list(options))
        if credentials is None:
            self._channel = grpc.insecure_channel(self.address, options=channel_options)
        else:
            self._channel = grpc.secure_channel(self.address, credentials, options=channel_options)
        self._stub = pb_grpc.AuthorizerStub(self._channel)
        self._closed = False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel; later calls raise :class:`ClientClosedError`. Closing twice is fine."""
        self._closed = True
        self._channel.close()
