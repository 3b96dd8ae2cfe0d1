"""Hostile and unusual bundle servers for the sources and persistence regression tests.

``DripServer`` answers with a Content-Length and then one byte every ``every`` seconds, as a
server (or a middlebox) can do to hold a client that only times out single reads;
``LastModifiedServer`` validates with Last-Modified only (no ETag), as many object stores and
static servers do. Both count what they answered and stop dripping when closed.
"""

from __future__ import annotations

import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from service.bundle_helpers import bundle_files

import iamgate_client as sdk
from iamgate.bundle import format as fmt
from iamgate.bundle.signing import HmacSigner, signatures_document

SECRET = b"a shared secret of enough length"


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.stopping = threading.Event()
        self.answers: list[int] = []
        self.paths: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/bundle.tar.gz"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="test-hostile-server", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    @property
    def owner(self) -> Any:
        return self.server.owner  # type: ignore[attr-defined]


class DripServer(_Server):
    """Sends headers at once, then the body one byte every ``every`` seconds."""

    def __init__(self, body: bytes, *, every: float = 0.2) -> None:
        self.body = body
        self.every = every

        class Handler(_Quiet):
            def do_GET(self) -> None:
                owner = self.owner
                owner.answers.append(200)
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                for index in range(len(owner.body)):
                    if owner.stopping.wait(owner.every):
                        return
                    try:
                        self.wfile.write(owner.body[index : index + 1])
                        self.wfile.flush()
                    except OSError:
                        return  # the client gave up

        super().__init__(Handler)


class StaticServer(_Server):
    """Serves ``body`` with optional validators; Last-Modified only unless ``etag`` is set.

    Honours ``If-Modified-Since`` (exact match of the date it sent) with a 304; with
    ``content_length=False`` the body is delimited by closing the connection.
    """

    def __init__(self, body: bytes, *, etag: bool = False, content_length: bool = True) -> None:
        self.body = body
        self.modified = formatdate(1_764_000_000, usegmt=True)
        self.fail_next = 0
        self.conditional: list[dict[str, str]] = []

        class Handler(_Quiet):
            def do_GET(self) -> None:
                owner = self.owner
                owner.paths.append(self.path)
                since = self.headers.get("If-Modified-Since")
                owner.conditional.append({k: v for k, v in self.headers.items() if k.startswith("If-")})
                if owner.fail_next:
                    owner.fail_next -= 1
                    owner.answers.append(500)
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if since == owner.modified:
                    owner.answers.append(304)
                    self.send_response(304)
                    self.end_headers()
                    return
                owner.answers.append(200)
                self.send_response(200)
                self.send_header("Last-Modified", owner.modified)
                if etag:
                    self.send_header("ETag", '"v1"')
                if content_length:
                    self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                try:
                    self.wfile.write(owner.body)
                except OSError:
                    return

        super().__init__(Handler)

    def publish(self, body: bytes, modified: int) -> None:
        self.body = body
        self.modified = formatdate(modified, usegmt=True)


def signed_files(
    revision: str, created: str, *, write: bool = False, key_id: str = "ops-2026"
) -> dict[str, bytes]:
    """A bundle of ``revision`` whose manifest says ``created``, HMAC-signed with ``SECRET``."""
    files = bundle_files(write=write)
    manifest = fmt.dump_manifest(
        fmt.manifest_object(name="alice", revision=revision, created=created, files=fmt.file_hashes(files))
    )
    files[fmt.MANIFEST] = manifest
    files[fmt.SIGNATURES] = signatures_document([HmacSigner(SECRET, key_id)], manifest)
    return files


def last_error(client: sdk.Client) -> str:
    return client.status().last_error
