"""Where bundles come from: a local directory or file, or an HTTP(S) URL, polled for changes.

A source's ``poll()`` returns the bundle's files when they changed since the last poll and
``None`` otherwise; it raises ``BundleSourceError`` when it cannot reach the bundle. Local sources
compare a cheap stat fingerprint first (paths, symlink targets, sizes, mtimes) and then the content
hash, so a Kubernetes ConfigMap volume swapping its ``..data`` symlink is seen at the next poll and
a touch without a content change is not a new bundle. HTTP sources send ``If-None-Match`` with the
last ETag and ``If-Modified-Since`` with the last Last-Modified, so an unchanged bundle costs the
server a 304; a download has a deadline and a size cap. ``Poller`` drives a source on a thread
with a jittered interval, and backs off exponentially (with jitter) while the source fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import random
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from iamgate.bundle import format as fmt
from iamgate.bundle.errors import BundleError
from iamgate.bundle.loader import BundleFiles, files_from_bytes, load_files
from iamgate.bundle.redact import redact


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


DEFAULT_READ_TIMEOUT = 10.0
"""Seconds one socket operation (connect, one read) may block."""
DEFAULT_DOWNLOAD_TIMEOUT = 30.0
"""Seconds a whole download (connect, headers, body) may take: a server dripping bytes is cut off."""
DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
"""Bytes of response body (compressed) a download may have; the decompressed caps are ``format``'s."""
_CHUNK = 64 * 1024


