"""Embedded mode: the sidecar's engine in the application's process, behind the client's API.

    from iamgate_client import Embedded          # pip install 'iamgate-client[embedded]'

    with Embedded(bundle="policies/bundle.tar.gz") as iamgate:
        if iamgate.authorize("alice", "s3:GetObject", "arn:aws:s3:::data/x"):
            ...

Why it answers exactly as a sidecar does: it *is* the sidecar minus the network. The bundle is
served by the sidecar's own ``ManagedBundles`` (same loading, verification, tests, activation,
hot reload by polling the file or URL, last good bundle kept on a bad one), and each call goes
through the sidecar's own ``AuthorizerServicer`` method with an in-process stand-in for gRPC's
call context. Requests, limits, the trust model, answers and status codes are therefore the
remote ones, and :class:`Embedded` shares :class:`Client`'s methods, result types, error mapping
and fail-closed policy. The server package is imported only when an ``Embedded`` is made.

``authorize`` alone takes a shorter path for speed: the same request message, limit check and
conversion (``limits.check_access_request``, ``convert.access_query``) and the bundle source's
``authorize``, then the outcome is read straight into a :class:`Decision` (what
``convert.authorize_response`` and the client's reader do over the wire, without the message in
between); no servicer metrics, no retry bookkeeping. The parity tests compare its decisions with
a sidecar's field by field.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import grpc

from iamgate_client import _base, _resilience
from iamgate_client._client import Metadata, SyncApi, Timeout
from iamgate_client._errors import ClientClosedError, ConfigurationError, TransportError, error_for_code
from iamgate_client._models import Check, ContextInput, Decision, Outcome, PolicyType, StatementRef
from iamgate_client._resilience import OnUnreachable, Retry

_log = logging.getLogger("iamgate_client.embedded")


class _Aborted(grpc.RpcError):
    """What ``context.abort`` raises in process; read by the client's error mapping like a real one."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _CallContext:
    """The part of ``grpc.ServicerContext`` the servicer reads: abort, deadline, metadata, peer."""

    __slots__ = ("_deadline", "_metadata")

    def __init__(self, timeout: float | None, metadata: Sequence[tuple[str, Any]] | None) -> None:
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._metadata = tuple(metadata or ())

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise _Aborted(code, details)

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def invocation_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._metadata

    def peer(self) -> str:
        return "in-process"

    def is_active(self) -> bool:
        return True


class _Method:
    """One servicer method with a gRPC multi-callable's signature."""

    __slots__ = ("_method",)

    def __init__(self, method: Any) -> None:
        self._method = method

    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Sequence[tuple[str, Any]] | None = None,
        wait_for_ready: bool | None = None,
    ) -> Any:
        return self._method(request, _CallContext(timeout, metadata))


class _InProcessStub:
    def __init__(self, servicer: Any) -> None:
        for name in (
            "Authorize",
            "AuthorizeBatch",
            "Explain",
            "Simulate",
            "GetStatus",
            "Rollback",
            "WhoCan",
            "WhatCan",
        ):
            setattr(self, name, _Method(getattr(servicer, name)))


