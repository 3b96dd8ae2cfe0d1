"""The synchronous client: ``with Client() as c: c.authorize(...)``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc

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


class Client:
    """A connection to one iamgate sidecar.

    ``address`` is ``HOST:PORT`` or ``unix:/path/to.sock``. The channel is insecure unless
    ``credentials`` are given: the sidecar listens on loopback or a Unix socket by default.
    A deny is a :class:`Decision`, not an exception; failures raise :class:`IamgateClientError`.
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
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=list(options))
        else:
            self._channel = grpc.secure_channel(address, credentials, options=list(options))
        self._stub = pb_grpc.AuthorizerStub(self._channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

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
    ) -> Decision:
        """May ``principal`` perform ``action`` on ``resource``?"""
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        return _base.decision(self._call(self._stub.Authorize, _base.authorize_request(check)))

    def authorize_batch(self, checks: Iterable[Check]) -> list[Decision | Exception]:
        """Many questions in one call; each answer is a Decision or that item's own error."""
        request = pb.AuthorizeBatchRequest(requests=[_base.authorize_request(c) for c in checks])
        return _base.batch_results(self._call(self._stub.AuthorizeBatch, request))

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
    ) -> Explanation:
        """The decision and the full evaluation trace behind it."""
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        return _base.explanation(self._call(self._stub.Explain, _base.explain_request(check)))

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
    ) -> list[EvaluationResult]:
        """Evaluate ad-hoc policies like AWS SimulateCustomPolicy (one result per action x resource)."""
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
        return _base.evaluation_results(self._call(self._stub.Simulate, request))

    def status(self, *, disagreements: int = 0) -> Status:
        """The sidecar's active and previous bundles, last load error and shadow counters.

        ``disagreements``: also return up to this many recent shadow disagreements (at most
        100), each with both explanations.
        """
        request = pb.GetStatusRequest(max_disagreements=disagreements)
        return _base.status(self._call(self._stub.GetStatus, request))

    def rollback(self, *, expected_revision: str = "") -> tuple[str, str]:
        """Admin: re-activate the previous revision; returns (active, rolled back from)."""
        response = self._call(self._stub.Rollback, pb.RollbackRequest(expected_revision=expected_revision))
        return response.active_revision, response.rolled_back_revision