class DownloadDeadline:
    """The deadline of one download: when it passes, every socket the download opened is shut down.

    A per-read timeout does not bound a download (a server sending one byte every few seconds
    never trips it), so a timer shuts the sockets down at the deadline; the blocked read then
    returns and the download fails, whether it was connecting, reading headers or the body.
    ``expire()`` does the same at once (stopping the sidecar).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.name = "bundle-download-deadline"
        self._timer.daemon = True
        self._timer.start()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


Opener = Callable[[urllib.request.Request, float, DownloadDeadline], Any]


class HttpSource:
    """A bundle served over HTTP(S), fetched conditionally so an unchanged bundle costs a 304.

    The request carries ``If-None-Match`` (the last ETag) and ``If-Modified-Since`` (the last
    Last-Modified), so servers with either validator answer 304. A download is bounded in time
    (``download_timeout`` for the whole of it, ``timeout`` per socket operation) and in size
    (``max_bytes`` of body, checked against Content-Length first and while streaming). The URL
    may carry credentials: ``description`` and every error name the source by its redacted URL.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_READ_TIMEOUT,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        opener: Opener | None = None,
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise BundleError(f"{redact(url)}: only http:// and https:// bundle URLs are supported")
        self.url = url
        self.description = redact(url)
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.download_timeout = download_timeout
        self.max_bytes = max_bytes
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._open = opener or _http_opener
        self._content: str | None = None
        self._download: DownloadDeadline | None = None
        self._closed = False

    def poll(self) -> BundleFiles | None:
        headers = {"Accept": "application/gzip, application/json", **self._headers}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        request = urllib.request.Request(self.url, headers=headers)
        deadline = DownloadDeadline(self.download_timeout)
        self._download = deadline
        if self._closed:
            deadline.expire()
        try:
            fetched = self._fetch(request, deadline)
        finally:
            deadline.cancel()
            self._download = None
        if fetched is None:
            return None
        data, etag, last_modified = fetched
        try:
            files = files_from_bytes(data, self.description)
        except BundleError as error:
            raise BundleSourceError(redact(str(error))) from None
        self.etag = etag
        self.last_modified = last_modified
        content = hashlib.sha256(data).hexdigest()
        if content == self._content:
            return None  # a server without validators sent the same bytes again
        self._content = content
        return files

    def close(self) -> None:
        """Cut a download in progress short (the sidecar is stopping); later polls fail at once."""
        self._closed = True
        download = self._download
        if download is not None:
            download.expire()

    def _fetch(
        self, request: urllib.request.Request, deadline: DownloadDeadline
    ) -> tuple[bytes, str | None, str | None] | None:
        """The body and its validators, or ``None`` for a 304; BundleSourceError for anything else."""
        try:
            response = self._open(request, self._timeout, deadline)
            with response:
                status = getattr(response, "status", 200)
                if status == 304:
                    return None
                self._check_length(response.headers.get("Content-Length"))
                data = self._read_body(response, deadline)
                return data, response.headers.get("ETag"), response.headers.get("Last-Modified")
        except urllib.error.HTTPError as error:
            if error.code == 304:
                return None
            if deadline.expired:
                raise self._too_slow() from None
            reason = redact(str(error.reason))
            raise BundleSourceError(f"{self.description}: HTTP {error.code} {reason}") from None
        except BundleSourceError:
            raise
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
            if deadline.expired:
                raise self._too_slow() from None
            reason = getattr(error, "reason", None) or error
            raise BundleSourceError(f"{self.description}: cannot fetch ({redact(str(reason))})") from None

    def _check_length(self, declared: str | None) -> None:
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise BundleSourceError(
                f"{self.description}: the response is {int(declared)} bytes, more than the "
                f"{self.max_bytes}-byte download limit (--max-download-bytes)"
            )

    def _read_body(self, response: Any, deadline: DownloadDeadline) -> bytes:
        read = getattr(response, "read1", None) or response.read
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = read(_CHUNK)
            if deadline.expired:
                raise self._too_slow()
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > self.max_bytes:
                raise BundleSourceError(
                    f"{self.description}: the response exceeds the {self.max_bytes}-byte download "
                    "limit (--max-download-bytes)"
                )
            chunks.append(chunk)

    def _too_slow(self) -> BundleSourceError:
        if self._closed:
            return BundleSourceError(f"{self.description}: the download was cut short (stopping)")
        return BundleSourceError(
            f"{self.description}: the download did not finish within {self.download_timeout:g} s "
            "(--download-timeout)"
        )


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s), and never from https down to http.

    A bundle URL must not be bounced to ftp:// or elsewhere, nor lose the transport security it
    was configured with: an https source redirected to http would let anyone on the path serve
    (or read) the bundle.
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        scheme = urlsplit(newurl).scheme.lower()
        downgrade = urlsplit(req.full_url).scheme.lower() == "https" and scheme != "https"
        if scheme not in ("http", "https") or downgrade:
            raise urllib.error.HTTPError(
                redact(newurl), code, f"refusing to follow a redirect to {redact(newurl)}", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _tracked(connection_class: type[http.client.HTTPConnection], deadline: DownloadDeadline) -> Any:
    """``connection_class`` whose sockets the deadline tracks (registered before any TLS handshake)."""

    def create(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
        connection = connection_class(*args, **kwargs)
        plain = connection._create_connection  # type: ignore[attr-defined]

        def create_connection(*c_args: Any, **c_kwargs: Any) -> socket.socket:
            sock = plain(*c_args, **c_kwargs)
            deadline.track(sock)
            return sock

        connection._create_connection = create_connection  # type: ignore[attr-defined]
        return connection

    return create


def _http_opener(request: urllib.request.Request, timeout: float, deadline: DownloadDeadline) -> Any:
    """Open ``request`` with urllib, every connection (redirects included) under ``deadline``."""

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):  # type: ignore[no-untyped-def]
            return self.do_open(_tracked(http.client.HTTPConnection, deadline), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):  # type: ignore[no-untyped-def]
            extra: dict[str, Any] = {"context": self._context}  # type: ignore[attr-defined]
            if getattr(self, "_check_hostname", None) is not None:  # Python 3.11's extra argument
                extra["check_hostname"] = self._check_hostname  # type: ignore[attr-defined]
            return self.do_open(_tracked(http.client.HTTPSConnection, deadline), req, **extra)

    opener = urllib.request.build_opener(_HttpOnlyRedirects(), Http(), Https())
    return opener.open(request, timeout=timeout)


def open_source(
    location: str,
    *,
    download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
) -> BundleSource:
    """``http(s)://...`` -> HttpSource (with these download limits); anything else is a local path."""
    if location.startswith(("http://", "https://")):
        return HttpSource(location, download_timeout=download_timeout, max_bytes=max_download_bytes)
    return LocalSource(location)


def is_remote(source: BundleSource) -> bool:
    """Whether polling ``source`` waits on the network (start-up never waits on such a poll)."""
    return isinstance(source, HttpSource)


def close_source(source: BundleSource) -> None:
    """Cut a poll in progress short, if the source can (an HTTP download); used when stopping."""
    close = getattr(source, "close", None)
    if close is not None:
        close()


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
        close_source(self.source)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.poll_once()
            except Exception as error:  # never let the poller die: log through on_error and retry
                self.failures += 1
                self._on_error(BundleError(redact(f"{self.source.description}: unexpected error: {error!r}")))
                delay = self._backoff.delay(self.failures)
            self._stop.wait(delay)