class Embedded(SyncApi):
    """Decisions in-process from a bundle file, directory or http(s) URL, with hot reload.

    ``bundle=None`` serves the embedded default bundle (the beginner's guide organization).
    ``poll_interval`` is how often the bundle is checked for a new revision (seconds);
    ``verify_key`` / ``hmac_secret_file`` require signed bundles, as ``iamgate serve`` does;
    ``cache_size`` sizes the decision cache (0: off); ``trusted_context_keys`` is
    ``--trust-context-key``; ``enable_admin`` allows :meth:`rollback`. Every method of
    :class:`Client` is here, with the same arguments and answers. A bundle that fails to load at
    start raises :class:`ConfigurationError` naming the setting.
    """

    in_process = True
    """Guards call an in-process authorizer directly, even from async code (no thread hop)."""

    def __init__(
        self,
        bundle: str | None = None,
        *,
        poll_interval: float = 5.0,
        verify_key: str | None = None,
        hmac_secret_file: str | None = None,
        cache_size: int | None = None,
        trusted_context_keys: Sequence[str] = (),
        enable_admin: bool = False,
        timeout: float | None = None,
        metadata: Metadata = (),
        retry: Retry = _resilience.NO_RETRY,
        on_unreachable: OnUnreachable = "deny",
    ) -> None:
        try:
            from iamgate.bundle.activation import NoActiveBundleError
            from iamgate.engine.errors import RequestError
            from iamgate.service import (
                AuthorizerServicer,
                BundleSettings,
                ManagedBundles,
                ServiceConfig,
                ServiceError,
                ServiceMetrics,
                convert,
                limits,
            )
            from iamgate.service.servicer import INTERNAL, NO_BUNDLE
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise ConfigurationError(
                f"Embedded needs the iamgate engine: pip install 'iamgate-client[embedded]' ({error})"
            ) from None
        settings: dict[str, Any] = {
            "bundle": bundle,
            "poll_interval": poll_interval,
            "verify_key": verify_key,
            "hmac_secret_file": hmac_secret_file,
            "trusted_context_keys": tuple(trusted_context_keys),
        }
        if cache_size is not None:
            settings["cache_size"] = cache_size
        try:
            self._source = ManagedBundles(BundleSettings(**settings))
            config = ServiceConfig(metrics_address=None, enable_admin=enable_admin)
            self._source.start()
        except ServiceError as error:
            raise ConfigurationError(str(error)) from None
        servicer = AuthorizerServicer(self._source, metrics=ServiceMetrics(), config=config)
        self.address = f"embedded:{bundle or 'default'}"
        self.timeout = timeout
        self.retry = retry
        self.on_unreachable = _resilience.check_on_unreachable(on_unreachable)
        self._metadata = tuple(metadata)
        self._stub = _InProcessStub(servicer)
        self._closed = False
        # The fast authorize path's parts (see the module docstring).
        self._config = config
        self._check_limits = limits.check_access_request
        self._LimitExceeded = limits.LimitExceeded
        self._access_query = convert.access_query
        self._outcomes = {engine: Outcome(engine.value) for engine in convert.DECISIONS}
        self._allowed = next(engine for engine in convert.DECISIONS if engine.value == Outcome.ALLOWED.value)
        self._policy_types = {
            kind: _base.POLICY_TYPES[number] for kind, number in convert.POLICY_TYPES.items()
        }
        self._decide_query = self._source.authorize
        self._NoActiveBundleError = NoActiveBundleError
        self._RequestError = RequestError
        self._no_bundle = NO_BUNDLE
        self._internal = INTERNAL
        self._id_prefix = "e" + os.urandom(5).hex()
        self._ids = itertools.count(1)

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
        """May ``principal`` perform ``action`` on ``resource``? Answered in-process."""
        if self._closed:
            raise ClientClosedError()
        check = Check(principal, action, resource, context, session_policy, request_id, session_tags)
        request = _base.checked(_base.authorize_request, check)
        try:
            self._check_limits(request, self._config)
            outcome = self._decide_query(self._access_query(request))
        except self._NoActiveBundleError:
            error = error_for_code(grpc.StatusCode.UNAVAILABLE, self._no_bundle)
            if self.on_unreachable == "raise":
                raise error from None
            assert isinstance(error, TransportError)
            return _resilience.fail_closed(self.address, error, request_id)
        except self._RequestError as error:
            raise error_for_code(grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        except self._LimitExceeded as error:
            raise error_for_code(error.code, error.message) from None
        except Exception as error:
            _log.error("Authorize failed in process; answering INTERNAL (nothing allowed)", exc_info=error)
            raise error_for_code(grpc.StatusCode.INTERNAL, self._internal) from None
        evaluation = outcome.evaluation
        kinds = self._policy_types
        denied_by = evaluation.denied_by
        return Decision(
            outcome=self._outcomes[evaluation.decision],
            message=outcome.message,
            revision=outcome.revision,
            decision_id=f"{self._id_prefix}-{next(self._ids)}",
            principal_arn=outcome.principal_arn,
            request_id=request_id,
            determining=tuple(
                StatementRef(
                    ref.policy_id, kinds.get(ref.kind, PolicyType.UNSPECIFIED), ref.sid or "", ref.index
                )
                for ref in evaluation.determining
            ),
            filled_context_keys=tuple(outcome.filled_context),
            missing_context_keys=tuple(evaluation.missing_context),
            denied_by=(
                kinds.get(denied_by, PolicyType.UNSPECIFIED)
                if denied_by is not None and evaluation.decision is not self._allowed
                else PolicyType.UNSPECIFIED
            ),
        )

    def __enter__(self) -> Embedded:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop polling the bundle; later calls raise :class:`ClientClosedError`."""
        if not self._closed:
            self._closed = True
            self._source.stop()
