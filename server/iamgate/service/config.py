"""How the sidecar is configured: one frozen object built by the CLI (or a test) and passed down.

Defaults are the secure ones: gRPC and metrics on loopback, admin RPCs off, no decision log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iamgate.service.errors import ConfigError

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464"
MIN_DECISION_LOG_LINE_BYTES = 4096
"""Room for a decision's identity however long the request's strings (see decision_logs)."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Settings of one sidecar process.

    ``address`` is ``HOST:PORT`` (port 0 picks a free one) or ``unix:/path``.
    ``metrics_address`` is ``HOST:PORT`` or ``None`` for no metrics endpoint.
    ``decision_log`` is a file path, ``"-"`` for stderr, or ``None`` (off).
    ``sensitive_context_keys`` are redacted in decision logs (compared case-insensitively).
    ``decision_log_max_bytes`` / ``_max_files``: a log file is rotated before it grows past the
    first; the second is how many rotated files are kept. The ``decision_log_max_*`` character,
    key and line limits bound what one line copies from a caller's request.
    The ``max_*`` settings bound the work of one call (see ``iamgate.service.limits`` and the
    README's "Limits"); ``max_expensive_calls`` must stay below ``max_workers`` so that Simulate
    and Explain can never take every thread Authorize needs.
    """

    address: str = DEFAULT_ADDRESS
    metrics_address: str | None = DEFAULT_METRICS_ADDRESS
    enable_admin: bool = False
    enable_access_queries: bool = False
    """Answer WhoCan and WhatCan: they reveal the whole access model (docs/access.md)."""
    decision_log: str | None = None
    sensitive_context_keys: frozenset[str] = field(default_factory=frozenset)
    max_workers: int = 16
    max_batch_size: int = 1000
    decision_log_queue_size: int = 10_000
    decision_log_max_bytes: int = 100 * 1024 * 1024
    decision_log_max_files: int = 5
    decision_log_max_value_chars: int = 256
    decision_log_max_field_chars: int = 1024
    decision_log_max_context_keys: int = 64
    decision_log_max_values_per_key: int = 16
    decision_log_max_line_bytes: int = 16 * 1024
    shutdown_grace_seconds: float = 5.0
    drain_seconds: float = 0.0
    """On SIGTERM: seconds of NOT_SERVING while still answering, before the server stops accepting."""
    # Bounded work per call (README "Limits"); each is a `iamgate serve --max-...` flag.
    max_receive_message_bytes: int = 4 << 20
    max_request_bytes: int = 64 << 10
    max_session_policy_bytes: int = 10 << 10
    max_context_entries: int = 100
    max_context_values: int = 1_000
    max_condition_comparisons: int = 10_000
    max_simulate_evaluations: int = 10_000
    max_simulate_statements: int = 5_000
    max_simulate_policy_bytes: int = 1 << 20
    max_scp_levels: int = 10
    max_simulate_response_bytes: int = 4 << 20
    max_explain_statements: int = 10_000
    max_explain_bytes: int = 4 << 20
    max_expensive_call_seconds: float = 10.0
    max_expensive_calls: int = 2
    max_batch_session_policies: int = 16
    max_access_query_evaluations: int = 10_000
    """Evaluations one WhoCan or WhatCan answer may cost; past it the answer is marked truncated."""
    ext_authz: bool = False
    """Serve Envoy's envoy.service.auth.v3.Authorization/Check on the same port (docs/mesh.md)."""
    tls_cert_file: str | None = None
    """PEM certificate chain of the gRPC port; with ``tls_key_file``, the port speaks TLS only."""
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    """PEM CA bundle: clients must present a certificate it signed (mutual TLS)."""
    # Set per worker by ``iamgate serve --workers`` (service/workers.py): the port is shared with
    # SO_REUSEPORT, and GetStatus says which worker answered.
    reuse_port: bool = False
    worker_index: int = 0
    worker_count: int = 1

    def __post_init__(self) -> None:
        check_address(self.address, setting="address")
        if self.metrics_address is not None:
            split_host_port(self.metrics_address, setting="metrics_address")
        if self.max_workers < 1:
            raise ConfigError("max_workers", "must be at least 1")
        if self.max_batch_size < 1:
            raise ConfigError("max_batch_size", "must be at least 1")
        if self.decision_log_queue_size < 1:
            raise ConfigError("decision_log_queue_size", "must be at least 1")
        self._check_decision_log_limits()
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            missing = "tls_key_file" if self.tls_key_file is None else "tls_cert_file"
            raise ConfigError(missing, "TLS needs both a certificate and its key")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ConfigError(
                "tls_client_ca_file", "mutual TLS needs the server's own tls_cert_file and tls_key_file"
            )
        for setting in ("drain_seconds", "shutdown_grace_seconds"):
            if not 0 <= getattr(self, setting) <= 3600:
                raise ConfigError(setting, "must be from 0 to 3600 seconds")
        for setting in _POSITIVE_LIMITS:
            if not getattr(self, setting) > 0:
                raise ConfigError(setting, "must be greater than 0")
        if not 0 <= self.max_expensive_calls < self.max_workers:
            raise ConfigError(
                "max_expensive_calls",
                f"must be from 0 to {self.max_workers - 1}: fewer than the {self.max_workers} worker "
                "threads, so that Authorize always finds one free",
            )
        if not 0 <= self.worker_index < self.worker_count:
            raise ConfigError("worker_index", f"must be from 0 to {self.worker_count - 1} (worker_count)")
        lowered = frozenset(key.lower() for key in self.sensitive_context_keys)
        object.__setattr__(self, "sensitive_context_keys", lowered)

    def _check_decision_log_limits(self) -> None:
        for setting in (
            "decision_log_max_value_chars",
            "decision_log_max_field_chars",
            "decision_log_max_context_keys",
            "decision_log_max_values_per_key",
        ):
            if getattr(self, setting) < 1:
                raise ConfigError(setting, "must be at least 1")
        if self.decision_log_max_files < 0:
            raise ConfigError("decision_log_max_files", "must be at least 0")
        if self.decision_log_max_line_bytes < MIN_DECISION_LOG_LINE_BYTES:
            raise ConfigError(
                "decision_log_max_line_bytes", f"must be at least {MIN_DECISION_LOG_LINE_BYTES}"
            )
        if self.decision_log_max_bytes < self.decision_log_max_line_bytes:
            raise ConfigError(
                "decision_log_max_bytes",
                f"must be at least decision_log_max_line_bytes ({self.decision_log_max_line_bytes})",
            )


_POSITIVE_LIMITS = (
    "max_receive_message_bytes",
    "max_request_bytes",
    "max_session_policy_bytes",
    "max_context_entries",
    "max_context_values",
    "max_condition_comparisons",
    "max_simulate_evaluations",
    "max_simulate_statements",
    "max_simulate_policy_bytes",
    "max_scp_levels",
    "max_simulate_response_bytes",
    "max_explain_statements",
    "max_explain_bytes",
    "max_expensive_call_seconds",
    "max_batch_session_policies",
    "max_access_query_evaluations",
)


def check_address(address: str, *, setting: str) -> None:
    """Accept ``HOST:PORT``, ``[IPv6]:PORT`` or ``unix:/path``; reject anything else."""
    if address.startswith("unix:"):
        if len(address) <= len("unix:"):
            raise ConfigError(setting, "unix: needs a socket path, e.g. unix:/run/iamgate.sock")
        return
    split_host_port(address, setting=setting)


def split_host_port(address: str, *, setting: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` -> ``("127.0.0.1", 9464)``; ``"[::1]:9464"`` -> ``("::1", 9464)``."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise ConfigError(setting, f"{address!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigError(setting, f"{address!r}: write an IPv6 host in brackets, e.g. [::1]:{port_text}")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(setting, f"{address!r}: port must be a number from 0 to 65535")
    return host, int(port_text)
