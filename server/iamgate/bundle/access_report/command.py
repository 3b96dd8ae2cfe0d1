"""``iamgate access-report LOGS...``: Access Advisor from decision logs, and a tightened policy.

Like the other bundle commands it returns a ``CommandResult`` and never raises for bad input.
Exit codes: 0 reported; 1 a log file could not be read, the bundle cannot be loaded, or the
suggested policy's replay differs from the bundle (a CI gate must not take a suggestion that
changes a decision); 2 the question cannot be asked (bad flag value, unknown principal).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iamgate.bundle.access import AccessError, find_principal
from iamgate.bundle.access_report.logs import DEFAULT_MAX_FIELD_CHARS, DEFAULT_MAX_LINE_BYTES, read_logs
from iamgate.bundle.access_report.suggest import (
    DEFAULT_COLLAPSE_AT,
    DEFAULT_MAX_REPLAY,
    ReplaySet,
    Suggestion,
    suggest,
)
from iamgate.bundle.access_report.usage import DEFAULT_MAX_ENTRIES, PrincipalUse, UsageReport, summarise
from iamgate.bundle.commands import CommandResult
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import BundleError
from iamgate.bundle.load import open_bundle
from iamgate.bundle.loader import load_files
from iamgate.bundle.signing import Verifier
from iamgate.bundle.snapshot import Snapshot
from iamgate.errors import IamgateError

OUTPUTS = ("text", "json", "markdown")


@dataclass(frozen=True, slots=True)
class ReportLimits:
    """Every bound of one report (each a flag of ``iamgate access-report``)."""

    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_replay: int = DEFAULT_MAX_REPLAY
    collapse_at: int = DEFAULT_COLLAPSE_AT

    def problems(self) -> list[str]:
        wrong = [
            f"--{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)})"
            for name in ("max_line_bytes", "max_field_chars", "max_entries", "max_replay")
            if getattr(self, name) < 1
        ]
        if self.collapse_at < 0:
            wrong.append(f"--collapse-at must be at least 0 (got {self.collapse_at})")
        return wrong


def access_report_command(
    logs: Sequence[str | os.PathLike[str]],
    *,
    bundle: str | os.PathLike[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    principal: str | None = None,
    output: str = "text",
    limits: ReportLimits = ReportLimits(),
    verifier: Verifier | None = None,
) -> CommandResult:
    """Per principal, what was allowed and denied and when; unused Allow statements; a suggestion."""
    since, until = (t if t is None or t.tzinfo else t.replace(tzinfo=UTC) for t in (since, until))
    refused = _refuse(output, limits, since, until, logs)
    if refused is not None:
        return refused
    snapshot = None
    only = principal
    if bundle is not None:
        try:
            snapshot = build_snapshot(open_bundle(load_files(bundle), verifier=verifier), source=str(bundle))
        except BundleError as error:
            return CommandResult(f"error: {error}\n", 1)
        except IamgateError as error:
            return CommandResult(f"error: {bundle}: cannot compile the bundle: {error}\n", 1)
        if principal is not None:
            try:
                only = find_principal(snapshot, principal).arn
            except AccessError as error:
                return CommandResult(f"error: {error}\n", 2)
    replay_set = ReplaySet(limits.max_replay) if snapshot is not None and only is not None else None
    records = read_logs(logs, max_line_bytes=limits.max_line_bytes, max_field_chars=limits.max_field_chars)
    report = summarise(
        records,
        snapshot=snapshot,
        only=only,
        since=since,
        until=until,
        max_entries=limits.max_entries,
        on_decision=replay_set,
    )
    suggestion = None
    if snapshot is not None and only is not None and replay_set is not None:
        suggestion = suggest(snapshot, snapshot.by_arn[only], replay_set, collapse_at=limits.collapse_at)
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}[output]
    text = render(report, suggestion, replay_set, snapshot, since, until, limits)
    failed = report.unreadable_files > 0 or (suggestion is not None and not suggestion.replay.same)
    return CommandResult(text, 1 if failed else 0)


def _refuse(
    output: str, limits: ReportLimits, since: datetime | None, until: datetime | None, logs: Sequence[Any]
) -> CommandResult | None:
    wrong = limits.problems()
    if output not in OUTPUTS:
        wrong.append(f"unknown output {output!r}: use one of {', '.join(OUTPUTS)}")
    if since is not None and until is not None and since >= until:
        wrong.append("--since must be before --until")
    if not logs:
        wrong.append("name at least one decision-log file")
    if wrong:
        return CommandResult("".join(f"error: {line}\n" for line in wrong), 2)
    return None


# -- rendering -----------------------------------------------------------------------------------


def _clean(text: object) -> str:
    """Text from a log file, safe for a terminal: control characters shown escaped (``\\x1b``)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "-"


