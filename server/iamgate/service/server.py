"""Bootstrap: build a gRPC server around the servicer (``create_server``), run it (``serve``).

``create_server`` only wires things and binds the port, so tests start a real server on an
ephemeral port in-process; ``start_sidecar`` adds the process-level parts (metrics endpoint,
decision log file, the bundle source's lifecycle: first activation and pollers); ``serve`` runs
a sidecar until SIGINT or SIGTERM. Health reports NOT_SERVING until a bundle is active.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_reflection.v1alpha import reflection

from iamgate.service.config import ServiceConfig, split_host_port
from iamgate.service.decision_logs import DecisionLogger, decision_log_limits
from iamgate.service.errors import ConfigError
from iamgate.service.health import SERVICE_NAME, HealthReporter
from iamgate.service.heap import keep_frozen
from iamgate.service.metrics import ServiceMetrics
from iamgate.service.servicer import AuthorizerServicer
from iamgate.service.snapshots import SnapshotSource
from iamgate.service.wire import add_authorizer

_log = logging.getLogger(__name__)


def create_server(
    config: ServiceConfig,
    *,
    snapshots: SnapshotSource,
    metrics: ServiceMetrics | None = None,
    decision_log: DecisionLogger | None = None,
    health: HealthReporter | None = None,
) -> tuple[grpc.Server, int]:
    """A bound, not yet started server: Authorizer, grpc.health.v1 and reflection.

    Returns the server and the bound port (useful with ``127.0.0.1:0``; 0 for a Unix socket).
    Raises ConfigError when the address cannot be bound.
    """
    metrics = metrics if metrics is not None else ServiceMetrics()
    health = health if health is not None else HealthReporter(snapshots)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="iamgate-rpc"),
        options=[
            ("grpc.so_reuseport", 1 if config.reuse_port else 0),  # workers share the port (workers.py)
            # Explicit, so a bigger default in some grpcio release cannot widen it unnoticed.
            ("grpc.max_receive_message_length", config.max_receive_message_bytes),
        ],
    )
    servicer = AuthorizerServicer(snapshots, metrics=metrics, decision_log=decision_log, config=config)
    # not pb_grpc.add_AuthorizerServicer_to_server: request bytes protobuf refuses must answer
    # INVALID_ARGUMENT, not grpcio's INTERNAL (see wire.py)
    add_authorizer(servicer, server, metrics)
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    services = [SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
    if config.ext_authz:
        services.append(_add_ext_authz(server, snapshots, servicer, metrics))
    reflection.enable_server_reflection((*services, reflection.SERVICE_NAME), server)
    try:
        port = _add_port(server, config)
    except RuntimeError as error:
        raise ConfigError("address", f"cannot listen on {config.address}: {error}") from None
    if port == 0 and not config.address.startswith("unix:"):
        raise ConfigError("address", f"cannot listen on {config.address}")
    health.start()
    return server, (0 if config.address.startswith("unix:") else port)


def _add_port(server: grpc.Server, config: ServiceConfig) -> int:
    """Plain, or TLS with ``--tls-cert-file``/``--tls-key-file`` (mTLS with ``--tls-client-ca-file``).

    Raises ConfigError naming a certificate file that cannot serve."""
    if config.tls_cert_file is None or config.tls_key_file is None:
        return server.add_insecure_port(config.address)
    from iamgate.service import tls

    settings = tls.TlsSettings(config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file)
    credentials, _files = tls.server_credentials(settings)
    return server.add_secure_port(config.address, credentials)


def _add_ext_authz(
    server: grpc.Server, snapshots: SnapshotSource, authorizer: AuthorizerServicer, metrics: ServiceMetrics
) -> str:
    """Envoy's ext_authz Check on the same server (``--ext-authz``); imported only when enabled."""
    from iamgate.service import ext_authz

    ext_authz.add_ext_authz(ext_authz.ExtAuthzServicer(snapshots, authorizer, metrics), server)
    return ext_authz.SERVICE_NAME


