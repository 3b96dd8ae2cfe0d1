"""iamgate.service: the gRPC sidecar around the engine and the active bundle.

``create_server`` builds a bound server (Authorizer, health, reflection); ``start_sidecar`` adds the
metrics endpoint, the decision log and the bundle source's lifecycle; ``serve`` runs one until a
signal. ``ManagedBundles`` (built from ``BundleSettings``) is the bundle source of ``iamgate
serve``: the bundle layer's ``BundleManager`` with its pollers.

The names below are imported from their modules on first use (PEP 562): ``from iamgate.service
import ServiceConfig`` does not load the servicer, the bundle layer or grpc.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:  # what type checkers read; at run time __getattr__ below imports on first use
    from iamgate.service.bundles import BundleSettings, BundleSetupError, ManagedBundles
    from iamgate.service.config import ServiceConfig
    from iamgate.service.decision_logs import DecisionLogger
    from iamgate.service.errors import ConfigError, ServiceError
    from iamgate.service.health import HealthReporter
    from iamgate.service.metrics import ServiceMetrics
    from iamgate.service.server import Sidecar, create_server, serve, start_sidecar
    from iamgate.service.servicer import AuthorizerServicer
    from iamgate.service.snapshots import RollbackUnavailable, SnapshotSource, StaticSnapshots

_MODULE_OF: dict[str, str] = {
    "AuthorizerServicer": "iamgate.service.servicer",
    "BundleSettings": "iamgate.service.bundles",
    "BundleSetupError": "iamgate.service.bundles",
    "ConfigError": "iamgate.service.errors",
    "DecisionLogger": "iamgate.service.decision_logs",
    "HealthReporter": "iamgate.service.health",
    "ManagedBundles": "iamgate.service.bundles",
    "RollbackUnavailable": "iamgate.service.snapshots",
    "ServiceConfig": "iamgate.service.config",
    "ServiceError": "iamgate.service.errors",
    "ServiceMetrics": "iamgate.service.metrics",
    "Sidecar": "iamgate.service.server",
    "SnapshotSource": "iamgate.service.snapshots",
    "StaticSnapshots": "iamgate.service.snapshots",
    "create_server": "iamgate.service.server",
    "serve": "iamgate.service.server",
    "start_sidecar": "iamgate.service.server",
}
"""Public name -> the module that defines it."""


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
    "AuthorizerServicer",
    "BundleSettings",
    "BundleSetupError",
    "ConfigError",
    "DecisionLogger",
    "HealthReporter",
    "ManagedBundles",
    "RollbackUnavailable",
    "ServiceConfig",
    "ServiceError",
    "ServiceMetrics",
    "Sidecar",
    "SnapshotSource",
    "StaticSnapshots",
    "create_server",
    "serve",
    "start_sidecar",
]