def _header(
    report: UsageReport, snapshot: Snapshot | None, since: datetime | None, until: datetime | None
) -> str:
    where = f" against bundle {snapshot.name} revision {snapshot.revision}" if snapshot else ""
    window = f" (period {_time(since) if since else 'start'} .. {_time(until) if until else 'end'})"
    return (
        f"access report: {report.in_period:,} decision(s) from {_time(report.first)} to "
        f"{_time(report.last)}{window}{where}"
    )


def _principal_lines(use: PrincipalUse) -> list[str]:
    note = "" if use.known else "  (not in the bundle)"
    lines = [f"{_clean(use.principal)}  ({use.decisions:,} decision(s)){note}"]
    services: dict[str, list[Any]] = {}
    for action in use.actions.values():
        services.setdefault(action.service, []).append(action)
    for service in sorted(services):
        actions = sorted(services[service], key=lambda a: a.action.lower())
        last = max((a.last_allowed for a in actions if a.last_allowed), default=None)
        name = _clean(service)
        lines.append(f"  {name}  last used {_time(last)}" if last else f"  {name}  never allowed")
        for action in actions:
            parts = []
            if action.allowed:
                parts.append(
                    f"allowed {action.allowed:,}x, first {_time(action.first_allowed)}, "
                    f"last {_time(action.last_allowed)}"
                )
            if action.denied:
                parts.append(
                    f"denied {action.denied:,}x ({action.explicit_denied:,} explicit, "
                    f"{action.implicit_denied:,} implicit), last {_time(action.last_denied)}"
                )
            lines.append(f"    {_clean(action.action)}: {'; '.join(parts)}")
    if not use.actions:
        lines.append("  no activity in the period")
    if use.granted_services:
        unused = use.unused_services
        if unused:
            lines.append(f"  granted, never used: {', '.join(unused)}")
        if "*" in use.granted_services:
            lines.append("  granted: every service (an Action or NotAction wildcard over services)")
    return lines


def _footer_lines(report: UsageReport, replay_set: ReplaySet | None, limits: ReportLimits) -> list[str]:
    lines = []
    if report.problems:
        lines.append(f"{report.problems:,} problem(s) reading the logs:")
        lines.extend(f"  {_clean(problem)}" for problem in report.shown_problems)
        if report.problems > len(report.shown_problems):
            lines.append(f"  ... and {report.problems - len(report.shown_problems):,} more")
    if report.explained:
        lines.append(f"{report.explained:,} Explain call(s) not counted as use")
    if report.unattributable:
        lines.append(
            f"{report.unattributable:,} decision(s) whose principal or action the sidecar had cut: "
            "not attributed"
        )
    if report.partial:
        lines.append(
            f"partial report: {report.untracked:,} decision(s) not tracked "
            f"(--max-entries {limits.max_entries:,} reached)"
        )
    if replay_set is not None:
        for reason, count in sorted(replay_set.not_replayable.items()):
            lines.append(f"{count:,} decision(s) not replayed: {reason}")
        if replay_set.dropped:
            lines.append(
                f"partial replay: {replay_set.dropped:,} distinct request(s) beyond --max-replay "
                f"{limits.max_replay:,} not used for the suggestion"
            )
    return lines


