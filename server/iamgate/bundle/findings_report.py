"""``iamgate validate --output text|json|sarif``: a bundle's findings for people, scripts and CI.

SARIF 2.1.0 is what code-scanning services read to show a finding on its line; the line is found
by walking the file's JSON text to the finding's JSON path (the nearest enclosing value when the
path goes into an embedded, string-encoded document).
"""

from __future__ import annotations

import bisect
import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from iamgate.bundle.errors import BundleProblem
from iamgate.policy.errors import Severity
from iamgate.policy.findings import CODES

FINDING_OUTPUTS = ("text", "json", "sarif")
_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.SECURITY_WARNING: "error",
    Severity.WARNING: "warning",
    Severity.SUGGESTION: "note",
}
_ORDER = {severity: rank for rank, severity in enumerate(Severity)}


def ordered(problems: Iterable[BundleProblem]) -> list[BundleProblem]:
    """Most severe first, then by file and path: the order a reader fixes them in."""
    return sorted(problems, key=lambda p: (_ORDER[p.severity], p.file, p.path))


def render_text(problems: Iterable[BundleProblem], summary: str) -> str:
    lines = [f"{p.severity.value:<7} {p} [{p.code}]" for p in ordered(problems)]
    return "\n".join([*lines, summary]) + "\n"


def render_json(problems: Iterable[BundleProblem], summary: Mapping[str, Any]) -> str:
    findings = [
        {"severity": p.severity.value, "code": p.code, "file": p.file, "path": p.path, "message": p.message}
        for p in ordered(problems)
    ]
    return json.dumps({**summary, "findings": findings}, indent=2) + "\n"


def render_sarif(
    problems: Iterable[BundleProblem], *, version: str, catalogue: str, files: Mapping[str, bytes]
) -> str:
    problems = ordered(problems)
    lines: dict[str, dict[str, int]] = {}
    results = []
    for problem in problems:
        if problem.file not in lines:
            lines[problem.file] = path_lines(files.get(problem.file, b""))
        location: dict[str, Any] = {"artifactLocation": {"uri": problem.file}}
        line = find_line(lines[problem.file], problem.path)
        if line:
            location["region"] = {"startLine": line}
        results.append(
            {
                "ruleId": problem.code,
                "level": _SARIF_LEVEL[problem.severity],
                "message": {"text": problem.message},
                "locations": [
                    {
                        "physicalLocation": location,
                        "logicalLocations": [{"fullyQualifiedName": problem.path, "kind": "member"}],
                    }
                ],
                "properties": {"severity": problem.severity.value, "jsonPath": problem.path},
            }
        )
    codes = sorted({p.code for p in problems})
    rules = [{"id": code, "shortDescription": {"text": CODES.get(code, code)}} for code in codes]
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "iamgate",
                        "version": version,
                        "informationUri": "https://github.com/iamgate/iamgate/blob/main/docs/validation.md",
                        "rules": rules,
                        "properties": {"catalogue": catalogue},
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"


def find_line(lines: Mapping[str, int], path: str) -> int | None:
    """The line of ``path``, or of its nearest enclosing value the file has."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)


def path_lines(data: bytes) -> dict[str, int]:
    """Every JSON path of a document -> the 1-based line its value starts on (empty if unreadable)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    found: dict[str, int] = {}
    with contextlib.suppress(IndexError, ValueError):  # the reader reported an unreadable file already
        _Walker(text, found).value("", 0)
    return found


class _Walker:
    """A minimal JSON scanner that records where each value starts; not a validator."""

    def __init__(self, text: str, found: dict[str, int]) -> None:
        self.text = text
        self.found = found
        self.decoder = json.JSONDecoder()
        self.newlines = [at for at, char in enumerate(text) if char == "\n"]

    def skip(self, at: int) -> int:
        while self.text[at] in " \t\r\n":
            at += 1
        return at

    def line(self, at: int) -> int:
        return bisect.bisect_left(self.newlines, at) + 1

    def value(self, path: str, at: int) -> int:
        at = self.skip(at)
        if path:
            self.found.setdefault(path, self.line(at))
        char = self.text[at]
        if char == "{":
            at = self.skip(at + 1)
            if self.text[at] == "}":
                return at + 1
            while True:
                key, at = self.decoder.raw_decode(self.text, self.skip(at))
                at = self.skip(at)
                if self.text[at] != ":":
                    raise ValueError("expected ':'")
                plain, quoted = _key_paths(path, str(key))
                self.found.setdefault(plain, self.line(at))
                self.found.setdefault(quoted, self.line(at))
                at = self.skip(self.value(plain, at + 1))
                if self.text[at] == "}":
                    return at + 1
                at += 1
        if char == "[":
            at = self.skip(at + 1)
            if self.text[at] == "]":
                return at + 1
            index = 0
            while True:
                at = self.skip(self.value(f"{path}[{index}]", at))
                if self.text[at] == "]":
                    return at + 1
                at += 1
                index += 1
        _, end = self.decoder.raw_decode(self.text, at)
        return end


def _key_paths(path: str, key: str) -> tuple[str, str]:
    """The spellings findings use for a key: plain (``a.b``) and quoted (``a["b c"]``)."""
    plain = f"{path}.{key}" if path else key
    return plain, f"{path}[{json.dumps(key)}]"
