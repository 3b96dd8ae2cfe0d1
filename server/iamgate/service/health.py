"""grpc.health.v1 for the sidecar: readiness follows the bundle, liveness only the process.

Readiness probes (Kubernetes ``grpc:`` probes, grpc_health_probe) ask the overall service ("")
or ``iamgate.v1.Authorizer``; both are NOT_SERVING until a bundle is active, then SERVING.
Liveness probes ask ``liveness`` (``LIVENESS_SERVICE``), SERVING for as long as the process
serves at all: a sidecar without a (good) bundle is alive and must not be restarted, which would
lose its status and last error (deploy/kubernetes/deployment.yaml, docs/mesh.md).
"""

from __future__ import annotations

import threading
from typing import Any

from grpc_health.v1 import health, health_pb2

from iamgate.service.snapshots import SnapshotSource
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Authorizer"].full_name
LIVENESS_SERVICE = "liveness"
"""Health service name of the liveness probe: SERVING while the process runs, whatever the bundle."""


class HealthReporter:
    """Owns the health servicer and flips it to SERVING once ``snapshots.current()`` is set.

    A bundle may be activated after the server starts (a remote source still downloading), so
    until then a small daemon thread polls ``current()``; it ends as soon as a bundle is active.
    """

    def __init__(self, snapshots: SnapshotSource, *, poll_interval: float = 0.1) -> None:
        self.servicer = health.HealthServicer(experimental_non_blocking=True)
        self._snapshots = snapshots
        self._interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._set(health_pb2.HealthCheckResponse.NOT_SERVING)
        self.servicer.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)

    def _set(self, status: Any) -> None:
        for name in ("", SERVICE_NAME):
            self.servicer.set(name, status)

    def start(self) -> None:
        if self._snapshots.current() is not None:
            self._set(health_pb2.HealthCheckResponse.SERVING)
            return
        self._thread = threading.Thread(target=self._watch, name="iamgate-health", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            if self._snapshots.current() is not None:
                self._set(health_pb2.HealthCheckResponse.SERVING)
                return

    def shutdown(self) -> None:
        """Report NOT_SERVING to every watcher and stop polling (called before the server stops)."""
        self._stop.set()
        self.servicer.enter_graceful_shutdown()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
