"""Errors of the policy language: every problem in a document, each with its JSON path."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from iamgate.errors import IamgateError


class Severity(StrEnum):
    """Access Analyzer's four levels. Only ``ERROR`` refuses a document or a bundle."""

    ERROR = "error"
    SECURITY_WARNING = "security-warning"
    WARNING = "warning"
    SUGGESTION = "suggestion"


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong (or suspicious) in a policy document.

    ``path`` is a JSON path from the document root such as
    ``Statement[2].Condition.DateGreaterThan.aws:CurrentTime``; empty for the document itself.
    """

    path: str
    message: str
    severity: Severity = Severity.ERROR
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PolicyError(IamgateError):
    """Base of the policy layer's errors."""


class PolicyParseError(PolicyError):
    """A document has one or more errors; all of them are listed, never just the first."""

    def __init__(self, source: str, problems: list[PolicyProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [f"{source}: {problem}" if source else str(problem) for problem in self.problems]
        super().__init__("\n".join(lines))
