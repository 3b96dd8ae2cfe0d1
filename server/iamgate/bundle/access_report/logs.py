"""Reading the sidecar's decision logs: one JSON object a line, streamed, every line bounded.

The format is the one ``iamgate.service.decision_logs`` writes (version 1; README "Decision
logs"). The files are semi-trusted: what a line holds came from callers, and anyone able to write
the log directory can put anything there. So each line is read with a byte cap (a longer line is
skipped without being held in memory), decoded with ``load_strict`` (depth, duplicates, NaN) and
checked field by field; a line that does not fit is a ``LogProblem`` naming ``file:line``, never a
traceback. Rotated files (``decisions.log.1``) are plain files; gzip-compressed ones (logrotate's
``compress``) are recognised by their magic bytes, whatever their name.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from iamgate.policy.json_text import JsonTextError, load_strict

DEFAULT_MAX_LINE_BYTES = 64 * 1024
"""Four times the sidecar's default line cap (``--decision-log-max-line-bytes``, 16 KiB)."""
DEFAULT_MAX_FIELD_CHARS = 4096
"""Principal, action, resource, revision: the sidecar cuts them at 1,024 characters by default."""
_SKIP_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_DECISIONS = frozenset({"allowed", "explicitDeny", "implicitDeny"})
REDACTED = "**REDACTED**"
"""What the sidecar writes in place of a sensitive context key's values (``--sensitive-context-key``)."""
_IDENTITY_FIELDS = frozenset({"request.principal", "request.action", "principal_arn", "line"})
"""Cut fields that make a line's principal or action unknown (``line``: only the identity was kept,
each string cut to 32 characters)."""


@dataclass(frozen=True, slots=True)
class Determining:
    """One determining statement as logged: where it sits in the bundle revision that decided."""

    kind: str
    """``identity``, ``resource``, ``scp``, ``boundary`` or ``session``."""
    policy_id: str
    index: int
    sid: str


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One decision-log line, checked. ``where`` is ``file:line``."""

    where: str
    timestamp: datetime
    method: str
    revision: str
    principal: str
    """As the caller named it (``request.principal``)."""
    principal_arn: str
    """As the sidecar resolved it (the caller's text when unknown)."""
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...]
    """The caller's context keys and values; redacted keys are left out (see ``redacted``)."""
    session_policy: bool
    session_tags: tuple[tuple[str, str], ...]
    """A role session's tags (logged since the access report needs them; redacted ones left out)."""
    decision: str
    determining: tuple[Determining, ...]
    truncated: frozenset[str]
    """Fields the sidecar cut (``request.resource``, ``request.context``, ``line``...)."""
    redacted: frozenset[str]

    @property
    def allowed(self) -> bool:
        return self.decision == "allowed"

    @property
    def identity_cut(self) -> bool:
        """Whether the principal or action was cut: the line cannot be attributed."""
        return not self.truncated.isdisjoint(_IDENTITY_FIELDS)

    @property
    def replayable(self) -> bool:
        """Whether the request can be asked again as it was: nothing cut, nothing redacted, no
        session policy (the log records only that there was one)."""
        return not (self.truncated or self.redacted or self.session_policy)


@dataclass(frozen=True, slots=True)
class LogProblem:
    where: str
    """``file:line``, or the file alone when it cannot be opened."""
    message: str
    whole_file: bool = False
    """The file could not be read (or not to its end): the report is incomplete."""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class _Bad(Exception):
    pass


def read_logs(
    paths: Iterable[str | os.PathLike[str]],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
) -> Iterator[LoggedDecision | LogProblem]:
    """Every line of every file, in order, as a decision or a problem; blank lines are skipped."""
    for path in paths:
        name = os.fspath(path)
        try:
            stream = _open(name)
        except OSError as error:
            yield LogProblem(name, f"cannot read: {error.strerror or error}", whole_file=True)
            continue
        with stream:
            try:
                yield from _lines(stream, name, max_line_bytes, max_field_chars)
            except (OSError, EOFError, gzip.BadGzipFile) as error:  # a cut or corrupt .gz
                yield LogProblem(name, f"stopped reading: {error}", whole_file=True)


def _open(name: str) -> IO[bytes]:
    with open(name, "rb") as probe:
        magic = probe.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(name, "rb")
    return open(name, "rb")


def _lines(
    stream: IO[bytes], name: str, max_line_bytes: int, max_field_chars: int
) -> Iterator[LoggedDecision | LogProblem]:
    number = 0
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        where = f"{name}:{number}"
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest without holding it
                raw = stream.readline(_SKIP_CHUNK)
            yield LogProblem(where, f"line longer than {max_line_bytes:,} bytes (--max-line-bytes); skipped")
            continue
        raw = raw.strip()
        if not raw:
            continue
        try:
            yield parse_line(raw, where, max_field_chars)
        except _Bad as bad:
            yield LogProblem(where, _cut(str(bad)))


