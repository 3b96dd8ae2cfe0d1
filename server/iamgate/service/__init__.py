"""iamgate.service: the gRPC sidecar around the engine and the active bundle.

``create_server`` builds a bound server (Authorizer, health, reflection); ``start_sidecar`` adds the
metrics endpoint, the decision log and the bundle source's lifecycle; ``serve`` runs one until a
signal. ``ManagedBundles`` (built from ``BundleSettings``) is the bundle source of ``iamgate
serve``: the bundle layer's ``BundleManager`` with its pollers.
"""

from iamgate.service.bundles import BundleSettings, BundleSetupError, ManagedBundles
from iamgate.service.config import ServiceConfig
from iamgate.service.decision_logs import DecisionLogger
from iamgate.service.errors import ConfigError, ServiceError
from iamgate.service.health import HealthReporter
from iamgate.service.metrics import ServiceMetrics
from iamgate.service.server import Sidecar, create_server, serve, start_sidecar
from iamgate.service.servicer import AuthorizerServicer
from iamgate.service.snapshots import RollbackUnavailable, SnapshotSource, StaticSnapshots

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
