"""Where the servicer gets the active bundle from: any object with ``current()`` and ``status()``.

The servicer reads ``current()`` once per request (a single attribute read), so a request always
runs against one complete snapshot even while another is being activated. ``StaticSnapshots`` is
the simple holder for a bundle loaded once at start-up; the bundle lifecycle manager (sources,
hot reload, shadow, persistence) offers the same methods.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SnapshotStatus:
    """What GetStatus reports beyond the active snapshot itself."""

    previous_revision: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_error_source: str | None = None
    shadow: Any | None = None
    """The shadow (candidate) snapshot, if one is loaded."""


@runtime_checkable
class SnapshotSource(Protocol):
    """The servicer's view of bundle activation."""

    def current(self) -> Any | None:
        """The active snapshot, or ``None`` while none has been activated."""

    def status(self) -> SnapshotStatus:
        """Previous revision, last error and shadow snapshot."""


class RollbackUnavailable(Exception):
    """There is no previous snapshot to return to (or the revision check failed)."""


class StaticSnapshots:
    """Holds the snapshot(s) activated by hand: the embedded default or one loaded at start-up.

    ``activate`` swaps one reference under a lock and remembers the previous snapshot, so that
    ``rollback`` can return to it.
    """

    def __init__(self, snapshot: Any | None = None) -> None:
        self._lock = threading.Lock()
        self._current = snapshot
        self._previous: Any | None = None
        self._last_error: tuple[str, datetime, str | None] | None = None

    def current(self) -> Any | None:
        return self._current

    def previous(self) -> Any | None:
        return self._previous

    def activate(self, snapshot: Any) -> None:
        with self._lock:
            self._previous, self._current = self._current, snapshot
            self._last_error = None

    def record_error(self, message: str, at: datetime, source: str | None = None) -> None:
        with self._lock:
            self._last_error = (message, at, source)

    def rollback(self, expected_revision: str = "") -> tuple[str, str]:
        """Re-activate the previous snapshot; returns ``(active revision, rolled back from)``."""
        with self._lock:
            current, previous = self._current, self._previous
            if current is None or previous is None:
                raise RollbackUnavailable("there is no previous revision to roll back to")
            if expected_revision and current.revision != expected_revision:
                raise RollbackUnavailable(
                    f"the active revision is {current.revision!r}, not {expected_revision!r}"
                )
            self._current, self._previous = previous, current
            return previous.revision, current.revision

    def status(self) -> SnapshotStatus:
        previous = self._previous
        error = self._last_error
        return SnapshotStatus(
            previous_revision=previous.revision if previous is not None else None,
            last_error=error[0] if error else None,
            last_error_at=error[1] if error else None,
            last_error_source=error[2] if error else None,
        )
