"""Where the servicer gets its answers from: a *snapshot source*.

A source offers ``current()`` (the active snapshot, or ``None``), ``authorize(query, explain=)``
(answer from the active snapshot, read once, so a request always runs against one complete
revision even while another is being activated) and ``status()`` (a ``BundleStatus`` of the
bundle layer: active and previous revisions, last error, shadow counters). It may also offer
``rollback(expected_revision)``, ``start()``/``stop()`` (its pollers) and ``add_listener()``
(activation events, for metrics).

``ManagedBundles`` (``iamgate.service.bundles``) is the source of ``iamgate serve``: the bundle
layer's ``BundleManager`` with its pollers. ``StaticSnapshots`` is a plain holder of snapshots
activated by hand, for tests and embedders that compile snapshots themselves.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from iamgate.bundle.activation import BundleStatus, LoadError, NoActiveBundleError


@runtime_checkable
class SnapshotSource(Protocol):
    """The servicer's view of bundle activation."""

    def current(self) -> Any | None:
        """The active snapshot, or ``None`` while none has been activated."""

    def authorize(self, query: Any, *, explain: bool = False) -> Any:
        """Answer ``query`` from the active snapshot; ``NoActiveBundleError`` while there is none."""

    def status(self) -> BundleStatus:
        """Active and previous revisions, last error, shadow counters."""


class RollbackUnavailable(Exception):
    """There is no previous snapshot to return to (or the revision check failed)."""


class StaticSnapshots:
    """Holds the snapshot(s) activated by hand.

    ``activate`` swaps one reference under a lock and remembers the previous snapshot, so that
    ``rollback`` can return to it. Any object with the Snapshot's ``authorize``, ``name``,
    ``revision``, ``source``, ``activated_at`` and ``counts`` will do.
    """

    def __init__(self, snapshot: Any | None = None) -> None:
        self._lock = threading.Lock()
        self._current = snapshot
        self._previous: Any | None = None
        self._last_error: LoadError | None = None
        self._activations = 0 if snapshot is None else 1

    def current(self) -> Any | None:
        return self._current

    def previous(self) -> Any | None:
        return self._previous

    def authorize(self, query: Any, *, explain: bool = False) -> Any:
        snapshot = self._current
        if snapshot is None:
            raise NoActiveBundleError("no bundle is active yet")
        return snapshot.authorize(query, explain=explain)

    def activate(self, snapshot: Any) -> None:
        with self._lock:
            self._previous, self._current = self._current, snapshot
            self._last_error = None
            self._activations += 1

    def record_error(self, message: str, at: datetime, source: str | None = None, step: str = "") -> None:
        with self._lock:
            self._last_error = LoadError(step, message, source or "", at)

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
            self._activations += 1
            return previous.revision, current.revision

    def status(self) -> BundleStatus:
        with self._lock:
            return BundleStatus(
                active=self._current,
                previous=self._previous,
                last_error=self._last_error,
                last_attempt=None,
                last_success=None,
                activations=self._activations,
                rejections=0,
            )
