"""The SDK's exceptions: every gRPC failure maps onto one of these.

    IamgateClientError                 base; ``.code`` is the gRPC status name, ``.details`` its text
    ├── TransportError                 the sidecar could not be reached or answered too late
    │   ├── ConnectError               UNAVAILABLE: not listening, or no bundle active yet
    │   └── DeadlineExceededError      DEADLINE_EXCEEDED
    ├── InvalidRequestError            INVALID_ARGUMENT: the message names the field at fault
    ├── PermissionDeniedError          PERMISSION_DENIED: e.g. admin RPCs not enabled
    ├── FailedPreconditionError        FAILED_PRECONDITION: e.g. no previous revision to roll back to
    └── ServerError                    INTERNAL and anything else: the sidecar failed (nothing allowed)

A deny is never an exception: it is a :class:`~iamgate_client.Decision` whose ``allowed`` is false.
"""

from __future__ import annotations

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
    """UNAVAILABLE: nothing listens at the address, or the sidecar has no active bundle yet."""


class DeadlineExceededError(TransportError):
    """DEADLINE_EXCEEDED: no answer within the client's timeout."""


class InvalidRequestError(IamgateClientError):
    """INVALID_ARGUMENT: the request is malformed; ``details`` names the field."""


class PermissionDeniedError(IamgateClientError):
    """PERMISSION_DENIED: the operation is not enabled on this sidecar."""


class FailedPreconditionError(IamgateClientError):
    """FAILED_PRECONDITION: the operation cannot be carried out in the sidecar's current state."""


class ServerError(IamgateClientError):
    """INTERNAL or another failure inside the sidecar. Nothing was allowed."""


_BY_CODE: dict[grpc.StatusCode, type[IamgateClientError]] = {
    grpc.StatusCode.UNAVAILABLE: ConnectError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequestError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
}

_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def error_for_code(code: grpc.StatusCode, details: str) -> IamgateClientError:
    """The SDK exception for a gRPC status code and its details text."""
    cls = _BY_CODE.get(code, ServerError)
    return cls(f"{code.name}: {details}" if details else code.name, code=code.name, details=details)


def error_for_number(number: int, details: str) -> IamgateClientError:
    """The same, for a numeric google.rpc.Code (as batch item errors carry it)."""
    return error_for_code(_BY_NUMBER.get(number, grpc.StatusCode.UNKNOWN), details)


def from_rpc_error(error: grpc.RpcError) -> IamgateClientError:
    """Map a failed call onto the tree above."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return error_for_code(code or grpc.StatusCode.UNKNOWN, details or "")