def parse_line(
    raw: bytes | str, where: str, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
) -> LoggedDecision:
    """One line as a decision; ``_Bad`` (a message naming the field) when it is not one."""
    try:
        event = load_strict(raw)
    except JsonTextError as error:
        raise _Bad(f"not a decision-log line: {error}") from None
    if not isinstance(event, dict):
        raise _Bad("not a decision-log line: not a JSON object")
    if event.get("version") != 1:
        raise _Bad(f"unsupported decision-log version {_short(event.get('version'))} (this reads version 1)")
    request = event.get("request")
    if not isinstance(request, dict):
        raise _Bad("request: missing or not an object")

    def text(container: dict[str, Any], key: str, path: str, *, required: bool = True) -> str:
        value = container.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            raise _Bad(f"{path}: missing or not a string")
        if len(value) > max_field_chars:
            raise _Bad(
                f"{path}: {len(value):,} characters, more than {max_field_chars:,} (--max-field-chars)"
            )
        return value

    stamp = text(event, "timestamp", "timestamp")
    try:
        timestamp = datetime.fromisoformat(stamp)
    except ValueError:
        raise _Bad(f"timestamp: {_short(stamp)} is not an ISO 8601 time") from None
    if timestamp.tzinfo is None:
        raise _Bad(f"timestamp: {_short(stamp)} has no time zone")
    decision = event.get("decision")
    if decision not in _DECISIONS:
        raise _Bad(f"decision: {_short(decision)} is not one of {', '.join(sorted(_DECISIONS))}")
    truncated = _names(event.get("truncated", []), "truncated", max_field_chars)
    context, lossy = _context(request.get("context", {}), max_field_chars)
    if lossy:
        truncated |= {"request.context"}
    redacted = _names(event.get("redacted", []), "redacted", max_field_chars)
    return LoggedDecision(
        where=where,
        timestamp=timestamp,
        method=text(event, "method", "method", required=False),
        revision=text(event, "revision", "revision", required=False),
        principal=text(request, "principal", "request.principal"),
        principal_arn=text(event, "principal_arn", "principal_arn", required=False),
        action=text(request, "action", "request.action"),
        resource=text(request, "resource", "request.resource"),
        context=context,
        session_policy=request.get("session_policy") is True,
        session_tags=_tags(request.get("session_tags", {}), max_field_chars),
        decision=decision,
        determining=_determining(event.get("determining", []), max_field_chars),
        truncated=truncated,
        redacted=redacted,
    )


def _names(value: Any, path: str, limit: int) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= limit for v in value):
        raise _Bad(f"{path}: not a list of field names")
    return frozenset(value)


def _context(value: Any, limit: int) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], bool]:
    """The logged context, and whether a value was lost (logged as ``null``: it could not be rendered)."""
    if not isinstance(value, dict):
        raise _Bad("request.context: not an object")
    entries = []
    lossy = False
    for key, values in value.items():
        if len(key) > limit:
            raise _Bad(f"request.context: a key of {len(key):,} characters (--max-field-chars {limit:,})")
        if values == REDACTED:
            continue
        if not isinstance(values, list) or not all(
            isinstance(v, str) and len(v) <= limit for v in values if v is not None
        ):
            raise _Bad(f"request.context.{_short(key)}: not a list of strings")
        lossy = lossy or None in values
        entries.append((key, tuple(v for v in values if v is not None)))
    return tuple(entries), lossy


def _tags(value: Any, limit: int) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and len(k) <= limit and len(v) <= limit for k, v in value.items()
    ):
        raise _Bad("request.session_tags: not an object of strings")
    return tuple((key, tag) for key, tag in value.items() if tag != REDACTED)


def _determining(value: Any, limit: int) -> tuple[Determining, ...]:
    if not isinstance(value, list):
        raise _Bad("determining: not a list")
    refs = []
    for position, item in enumerate(value):
        path = f"determining[{position}]"
        if not isinstance(item, dict):
            raise _Bad(f"{path}: not an object")
        kind, policy_id, sid, index = (item.get(k) for k in ("policy_type", "policy_id", "sid", "index"))
        if not (isinstance(kind, str) and isinstance(policy_id, str) and isinstance(sid, str)):
            raise _Bad(f"{path}: policy_type, policy_id and sid must be strings")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise _Bad(f"{path}.index: not a non-negative integer")
        if max(len(kind), len(policy_id), len(sid)) > limit:
            raise _Bad(f"{path}: a field longer than {limit:,} characters (--max-field-chars)")
        refs.append(Determining(kind, policy_id, index, sid))
    return tuple(refs)


def _cut(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "…"


def _short(value: Any) -> str:
    """A value for a message: its repr, cut (the line is semi-trusted)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"
