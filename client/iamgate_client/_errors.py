"""The SDK's exceptions: every gRPC failure maps onto one of these.

    IamgateClientError                 base; ``.code`` is the gRPC status name, ``.details`` its text
    ├── TransportError                 the sidecar could not be reached or answered too late
    │   ├── ConnectError               UNAVAILABLE: not listening, or no bundle active yet; also
    │   │                              CANCELLED, which only a sidecar shutting down sends (the SDK
    │   │                              never cancels its own calls): no decision was made
    │   └── DeadlineExceededError      DEADLINE_EXCEEDED
    ├── InvalidRequestError            INVALID_ARGUMENT: the message names the field at fault
    │   └── OwnedContextKeyError       a context key the sidecar sets itself (docs/security.md)
    ├── PermissionDeniedError          PERMISSION_DENIED: e.g. admin RPCs not enabled
    ├── FailedPreconditionError        FAILED_PRECONDITION: e.g. no previous revision to roll back to
    ├── ClientClosedError              the client was closed (never grpc's bare ValueError)
    ├── ConfigurationError             the client itself is misconfigured (address, options)
    └── ServerError                    INTERNAL and anything else: the sidecar failed (nothing allowed)

A deny is never an exception: it is a :class:`~iamgate_client.Decision` whose ``allowed`` is false.
When the sidecar cannot be reached, ``authorize`` answers a fail-closed deny by default (its
``error`` holds the :class:`TransportError`); ``Client(on_unreachable="raise")`` raises it instead.
"""

from __future__ import annotations

import re

import grpc


class IamgateClientError(Exception):
    """Base of every error the SDK raises."""

    def __init__(self, message: str, *, code: str = "UNKNOWN", details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details


class TransportError(IamgateClientError):
    """The sidecar could not be reached, or did not answer in time."""


class ConnectError(TransportError):
    """UNAVAILABLE: nothing listens at the address, or the sidecar has no active bundle yet.

    Also CANCELLED: a sidecar that stops drops the calls that reach it after its grace period
    with that code. The SDK never cancels its own calls (its deadline gives DEADLINE_EXCEEDED),
    so a CANCELLED call was dropped undecided and, like UNAVAILABLE, may be retried.
    """


class DeadlineExceededError(TransportError):
    """DEADLINE_EXCEEDED: no answer within the client's timeout."""


class InvalidRequestError(IamgateClientError):
    """INVALID_ARGUMENT: the request is malformed; ``details`` names the field."""


class OwnedContextKeyError(InvalidRequestError):
    """INVALID_ARGUMENT because the request asserted a context key the sidecar owns.

    Keys derived from the principal (``aws:username``, ``aws:PrincipalTag/*``, ...), the clock
    (``aws:CurrentTime``) or the bundle's resource facts are set by the sidecar; a caller may not
    assert them unless the sidecar trusts the key (``--trust-context-key``). Session tags go in
    ``session_tags``, not in the context. ``key`` names the refused key.
    """

    def __init__(
        self, message: str, *, code: str = "INVALID_ARGUMENT", details: str = "", key: str = ""
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.key = key


class PermissionDeniedError(IamgateClientError):
    """PERMISSION_DENIED: the operation is not enabled on this sidecar."""


class FailedPreconditionError(IamgateClientError):
    """FAILED_PRECONDITION: the operation cannot be carried out in the sidecar's current state."""


class ClientClosedError(IamgateClientError):
    """The client was closed; make a new one (``code`` is ``CLOSED``)."""

    def __init__(self, message: str = "the iamgate client is closed", **kwargs: str) -> None:
        kwargs.setdefault("code", "CLOSED")
        super().__init__(message, **kwargs)


class ConfigurationError(IamgateClientError):
    """The client's own settings are wrong (e.g. an empty ``IAMGATE_ADDRESS``); nothing was sent."""


class ServerError(IamgateClientError):
    """INTERNAL or another failure inside the sidecar. Nothing was allowed."""


_BY_CODE: dict[grpc.StatusCode, type[IamgateClientError]] = {
    grpc.StatusCode.UNAVAILABLE: ConnectError,
    grpc.StatusCode.CANCELLED: ConnectError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
}

_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


# The sidecar's refusal of an owned key: "context[2].key: aws:username is set by the sidecar ...;
# callers may not assert it (docs/security.md)" (batch items prefix "requests[i].").
_OWNED_KEY = re.compile(r"^(?:requests\[\d+\]\.)?context\[\d+\]\.key: (?P<key>\S+) is set by the sidecar")


def error_for_code(code: grpc.StatusCode, details: str) -> IamgateClientError:
    """The SDK exception for a gRPC status code and its details text."""
    message = f"{code.name}: {details}" if details else code.name
    if code is grpc.StatusCode.INVALID_ARGUMENT and (owned := _OWNED_KEY.match(details)):
        return OwnedContextKeyError(message, code=code.name, details=details, key=owned["key"])
    cls = _BY_CODE.get(code, ServerError)
    return cls(message, code=code.name, details=details)


def error_for_number(number: int, details: str) -> IamgateClientError:
    """The same, for a numeric google.rpc.Code (as batch item errors carry it)."""
    return error_for_code(_BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN), details)


def from_rpc_error(error: grpc.RpcError) -> IamgateClientError:
    """Map a failed call onto the tree above."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_for_code(code or grpc.StatusCode.UNKNOWN, details or "")