def _suggestion_lines(suggestion: Suggestion) -> list[str]:
    lines = [f"suggested policy for {suggestion.principal}:"]
    if suggestion.document is None:
        lines.append("  none: no identity permission was used in the period")
    else:
        lines.extend("  " + line for line in json.dumps(suggestion.document, indent=2).splitlines())
        lines.extend(
            f"  {sid} {'copies' if sid.startswith('KeptDeny') else 'narrows'} {origin}"
            for sid, origin in suggestion.origins
        )
    return lines + _replay_lines(suggestion)


def _replay_lines(suggestion: Suggestion) -> list[str]:
    replay = suggestion.replay
    lines = []
    verdict = "same decisions" if replay.same else f"{len(replay.lost)} lost, {len(replay.gained)} gained"
    lines.append(
        f"replay: {replay.replayed:,} request(s) asked again with the suggestion: {verdict}; "
        f"{replay.not_reproduced_count:,} not reproduced by the bundle (not compared)"
    )
    lines.extend(f"  lost: {_clean(request)}" for request in replay.lost[:20])
    lines.extend(f"  GAINED: {_clean(request)}" for request in replay.gained[:20])
    lines.extend(f"  not reproduced: {_clean(request)}" for request in replay.not_reproduced)
    lines.extend(f"note: {note}" for note in suggestion.notes)
    return lines


def render_text(
    report: UsageReport,
    suggestion: Suggestion | None,
    replay_set: ReplaySet | None,
    snapshot: Snapshot | None,
    since: datetime | None,
    until: datetime | None,
    limits: ReportLimits,
) -> str:
    lines = [_header(report, snapshot, since, until)]
    for key in sorted(report.principals):
        lines.extend(_principal_lines(report.principals[key]))
    if snapshot is not None:
        unused = [s for s in report.statements if not s.decided]
        lines.append(
            f"Allow statements that decided nothing in the period: {len(unused)} of {len(report.statements)}"
        )
        for statement in unused:
            elsewhere = (
                f"  (determined {statement.other_revisions:,} decision(s) of other revisions)"
                if statement.other_revisions
                else ""
            )
            lines.append(f"  {statement.ref}{elsewhere}")
        other = sum(count for revision, count in report.revisions.items() if revision != snapshot.revision)
        if other or report.other_revisions_count:
            lines.append(
                f"note: {other + report.other_revisions_count:,} decision(s) were made by other revisions "
                f"than {snapshot.revision}; statements are matched to them by policy and Sid only"
            )
    if suggestion is not None:
        lines.extend(_suggestion_lines(suggestion))
    lines.extend(_footer_lines(report, replay_set, limits))
    return "\n".join(lines) + "\n"


def _use_json(use: PrincipalUse) -> dict[str, Any]:
    return {
        "principal": use.principal,
        "known": use.known,
        "decisions": use.decisions,
        "services_used": use.used_services,
        "services_granted_unused": use.unused_services,
        "actions": [
            {
                "action": a.action,
                "service": a.service,
                "allowed": a.allowed,
                "first_allowed": _time(a.first_allowed) if a.first_allowed else None,
                "last_allowed": _time(a.last_allowed) if a.last_allowed else None,
                "explicit_denied": a.explicit_denied,
                "implicit_denied": a.implicit_denied,
                "last_denied": _time(a.last_denied) if a.last_denied else None,
            }
            for a in sorted(use.actions.values(), key=lambda a: a.action.lower())
        ],
    }


def _suggestion_json(suggestion: Suggestion) -> dict[str, Any]:
    replay = suggestion.replay
    return {
        "principal": suggestion.principal,
        "policy": suggestion.document,
        "actions": list(suggestion.actions),
        "origins": [{"sid": sid, "from": origin} for sid, origin in suggestion.origins],
        "replay": {
            "replayed": replay.replayed,
            "same": replay.same,
            "lost": [str(r) for r in replay.lost],
            "gained": [str(r) for r in replay.gained],
            "not_reproduced": replay.not_reproduced_count,
        },
        "notes": list(suggestion.notes),
    }


