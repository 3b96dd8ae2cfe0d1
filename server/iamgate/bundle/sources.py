"""Where bundles come from: a local directory or file, or an HTTP(S) URL, polled for changes.

A source's ``poll()`` returns the bundle's files when they changed since the last poll and
``None`` otherwise; it raises ``BundleSourceError`` when it cannot reach the bundle. Local sources
compare a cheap stat fingerprint first (paths, symlink targets, sizes, mtimes) and then the content
hash, so a Kubernetes ConfigMap volume swapping its ``..data`` symlink is seen at the next poll and
a touch without a content change is not a new bundle. HTTP sources send ``If-None-Match`` with the
last ETag, so an unchanged bundle costs the server a 304. ``Poller`` drives a source on a thread
with a jittered interval, and backs off exponentially (with jitter) while the source fails.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from iamgate.bundle import format as fmt
from iamgate.bundle.errors import BundleError
from iamgate.bundle.loader import BundleFiles, files_from_bytes, load_files


class BundleSourceError(BundleError):
    """The bundle could not be fetched (I/O or network); the last good bundle keeps serving."""


class BundleSource(Protocol):
    description: str

    def poll(self) -> BundleFiles | None: ...


def content_fingerprint(files: Mapping[str, bytes]) -> str:
    """SHA-256 over every file (manifest and signatures included): equal bytes, equal fingerprint."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode("utf-8") + b"\0" + fmt.sha256_hex(files[path]).encode("ascii") + b"\n")
    return digest.hexdigest()


class LocalSource:
    """A bundle directory, archive or details file on disk."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.description = str(path)
        self._stat: str | None = None
        self._content: str | None = None

    def poll(self) -> BundleFiles | None:
        stat = self._stat_fingerprint()
        if stat == self._stat:
            return None
        self._stat = stat  # set even if reading fails: the next change of the files retries
        try:
            files = load_files(self.path)
        except BundleError as error:
            raise BundleSourceError(str(error)) from None
        content = content_fingerprint(files.files)
        if content == self._content:
            return None
        self._content = content
        return files

    def _stat_fingerprint(self) -> str:
        digest = hashlib.sha256()
        try:
            digest.update(os.path.realpath(self.path).encode())
            if self.path.is_dir():
                for root, directories, names in os.walk(self.path, followlinks=True):
                    directories[:] = sorted(d for d in directories if not d.startswith("."))
                    for name in sorted(n for n in names if not n.startswith(".")):
                        full = os.path.join(root, name)
                        info = os.stat(full)
                        real = os.path.realpath(full)
                        digest.update(
                            f"{full}\0{real}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}\n".encode()
                        )
            else:
                info = os.stat(self.path)
                digest.update(f"{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}".encode())
        except OSError as error:
            raise BundleSourceError(f"{self.description}: cannot read ({error.strerror})") from None
        return digest.hexdigest()


Opener = Callable[[urllib.request.Request, float], object]


class HttpSource:
    """A bundle served over HTTP(S), fetched with ``If-None-Match`` so unchanged bundles cost a 304."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        opener: Opener | None = None,
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise BundleError(f"{url}: only http:// and https:// bundle URLs are supported")
        self.url = url
        self.description = url
        self.etag: str | None = None
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._open = opener or _http_opener()
        self._content: str | None = None

    def poll(self) -> BundleFiles | None:
        headers = {"Accept": "application/gzip, application/json", **self._headers}
        if self.etag:
            headers["If-None-Match"] = self.etag
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = self._open(request, self._timeout)
        except urllib.error.HTTPError as error:
            if error.code == 304:
                return None
            raise BundleSourceError(f"{self.url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise BundleSourceError(f"{self.url}: cannot fetch ({reason})") from None
        with response:  # type: ignore[attr-defined]
            status = getattr(response, "status", 200)
            if status == 304:
                return None
            data = response.read(fmt.MAX_TOTAL_BYTES + 1)  # type: ignore[attr-defined]
            etag = response.headers.get("ETag")  # type: ignore[attr-defined]
        if len(data) > fmt.MAX_TOTAL_BYTES:
            raise BundleSourceError(f"{self.url}: response exceeds {fmt.MAX_TOTAL_BYTES} bytes")
        try:
            files = files_from_bytes(data, self.url)
        except BundleError as error:
            raise BundleSourceError(str(error)) from None
        self.etag = etag
        content = hashlib.sha256(data).hexdigest()
        if content == self._content:
            return None  # a server without ETags sent the same bytes again
        self._content = content
        return files


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s): a bundle URL must not be bounced to ftp:// or elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(
                newurl, code, f"refusing to follow a redirect to {newurl}", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _http_opener() -> Opener:
    opener = urllib.request.build_opener(_HttpOnlyRedirects())
    return lambda request, timeout: opener.open(request, timeout=timeout)


def open_source(location: str) -> BundleSource:
    """``http(s)://...`` -> HttpSource; anything else is a local path."""
    if location.startswith(("http://", "https://")):
        return HttpSource(location)
    return LocalSource(location)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": between half and all of ``base * 2**(failures-1)``.

    The floor keeps a failing sidecar from hammering the server; the random half spreads a fleet
    of sidecars that failed together so they do not retry in lockstep.
    """

    base: float = 1.0
    maximum: float = 300.0
    random: Callable[[], float] = random.random

    def delay(self, failures: int) -> float:
        ceiling = min(self.maximum, self.base * 2 ** max(0, failures - 1))
        return ceiling / 2 + self.random() * ceiling / 2


class Poller:
    """Polls one source on a daemon thread and hands new bundles to ``on_files``.

    ``poll_once()`` does one round and returns the delay before the next one; tests drive it
    directly. Errors of the source go to ``on_error`` and back off; errors in ``on_files``
    (a rejected bundle) do not: the source is fine, the next change will be picked up.
    """

    def __init__(
        self,
        source: BundleSource,
        on_files: Callable[[BundleFiles], object],
        *,
        interval: float = 5.0,
        backoff: Backoff | None = None,
        on_error: Callable[[BundleError], object] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.source = source
        self.interval = interval
        self.failures = 0
        self._on_files = on_files
        self._on_error = on_error or (lambda error: None)
        self._backoff = backoff or Backoff()
        self._jitter = jitter
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> float:
        try:
            files = self.source.poll()
        except BundleError as error:
            self.failures += 1
            self._on_error(error)
            return self._backoff.delay(self.failures)
        self.failures = 0
        if files is not None:
            self._on_files(files)
        return self.interval * (0.9 + 0.2 * self._jitter())

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"bundle-poller {self.source.description}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.poll_once()
            except Exception as error:  # never let the poller die: log through on_error and retry
                self.failures += 1
                self._on_error(BundleError(f"{self.source.description}: unexpected error: {error!r}"))
                delay = self._backoff.delay(self.failures)
            self._stop.wait(delay)
