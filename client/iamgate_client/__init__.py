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
    "AccessAnswer": "iamgate_client._models",
    "AccessGrant": "iamgate_client._models",
    "AsyncClient": "iamgate_client._async_client",
    "BundleInfo": "iamgate_client._models",
    "Check": "iamgate_client._models",
    "Client": "iamgate_client._client",
    "ClientClosedError": "iamgate_client._errors",
    "ConditionTrace": "iamgate_client._models",
    "ConfigurationError": "iamgate_client._errors",
    "ConnectError": "iamgate_client._errors",
    "DateText": "iamgate_client._models",
    "DeadlineExceededError": "iamgate_client._errors",
    "Decision": "iamgate_client._models",
    "Embedded": "iamgate_client._embedded",
    "EmbeddedStats": "iamgate_client._counters",
    "EvaluationResult": "iamgate_client._models",
    "Explanation": "iamgate_client._models",
    "FailedPreconditionError": "iamgate_client._errors",
    "IamgateClientError": "iamgate_client._errors",
    "InvalidRequestError": "iamgate_client._errors",
    "Ip": "iamgate_client._models",
    "NO_RETRY": "iamgate_client._resilience",
    "Outcome": "iamgate_client._models",
    "OwnedContextKeyError": "iamgate_client._errors",
    "PermissionDeniedError": "iamgate_client._errors",
    "PolicyTrace": "iamgate_client._models",
    "PolicyType": "iamgate_client._models",
    "PrincipalAccessChanges": "iamgate_client._models",
    "Retry": "iamgate_client._resilience",
    "ServerError": "iamgate_client._errors",
    "ShadowAccessDiff": "iamgate_client._models",
    "ShadowDisagreement": "iamgate_client._models",
    "ShadowStats": "iamgate_client._models",
    "SimulateContextEntry": "iamgate_client._models",
    "StatementRef": "iamgate_client._models",
    "StatementTrace": "iamgate_client._models",
    "Status": "iamgate_client._models",
    "TransportError": "iamgate_client._errors",
}
"""Public name -> the private module that defines it."""


def __getattr__(name: str) -> _typing.Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
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
