"""Turning a policy document found in a bundle into a PolicyDocument, with problems located.

AWS hands policy documents around in three forms: a JSON object, a JSON string, and (in
``get-account-authorization-details`` and most IAM API answers) a URL-encoded JSON string. All
three are accepted. Problems found by ``iamgate.policy.parse_policy`` carry paths relative to the
document; they are re-rooted at the document's place in the bundle file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from iamgate.bundle.jsonread import FileReport, describe
from iamgate.engine.result import PolicyKind
from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy.errors import Severity
from iamgate.policy.findings import catalogue_findings
from iamgate.policy.json_text import JsonTextError, load_strict
from iamgate.policy.model import PolicyDocument

_NEEDS_PRINCIPAL = frozenset({PolicyKind.RESOURCE})


def decode_document(value: Any) -> tuple[dict[str, Any] | None, str]:
    """The document as a JSON object, or ``None`` and why it could not be read."""
    if isinstance(value, dict):
        return value, ""
    if not isinstance(value, str):
        return None, f"expected a policy document (an object or a JSON string), got {describe(value)}"
    text = value.strip()
    if not text.startswith("{"):
        text = unquote(text).strip()
    try:
        decoded = load_strict(text)
    except JsonTextError as error:
        return None, f"not a JSON policy document: {error}"
    if not isinstance(decoded, dict):
        return None, f"expected a policy document object, got {describe(decoded)}"
    return decoded, ""


def read_document(report: FileReport, value: Any, path: str, kind: PolicyKind) -> PolicyDocument | None:
    """Parse one document; every problem is recorded at ``file: path.<problem path>``."""
    decoded, reason = decode_document(value)
    if decoded is None:
        report.error(path, reason, "policy")
        return None
    try:
        document = parse_policy(decoded, source_name=f"{report.file}: {path}")
    except PolicyParseError as error:
        for problem in error.problems:
            _record(report, path, problem.path, problem.message, problem.severity, problem.code)
        return None
    for problem in document.warnings:
        if kind is PolicyKind.SCP and problem.code == "allow-all":
            continue  # FullAWSAccess is how an SCP says "no restriction here"
        _record(report, path, problem.path, problem.message, problem.severity, problem.code)
    if report.checks is not None:
        for problem in catalogue_findings(document, report.checks):
            _record(report, path, problem.path, problem.message, problem.severity, problem.code)
    ok = True
    for statement in document.statements:
        has_principal = statement.principal is not None or statement.not_principal is not None
        where = f"{path}.{statement.path}" if statement.path else path
        if kind in _NEEDS_PRINCIPAL and not has_principal:
            report.error(
                where,
                f"{_article(kind.phrase)} {kind.phrase} statement needs a Principal or NotPrincipal",
                "policy",
            )
            ok = False
        elif kind not in _NEEDS_PRINCIPAL and has_principal:
            report.error(
                where,
                f"Principal/NotPrincipal is not allowed in {_article(kind.phrase)} {kind.phrase}",
                "policy",
            )
            ok = False
    return document if ok else None


def _record(report: FileReport, root: str, sub: str, message: str, severity: Severity, code: str) -> None:
    where = f"{root}.{sub}" if sub and not sub.startswith("[") else f"{root}{sub}"
    report.problem(where, message, severity, code or "policy")


def _article(phrase: str) -> str:
    return "an" if phrase[:1] in "aeiou" else "a"
