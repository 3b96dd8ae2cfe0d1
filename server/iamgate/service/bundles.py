"""From ``iamgate serve`` flags to the bundle lifecycle: a ``BundleManager`` and its pollers.

* no ``--bundle``: the embedded default bundle, activated through the manager (so status,
  metrics and rollback behave as for any other bundle);
* ``--bundle PATH``: a directory, ``.tar.gz`` or account-details file, watched for changes
  (a Kubernetes ConfigMap swapping its ``..data`` symlink included);
* ``--bundle http(s)://...``: polled with ``If-None-Match`` / ``If-Modified-Since`` (an unchanged
  bundle costs a 304), each download bounded by ``--download-timeout`` and
  ``--max-download-bytes``, backing off with jitter while the server fails;
* ``--verify-key`` / ``--hmac-secret-file``: every bundle is verified before it is parsed;
* ``--persist-dir``: the last good bundle is restored at start-up before the first poll, so a
  sidecar restarted while its source is down (or hanging) serves it at once;
* ``--shadow-bundle``: a candidate evaluated beside the active bundle on live traffic.

``ManagedBundles`` is the servicer's snapshot source; ``start()`` activates (restore, first
polls) and starts the pollers, ``stop()`` stops them. Every activation event is logged as one
line naming the step and reason, and handed to listeners (the metrics). A request only reads the
manager's active reference (and, with a shadow, evaluates the candidate too): polling,
verification, compilation and activation logging happen on the pollers' threads, and shadow
disagreements are logged by ``ShadowReporter``'s thread. Embedders should quiet
``SHADOW_LOGGER`` as ``iamgate serve`` does.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iamgate.bundle.activation import ActivationEvent, BundleManager, BundleStatus
from iamgate.bundle.errors import BundleError
from iamgate.bundle.shadow import Disagreement, ShadowStatus
from iamgate.bundle.shadow_diff import DEFAULT_SHADOW_DIFF_LIMIT
from iamgate.bundle.snapshot import DEFAULT_CACHE_SIZE, DEFAULT_SESSION_MEMO_BYTES, Snapshot
from iamgate.bundle.sources import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    Poller,
    close_source,
    is_remote,
)
from iamgate.bundle.trust import TrustedKeys
from iamgate.errors import IamgateError
from iamgate.service.errors import ServiceError
from iamgate.service.redact import redact
from iamgate.service.snapshots import RollbackUnavailable

_log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 10.0
"""Seconds between two polls of a bundle source (jittered by +-10% so a fleet spreads out)."""

SHADOW_LOGGER = "iamgate.bundle.shadow"
"""The bundle layer's shadow logger: it formats a line on the request thread for each
disagreement. ``iamgate serve`` quiets it; ``ShadowReporter`` logs the same disagreements, with
both explanations, from a thread of its own."""

Listener = Callable[[ActivationEvent, bool], object]
"""Called with each activation event and whether it concerns the shadow bundle."""


class BundleSetupError(ServiceError):
    """The bundle settings cannot be honoured (unreadable key, unsupported URL, ...)."""


@dataclass(frozen=True, slots=True)
class BundleSettings:
    """The bundle-related settings of one sidecar (``iamgate serve`` flags)."""

    bundle: str | None = None
    """A path or http(s) URL; ``None`` serves the embedded default bundle."""
    shadow_bundle: str | None = None
    verify_key: str | None = None
    hmac_secret_file: str | None = None
    persist_dir: str | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    cache_size: int = DEFAULT_CACHE_SIZE
    """Decisions cached per revision; 0 switches the decision cache off (``--no-cache``)."""
    trusted_context_keys: tuple[str, ...] = ()
    """Sidecar-owned context keys callers are trusted to assert (``--trust-context-key``)."""
    download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT
    """Seconds one whole HTTP(S) download may take (``--download-timeout``)."""
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    """Bytes of response body (compressed) one download may have (``--max-download-bytes``)."""
    shadow_diff_limit: int = DEFAULT_SHADOW_DIFF_LIMIT
    """Evaluations the shadow's access diff may cost (``--shadow-diff-limit``); 0 switches it off."""
    session_policy_memo_bytes: int = DEFAULT_SESSION_MEMO_BYTES
    """Estimated bytes of compiled session policies kept per revision, and as many of session-tag
    checks (``--session-policy-memo-bytes``; 0 keeps none)."""


