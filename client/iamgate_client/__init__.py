"""iamgate_client: the SDK applications use to ask an iamgate sidecar for decisions.

    from iamgate_client import Client

    with Client() as iamgate:            # $IAMGATE_ADDRESS, else 127.0.0.1:50051
        decision = iamgate.authorize("sarah-developer", "ec2:StopInstances", instance_arn)
        if decision.allowed:
            ...

It depends only on grpc and the generated API in ``iamgate_client.api`` (``make proto``); only
:class:`Embedded` (the ``embedded`` extra) imports the server package, and only when used.
See docs/sdk.md.

The public names are read from their modules on first use (PEP 562): importing the package, or
only the generated stubs under ``iamgate_client.api`` (the sidecar's own need), does not load the
sync and async clients, grpc.aio or the models until a name is asked for.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:  # what type checkers and IDEs read; at run time __getattr__ below serves them
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

_MODULE_OF: dict[str, str] = {
    "AccessAnswer": "_models",
    "AccessGrant": "_models",
    "AsyncClient": "_async_client",
    "BundleInfo": "_models",
    "Check": "_models",
    "Client": "_client",
    "ClientClosedError": "_errors",
    "ConditionTrace": "_models",
    "ConfigurationError": "_errors",
    "ConnectError": "_errors",
    "DateText": "_models",
    "DeadlineExceededError": "_errors",
    "Decision": "_models",
    "Embedded": "_embedded",
    "EmbeddedStats": "_counters",
    "EvaluationResult": "_models",
    "Explanation": "_models",
    "FailedPreconditionError": "_errors",
    "IamgateClientError": "_errors",
    "InvalidRequestError": "_errors",
    "Ip": "_models",
    "NO_RETRY": "_resilience",
    "Outcome": "_models",
    "OwnedContextKeyError": "_errors",
    "PermissionDeniedError": "_errors",
    "PolicyTrace": "_models",
    "PolicyType": "_models",
    "PrincipalAccessChanges": "_models",
    "Retry": "_resilience",
    "ServerError": "_errors",
    "ShadowAccessDiff": "_models",
    "ShadowDisagreement": "_models",
    "ShadowStats": "_models",
    "SimulateContextEntry": "_models",
    "StatementRef": "_models",
    "StatementTrace": "_models",
    "Status": "_models",
    "TransportError": "_errors",
}
"""Public name -> the private module that defines it."""


def __getattr__(name: str) -> _typing.Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