def render_json(
    report: UsageReport,
    suggestion: Suggestion | None,
    replay_set: ReplaySet | None,
    snapshot: Snapshot | None,
    since: datetime | None,
    until: datetime | None,
    limits: ReportLimits,
) -> str:
    data: dict[str, Any] = {
        "bundle": {"name": snapshot.name, "revision": snapshot.revision} if snapshot else None,
        "period": {"since": _time(since) if since else None, "until": _time(until) if until else None},
        "first": _time(report.first) if report.first else None,
        "last": _time(report.last) if report.last else None,
        "lines": report.lines,
        "decisions": report.decisions,
        "in_period": report.in_period,
        "revisions": report.revisions,
        "principals": [_use_json(report.principals[key]) for key in sorted(report.principals)],
        "statements": [
            {
                "statement": s.ref,
                "kind": s.kind,
                "decided": s.decided,
                "last": _time(s.last) if s.last else None,
                "other_revisions": s.other_revisions,
            }
            for s in report.statements
        ],
        "unused_statements": [s.ref for s in report.statements if not s.decided],
        "suggestion": _suggestion_json(suggestion) if suggestion is not None else None,
        "problems": {
            "count": report.problems,
            "unreadable_files": report.unreadable_files,
            "shown": [str(p) for p in report.shown_problems],
        },
        "unattributable": report.unattributable,
        "explained": report.explained,
        "partial": report.partial,
        "untracked": report.untracked,
        "not_replayed": dict(replay_set.not_replayable) if replay_set else {},
        "replay_dropped": replay_set.dropped if replay_set else 0,
        "limits": {
            "max_line_bytes": limits.max_line_bytes,
            "max_field_chars": limits.max_field_chars,
            "max_entries": limits.max_entries,
            "max_replay": limits.max_replay,
            "collapse_at": limits.collapse_at,
        },
    }
    return json.dumps(data, indent=2) + "\n"


def _md(text: str) -> str:
    return _clean(text).replace("|", "\\|").replace("`", "'")


def render_markdown(
    report: UsageReport,
    suggestion: Suggestion | None,
    replay_set: ReplaySet | None,
    snapshot: Snapshot | None,
    since: datetime | None,
    until: datetime | None,
    limits: ReportLimits,
) -> str:
    lines = [f"### {_md(_header(report, snapshot, since, until))}", ""]
    lines += [
        "| principal | service | action | allowed | last allowed | denied | last denied |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in sorted(report.principals):
        use = report.principals[key]
        if not use.actions:
            lines.append(f"| `{_md(use.principal)}` | | *no activity* | | | | |")
        for action in sorted(use.actions.values(), key=lambda a: (a.service, a.action.lower())):
            lines.append(
                f"| `{_md(use.principal)}` | {_md(action.service)} | `{_md(action.action)}` "
                f"| {action.allowed} "
                f"| {_time(action.last_allowed)} | {action.denied} | {_time(action.last_denied)} |"
            )
    lines.append("")
    unused_services = [(key, report.principals[key].unused_services) for key in sorted(report.principals)]
    if any(services for _, services in unused_services):
        lines += ["**Granted, never used**", ""]
        lines += [f"- `{_md(key)}`: {', '.join(services)}" for key, services in unused_services if services]
        lines.append("")
    if snapshot is not None:
        unused = [s for s in report.statements if not s.decided]
        lines += [f"**Allow statements that decided nothing: {len(unused)} of {len(report.statements)}**", ""]
        lines += [f"- `{_md(s.ref)}`" for s in unused]
        lines.append("")
    if suggestion is not None:
        lines += [f"**Suggested policy for `{_md(suggestion.principal)}`**", "", "```json"]
        lines += [json.dumps(suggestion.document, indent=2), "```", ""]
        lines += [f"> {_md(line)}" for line in _replay_lines(suggestion)]
    lines += [f"> {_md(line)}" for line in _footer_lines(report, replay_set, limits)]
    return "\n".join(lines) + "\n"
