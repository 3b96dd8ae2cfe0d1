"""Errors of the service layer: the sidecar cannot be configured or started.

    ServiceError
    └── ConfigError      a setting is invalid (address, metrics address, decision log path, ...)

Request-level problems are not exceptions here: they become gRPC status codes
(INVALID_ARGUMENT, UNAVAILABLE, INTERNAL) with a message naming the field.
"""

from __future__ import annotations

from iamgate.errors import IamgateError


class ServiceError(IamgateError):
    """Base of the service layer's errors."""


class ConfigError(ServiceError):
    """A setting is invalid; the message names the setting (``--address: ...``)."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        self.detail = message
        super().__init__(f"{setting}: {message}")
