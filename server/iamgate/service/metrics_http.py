"""The Prometheus endpoint: ``/metrics`` and nothing else, with the process's own metrics.

prometheus_client's ``start_http_server`` answers 200 with every metric on *any* path, which
scanners and misconfigured probes then read as "healthy"; this server answers 404 elsewhere and
405 to anything but GET/HEAD. Process metrics (``process_*``: CPU, resident memory, open file
descriptors, start time; ``python_gc_*``, ``python_info``) are registered beside the service's.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

PATH = "/metrics"


def add_process_metrics(registry: CollectorRegistry) -> None:
    process_collector.ProcessCollector(registry=registry)
    platform_collector.PlatformCollector(registry=registry)
    gc_collector.GCCollector(registry=registry)


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    server_version = "iamgate-metrics"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        if self.path.split("?", 1)[0] != PATH:
            self._plain(404, b"not found: metrics are at /metrics\n", with_body)
            return
        try:
            body = generate_latest(self.registry)
        except Exception:  # a collector failing must not take the endpoint down
            self._plain(500, b"metrics collection failed\n", with_body)
            return
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _plain(self, status: int, body: bytes, with_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _refuse(self) -> None:
        self._plain(405, b"method not allowed\n", True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> _Server:
    """Serve ``registry`` on ``host:port`` from a daemon thread; OSError when it cannot listen."""
    handler = type("MetricsHandler", (_Handler,), {"registry": registry})
    server_class = _Server
    if ":" in host:
        server_class = type("MetricsServer6", (_Server,), {"address_family": socket.AF_INET6})
    httpd = server_class((host, port), handler)
    threading.Thread(target=httpd.serve_forever, name="iamgate-metrics", daemon=True).start()
    return httpd
