"""Errors of the engine: a request that cannot be evaluated as given."""

from __future__ import annotations

from iamgate.errors import IamgateError


class EngineError(IamgateError):
    """Base of the engine's errors."""


class RequestError(EngineError):
    """A request field is malformed; ``field`` names it (a JSON path or a request field name)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")
