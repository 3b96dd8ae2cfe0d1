"""Real bundles on disk and over HTTP, and real sidecars serving them, for the lifecycle tests.

Two revisions of a one-account bundle disagree on one question: in revision A alice (group
Readers) may only read objects; in revision B she may also write them. Each carries its own
policy test, so both pass activation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import iamgate_client as sdk
from iamgate.bundle import format as fmt
from iamgate.bundle.archive import archive_bytes
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, Sidecar, start_sidecar

ACCOUNT = "123456789012"
OBJECT = "arn:aws:s3:::data/x"
LIFECYCLE_THREADS = ("bundle-poller", "iamgate-shadow-log", "iamgate-health")


def _policy(actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "ObjectAccess", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    }


def bundle_files(
    *, write: bool = False, revision: str | None = None, extra: Mapping[str, Any] | None = None
) -> dict[str, bytes]:
    """Revision A (``write=False``) or B (``write=True``) as ``path -> bytes``.

    With ``revision`` a manifest naming it is added; without, the revision is the content hash.
    ``extra`` adds or replaces files (a ``str``/``bytes`` value is written as is).
    """
    actions = ["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
    documents: dict[str, Any] = {
        f"accounts/{ACCOUNT}/users.json": {"Users": [{"UserName": "alice", "GroupList": ["Readers"]}]},
        f"accounts/{ACCOUNT}/groups.json": {
            "Groups": [
                {
                    "GroupName": "Readers",
                    "AttachedManagedPolicies": [{"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/ObjectAccess"}],
                }
            ]
        },
        f"accounts/{ACCOUNT}/policies.json": {
            "Policies": [{"PolicyName": "ObjectAccess", "Document": _policy(actions)}]
        },
        "tests/alice.json": {
            "tests": [
                {
                    "name": "alice may read",
                    "principal": "alice",
                    "action": "s3:GetObject",
                    "resource": OBJECT,
                    "expected": "allowed",
                },
                {
                    "name": "alice's writes",
                    "principal": "alice",
                    "action": "s3:PutObject",
                    "resource": OBJECT,
                    "expected": "allowed" if write else "implicitDeny",
                },
            ]
        },
    }
    documents.update(extra or {})
    files = {
        path: value
        if isinstance(value, bytes)
        else (value if isinstance(value, str) else json.dumps(value, indent=2)).encode()
        for path, value in documents.items()
    }
    if revision is not None:
        manifest = fmt.manifest_object(
            name="alice", revision=revision, created="2026-01-01T00:00:00Z", files=fmt.file_hashes(files)
        )
        files[fmt.MANIFEST] = fmt.dump_manifest(manifest)
    return files


FAILING_TEST = {
    "tests/alice.json": {
        "tests": [
            {
                "name": "alice may delete",
                "principal": "alice",
                "action": "s3:DeleteObject",
                "resource": OBJECT,
                "expected": "allowed",
            }
        ]
    }
}
MALFORMED = {f"accounts/{ACCOUNT}/users.json": '{"Users": [{"UserName": "alice",'}


def write_tree(root: Path, files: Mapping[str, bytes]) -> Path:
    """Make ``root`` hold exactly ``files``, each written atomically (temp file + rename)."""
    root.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    for existing in sorted(root.rglob("*"), reverse=True):
        relative = existing.relative_to(root).as_posix()
        if existing.is_file() and relative not in files:
            existing.unlink()
    return root


class ConfigMapVolume:
    """A directory laid out like a Kubernetes ConfigMap volume.

    The files live in a timestamped hidden directory; ``..data`` links to it and every visible
    top-level entry links through ``..data``. ``publish`` swaps ``..data`` atomically, as the
    kubelet does.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._versions = 0

    def publish(self, files: Mapping[str, bytes]) -> None:
        self._versions += 1
        version = f"..2026_01_01_00_00_{self._versions:02d}"
        write_tree(self.root / version, files)
        link = self.root / "..data_tmp"
        link.symlink_to(version)
        os.replace(link, self.root / "..data")
        for top in {path.split("/", 1)[0] for path in files}:
            visible = self.root / top
            if not visible.is_symlink():
                visible.symlink_to(f"..data/{top}")


class BundleServer:
    """A static bundle server on an ephemeral loopback port, with ETags; counts what it answered."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.answers: list[int] = []
        self.conditional = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                etag = '"' + hashlib.sha256(server.body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match"):
                    server.conditional += 1
                if self.headers.get("If-None-Match") == etag:
                    server.answers.append(304)
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                server.answers.append(200)
                body = server.body
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/bundle.tar.gz"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="test-bundle-server", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def tarball(files: Mapping[str, bytes]) -> bytes:
    return archive_bytes(dict(files))


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def lifecycle_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(LIFECYCLE_THREADS)]


@contextlib.contextmanager
def serving(
    *, enable_admin: bool = False, metrics: bool = False, **settings: Any
) -> Iterator[tuple[Sidecar, sdk.Client]]:
    """A real sidecar (ephemeral ports) on ``BundleSettings(**settings)``, and a client of it.

    Polls every 50 ms unless told otherwise; on exit the sidecar is stopped and no lifecycle
    thread may be left behind.
    """
    settings.setdefault("poll_interval", 0.05)
    source = ManagedBundles(BundleSettings(**settings))
    config = ServiceConfig(
        address="127.0.0.1:0",
        metrics_address="127.0.0.1:0" if metrics else None,
        max_workers=4,
        enable_admin=enable_admin,
    )
    sidecar = start_sidecar(config, source)
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as client:
            yield sidecar, client
    finally:
        sidecar.stop(0)
    wait_until(lambda: not lifecycle_threads(), timeout=5)


def revision_becomes(client: sdk.Client, revision: str | Callable[[str], bool], timeout: float = 10.0) -> str:
    """Wait until the active revision is ``revision`` (or satisfies it); returns it."""
    check = revision if callable(revision) else (lambda r: r == revision)

    def active() -> str | None:
        status = client.status()
        return status.active.revision if status.active is not None and check(status.active.revision) else None

    return wait_until(active, timeout=timeout)
