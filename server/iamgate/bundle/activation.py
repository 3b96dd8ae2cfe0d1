"""Bundle activation: verify -> parse -> validate -> compile -> run the bundle's tests -> swap.

``BundleManager`` holds the active Snapshot (and the previous one, for rollback) and replaces it
with one reference assignment under a lock, after the candidate has passed every step; a request
reads the reference once and finishes on that revision, so nobody ever sees half a bundle. A
bundle failing any step is rejected with the step and reason in ``status()`` (and in the event
passed to ``listener``, for logs and metrics) while the last good bundle keeps serving. The last
good bundle is persisted — bundle and state in one file, committed by one rename — so that a
restart with the bundle server down serves it. A rollback holds the revision it left back (also
across restarts) until the source offers another; with verification configured, a signed
candidate older than the active revision (by the manifest's ``created``) is refused. A shadow
candidate can be evaluated beside the active bundle (see ``shadow``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
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
from typing import TYPE_CHECKING

from iamgate.bundle import format as fmt
from iamgate.bundle.access_catalogue import catalogue_of
from iamgate.bundle.archive import archive_bytes, write_atomically
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import (
    BundleError,
    BundleFormatError,
    BundleValidationError,
    BundleVerificationError,
)
from iamgate.bundle.loader import DETAILS, BundleFiles, files_from_bytes, load_files
from iamgate.bundle.model import Bundle
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.reader import read_organization
from iamgate.bundle.redact import redact
from iamgate.bundle.shadow import ShadowEvaluator, ShadowStatus
from iamgate.bundle.shadow_diff import DEFAULT_SHADOW_DIFF_LIMIT
from iamgate.bundle.snapshot import DEFAULT_CACHE_SIZE, DEFAULT_SESSION_MEMO_BYTES, Snapshot, SnapshotCounts
from iamgate.bundle.sources import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    Backoff,
    Poller,
    content_fingerprint,
    open_source,
)
from iamgate.bundle.trust import NO_TRUSTED_KEYS, TrustedKeys
from iamgate.bundle.verify import check_bundle
from iamgate.errors import IamgateError
from iamgate.policy.json_text import load_strict

if TYPE_CHECKING:
    from iamgate.bundle.signing import Verifier  # the signing module (and cryptography) loads with a key

_log = logging.getLogger(__name__)

PERSISTED = "last-good.bundle.json"
"""The persisted last good bundle and its state, in one file committed by one rename."""
PERSISTED_FORMAT = "iamgate-persisted/v1"
LEGACY_BUNDLE = "last-good.tar.gz"
LEGACY_STATE = "last-good.json"
"""The layout before ``PERSISTED``: two files renamed one after the other (a crash between the
renames left them of different revisions). Still restored when they agree; removed by the next
commit."""
PERSISTED_BUNDLE = LEGACY_BUNDLE  # the old names, for embedders that looked for them
PERSISTED_STATE = LEGACY_STATE


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
    trusted_context_keys: tuple[str, ...] = ()
    """Sidecar-owned context keys callers are trusted to assert (``--trust-context-key``)."""


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
    created: datetime | None = None
    """The manifest's ``created`` time: what orders signed revisions (downgrade protection)."""


@dataclass(frozen=True, slots=True)
class _HeldBack:
    """A revision an admin rolled back from: not re-activated until the source offers another."""

    revision: str
    fingerprint: str


