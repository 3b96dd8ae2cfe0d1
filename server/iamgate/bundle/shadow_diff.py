"""The verdict beside the shadow counters: what the candidate changes in access against the active revision.

Shadow evaluation shows disagreements only on the requests that happened to arrive; ``bundle
diff`` shows every (principal, action, resource pattern) the candidate adds or removes. The
sidecar computes that diff once per (active, candidate) pair, on a daemon thread of its own
started when the candidate is loaded (or the active revision changes), never on a request
thread. It evaluates copies of both snapshots with memos of their own, so the request path's
memos and decision caches are untouched; it is bounded by an evaluation limit (then marked
truncated) and stops early when the pair it was computing is replaced.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from iamgate.bundle.access import DEFAULT_LIMIT, AccessDiff, detached, diff_access
from iamgate.bundle.snapshot import Snapshot
from iamgate.catalogue import Catalogue

_LOG = logging.getLogger("iamgate.bundle.shadow")

DEFAULT_SHADOW_DIFF_LIMIT = DEFAULT_LIMIT
"""Evaluations one shadow access diff may cost (``iamgate serve --shadow-diff-limit``)."""

COMPUTING = "computing"
DONE = "done"
FAILED = "failed"
CHANGES = ("added", "removed", "widened", "narrowed")


@dataclass(frozen=True, slots=True)
class PrincipalChanges:
    principal: str
    added: int = 0
    removed: int = 0
    widened: int = 0
    narrowed: int = 0


@dataclass(frozen=True, slots=True)
class AccessVerdict:
    """The state of one (active, candidate) diff, as GetStatus and ``iamgate status`` show it."""

    state: str
    active_revision: str
    diff: AccessDiff | None = None
    error: str = ""
    computed_at: datetime | None = None

    def totals(self) -> dict[str, int]:
        changes = self.diff.changes if self.diff is not None else ()
        return {kind: sum(change.change == kind for change in changes) for kind in CHANGES}

    def by_principal(self) -> list[PrincipalChanges]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CHANGES, 0))
        for change in self.diff.changes if self.diff is not None else ():
            counts[change.row.principal][change.change] += 1
        return [PrincipalChanges(principal, **kinds) for principal, kinds in sorted(counts.items())]


class _Superseded(Exception):
    """The pair being compared was replaced: stop evaluating."""


class AccessDiffJob:
    """One diff of ``active`` -> ``candidate`` on a daemon thread; ``verdict()`` never blocks."""

    def __init__(
        self,
        active: Snapshot,
        candidate: Snapshot,
        catalogue: Callable[[], Catalogue],
        *,
        limit: int = DEFAULT_LIMIT,
        start: bool = True,
    ) -> None:
        self.active = active
        self.candidate = candidate
        self._catalogue = catalogue
        self._limit = limit
        self._cancelled = threading.Event()
        self._verdict = AccessVerdict(COMPUTING, active.revision)
        self._thread = threading.Thread(target=self._run, name="iamgate-shadow-diff", daemon=True)
        if start:
            self._thread.start()

    def verdict(self) -> AccessVerdict:
        return self._verdict

    def cancel(self) -> None:
        self._cancelled.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def run(self) -> None:
        """Compute on the calling thread (tests, or a job created with ``start=False``)."""
        self._run()

    def _run(self) -> None:
        def check() -> None:
            if self._cancelled.is_set():
                raise _Superseded

        try:
            diff = diff_access(
                detached(self.active),
                detached(self.candidate),
                self._catalogue(),
                limit=self._limit,
                check=check,
            )
        except _Superseded:
            return
        except Exception as error:  # a verdict that failed must say so, never crash a thread silently
            _LOG.exception("cannot compute the shadow bundle's access diff")
            self._verdict = AccessVerdict(
                FAILED, self.active.revision, error=f"{type(error).__name__}: {error}", computed_at=_now()
            )
            return
        self._verdict = AccessVerdict(DONE, self.active.revision, diff, computed_at=_now())


def _now() -> datetime:
    return datetime.now(UTC)
