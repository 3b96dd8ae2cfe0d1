"""iamgate.service: the gRPC sidecar around the engine and the active bundle.

``create_server`` builds a bound server (Authorizer, health, reflection); ``start_sidecar`` adds the
metrics endpoint and decision log; ``serve`` runs one until a signal.
"""

from iamgate.service.config import ServiceConfig
from iamgate.service.decision_logs import DecisionLogger
from iamgate.service.errors import ConfigError, ServiceError
from iamgate.service.health import HealthReporter
from iamgate.service.metrics import ServiceMetrics
from iamgate.service.server import Sidecar, create_server, serve, start_sidecar
from iamgate.service.servicer import AuthorizerServicer
from iamgate.service.snapshots import SnapshotSource, SnapshotStatus, StaticSnapshots

__all__ = [
    "AuthorizerServicer",
    "ConfigError",
    "DecisionLogger",
    "HealthReporter",
    "ServiceConfig",
    "ServiceError",
    "ServiceMetrics",
    "Sidecar",
    "SnapshotSource",
    "SnapshotStatus",
    "StaticSnapshots",
    "create_server",
    "serve",
    "start_sidecar",
]
