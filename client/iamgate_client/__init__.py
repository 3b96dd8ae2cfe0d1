"""iamgate_client: the SDK applications use to ask an iamgate sidecar for decisions.

    from iamgate_client import Client

    with Client() as iamgate:            # $IAMGATE_ADDRESS, else 127.0.0.1:50051
        decision = iamgate.authorize("sarah-developer", "ec2:StopInstances", instance_arn)
        if decision.allowed:
            ...

It depends only on grpc and the generated API in ``iamgate_client.api`` (``make proto``); only
:class:`Embedded` (the ``embedded`` extra) imports the server package, and only when used.
See docs/sdk.md.
"""

from iamgate_client._async_client import AsyncClient
from iamgate_client._client import Client
from iamgate_client._counters import EmbeddedStats
from iamgate_client._embedded import Embedded
from iamgate_client._errors import (
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    DeadlineExceededError,
    FailedPreconditionError,
    IamgateClientError,
    InvalidRequestError,
    OwnedContextKeyError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)
from iamgate_client._models import (
    AccessAnswer,
    AccessGrant,
    BundleInfo,
    Check,
    ConditionTrace,
    DateText,
    Decision,
    EvaluationResult,
    Explanation,
    Ip,
    Outcome,
    PolicyTrace,
    PolicyType,
    PrincipalAccessChanges,
    ShadowAccessDiff,
    ShadowDisagreement,
    ShadowStats,
    SimulateContextEntry,
    StatementRef,
    StatementTrace,
    Status,
)
from iamgate_client._resilience import NO_RETRY, Retry

__all__ = [
    "NO_RETRY",
    "AccessAnswer",
    "AccessGrant",
    "AsyncClient",
    "BundleInfo",
    "Check",
    "Client",
    "ClientClosedError",
    "ConditionTrace",
    "ConfigurationError",
    "ConnectError",
    "DateText",
    "DeadlineExceededError",
    "Decision",
    "Embedded",
    "EmbeddedStats",
    "EvaluationResult",
    "Explanation",
    "FailedPreconditionError",
    "IamgateClientError",
    "InvalidRequestError",
    "Ip",
    "Outcome",
    "OwnedContextKeyError",
    "PermissionDeniedError",
    "PolicyTrace",
    "PolicyType",
    "PrincipalAccessChanges",
    "Retry",
    "ServerError",
    "ShadowAccessDiff",
    "ShadowDisagreement",
    "ShadowStats",
    "SimulateContextEntry",
    "StatementRef",
    "StatementTrace",
    "Status",
    "TransportError",
]
