"""Bundle activation: verify -> parse -> validate -> compile -> run the bundle's tests -> swap.

``BundleManager`` holds the active Snapshot (and the previous one, for rollback) and replaces it
with one reference assignment under a lock, after the candidate has passed every step; a request
reads the reference once and finishes on that revision, so nobody ever sees half a bundle. A
bundle failing any step is rejected with the step and reason in ``status()`` (and in the event
passed to ``listener``, for logs and metrics) while the last good bundle keeps serving. The last
good bundle is persisted (temp file + rename) so that a restart with the bundle server down
serves it. A shadow candidate can be evaluated beside the active bundle (see ``shadow``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from iamgate.bundle import format as fmt
from iamgate.bundle.archive import archive_bytes, write_atomically
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import (
    BundleError,
    BundleFormatError,
    BundleValidationError,
    BundleVerificationError,
)
from iamgate.bundle.loader import DETAILS, BundleFiles, load_files
from iamgate.bundle.model import Bundle
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.reader import read_organization
from iamgate.bundle.shadow import ShadowEvaluator, ShadowStatus
from iamgate.bundle.signing import Verifier
from iamgate.bundle.snapshot import DEFAULT_CACHE_SIZE, Snapshot, SnapshotCounts
from iamgate.bundle.sources import Backoff, Poller, content_fingerprint, open_source
from iamgate.bundle.testing import run_tests
from iamgate.bundle.verify import check_bundle
from iamgate.errors import IamgateError
from iamgate.policy.json_text import load_strict

_log = logging.getLogger(__name__)

PERSISTED_BUNDLE = "last-good.tar.gz"
PERSISTED_STATE = "last-good.json"


class Step(StrEnum):
    """The activation pipeline, in order."""

    READ = "read"
    VERIFY = "verify"
    VALIDATE = "validate"
    COMPILE = "compile"
    TEST = "test"


class ActivationError(BundleError):
    """A candidate bundle failed one step; ``step`` says which, the message says why."""

    def __init__(self, step: Step, message: str) -> None:
        self.step = step
        super().__init__(f"{step.value}: {message}")


class NoActiveBundleError(BundleError):
    """No bundle has been activated yet (the service answers UNAVAILABLE)."""


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    name: str
    revision: str
    source: str
    activated_at: datetime
    counts: SnapshotCounts
    signature: str

    @classmethod
    def of(cls, snapshot: Snapshot) -> RevisionInfo:
        return cls(
            snapshot.name,
            snapshot.revision,
            snapshot.source,
            snapshot.activated_at,
            snapshot.counts,
            snapshot.signature,
        )


@dataclass(frozen=True, slots=True)
class LoadError:
    step: str
    message: str
    source: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BundleStatus:
    active: RevisionInfo | None
    previous: RevisionInfo | None
    last_error: LoadError | None
    """The most recent rejection, cleared by the next successful activation."""
    last_attempt: datetime | None
    last_success: datetime | None
    activations: int
    rejections: int
    shadow: ShadowStatus | None = None
    shadow_error: LoadError | None = None
    persist_error: str = ""


@dataclass(frozen=True, slots=True)
class ActivationEvent:
    """What happened to one candidate, for logs and metrics."""

    result: str
    """``activated``, ``rejected``, ``unchanged``, ``rolled-back``, ``restored``, ``shadowed``,
    ``fetch-failed``."""
    source: str
    revision: str = ""
    step: str = ""
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Loaded:
    snapshot: Snapshot
    files: BundleFiles | None
    fingerprint: str


class BundleManager:
    """Owns the active snapshot of one sidecar process."""

    def __init__(
        self,
        *,
        verifier: Verifier | None = None,
        persist_dir: str | os.PathLike[str] | None = None,
        run_bundle_tests: bool = True,
        listener: Callable[[ActivationEvent], object] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.cache_size = cache_size
        self.verifier = verifier
        self.persist_dir = Path(persist_dir) if persist_dir is not None else None
        self.run_bundle_tests = run_bundle_tests
        self._listener = listener or (lambda event: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._active: _Loaded | None = None
        self._previous: _Loaded | None = None
        self._shadow: ShadowEvaluator | None = None
        self._shadow_files: BundleFiles | None = None
        self._last_error: LoadError | None = None
        self._shadow_error: LoadError | None = None
        self._persist_error = ""
        self._last_attempt: datetime | None = None
        self._last_success: datetime | None = None
        self._activations = 0
        self._rejections = 0

    # -- reading ------------------------------------------------------------------------------

    def current(self) -> Snapshot | None:
        active = self._active
        return active.snapshot if active else None

    def previous(self) -> Snapshot | None:
        previous = self._previous
        return previous.snapshot if previous else None

    def authorize(
        self, query: AccessQuery, *, explain: bool = False, now: datetime | None = None
    ) -> AccessOutcome:
        """Answer from the active snapshot (read once); a shadow candidate is evaluated beside it."""
        active = self._active
        if active is None:
            raise NoActiveBundleError("no bundle is active yet")
        outcome = active.snapshot.authorize(query, explain=explain, now=now)
        shadow = self._shadow
        if shadow is not None:
            shadow.compare(active.snapshot, query, outcome, now)
        return outcome

    def status(self) -> BundleStatus:
        with self._lock:
            active, previous, shadow = self._active, self._previous, self._shadow
            return BundleStatus(
                active=RevisionInfo.of(active.snapshot) if active else None,
                previous=RevisionInfo.of(previous.snapshot) if previous else None,
                last_error=self._last_error,
                last_attempt=self._last_attempt,
                last_success=self._last_success,
                activations=self._activations,
                rejections=self._rejections,
                shadow=shadow.status() if shadow else None,
                shadow_error=self._shadow_error,
                persist_error=self._persist_error,
            )

    # -- activation ---------------------------------------------------------------------------

    def prepare(self, files: BundleFiles, *, revision: str | None = None) -> Snapshot:
        """Run every step but the swap; raise ``ActivationError`` naming the failed step.

        An unexpected exception in a step (a bug, or input no check foresaw) rejects the bundle
        at that step like any other failure: counted, in ``last_error``, the last good bundle
        serving. Its traceback goes to the debug log only.
        """
        progress = [Step.VERIFY]
        try:
            return self._run_steps(files, revision, progress)
        except ActivationError:
            raise
        except Exception as error:
            _log.debug("unexpected error in step %s of %s", progress[-1].value, files.source, exc_info=True)
            raise ActivationError(progress[-1], f"unexpected {type(error).__name__}: {error}") from None

    def _run_steps(self, files: BundleFiles, revision: str | None, progress: list[Step]) -> Snapshot:
        """``prepare``'s steps; each appends itself to ``progress`` so a surprise names its step."""
        try:
            checked = check_bundle(files, verifier=self.verifier, revision=revision)
        except BundleVerificationError as error:
            raise ActivationError(Step.VERIFY, f"{error} [{error.reason}]") from None
        except BundleError as error:
            raise ActivationError(Step.VERIFY, str(error)) from None
        progress.append(Step.VALIDATE)
        result = read_organization(files)
        if result.errors:
            error = BundleValidationError(files.source, result.problems)
            raise ActivationError(Step.VALIDATE, str(error))
        bundle = Bundle(
            checked.manifest, result.organization, files.source, checked.signature, result.warnings
        )
        progress.append(Step.COMPILE)
        try:
            snapshot = build_snapshot(bundle, source=files.source, activated_at=self._clock())
        except IamgateError as error:
            raise ActivationError(Step.COMPILE, str(error)) from None
        if self.run_bundle_tests and snapshot.tests:
            progress.append(Step.TEST)
            report = run_tests(snapshot)
            if not report.ok:
                failed = "; ".join(
                    f"{r.test.name}: expected {r.test.expected.value}, "
                    f"got {r.got.value if r.got else 'an error'}"
                    for r in report.failed
                )
                raise ActivationError(
                    Step.TEST, f"{len(report.failed)} of {len(report.results)} tests fail: {failed}"
                )
        return snapshot

    def offer(self, files: BundleFiles, *, revision: str | None = None) -> ActivationEvent:
        """Try to activate ``files``; never raises: the outcome is the returned (and emitted) event."""
        return self._attempt(files, revision)[0]

    def activate_files(self, files: BundleFiles, *, revision: str | None = None) -> Snapshot:
        """Like ``offer`` but raises ``ActivationError`` when the bundle is rejected."""
        event, error = self._attempt(files, revision)
        if error is not None:
            raise error
        snapshot = self.current()
        assert snapshot is not None, event
        return snapshot

    def _attempt(
        self, files: BundleFiles, revision: str | None
    ) -> tuple[ActivationEvent, ActivationError | None]:
        started = time.perf_counter()
        fingerprint = content_fingerprint(files.files) + (f"@{revision}" if revision else "")
        with self._lock:
            self._last_attempt = self._clock()
            active = self._active
        if active is not None and active.fingerprint == fingerprint:
            return self._emit(ActivationEvent("unchanged", files.source, active.snapshot.revision)), None
        try:
            snapshot = self.prepare(files, revision=revision)
        except ActivationError as error:
            with self._lock:
                self._rejections += 1
                self._last_error = LoadError(error.step.value, str(error), files.source, self._clock())
            seconds = time.perf_counter() - started
            event = ActivationEvent("rejected", files.source, "", error.step.value, str(error), seconds)
            return self._emit(event), error
        self._swap(_Loaded(snapshot, files, fingerprint))
        seconds = time.perf_counter() - started
        return self._emit(
            ActivationEvent("activated", files.source, snapshot.revision, seconds=seconds)
        ), None

    def activate_path(self, path: str | os.PathLike[str], *, revision: str | None = None) -> Snapshot:
        try:
            files = load_files(path)
        except (BundleFormatError, OSError) as error:
            with self._lock:
                self._rejections += 1
                self._last_error = LoadError(Step.READ.value, str(error), str(path), self._clock())
            self._emit(ActivationEvent("rejected", str(path), step=Step.READ.value, message=str(error)))
            raise ActivationError(Step.READ, str(error)) from None
        return self.activate_files(files, revision=revision)

    def activate_snapshot(self, snapshot: Snapshot) -> None:
        """Install an already compiled snapshot (the embedded default bundle); it is not persisted."""
        self._swap(_Loaded(snapshot, None, f"snapshot:{snapshot.revision}"), persist=False)
        self._emit(ActivationEvent("activated", snapshot.source, snapshot.revision))

    def rollback(self, expected_revision: str = "") -> Snapshot:
        """Make the previous revision active again (and the current one the previous).

        With ``expected_revision``, roll back only if that is still the active revision: checked
        under the same lock as the swap, so a bundle activated meanwhile is never rolled back by
        mistake.
        """
        with self._lock:
            if self._previous is None:
                raise BundleError("there is no previous revision to roll back to")
            current = self._active.snapshot.revision if self._active is not None else ""
            if expected_revision and current != expected_revision:
                raise BundleError(f"the active revision is {current!r}, not {expected_revision!r}")
            self._active, self._previous = self._previous, self._active
            active = self._active
        self._persist(active)
        self._emit(ActivationEvent("rolled-back", active.snapshot.source, active.snapshot.revision))
        return active.snapshot

    def _swap(self, loaded: _Loaded, *, persist: bool = True) -> None:
        # Each activated revision gets a decision cache of its own: a swap never serves a
        # decision of another revision, and rolling back starts cold rather than stale.
        loaded = replace(loaded, snapshot=loaded.snapshot.with_cache(self.cache_size))
        with self._lock:
            if self._active is not None:
                self._previous = self._active
            self._active = loaded
            self._activations += 1
            self._last_error = None
            self._last_success = self._clock()
        if persist:
            self._persist(loaded)

    # -- sources ------------------------------------------------------------------------------

    def source_failed(self, error: BundleError, source: str, *, shadow: bool = False) -> None:
        """Record that a source could not be fetched (the active bundle keeps serving)."""
        failure = LoadError("fetch", str(error), source, self._clock())
        with self._lock:
            if shadow:
                self._shadow_error = failure
            else:
                self._last_error = failure
        self._emit(ActivationEvent("fetch-failed", source, step="fetch", message=str(error)))

    def watch(
        self,
        location: str,
        *,
        interval: float = 5.0,
        shadow: bool = False,
        backoff: Backoff | None = None,
    ) -> Poller:
        """A poller feeding this manager from ``location`` (a path or an http(s) URL); call ``start()``.

        Call ``poll_once()`` first to activate synchronously at start-up (after ``restore()``).
        """
        source = open_source(location)
        on_files = self.offer_shadow if shadow else self.offer
        return Poller(
            source,
            on_files,
            interval=interval,
            backoff=backoff,
            on_error=lambda error: self.source_failed(error, source.description, shadow=shadow),
        )

    # -- shadow -------------------------------------------------------------------------------

    def offer_shadow(self, files: BundleFiles, *, revision: str | None = None) -> ActivationEvent:
        """Load a candidate (every step but the swap) and evaluate it beside the active bundle."""
        try:
            snapshot = self.prepare(files, revision=revision)
        except ActivationError as error:
            with self._lock:
                self._shadow_error = LoadError(error.step.value, str(error), files.source, self._clock())
            return self._emit(
                ActivationEvent("rejected", files.source, step=error.step.value, message=f"shadow: {error}")
            )
        with self._lock:
            self._shadow = ShadowEvaluator(snapshot.with_cache(self.cache_size))
            self._shadow_files = files
            self._shadow_error = None
        return self._emit(ActivationEvent("shadowed", files.source, snapshot.revision))

    def clear_shadow(self) -> None:
        with self._lock:
            self._shadow = None
            self._shadow_files = None

    def promote_shadow(self) -> Snapshot:
        """Make the shadow candidate the active bundle (it passed every step already)."""
        with self._lock:
            shadow, files = self._shadow, self._shadow_files
            self._shadow = None
            self._shadow_files = None
        if shadow is None or files is None:
            raise BundleError("there is no shadow bundle to promote")
        self._swap(_Loaded(shadow.snapshot, files, content_fingerprint(files.files)))
        self._emit(
            ActivationEvent("activated", files.source, shadow.snapshot.revision, message="promoted shadow")
        )
        return shadow.snapshot

    # -- persistence --------------------------------------------------------------------------

    def restore(self) -> Snapshot | None:
        """Activate the persisted last good bundle (re-verified, re-tested); ``None`` if there is none."""
        if self.persist_dir is None:
            return None
        path = self.persist_dir / PERSISTED_BUNDLE
        if not path.exists():
            return None
        source = str(path)
        fingerprint = ""
        try:
            state = load_strict((self.persist_dir / PERSISTED_STATE).read_bytes())
            source = str(state.get("source") or source)
            fingerprint = str(state.get("fingerprint") or "")
        except (OSError, ValueError, AttributeError):
            pass
        try:
            files = load_files(path)
            snapshot = self.prepare(files)
        except BundleError as error:
            with self._lock:
                self._last_error = LoadError("restore", str(error), str(path), self._clock())
            self._emit(ActivationEvent("rejected", str(path), step="restore", message=str(error)))
            return None
        restored = _Loaded(
            _with_source(snapshot, f"{source} (persisted)"),
            files,
            fingerprint or content_fingerprint(files.files),
        )
        self._swap(restored, persist=False)
        self._emit(ActivationEvent("restored", str(path), snapshot.revision))
        return restored.snapshot

    def _persist(self, loaded: _Loaded) -> None:
        if self.persist_dir is None or loaded.files is None:
            return
        try:
            self.persist_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(self.persist_dir / PERSISTED_BUNDLE, archive_bytes(_persistable(loaded)))
            state = {
                "name": loaded.snapshot.name,
                "revision": loaded.snapshot.revision,
                "source": loaded.snapshot.source,
                "activated_at": loaded.snapshot.activated_at.isoformat(),
                # The source's own fingerprint: the persisted copy may carry a generated manifest,
                # and a restart must not mistake the same bundle for a new revision.
                "fingerprint": loaded.fingerprint,
            }
            write_atomically(
                self.persist_dir / PERSISTED_STATE, (json.dumps(state, indent=2) + "\n").encode()
            )
            self._persist_error = ""
        except OSError as error:
            self._persist_error = f"cannot persist the bundle to {self.persist_dir}: {error.strerror}"

    def _emit(self, event: ActivationEvent) -> ActivationEvent:
        with contextlib.suppress(Exception):  # a broken listener must not break activation
            self._listener(event)
        return event


def _persistable(loaded: _Loaded) -> dict[str, bytes]:
    """The bundle's files as an archive that loads back as the same name and revision.

    A bundle with a manifest is kept byte for byte (its signature stays valid); one without gets
    a manifest naming the activated name and revision.
    """
    assert loaded.files is not None
    files = loaded.files
    if files.kind != DETAILS and fmt.MANIFEST in files.files:
        return dict(files.files)
    content = (
        {fmt.AUTHORIZATION_DETAILS: next(iter(files.files.values()))}
        if files.kind == DETAILS
        else {path: data for path, data in files.files.items() if path not in fmt.UNHASHED}
    )
    snapshot = loaded.snapshot
    manifest = fmt.manifest_object(
        name=snapshot.name,
        revision=snapshot.revision,
        created=snapshot.activated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        files=fmt.file_hashes(content),
    )
    return {**content, fmt.MANIFEST: fmt.dump_manifest(manifest)}


def _with_source(snapshot: Snapshot, source: str) -> Snapshot:
    return replace(snapshot, source=source)