def verifier_from_files(verify_key: str | None, hmac_secret_file: str | None) -> Any | None:
    """The bundle verifier for ``--verify-key`` / ``--hmac-secret-file``, or None when neither is given."""
    if verify_key is None and hmac_secret_file is None:
        return None
    from iamgate.bundle.signing import load_verifier

    try:
        return load_verifier(
            public_keys=[verify_key] if verify_key else [],
            hmac_secrets=[hmac_secret_file] if hmac_secret_file else [],
        )
    except (IamgateError, OSError) as error:
        raise BundleSetupError(f"--verify-key/--hmac-secret-file: {error}") from None


def _check_location(flag: str, location: str, *, persisted: bool) -> None:
    if "://" in location:
        scheme = urlsplit(location).scheme
        if scheme not in ("http", "https"):
            raise BundleSetupError(f"{flag} {redact(location)}: only http:// and https:// URLs are supported")
        return
    if not persisted and not os.path.exists(location):
        # A typo should not leave a sidecar silently NOT_SERVING. With --persist-dir a missing
        # source is tolerated: the persisted bundle serves until it appears.
        raise BundleSetupError(f"{flag} {location}: no such file or directory")


def snapshot_source(
    *,
    bundle: str | None = None,
    shadow_bundle: str | None = None,
    verify_key: str | None = None,
    hmac_secret_file: str | None = None,
    persist_dir: str | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    cache_size: int = DEFAULT_CACHE_SIZE,
    trusted_context_keys: tuple[str, ...] = (),
    download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    shadow_diff_limit: int = DEFAULT_SHADOW_DIFF_LIMIT,
    session_policy_memo_bytes: int = DEFAULT_SESSION_MEMO_BYTES,
) -> ManagedBundles:
    """The snapshot source for these settings (not started); raises BundleSetupError with the reason."""
    return ManagedBundles(
        BundleSettings(
            bundle=bundle,
            shadow_bundle=shadow_bundle,
            verify_key=verify_key,
            hmac_secret_file=hmac_secret_file,
            persist_dir=persist_dir,
            poll_interval=poll_interval,
            cache_size=cache_size,
            trusted_context_keys=trusted_context_keys,
            shadow_diff_limit=shadow_diff_limit,
            download_timeout=download_timeout,
            max_download_bytes=max_download_bytes,
            session_policy_memo_bytes=session_policy_memo_bytes,
        )
    )


def default_source(
    *, cache_size: int = DEFAULT_CACHE_SIZE, session_policy_memo_bytes: int = DEFAULT_SESSION_MEMO_BYTES
) -> ManagedBundles:
    """The embedded default bundle (the beginner's guide's organization), activated by ``start()``."""
    return ManagedBundles(
        BundleSettings(cache_size=cache_size, session_policy_memo_bytes=session_policy_memo_bytes)
    )


