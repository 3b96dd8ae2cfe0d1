"""iamgate_client: the SDK applications use to ask an iamgate sidecar for decisions.

    from iamgate_client import Client

    with Client("127.0.0.1:50051") as iamgate:
        decision = iamgate.authorize("sarah-developer", "ec2:StopInstances", instance_arn)
        if decision.allowed:
            ...

It depends only on grpc and the generated API in ``iamgate_client.api`` (``make proto``), never
on the server package.
"""

from iamgate_client._async_client import AsyncClient
from iamgate_client._client import Client
from iamgate_client._errors import (
    ConnectError,
    DeadlineExceededError,
    FailedPreconditionError,
    IamgateClientError,
    InvalidRequestError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)
from iamgate_client._models import (
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
    ShadowDisagreement,
    ShadowStats,
    SimulateContextEntry,
    StatementRef,
    StatementTrace,
    Status,
)

__all__ = [
    "AsyncClient",
    "BundleInfo",
    "Check",
    "Client",
    "ConditionTrace",
    "ConnectError",
    "DateText",
    "DeadlineExceededError",
    "Decision",
    "EvaluationResult",
    "Explanation",
    "FailedPreconditionError",
    "IamgateClientError",
    "InvalidRequestError",
    "Ip",
    "Outcome",
    "PermissionDeniedError",
    "PolicyTrace",
    "PolicyType",
    "ServerError",
    "ShadowDisagreement",
    "ShadowStats",
    "SimulateContextEntry",
    "StatementRef",
    "StatementTrace",
    "Status",
    "TransportError",
]