def manifest_time(created: str) -> datetime | None:
    """The manifest's ``created`` as an aware datetime, or ``None`` when it is missing or unusable.

    An RFC 3339 timestamp (``2026-11-28T12:00:00Z``; an offset is honoured, no offset means UTC).
    """
    if not created or not created.strip():
        return None
    try:
        moment = datetime.fromisoformat(created.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
        trusted_keys: TrustedKeys = NO_TRUSTED_KEYS,
        shadow_diff_limit: int = DEFAULT_SHADOW_DIFF_LIMIT,
        session_memo_bytes: int = DEFAULT_SESSION_MEMO_BYTES,
    ) -> None:
        self.cache_size = cache_size
        self.shadow_diff_limit = shadow_diff_limit
        self.session_memo_bytes = session_memo_bytes
        self.trusted_keys = trusted_keys
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
        self._shadow_created: datetime | None = None
        self._last_error: LoadError | None = None
        self._shadow_error: LoadError | None = None
        self._persist_error = ""
        self._last_attempt: datetime | None = None
        self._last_success: datetime | None = None
        self._activations = 0
        self._rejections = 0
        self._held_back: _HeldBack | None = None
        self._persist_lock = threading.Lock()
        self._state_key = _state_key(verifier)

    # -- reading ------------------------------------------------------------------------------

    def current(self) -> Snapshot | None:
        active = self._active
        return active.snapshot if active else None

    def previous(self) -> Snapshot | None:
        previous = self._previous
        return previous.snapshot if previous else None

    @property
    def shadowing(self) -> bool:
        """A shadow bundle is evaluated beside every answer (no answer may skip ``authorize``)."""
        return self._shadow is not None

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
                shadow=shadow.status(active.snapshot if active else None) if shadow else None,
                shadow_error=self._shadow_error,
                persist_error=self._persist_error,
                trusted_context_keys=self.trusted_keys.names,
            )

    # -- activation ---------------------------------------------------------------------------

    def prepare(self, files: BundleFiles, *, revision: str | None = None) -> Snapshot:
        """Run every step but the swap; raise ``ActivationError`` naming the failed step."""
        return self._prepare(files, revision)[0]

    def _prepare(
        self, files: BundleFiles, revision: str | None, *, newer_than: _Loaded | None = None
    ) -> tuple[Snapshot, datetime | None]:
        """``prepare``, also returning the manifest's ``created`` time.

        With ``newer_than`` (the active bundle, when a source offers a candidate) and verification
        configured, a signed candidate older than it is refused right after verification.

        An unexpected exception in a step (a bug, or input no check foresaw) rejects the bundle
        at that step like any other failure: counted, in ``last_error``, the last good bundle
        serving. Its traceback goes to the debug log only.
        """
        progress = [Step.VERIFY]
        try:
            return self._run_steps(files, revision, progress, newer_than)
        except ActivationError:
            raise
        except Exception as error:
            _log.debug("unexpected error in step %s of %s", progress[-1].value, files.source, exc_info=True)
            raise ActivationError(progress[-1], f"unexpected {type(error).__name__}: {error}") from None

    def _run_steps(
        self, files: BundleFiles, revision: str | None, progress: list[Step], newer_than: _Loaded | None
    ) -> tuple[Snapshot, datetime | None]:
        """``_prepare``'s steps; each appends itself to ``progress`` so a surprise names its step."""
        try:
            checked = check_bundle(files, verifier=self.verifier, revision=revision)
        except BundleVerificationError as error:
            raise ActivationError(Step.VERIFY, f"{error} [{error.reason}]") from None
        except BundleError as error:
            raise ActivationError(Step.VERIFY, str(error)) from None
        created = manifest_time(checked.manifest.created)
        if newer_than is not None and self.verifier is not None:
            _refuse_downgrade(checked.manifest.revision, created, newer_than, files.files.get(fmt.MANIFEST))
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
        snapshot = snapshot.with_trust(self.trusted_keys)  # its tests prove what serving will answer
        if self.run_bundle_tests and snapshot.tests:
            progress.append(Step.TEST)
            from iamgate.bundle.testing import run_tests  # the embedded bundle never gets here

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
        return snapshot, created

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
            active, held = self._active, self._held_back
        if active is not None and active.fingerprint == fingerprint:
            return self._emit(ActivationEvent("unchanged", files.source, active.snapshot.revision)), None
        if held is not None and held.fingerprint == fingerprint:
            # an admin rolled this revision back: the source offering it again changes nothing
            message = f"revision {held.revision} was rolled back; waiting for the source to offer another"
            event = ActivationEvent("unchanged", files.source, held.revision, message=message)
            return self._emit(event), None
        try:
            snapshot, created = self._prepare(files, revision, newer_than=active)
        except ActivationError as error:
            with self._lock:
                self._rejections += 1
                self._last_error = LoadError(error.step.value, str(error), files.source, self._clock())
            seconds = time.perf_counter() - started
            event = ActivationEvent("rejected", files.source, "", error.step.value, str(error), seconds)
            return self._emit(event), error
        self._swap(_Loaded(snapshot, files, fingerprint, created), release_held_back=True)
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

        The revision rolled back from is held back: a source offering it again does not
        re-activate it (not even after a restart: the hold is persisted with the bundle) until
        the source offers a different revision. A rollback is the one way to an older revision
        of a signed bundle (see ``_refuse_downgrade``).

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
            active, rolled_from = self._active, self._previous
            if rolled_from is not None and rolled_from.files is not None:
                self._held_back = _HeldBack(rolled_from.snapshot.revision, rolled_from.fingerprint)
        self._persist()
        self._emit(ActivationEvent("rolled-back", active.snapshot.source, active.snapshot.revision))
        return active.snapshot

    def _swap(self, loaded: _Loaded, *, persist: bool = True, release_held_back: bool = False) -> None:
        # Each activated revision gets a decision cache of its own: a swap never serves a
        # decision of another revision, and rolling back starts cold rather than stale.
        snapshot = loaded.snapshot.with_cache(
            self.cache_size, session_memo_bytes=self.session_memo_bytes
        ).with_trust(self.trusted_keys)
        loaded = replace(loaded, snapshot=snapshot)
        with self._lock:
            if release_held_back:
                self._held_back = None
            if self._active is not None:
                self._previous = self._active
            self._active = loaded
            self._activations += 1
            self._last_error = None
            self._last_success = self._clock()
        if persist:
            self._persist()

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
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> Poller:
        """A poller feeding this manager from ``location`` (a path or an http(s) URL); call ``start()``.

        Call ``poll_once()`` first to activate synchronously at start-up (after ``restore()``).
        """
        source = open_source(
            location, download_timeout=download_timeout, max_download_bytes=max_download_bytes
        )
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
            snapshot, created = self._prepare(files, revision)
        except ActivationError as error:
            with self._lock:
                self._shadow_error = LoadError(error.step.value, str(error), files.source, self._clock())
            return self._emit(
                ActivationEvent("rejected", files.source, step=error.step.value, message=f"shadow: {error}")
            )
        evaluator = ShadowEvaluator(
            snapshot.with_cache(self.cache_size, session_memo_bytes=self.session_memo_bytes),
            catalogue=lambda: catalogue_of(files),
            diff_limit=self.shadow_diff_limit,
        )
        with self._lock:
            if self._shadow is not None:
                self._shadow.close()
            self._shadow = evaluator
            self._shadow_files = files
            self._shadow_created = created
            self._shadow_error = None
            active = self._active
        evaluator.compare_with(active.snapshot if active else None)  # the verdict starts computing now
        return self._emit(ActivationEvent("shadowed", files.source, snapshot.revision))

    def clear_shadow(self) -> None:
        with self._lock:
            if self._shadow is not None:
                self._shadow.close()
            self._shadow = None
            self._shadow_files = None

    def promote_shadow(self) -> Snapshot:
        """Make the shadow candidate the active bundle (it passed every step already)."""
        with self._lock:
            shadow, files, created = self._shadow, self._shadow_files, self._shadow_created
            self._shadow = None
            self._shadow_files = None
        if shadow is None or files is None:
            raise BundleError("there is no shadow bundle to promote")
        shadow.close()
        # an explicit operator action, like a rollback: no downgrade check
        self._swap(_Loaded(shadow.snapshot, files, content_fingerprint(files.files), created))
        self._emit(
            ActivationEvent("activated", files.source, shadow.snapshot.revision, message="promoted shadow")
        )
        return shadow.snapshot

    # -- persistence --------------------------------------------------------------------------

    def restore(self) -> Snapshot | None:
        """Activate the persisted last good bundle (re-verified, re-tested); ``None`` if there is none.

        A damaged or torn persisted state is not restored: it is reported (a ``restore``
        rejection, in ``last_error`` and the log) and the sidecar waits for its source.
        """
        if self.persist_dir is None:
            return None
        try:
            persisted = self._read_persisted()
        except _TornState as error:
            self._torn(str(error))
            return None
        if persisted is None:
            return None
        files, state, where = persisted
        if self.verifier is not None and state.fingerprint:
            own = content_fingerprint(files.files)
            if state.fingerprint != own and not state.fingerprint.startswith(own + "@"):
                # a signed bundle is persisted byte for byte: its fingerprint is its content's. A
                # different one would make the source's next revision look "unchanged" (a pin).
                self._torn(f"{where}: the persisted fingerprint is not the bundle's own (altered)")
                return None
        try:
            snapshot, created = self._prepare(files, None)
        except BundleError as error:
            with self._lock:
                self._rejections += 1
                self._last_error = LoadError("restore", str(error), where, self._clock())
            self._emit(ActivationEvent("rejected", where, step="restore", message=str(error)))
            return None
        if state.revision and state.revision != snapshot.revision:
            self._torn(
                f"{where}: the bundle is revision {snapshot.revision} but its metadata says revision "
                f"{state.revision} (a torn write)"
            )
            return None
        source = redact(state.source or where)
        restored = _Loaded(
            _with_source(snapshot, f"{source} (persisted)"),
            files,
            state.fingerprint or content_fingerprint(files.files),
            created,
        )
        with self._lock:
            self._held_back = state.held_back
        self._swap(restored, persist=False)
        self._emit(ActivationEvent("restored", where, snapshot.revision))
        return restored.snapshot

    def _torn(self, reason: str) -> None:
        message = f"{reason}; ignoring the persisted state and waiting for the source"
        with self._lock:
            self._rejections += 1
            self._last_error = LoadError("restore", message, str(self.persist_dir), self._clock())
        self._emit(ActivationEvent("rejected", str(self.persist_dir), step="restore", message=message))

    def _read_persisted(self) -> tuple[BundleFiles, _PersistedState, str] | None:
        """The persisted bundle and its state (new layout, else the legacy two files), or ``None``."""
        assert self.persist_dir is not None
        path = self.persist_dir / PERSISTED
        legacy = self.persist_dir / LEGACY_BUNDLE
        if not path.exists() and not legacy.exists():
            return None
        _check_private(self.persist_dir)
        if path.exists():
            _check_private(path)
            return _read_single_file(path, self._state_key)
        if self._state_key is not None:
            raise _TornState(
                f"{legacy}: the legacy persisted layout carries no MAC and --hmac-secret-file is configured"
            )
        _check_private(legacy)
        state = _PersistedState()
        state_path = self.persist_dir / LEGACY_STATE
        if state_path.exists():
            _check_private(state_path)
            try:
                document = load_strict(state_path.read_bytes())
                if not isinstance(document, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as error:
                raise _TornState(f"{state_path}: unreadable ({error})") from None
            state = _PersistedState.of(document)
        try:
            files = load_files(legacy)
        except BundleError as error:
            raise _TornState(f"{legacy}: unreadable ({error})") from None
        return files, state, str(legacy)

    def _persist(self) -> None:
        """Commit the active bundle and its state in one file: temp file, fsync, one rename, fsync dir.

        Commits are serialized and each writes what is active when it runs, so a slow commit of
        a swap can never overwrite the commit of a rollback that followed it.
        """
        if self.persist_dir is None:
            return
        with self._persist_lock:
            with self._lock:
                loaded, held = self._active, self._held_back
            if loaded is not None and loaded.files is not None:
                self._commit(loaded, held)

    def _commit(self, loaded: _Loaded, held: _HeldBack | None) -> None:
        assert self.persist_dir is not None
        archive = archive_bytes(_persistable(loaded))
        document = {
            "format": PERSISTED_FORMAT,
            "name": loaded.snapshot.name,
            "revision": loaded.snapshot.revision,
            "source": redact(str(loaded.snapshot.source)),
            "activated_at": loaded.snapshot.activated_at.isoformat(),
            # The source's own fingerprint: the persisted copy may carry a generated manifest,
            # and a restart must not mistake the same bundle for a new revision.
            "fingerprint": loaded.fingerprint,
            "held_back": {"revision": held.revision, "fingerprint": held.fingerprint} if held else None,
            "archive_sha256": hashlib.sha256(archive).hexdigest(),
            "archive": base64.b64encode(archive).decode("ascii"),
        }
        if self._state_key is not None:
            document["mac"] = _state_mac(self._state_key, document)
        try:
            self.persist_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(self.persist_dir / PERSISTED, (json.dumps(document) + "\n").encode())
            _fsync_directory(self.persist_dir)
            for legacy in (LEGACY_BUNDLE, LEGACY_STATE):  # superseded by the file just committed
                (self.persist_dir / legacy).unlink(missing_ok=True)
            self._persist_error = ""
            _check_private(self.persist_dir)  # say now, not at the restart, that it will not restore
        except _TornState as error:
            self._persist_error = f"persisted, but a restart will not restore it: {error}"
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


def _refuse_downgrade(
    revision: str, created: datetime | None, active: _Loaded, manifest: bytes | None = None
) -> None:
    """Refuse a signed candidate that is not provably as new as the active bundle.

    Signed revisions are ordered by their manifest's ``created`` time (inside the signed bytes,
    so a server cannot forge it). A candidate created before the active revision is a downgrade
    (a replay of an old, validly signed bundle); one without a usable ``created`` cannot be
    ordered and is refused too while the active revision has one. A candidate created at the
    same moment is accepted only if its manifest is the active one's byte for byte (the same
    content, re-signed): two different revisions of equal ``created`` cannot be ordered, and
    accepting either would let a server flip between them. An active revision without a usable
    ``created`` orders nothing: any verified candidate may replace it.
    """
    if active.created is None:
        return
    current = active.snapshot.revision
    since = fmt.created_stamp(active.created)
    if created is None:
        raise ActivationError(
            Step.VERIFY,
            f"revision {revision} has no usable manifest created time, so it cannot be ordered after "
            f"the active revision {current} (created {since}); refused as a possible downgrade [downgrade]",
        )
    if created < active.created:
        raise ActivationError(
            Step.VERIFY,
            f"revision {revision} (created {fmt.created_stamp(created)}) "
            f"is older than the active revision {current} (created {since}); refused as a downgrade "
            "(an admin rollback is the way back to an older revision) [downgrade]",
        )
    active_manifest = active.files.files.get(fmt.MANIFEST) if active.files is not None else None
    if created == active.created and (manifest is None or manifest != active_manifest):
        raise ActivationError(
            Step.VERIFY,
            f"revision {revision} has the same created time ({since}) as the active revision {current} "
            "but different content, so neither can be ordered after the other; refused as a possible "
            "downgrade (build each revision with a later created time) [downgrade]",
        )


class _TornState(Exception):
    """The persisted state cannot be trusted (damaged, partial, or of two revisions)."""


@dataclass(frozen=True, slots=True)
class _PersistedState:
    revision: str = ""
    source: str = ""
    fingerprint: str = ""
    held_back: _HeldBack | None = None

    @classmethod
    def of(cls, document: dict[str, object]) -> _PersistedState:
        held = document.get("held_back")
        held_back = None
        if isinstance(held, dict) and held.get("fingerprint"):
            held_back = _HeldBack(str(held.get("revision") or ""), str(held["fingerprint"]))
        return cls(
            str(document.get("revision") or ""),
            str(document.get("source") or ""),
            str(document.get("fingerprint") or ""),
            held_back,
        )


STATE_MAC_DOMAIN = b"iamgate-persisted-state/v1\n"
"""Derives the persisted state's MAC key from the bundle HMAC secret: a state MAC can never pass
for a bundle signature (or the other way round)."""


def _state_key(verifier: Verifier | None) -> bytes | None:
    """The key authenticating the persisted state: derived from the first configured HMAC secret.

    Without an HMAC secret (no verification, or Ed25519 only) the state is not authenticated and
    its integrity rests on the persist directory's permissions (``_check_private``).
    """
    if verifier is None:
        return None
    for key in verifier.keys:
        if key.secret is not None:
            return hmac.new(key.secret, STATE_MAC_DOMAIN, hashlib.sha256).digest()
    return None


def _state_mac(key: bytes, document: dict[str, object]) -> str:
    """HMAC-SHA256 over the state's canonical JSON (every field but ``mac``: the archive's SHA-256,
    revision, fingerprint, held_back, source, activated_at)."""
    content = {name: value for name, value in document.items() if name not in ("mac", "archive")}
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _check_private(path: Path) -> None:
    """Refuse persisted state that someone else could have written, as ssh does for its keys.

    Whoever can write the persist directory can choose what a restarted sidecar serves (an older,
    validly signed revision, a forged hold-back), so it must belong to the running user and be
    writable by nobody else.
    """
    try:
        info = path.stat()
    except OSError as error:
        raise _TornState(f"{path}: unreadable ({error.strerror})") from None
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise _TornState(
            f"{path}: owned by uid {info.st_uid}, not by the running user (uid {os.geteuid()}); "
            "refusing to restore from it"
        )
    if info.st_mode & 0o022:
        raise _TornState(
            f"{path}: writable by group or others (mode {info.st_mode & 0o777:o}); refusing to restore "
            f"from it (chmod go-w {path})"
        )


def _read_single_file(path: Path, key: bytes | None = None) -> tuple[BundleFiles, _PersistedState, str]:
    """The one-file layout: JSON state holding the archive (base64) and its SHA-256 (and, with an
    HMAC secret configured, the state's MAC)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _TornState(f"{path}: unreadable ({error.strerror})") from None
    try:
        document = load_strict(data)
    except ValueError:
        raise _TornState(f"{path}: not valid JSON ({len(data)} bytes; truncated or damaged)") from None
    if not isinstance(document, dict) or document.get("format") != PERSISTED_FORMAT:
        raise _TornState(f"{path}: not a persisted bundle of format {PERSISTED_FORMAT}")
    try:
        archive = base64.b64decode(str(document.get("archive") or ""), validate=True)
    except (ValueError, binascii.Error):
        raise _TornState(f"{path}: the archive is not base64 (damaged)") from None
    if hashlib.sha256(archive).hexdigest() != document.get("archive_sha256"):
        raise _TornState(f"{path}: the archive does not match its SHA-256 (damaged)")
    if key is not None:
        mac = document.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _state_mac(key, document)):
            what = "carries no MAC" if mac is None else "has a MAC that does not verify"
            raise _TornState(
                f"{path}: the persisted state {what} (altered, or written without this --hmac-secret-file)"
            )
    try:
        files = files_from_bytes(archive, str(path))
    except BundleError as error:
        raise _TornState(f"{path}: unreadable archive ({error})") from None
    return files, _PersistedState.of(document), str(path)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a crash right after it must not bring the old file back)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
