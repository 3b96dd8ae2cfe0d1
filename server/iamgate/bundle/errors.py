"""Errors of the bundle layer: a bundle cannot be read, verified, validated or activated.

    BundleError
    ├── BundleFormatError         the bytes are not a readable bundle (unsafe archive, size cap, no such file)
    ├── BundleVerificationError   the signature or a file hash does not check out (nothing was parsed)
    └── BundleValidationError     the documents have errors; every problem is listed with file and JSON path

Each problem names the file inside the bundle and the JSON path inside that file, so a user can go
straight to the line at fault; the CLI prints these messages as they are, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iamgate.errors import IamgateError
from iamgate.policy.errors import Severity


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """One thing wrong (or suspicious) in a bundle: the file, the JSON path in it, and what."""

    file: str
    path: str
    message: str
    severity: Severity = Severity.ERROR
    code: str = "invalid"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.path) if part)
        return f"{where}: {self.message}" if where else self.message


class BundleError(IamgateError):
    """Base of the bundle layer's errors."""


class BundleFormatError(BundleError):
    """The source is not a readable bundle: missing, unsafe, too large, or not a directory/archive/JSON."""


class BundleVerificationError(BundleError):
    """A signature or file-hash check failed; raised before any organization document is parsed.

    ``reason`` is a short machine-friendly code (``unsigned``, ``bad-signature``, ``untrusted-key``,
    ``missing-file``, ``extra-file``, ``altered-file``, ``bad-manifest``).
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class BundleValidationError(BundleError):
    """The bundle's documents have errors; ``problems`` lists all of them (errors and warnings)."""

    def __init__(self, source: str, problems: Iterable[BundleProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        errors = [problem for problem in self.problems if problem.is_error]
        head = (
            f"{source}: {len(errors)} error(s) in bundle" if source else f"{len(errors)} error(s) in bundle"
        )
        super().__init__("\n".join([head, *(f"  {problem}" for problem in errors)]))

    @property
    def errors(self) -> tuple[BundleProblem, ...]:
        return tuple(problem for problem in self.problems if problem.is_error)

    @property
    def warnings(self) -> tuple[BundleProblem, ...]:
        return tuple(problem for problem in self.problems if not problem.is_error)
