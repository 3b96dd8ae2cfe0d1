"""Shadow evaluation: judge a candidate bundle on live traffic before promoting it.

The candidate snapshot answers every query the active one answers; the caller always gets the
active answer. Each disagreement (a different decision) is counted and the most recent ones are
kept with both explanations, evaluated again with ``explain=True`` by the same evaluator, so a
rollout can be judged on real traffic. Nothing the shadow does can change or fail the answer.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from iamgate.bundle.access import DEFAULT_LIMIT
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.shadow_diff import AccessDiffJob, AccessVerdict
from iamgate.bundle.snapshot import Snapshot
from iamgate.catalogue import Catalogue

_LOG = logging.getLogger("iamgate.bundle.shadow")


@dataclass(frozen=True, slots=True)
class Disagreement:
    query: AccessQuery
    at: datetime
    active: AccessOutcome
    """The active bundle's answer, with its explanation."""
    shadow: AccessOutcome
    """The candidate's answer, with its explanation."""


@dataclass(frozen=True, slots=True, eq=False)
class _Pending:
    """A disagreement as recorded on the request thread, before it is explained."""

    query: AccessQuery
    at: datetime
    active_snapshot: Snapshot
    answer: AccessOutcome
    candidate: AccessOutcome


@dataclass(frozen=True, slots=True)
class ShadowStatus:
    name: str
    revision: str
    source: str
    evaluated: int
    agreed: int
    disagreed: int
    errors: int
    recent: tuple[Disagreement, ...]
    last_error: str = ""
    access: AccessVerdict | None = None
    """What the candidate changes in access against the active revision (``bundle/shadow_diff.py``)."""


class ShadowEvaluator:
    """Evaluates one candidate snapshot beside the active one and records disagreements."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        keep: int = 100,
        logger: logging.Logger | None = None,
        catalogue: Callable[[], Catalogue] | None = None,
        diff_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.snapshot = snapshot
        self._catalogue = catalogue
        self._diff_limit = diff_limit
        self._diff: AccessDiffJob | None = None
        self._log = logger or _LOG
        self._lock = threading.Lock()
        self._recent: deque[_Pending | Disagreement] = deque(maxlen=keep)
        self._evaluated = 0
        self._agreed = 0
        self._disagreed = 0
        self._errors = 0
        self._last_error = ""

    def compare(
        self, active: Snapshot, query: AccessQuery, answer: AccessOutcome, now: datetime | None
    ) -> None:
        """Evaluate ``query`` on the candidate; never raises."""
        moment = now or datetime.now(UTC)
        try:
            candidate = self.snapshot.authorize(query, now=moment)
        except Exception as error:  # the shadow must never affect the answer
            with self._lock:
                self._evaluated += 1
                self._errors += 1
                self._last_error = f"{type(error).__name__}: {error}"
            return
        if candidate.evaluation.decision is answer.evaluation.decision:
            with self._lock:
                self._evaluated += 1
                self._agreed += 1
            return
        # Explanations cost two more evaluations: they are made when someone reads the status,
        # not on the request thread (see ``_explained``).
        with self._lock:
            self._evaluated += 1
            self._disagreed += 1
            self._recent.append(_Pending(query, moment, active, answer, candidate))
        self._log.warning(
            "shadow bundle %s@%s disagrees: %s %s %s: active %s@%s says %s (%s), shadow says %s (%s)",
            self.snapshot.name,
            self.snapshot.revision,
            query.principal,
            query.action,
            query.resource,
            active.name,
            active.revision,
            answer.evaluation.decision.value,
            answer.message,
            candidate.evaluation.decision.value,
            candidate.message,
        )

    def _explained(self, entry: _Pending | Disagreement) -> Disagreement:
        if isinstance(entry, Disagreement):
            return entry
        try:
            active = entry.active_snapshot.authorize(entry.query, explain=True, now=entry.at)
            shadow = self.snapshot.authorize(entry.query, explain=True, now=entry.at)
        except Exception as error:  # fall back to the plain answers
            self._last_error = f"{type(error).__name__}: {error}"
            active, shadow = entry.answer, entry.candidate
        return Disagreement(entry.query, entry.at, active, shadow)

    def compare_with(self, active: Snapshot | None) -> AccessVerdict | None:
        """The access diff against ``active``: started on a thread of its own the first time a
        revision is asked about (the previous pair's job is cancelled), read afterwards."""
        if active is None or self._catalogue is None or self._diff_limit <= 0:
            return None
        with self._lock:
            job = self._diff
            if job is None or job.active is not active:
                if job is not None:
                    job.cancel()
                job = self._diff = AccessDiffJob(
                    active, self.snapshot, self._catalogue, limit=self._diff_limit
                )
        return job.verdict()

    def close(self) -> None:
        """Stop the access diff, if one is running (the candidate was replaced or promoted)."""
        with self._lock:
            if self._diff is not None:
                self._diff.cancel()

    def status(self, active: Snapshot | None = None) -> ShadowStatus:
        access = self.compare_with(active)
        with self._lock:
            pending = list(self._recent)
        explained = [self._explained(entry) for entry in pending]
        with self._lock:
            # Keep the explanations made, so each disagreement is explained at most once.
            for before, after in zip(pending, explained, strict=True):
                if before is not after and before in self._recent:
                    self._recent[self._recent.index(before)] = after
            return ShadowStatus(
                name=self.snapshot.name,
                revision=self.snapshot.revision,
                source=self.snapshot.source,
                evaluated=self._evaluated,
                agreed=self._agreed,
                disagreed=self._disagreed,
                errors=self._errors,
                recent=tuple(explained),
                last_error=self._last_error,
                access=access,
            )
