"""Small helpers for reading JSON documents while collecting every problem with its JSON path.

Readers never stop at the first problem: they record it (file, path, message) and carry on with
what they can read, so ``iamgate validate`` lists everything wrong in one run.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from iamgate.bundle.errors import BundleProblem
from iamgate.policy.errors import Severity
from iamgate.policy.findings import CatalogueChecks
from iamgate.policy.json_text import DEFAULT_MAX_DEPTH, JsonTextError, load_strict

MISSING: Any = object()
"""What ``load_json`` returns for a file that is not valid JSON (the problem is already recorded)."""


class FileReport:
    """Collects the problems of one file into a shared list (owned by one read, never global)."""

    def __init__(self, file: str, sink: list[BundleProblem], checks: CatalogueChecks | None = None) -> None:
        self.file = file
        self._sink = sink
        self.checks = checks
        """What policy documents of this file are checked against (the catalogue), if anything."""

    def problem(self, path: str, message: str, severity: Severity, code: str) -> None:
        self._sink.append(BundleProblem(self.file, path, message, severity, code))

    def error(self, path: str, message: str, code: str = "invalid") -> None:
        self._sink.append(BundleProblem(self.file, path, message, Severity.ERROR, code))

    def warning(self, path: str, message: str, code: str = "warning") -> None:
        self._sink.append(BundleProblem(self.file, path, message, Severity.WARNING, code))


def key_path(path: str, key: str) -> str:
    """``Users[0]`` + ``Tags`` -> ``Users[0].Tags``; keys that are not identifiers are quoted."""
    part = key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key)
    if not path:
        return part if not part.startswith('"') else f"[{part}]"
    return f"{path}.{part}" if not part.startswith('"') else f"{path}[{part}]"


def item_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def load_json(report: FileReport, data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse a file's bytes strictly (``iamgate.policy.json_text``); every problem is recorded.

    Malformed JSON is reported with its line and column; a repeated key, nesting deeper than
    ``max_depth``, text that is not UTF-8 and NaN/Infinity with their JSON path.
    """
    try:
        return load_strict(data, max_depth=max_depth)
    except JsonTextError as error:
        for problem in error.problems:
            report.error(problem.path, problem.message, problem.code)
        return MISSING


def expect_object(report: FileReport, value: Any, path: str) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    report.error(path, f"expected an object, got {describe(value)}", "type")
    return None


def get_list(
    report: FileReport, obj: dict[str, Any], key: str, path: str, *, required: bool = False
) -> list[Any]:
    """The list under ``key`` ([] when absent or wrong: the problem is recorded)."""
    value = obj.get(key, MISSING)
    where = key_path(path, key)
    if value is MISSING or value is None:
        if required:
            report.error(where, "is required", "required")
        return []
    if not isinstance(value, list):
        report.error(where, f"expected a list, got {describe(value)}", "type")
        return []
    return value


def get_str(
    report: FileReport,
    obj: dict[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    default: str = "",
) -> str:
    value = obj.get(key, MISSING)
    where = key_path(path, key)
    if value is MISSING or value is None:
        if required:
            report.error(where, "is required", "required")
        return default
    if not isinstance(value, str):
        report.error(where, f"expected a string, got {describe(value)}", "type")
        return default
    if required and not value.strip():
        report.error(where, "must not be empty", "required")
        return default
    return value


def get_int(report: FileReport, obj: dict[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        report.error(key_path(path, key), f"expected an integer, got {describe(value)}", "type")
        return None
    return value


def check_keys(
    report: FileReport,
    obj: dict[str, Any],
    path: str,
    known: Collection[str],
    *,
    strict: bool = True,
    errors: bool = False,
) -> None:
    """Warn about keys a reader does not know (likely typos); ``strict=False`` ignores them.

    ``errors`` makes them errors, for files whose every field changes a verdict (tests, services).
    """
    if not strict:
        return
    for key in obj:
        if key not in known:
            if errors:
                hint = _closest(key, known)
                more = f"; did you mean {hint!r}?" if hint else f"; known: {', '.join(sorted(known))}"
                report.error(key_path(path, key), f"unknown field{more}", "unknown-field")
            else:
                report.warning(key_path(path, key), "unknown field (ignored)", "unknown-field")


def _closest(key: str, known: Collection[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def describe(value: Any) -> str:
    """A JSON type name for messages: 'a string', 'a list', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
