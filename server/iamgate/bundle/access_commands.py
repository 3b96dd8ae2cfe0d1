"""The commands behind ``iamgate who-can``, ``iamgate what-can`` and ``iamgate bundle diff``.

Like ``iamgate.bundle.commands``, each returns a ``CommandResult`` and never raises for bad input.
Exit codes: 0 answered (for ``bundle diff``: no access added), 1 ``bundle diff`` found added
access (a CI gate) or a bundle cannot be read or compiled (no such path included), 2 the question
cannot be asked (bad flag value, malformed action or resource, unknown principal).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from iamgate.bundle.access import (
    CONDITIONAL,
    AccessAnswer,
    AccessDiff,
    AccessError,
    AccessRow,
    diff_access,
    what_can,
    who_can,
)
from iamgate.bundle.access_catalogue import catalogue_of
from iamgate.bundle.commands import CommandResult
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import BundleError
from iamgate.bundle.load import open_bundle
from iamgate.bundle.loader import load_files
from iamgate.bundle.signing import Verifier
from iamgate.bundle.snapshot import Snapshot
from iamgate.catalogue import Catalogue
from iamgate.errors import IamgateError

ANSWER_OUTPUTS = ("text", "json")
DIFF_OUTPUTS = ("text", "json", "markdown")


class _Refused(Exception):
    def __init__(self, text: str, exit_code: int) -> None:
        super().__init__(text)
        self.result = CommandResult(text if text.endswith("\n") else text + "\n", exit_code)


def _load(path: str | os.PathLike[str], verifier: Verifier | None) -> tuple[Snapshot, Catalogue]:
    """The compiled revision, and the catalogue its wildcards expand through (AWS's + its services.json)."""
    try:
        files = load_files(path)
        snapshot = build_snapshot(open_bundle(files, verifier=verifier), source=str(path))
    except BundleError as error:
        raise _Refused(f"error: {error}", 1) from None
    except IamgateError as error:
        raise _Refused(f"error: {path}: cannot compile the bundle: {error}", 1) from None
    return snapshot, catalogue_of(files)


def _check(output: str, outputs: tuple[str, ...], limit: int) -> None:
    if output not in outputs:
        raise _Refused(f"error: unknown output {output!r}: use one of {', '.join(outputs)}", 2)
    if limit < 1:
        raise _Refused(f"error: --limit must be at least 1 (got {limit})", 2)


def who_can_command(
    action: str,
    resource: str,
    path: str | os.PathLike[str],
    *,
    output: str = "text",
    limit: int,
    now: datetime | None = None,
    verifier: Verifier | None = None,
) -> CommandResult:
    """Every user and role of the bundle allowed ``action`` on ``resource``, with the deciding statements."""
    try:
        _check(output, ANSWER_OUTPUTS, limit)
        snapshot, _ = _load(path, verifier)
        try:
            answer = who_can(snapshot, action, resource, now=now, limit=limit)
        except AccessError as error:
            raise _Refused(f"error: {error}", 2) from None
    except _Refused as refused:
        return refused.result
    title = f"who can {action} on {resource} (bundle {snapshot.name} revision {snapshot.revision})"
    return CommandResult(_render_answer(answer, output, title, limit, by="principal"), 0)


def what_can_command(
    principal: str,
    path: str | os.PathLike[str],
    *,
    service: str | None = None,
    output: str = "text",
    limit: int,
    now: datetime | None = None,
    verifier: Verifier | None = None,
) -> CommandResult:
    """The actions and resource patterns one principal is allowed, with the conditions still open."""
    try:
        _check(output, ANSWER_OUTPUTS, limit)
        snapshot, catalogue = _load(path, verifier)
        try:
            answer = what_can(snapshot, principal, catalogue, service=service, now=now, limit=limit)
        except AccessError as error:
            raise _Refused(f"error: {error}", 2) from None
    except _Refused as refused:
        return refused.result
    title = f"what {principal} can do (bundle {snapshot.name} revision {snapshot.revision})"
    return CommandResult(_render_answer(answer, output, title, limit, by="action"), 0)


def diff_command(
    old_path: str | os.PathLike[str],
    new_path: str | os.PathLike[str],
    *,
    output: str = "text",
    limit: int,
    now: datetime | None = None,
    verifier: Verifier | None = None,
    summary: bool = False,
) -> CommandResult:
    """The access each principal gains and loses from OLD to NEW; exit code 1 when any is gained
    (or when ``limit`` cut the diff short: it then cannot show that none is).

    ``summary`` (text and markdown): counts per principal and service, and only the rows that
    add access in full (a principal leaving a group can remove hundreds of rows)."""
    try:
        _check(output, DIFF_OUTPUTS, limit)
        old, old_catalogue = _load(old_path, verifier)
        new, new_catalogue = _load(new_path, verifier)
    except _Refused as refused:
        return refused.result
    catalogue = (
        new_catalogue.with_services(old_catalogue.own.values()) if old_catalogue.own else new_catalogue
    )
    diff = diff_access(old, new, catalogue, now=now, limit=limit)
    title = f"access changes {old.revision} -> {new.revision} (bundle {new.name})"
    if summary and output != "json":
        text = (_summary_markdown if output == "markdown" else _summary_text)(diff, title, limit)
    else:
        text = {"text": _diff_text, "json": _diff_json, "markdown": _diff_markdown}[output](
            diff, title, limit
        )
    # Fail closed: a partial diff cannot show that no access was added.
    return CommandResult(text, 1 if diff.adds_access or not diff.complete else 0)


# -- rendering -----------------------------------------------------------------------------------


def _truncation(truncated: bool, limit: int) -> str:
    return f"partial answer: --limit {limit} evaluations reached" if truncated else ""


def _render_answer(answer: AccessAnswer, output: str, title: str, limit: int, *, by: str) -> str:
    if output == "json":
        data = {
            "rows": [row.to_json() for row in answer.rows],
            "evaluations": answer.evaluations,
            "truncated": answer.truncated,
            "limit": limit,
            "notes": list(answer.notes),
        }
        return json.dumps(data, indent=2) + "\n"
    lines = [f"{title}: {len(answer.rows)} allowed ({answer.evaluations} evaluations)"]
    for row in answer.rows:
        head = row.principal if by == "principal" else f"{row.action} on {row.resource}"
        lines.append(f"  {head}  [{row.status}]")
        lines.extend(f"      by {statement}" for statement in row.statements)
        lines.extend(f"      if {condition}" for condition in row.conditions)
    lines.extend(f"note: {note}" for note in answer.notes)
    if answer.truncated:
        lines.append(_truncation(True, limit))
    return "\n".join(lines) + "\n"


def _grouped(diff: AccessDiff) -> dict[str, dict[str, list[tuple[str, AccessRow]]]]:
    groups: dict[str, dict[str, list[tuple[str, AccessRow]]]] = defaultdict(lambda: defaultdict(list))
    for change in diff.changes:
        groups[change.row.principal][change.row.service].append((change.change, change.row))
    return groups


_SIGNS = {"added": "+", "widened": "+", "removed": "-", "narrowed": "-"}


def _row_text(change: str, row: AccessRow) -> str:
    conditional = " (conditional)" if row.status == CONDITIONAL else ""
    return f"{_SIGNS[change]} {change:8} {row.action} on {row.resource}{conditional}"


def _summary(diff: AccessDiff) -> str:
    counts = {
        kind: sum(c.change == kind for c in diff.changes)
        for kind in ("added", "widened", "removed", "narrowed")
    }
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def _diff_text(diff: AccessDiff, title: str, limit: int) -> str:
    lines = [f"{title}: {_summary(diff)} ({diff.evaluations} evaluations)"]
    for principal, services in sorted(_grouped(diff).items()):
        lines.append(principal)
        for service, rows in sorted(services.items()):
            lines.append(f"  {service}")
            for change, row in rows:
                lines.append(f"    {_row_text(change, row)}")
                lines.extend(f"        if {condition}" for condition in row.conditions)
    lines.extend(_footer(diff, limit))
    return "\n".join(lines) + "\n"


def _footer(diff: AccessDiff, limit: int) -> Iterable[str]:
    yield from (f"note: {note}" for note in diff.notes)
    yield from (f"unproven (new, not enumerated: access may be added): {item}" for item in diff.unproven)
    if diff.truncated:
        yield _truncation(True, limit)


def _diff_json(diff: AccessDiff, title: str, limit: int) -> str:
    data = {
        "title": title,
        "adds_access": diff.adds_access,
        "changes": [{"change": c.change, "service": c.row.service, **c.row.to_json()} for c in diff.changes],
        "evaluations": diff.evaluations,
        "truncated": diff.truncated,
        "limit": limit,
        "notes": list(diff.notes),
        "unproven": list(diff.unproven),
    }
    return json.dumps(data, indent=2) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _diff_markdown(diff: AccessDiff, title: str, limit: int) -> str:
    lines = [f"### {_md(title)}", "", f"**{_summary(diff)}**", ""]
    for principal, services in sorted(_grouped(diff).items()):
        lines += [
            f"#### `{principal}`",
            "",
            "| | service | action | resource | conditions |",
            "|---|---|---|---|---|",
        ]
        for service, rows in sorted(services.items()):
            for change, row in rows:
                conditions = "<br>".join(_md(c) for c in row.conditions) or (
                    "conditional" if row.status == CONDITIONAL else ""
                )
                lines.append(
                    f"| {_SIGNS[change]} {change} | {service} | `{row.action}` "
                    f"| `{_md(row.resource)}` | {conditions} |"
                )
        lines.append("")
    lines.extend(f"> {_md(line)}" for line in _footer(diff, limit))
    return "\n".join(lines) + "\n"


def _counts(rows: list[tuple[str, AccessRow]]) -> str:
    kinds = ("added", "widened", "removed", "narrowed")
    return ", ".join(f"{sum(change == kind for change, _ in rows)} {kind}" for kind in kinds)


_ADDS = ("added", "widened")


def _summary_text(diff: AccessDiff, title: str, limit: int) -> str:
    lines = [f"{title}: {_summary(diff)} ({diff.evaluations} evaluations)"]
    for principal, services in sorted(_grouped(diff).items()):
        lines.append(principal)
        for service, rows in sorted(services.items()):
            lines.append(f"  {service}: {_counts(rows)}")
            for change, row in rows:
                if change in _ADDS:
                    lines.append(f"    {_row_text(change, row)}")
                    lines.extend(f"        if {condition}" for condition in row.conditions)
    lines.extend(_footer(diff, limit))
    return "\n".join(lines) + "\n"


def _summary_markdown(diff: AccessDiff, title: str, limit: int) -> str:
    lines = [
        f"### {_md(title)}",
        "",
        f"**{_summary(diff)}**",
        "",
        "| principal | service | added | widened | removed | narrowed |",
        "|---|---|---|---|---|---|",
    ]
    adding: list[tuple[str, AccessRow]] = []
    for principal, services in sorted(_grouped(diff).items()):
        for service, rows in sorted(services.items()):
            counts = [
                str(sum(change == kind for change, _ in rows)) for kind in (*_ADDS, "removed", "narrowed")
            ]
            lines.append(f"| `{principal}` | {service} | {' | '.join(counts)} |")
            adding += [(change, row) for change, row in rows if change in _ADDS]
    if adding:
        lines += [
            "",
            "Access added:",
            "",
            "| | principal | action | resource | conditions |",
            "|---|---|---|---|---|",
        ]
        for change, row in adding:
            conditions = "<br>".join(_md(c) for c in row.conditions)
            lines.append(
                f"| {_SIGNS[change]} {change} | `{row.principal}` | `{row.action}` | `{_md(row.resource)}` "
                f"| {conditions} |"
            )
    lines.append("")
    lines.extend(f"> {_md(line)}" for line in _footer(diff, limit))
    return "\n".join(lines) + "\n"