class ManagedBundles:
    """The snapshot source of ``iamgate serve``: a BundleManager fed by pollers.

    Construction checks the settings and loads the embedded default bundle if it is to be served
    (so a broken setting fails before anything listens); ``start()`` activates and starts polling.
    """

    def __init__(self, settings: BundleSettings) -> None:
        if settings.poll_interval <= 0:
            raise BundleSetupError(f"--poll-interval {settings.poll_interval}: must be more than 0 seconds")
        if settings.cache_size < 0:
            raise BundleSetupError(f"--cache-size {settings.cache_size}: must be 0 (off) or more")
        if settings.download_timeout <= 0:
            raise BundleSetupError(
                f"--download-timeout {settings.download_timeout}: must be more than 0 seconds"
            )
        if settings.max_download_bytes < 1:
            raise BundleSetupError(f"--max-download-bytes {settings.max_download_bytes}: must be at least 1")
        if settings.session_policy_memo_bytes < 0:
            raise BundleSetupError(
                f"--session-policy-memo-bytes {settings.session_policy_memo_bytes}: must be 0 (none) or more"
            )
        if settings.persist_dir is not None and settings.bundle is None:
            raise BundleSetupError("--persist-dir: needs --bundle (the embedded bundle is never persisted)")
        try:
            trusted_keys = TrustedKeys.of(settings.trusted_context_keys)
        except ValueError as error:
            raise BundleSetupError(f"--trust-context-key: {error}") from None
        verifier = verifier_from_files(settings.verify_key, settings.hmac_secret_file)
        if verifier is not None and settings.bundle is None and settings.shadow_bundle is None:
            raise BundleSetupError(
                "--verify-key/--hmac-secret-file: need --bundle or --shadow-bundle "
                "(the embedded bundle is unsigned)"
            )
        persisted = settings.persist_dir is not None
        if settings.bundle is not None:
            _check_location("--bundle", settings.bundle, persisted=persisted)
        if settings.shadow_bundle is not None:
            _check_location("--shadow-bundle", settings.shadow_bundle, persisted=False)
        self.settings = settings
        self._listeners: list[Listener] = []
        self.manager = BundleManager(
            verifier=verifier,
            persist_dir=settings.persist_dir,
            listener=self._on_event,
            cache_size=settings.cache_size,
            trusted_keys=trusted_keys,
            shadow_diff_limit=settings.shadow_diff_limit,
            session_memo_bytes=settings.session_policy_memo_bytes,
        )
        self.authorize = self.manager.authorize  # type: ignore[method-assign]
        self._default: Snapshot | None = None
        if settings.bundle is None:
            from iamgate.bundle.default import load_default_snapshot

            try:
                self._default = load_default_snapshot(cache_size=settings.cache_size)
            except IamgateError as error:
                raise BundleSetupError(f"the embedded default bundle failed to load: {error}") from None
        try:
            limits = {
                "interval": settings.poll_interval,
                "download_timeout": settings.download_timeout,
                "max_download_bytes": settings.max_download_bytes,
            }
            self._main = (
                self.manager.watch(settings.bundle, **limits) if settings.bundle is not None else None
            )
            self._shadow = (
                self.manager.watch(settings.shadow_bundle, shadow=True, **limits)
                if settings.shadow_bundle is not None
                else None
            )
        except BundleError as error:
            raise BundleSetupError(redact(str(error))) from None
        self._shadow_source = self._shadow.source.description if self._shadow is not None else None
        self._threads: list[PollingThread] = []
        self._reporter: ShadowReporter | None = None
        self._rollback_lock = threading.Lock()
        self._started = False

    # -- the servicer's view ----------------------------------------------------------------

    def current(self) -> Snapshot | None:
        return self.manager.current()

    @property
    def shadowing(self) -> bool:
        """A shadow bundle is compared with every answer (``BundleManager.shadowing``)."""
        return self.manager.shadowing

    def authorize(self, query: Any, *, explain: bool = False) -> Any:
        """The manager's answer: the active snapshot (read once), compared with the shadow if any.

        (The constructor binds ``self.authorize`` to the manager's method directly: one call
        less per decision.)
        """
        return self.manager.authorize(query, explain=explain)

    def status(self) -> BundleStatus:
        return self.manager.status()

    def rollback(self, expected_revision: str = "") -> tuple[str, str]:
        """Re-activate the previous revision; returns ``(active revision, rolled back from)``.

        The watched source is not re-read: the rolled-back revision serves until the source
        publishes a new bundle.
        """
        with self._rollback_lock:
            current = self.manager.current()
            if current is None:
                raise RollbackUnavailable("no bundle is active")
            if expected_revision and current.revision != expected_revision:
                raise RollbackUnavailable(
                    f"the active revision is {current.revision!r}, not {expected_revision!r}"
                )
            try:
                active = self.manager.rollback(expected_revision)
            except BundleError as error:
                raise RollbackUnavailable(str(error)) from None
            return active.revision, current.revision

    def add_listener(self, listener: Listener) -> None:
        """Also call ``listener(event, shadow)`` for every activation event (metrics)."""
        self._listeners.append(listener)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Activate (default bundle, or restore then a first poll), then poll on threads.

        Start-up never waits on the network once a bundle is active: after a restore (or for a
        remote shadow) the first poll of an HTTP(S) source runs on its polling thread, so the
        port opens SERVING at once even if the bundle server hangs. A local source is polled
        synchronously (it is quick and may hold a newer bundle); so is a remote main source
        when nothing was restored — there is nothing to serve before it answers, and the
        download deadline bounds the wait.
        """
        if self._started:
            return
        self._started = True
        if self._default is not None:
            self.manager.activate_snapshot(self._default)
            self._default = None
        else:
            self.manager.restore()  # before the first poll: the source may be down
        first_delays = [
            (poller, self._first_delay(poller)) for poller in (self._main, self._shadow) if poller is not None
        ]
        if self.manager.current() is None:
            _log.warning(
                "no bundle is active yet: NOT_SERVING until %s yields a valid bundle (polling every %gs)",
                redact(self.settings.bundle or ""),
                self.settings.poll_interval,
            )
        self._threads = [PollingThread(poller, delay) for poller, delay in first_delays]
        for thread in self._threads:
            thread.start()
        if self._shadow is not None:
            self._reporter = ShadowReporter(
                lambda: self.manager.status().shadow, interval=min(1.0, self.settings.poll_interval)
            )
            self._reporter.start()

    def _first_delay(self, poller: Poller) -> float:
        """Poll now and return the delay before the next poll, or 0 to poll first on the thread."""
        if is_remote(poller.source) and self.manager.current() is not None:
            return 0.0
        return _first_poll(poller)

    def stop(self) -> None:
        """Stop polling (graceful shutdown; a download in progress is cut short)."""
        for thread in self._threads:
            thread.stop()
        self._threads = []
        if self._reporter is not None:
            self._reporter.stop()
            self._reporter = None

    # -- events -------------------------------------------------------------------------------

    def _is_shadow(self, event: ActivationEvent) -> bool:
        if event.result == "shadowed" or event.message.startswith("shadow: "):
            return True
        return event.result == "fetch-failed" and event.source == self._shadow_source

    def _on_event(self, event: ActivationEvent) -> None:
        shadow = self._is_shadow(event)
        log_event(event, shadow=shadow, active=self.manager.current())
        for listener in self._listeners:
            try:
                listener(event, shadow)
            except Exception:  # a broken listener must not break activation
                _log.exception("bundle event listener failed")


def _first_poll(poller: Poller) -> float:
    """Poll once, synchronously; returns the delay before the next poll."""
    try:
        return poller.poll_once()
    except Exception:  # the polling thread retries; a bug here must not stop the sidecar starting
        _log.exception("first poll of %s failed", redact(poller.source.description))
        return poller.interval


class PollingThread:
    """Drives one ``Poller`` on a daemon thread, starting ``first_delay`` after the first poll.

    (``Poller.start()`` would poll again at once: a second request to the bundle server, or a
    second identical error line, right after start-up's synchronous poll.)
    """

    def __init__(self, poller: Poller, first_delay: float) -> None:
        self.poller = poller
        self._delay = first_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"bundle-poller {redact(poller.source.description)}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling: a download in progress is cut short; waits up to ``timeout`` seconds."""
        self._stop.set()
        close_source(self.poller.source)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = self._delay
        while not self._stop.wait(delay):
            try:
                delay = self.poller.poll_once()  # source errors back off inside the Poller
            except Exception:  # a bug: log it and keep polling, never let the thread die
                _log.exception("polling %s failed", redact(self.poller.source.description))
                delay = self.poller.interval


def _one_line(text: str) -> str:
    return redact(" ".join(part.strip() for part in text.splitlines() if part.strip()))


def _reason(event: ActivationEvent) -> str:
    """The event's message without what the log line says already (the step, the source)."""
    message = event.message.removeprefix("shadow: ")
    if event.step:
        message = message.removeprefix(f"{event.step}: ")
    return _one_line(message.removeprefix(f"{event.source}: "))


def log_event(event: ActivationEvent, *, shadow: bool, active: Snapshot | None) -> None:
    """One log line per activation event, naming the step and the reason of a failure."""
    source = redact(event.source)
    serving = f"still serving revision {active.revision}" if active is not None else "no bundle is active"
    what = "shadow bundle" if shadow else "bundle"
    result = event.result
    if result == "activated":
        took = f" in {event.seconds * 1000:.0f} ms" if event.seconds else ""
        extra = f" ({event.message})" if event.message else ""
        _log.info("activated bundle revision %s from %s%s%s", event.revision, source, took, extra)
    elif result == "restored":
        _log.info("restored the last good bundle, revision %s, from %s", event.revision, source)
    elif result == "shadowed":
        _log.info(
            "loaded shadow bundle revision %s from %s: evaluating it beside the active bundle",
            event.revision,
            source,
        )
    elif result == "rejected":
        _log.warning(
            "rejected %s from %s at step %s: %s; %s", what, source, event.step, _reason(event), serving
        )
    elif result == "fetch-failed":
        _log.warning(
            "cannot fetch %s from %s: %s; %s, retrying with backoff", what, source, _reason(event), serving
        )
    elif result == "rolled-back":
        _log.warning("rolled back to bundle revision %s from %s", event.revision, source)
    else:  # unchanged
        _log.debug("bundle from %s unchanged (revision %s)", source, event.revision)


class ShadowReporter:
    """Logs each new shadow disagreement with both explanations, from a thread of its own.

    The shadow evaluator keeps the most recent disagreements (with both explained answers) and
    counts them; this reporter reads them every ``interval`` seconds and logs those it has not
    logged yet, so the request thread never formats a log line.
    """

    def __init__(
        self,
        shadow: Callable[[], ShadowStatus | None],
        *,
        interval: float = 1.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self._shadow = shadow
        self._interval = interval
        self._log = logger or logging.getLogger("iamgate.service.shadow")
        self._last: Disagreement | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="iamgate-shadow-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.report_once()  # what arrived since the last round
        except Exception:
            self._log.exception("cannot report shadow disagreements")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.report_once()
            except Exception:
                self._log.exception("cannot report shadow disagreements")

    def report_once(self) -> int:
        """Log the disagreements not logged yet; returns how many were logged."""
        status = self._shadow()
        if status is None or not status.recent:
            return 0
        recent = status.recent
        start = 0
        for index in range(len(recent) - 1, -1, -1):
            if recent[index] is self._last:
                start = index + 1
                break
        for disagreement in recent[start:]:
            self._log.warning("%s", disagreement_line(disagreement, status))
        self._last = recent[-1]
        return len(recent) - start


def _answer(outcome: Any) -> str:
    evaluation = outcome.evaluation
    refs = "; ".join(
        f"{ref.kind.phrase} {ref.policy_id} statement {ref.label}" for ref in evaluation.determining
    )
    determined = f"determined by {refs}" if refs else "no statement decided"
    return f"{evaluation.decision.value} ({determined}; {outcome.message})"


def disagreement_line(disagreement: Disagreement, shadow: ShadowStatus) -> str:
    query = disagreement.query
    return _one_line(
        f"shadow disagreement on {query.principal} {query.action} {query.resource}: "
        f"active revision {disagreement.active.revision} says {_answer(disagreement.active)}; "
        f"shadow revision {shadow.revision} says {_answer(disagreement.shadow)} "
        f"[{shadow.disagreed} of {shadow.evaluated} requests disagree]"
    )