@dataclass
class Sidecar:
    """A running sidecar and everything it owns; ``stop()`` releases all of it."""

    server: grpc.Server
    port: int
    health: HealthReporter
    metrics: ServiceMetrics
    decision_log: DecisionLogger | None = None
    metrics_port: int | None = None
    _metrics_httpd: Any = field(default=None, repr=False)
    grace: float = 5.0
    snapshots: Any = field(default=None, repr=False)

    def drain(self, seconds: float) -> None:
        """Report NOT_SERVING (readiness) and keep answering for ``seconds`` before ``stop``.

        Load balancers and meshes stop sending new calls once readiness fails; calls that were
        already routed here still get answers (``--drain-seconds``, docs/mesh.md).
        """
        self.health.shutdown()
        if seconds > 0:
            time.sleep(seconds)

    def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, stop polling bundles, finish in-flight RPCs, close the rest."""
        self.health.shutdown()
        _stop_source(self.snapshots)
        self.server.stop(self.grace if grace is None else grace).wait()
        if self._metrics_httpd is not None:
            self._metrics_httpd.shutdown()
            self._metrics_httpd.server_close()
            self._metrics_httpd = None
        if self.decision_log is not None:
            self.decision_log.close()


def start_sidecar(config: ServiceConfig, snapshots: SnapshotSource) -> Sidecar:
    """Start the bundle source, the gRPC server, the metrics endpoint and the decision log.

    The source's ``start()`` (when it has one) runs before the server starts: the embedded
    bundle, or the restored one and the first poll, are active by the time the port answers,
    so health says SERVING at once; a source that is down leaves it NOT_SERVING until a poll
    succeeds.
    """
    metrics = ServiceMetrics()
    metrics.watch_source(snapshots)
    decision_log = None
    if config.decision_log:
        try:
            decision_log = DecisionLogger.open(
                config.decision_log,
                sensitive_keys=config.sensitive_context_keys,
                max_queue=config.decision_log_queue_size,
                on_drop=metrics.count_dropped_log,
                on_truncate=metrics.count_truncated_log,
                max_bytes=config.decision_log_max_bytes,
                max_files=config.decision_log_max_files,
                limits=decision_log_limits(config),
            )
        except OSError as error:
            raise ConfigError(
                "decision_log", f"cannot open {config.decision_log}: {error.strerror}"
            ) from None
    health = HealthReporter(snapshots)
    try:
        start = getattr(snapshots, "start", None)
        if start is not None:
            start()
        server, port = create_server(
            config, snapshots=snapshots, metrics=metrics, decision_log=decision_log, health=health
        )
        httpd, metrics_port = None, None
        if config.metrics_address is not None:
            httpd, metrics_port = _start_metrics(config.metrics_address, metrics)
    except BaseException:
        health.shutdown()
        _stop_source(snapshots)
        if decision_log is not None:
            decision_log.close()
        raise
    server.start()
    return Sidecar(
        server=server,
        port=port,
        health=health,
        metrics=metrics,
        decision_log=decision_log,
        metrics_port=metrics_port,
        _metrics_httpd=httpd,
        grace=config.shutdown_grace_seconds,
        snapshots=snapshots,
    )


def _stop_source(snapshots: Any) -> None:
    stop = getattr(snapshots, "stop", None)
    if stop is not None:
        stop()


def _start_metrics(address: str, metrics: ServiceMetrics) -> tuple[Any, int]:
    from iamgate.service.metrics_http import add_process_metrics, start_metrics_server

    host, port = split_host_port(address, setting="metrics_address")
    try:
        httpd = start_metrics_server(host, port, metrics.registry)
        add_process_metrics(metrics.registry)
    except OSError as error:
        raise ConfigError("metrics_address", f"cannot listen on {address}: {error.strerror}") from None
    return httpd, httpd.server_address[1]


def serve(
    config: ServiceConfig,
    snapshots: SnapshotSource,
    *,
    ready: threading.Event | None = None,
    on_start: Callable[[Sidecar], None] | None = None,
) -> None:
    """Run a sidecar until SIGINT or SIGTERM, then stop gracefully.

    The signal handlers are installed before the server starts, so a signal that arrives while
    it starts still ends in a graceful stop. ``on_start`` sees the running sidecar (a worker
    process tells its parent its metrics port that way, see workers.py).
    """
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        _log.info("received %s; shutting down", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sidecar = start_sidecar(config, snapshots)
        keep_frozen(snapshots)  # the bundle out of the collector's full collections (heap.py)
        try:
            where = (
                config.address
                if config.address.startswith("unix:")
                else f"{config.address.rpartition(':')[0]}:{sidecar.port}"
            )
            _log.info("iamgate listening on %s", where)
            if sidecar.metrics_port is not None and config.metrics_address is not None:
                host = config.metrics_address.rpartition(":")[0]
                _log.info("metrics on http://%s:%d/metrics", host, sidecar.metrics_port)
            if on_start is not None:
                on_start(sidecar)
            if ready is not None:
                ready.set()
            while not stopping.wait(0.2):
                pass
        finally:
            _log.info("draining for %gs, then finishing calls in flight", config.drain_seconds)
            sidecar.drain(config.drain_seconds)
            sidecar.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
