"""Sources: local files and directories watched for changes, HTTP with ETags, backoff with jitter."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from iamgate.bundle.activation import BundleManager
from iamgate.bundle.archive import archive_bytes
from iamgate.bundle.errors import BundleError
from iamgate.bundle.loader import ARCHIVE, DETAILS, load_files
from iamgate.bundle.sources import (
    Backoff,
    BundleSourceError,
    HttpSource,
    LocalSource,
    Poller,
    _HttpOnlyRedirects,
    open_source,
)

from .helpers import DETAILS_FIXTURE


class _Server:
    """A bundle server on an ephemeral loopback port: serves ``body`` with an ETag, counts requests."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.redirect = ""
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(dict(self.headers))
                etag = '"' + hashlib.sha256(server.body).hexdigest()[:16] + '"'
                if server.redirect:
                    self.send_response(302)
                    self.send_header("Location", server.redirect)
                    self.end_headers()
                elif server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                elif self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(server.body)))
                    self.end_headers()
                    self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/bundle.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    served = _Server()
    yield served
    served.close()


def _archive(root) -> bytes:
    return archive_bytes(dict(load_files(root).files))


# -- local --------------------------------------------------------------------------------------


def test_a_local_source_returns_the_bundle_once_then_nothing_until_it_changes(make_bundle):
    root = make_bundle()
    source = LocalSource(root)
    assert source.poll() is not None
    assert source.poll() is None
    (root / "tests" / "more.json").write_text('{"tests": []}')
    assert "tests/more.json" in source.poll().files


def test_touching_a_file_without_changing_it_is_not_a_new_bundle(make_bundle):
    root = make_bundle()
    source = LocalSource(root)
    source.poll()
    users = root / "accounts/123456789012/users.json"
    os.utime(users, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert source.poll() is None


def test_a_configmap_data_symlink_swap_is_seen(make_bundle, tmp_path):
    first, second = make_bundle(), make_bundle({"tests/more.json": {"tests": []}})
    volume = tmp_path / "volume"
    volume.mkdir()
    shutil.copytree(first, volume / "..2026_01")
    os.symlink("..2026_01", volume / "..data")
    for top in ("accounts", "tests"):
        os.symlink(f"..data/{top}", volume / top)
    source = LocalSource(volume)
    assert "tests/more.json" not in source.poll().files
    shutil.copytree(second, volume / "..2026_02")
    os.symlink("..2026_02", volume / "..data_tmp")
    os.replace(volume / "..data_tmp", volume / "..data")  # the kubelet's atomic swap
    shutil.rmtree(volume / "..2026_01")
    assert "tests/more.json" in source.poll().files


def test_a_local_archive_file_is_watched_too(make_bundle, tmp_path):
    path = tmp_path / "b.tar.gz"
    path.write_bytes(_archive(make_bundle()))
    source = LocalSource(path)
    assert source.poll().kind == ARCHIVE
    assert source.poll() is None


def test_a_missing_local_source_is_a_source_error(tmp_path):
    with pytest.raises(BundleSourceError, match="cannot read"):
        LocalSource(tmp_path / "gone").poll()


# -- http ---------------------------------------------------------------------------------------


def test_an_http_source_fetches_then_sends_the_etag_and_gets_304(server, make_bundle):
    server.body = _archive(make_bundle())
    source = HttpSource(server.url)
    assert source.poll().kind == ARCHIVE
    assert source.poll() is None
    assert "If-None-Match" not in server.requests[0]
    assert server.requests[1]["If-None-Match"] == source.etag


def test_an_http_source_sees_a_new_bundle(server, make_bundle):
    server.body = _archive(make_bundle())
    source = HttpSource(server.url)
    source.poll()
    server.body = _archive(make_bundle({"tests/more.json": {"tests": []}}))
    assert "tests/more.json" in source.poll().files


def test_an_http_source_serves_a_details_file(server):
    server.body = DETAILS_FIXTURE.read_bytes()
    assert HttpSource(server.url.replace("bundle.tar.gz", "details.json")).poll().kind == DETAILS


def test_an_http_error_is_a_source_error_with_the_status(server):
    server.status = 503
    with pytest.raises(BundleSourceError, match="HTTP 503"):
        HttpSource(server.url).poll()


def test_a_redirect_away_from_http_is_refused(server):
    server.redirect = "ftp://bundles.example/bundle.tar.gz"
    with pytest.raises(BundleSourceError, match="refusing to follow a redirect"):
        HttpSource(server.url).poll()


def test_an_unreachable_server_is_a_source_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(BundleSourceError, match="cannot fetch"):
        HttpSource(f"http://127.0.0.1:{port}/bundle.tar.gz", timeout=2).poll()


def test_only_http_and_https_urls_are_accepted():
    with pytest.raises(BundleError, match="only http"):
        HttpSource("file:///etc/passwd")


def test_open_source_picks_http_for_urls_and_local_otherwise(tmp_path):
    assert isinstance(open_source("https://bundles.example/b.tar.gz"), HttpSource)
    assert isinstance(open_source(str(tmp_path)), LocalSource)


# -- backoff and polling ------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_between_half_and_all_of_the_step():
    low, high = (
        Backoff(base=1, maximum=60, random=lambda: 0.0),
        Backoff(base=1, maximum=60, random=lambda: 1.0),
    )
    assert [low.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 4, 8]
    assert [high.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert high.delay(20) == 60


class _FlakySource:
    description = "flaky"

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)

    def poll(self):
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_a_failing_source_backs_off_and_a_success_resets_the_interval(make_bundle):
    files = load_files(make_bundle())
    errors, received = [], []
    source = _FlakySource([BundleSourceError("down"), BundleSourceError("down"), files, None])
    poller = Poller(
        source,
        received.append,
        interval=10,
        backoff=Backoff(base=2, random=lambda: 1.0),
        on_error=errors.append,
        jitter=lambda: 0.5,
    )
    assert [poller.poll_once() for _ in range(4)] == [2, 4, 10, 10]
    assert len(errors) == 2 and received == [files]


def test_the_poll_interval_is_jittered_so_sidecars_spread_out():
    poller = Poller(_FlakySource([None, None]), print, interval=10, jitter=lambda: 0.0)
    assert poller.poll_once() == 9.0


def test_a_poller_thread_activates_a_changed_bundle(make_bundle):
    root = make_bundle()
    manager = BundleManager()
    activated = threading.Event()
    poller = Poller(LocalSource(root), lambda files: manager.offer(files) and activated.set(), interval=0.01)
    poller.start()
    try:
        assert activated.wait(10)
        first = manager.current().revision
        activated.clear()
        (root / "tests" / "more.json").write_text('{"tests": []}')
        assert activated.wait(10)
        assert manager.current().revision != first
    finally:
        poller.stop()


# -- limits and redaction -----------------------------------------------------------------------


def test_a_redirect_refusal_never_echoes_the_credentials_of_its_target(server):
    server.redirect = "ftp://bundles.example/bundle.tar.gz?token=hunter2"
    with pytest.raises(BundleSourceError) as caught:
        HttpSource(server.url + "?X-Amz-Signature=deadbeef").poll()
    assert "hunter2" not in str(caught.value) and "deadbeef" not in str(caught.value)
    assert "token=***" in str(caught.value)


def test_an_http_source_is_named_by_its_redacted_url():
    source = HttpSource("https://u:p@bundles.example/b.tar.gz?X-Amz-Credential=AKIA&flag#frag")
    assert source.description == "https://***@bundles.example/b.tar.gz?X-Amz-Credential=***&***#***"


def test_closing_an_http_source_cuts_a_download_in_progress_short():
    with socket.socket() as listener:  # accepts, then never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        source = HttpSource(f"http://127.0.0.1:{listener.getsockname()[1]}/b.tar.gz", timeout=30)
        threading.Timer(0.3, source.close).start()
        started = time.monotonic()
        with pytest.raises(BundleSourceError, match="cut short"):
            source.poll()
        assert time.monotonic() - started < 5


def test_a_redirect_from_https_down_to_http_is_refused():
    request = urllib.request.Request("https://bundles.example/bundle.tar.gz")
    with pytest.raises(urllib.error.HTTPError, match="refusing to follow a redirect"):
        _HttpOnlyRedirects().redirect_request(
            request, None, 302, "Found", {}, "http://bundles.example/bundle.tar.gz"
        )


def test_a_redirect_from_https_to_https_is_followed():
    request = urllib.request.Request("https://bundles.example/bundle.tar.gz")
    followed = _HttpOnlyRedirects().redirect_request(
        request, None, 302, "Found", {}, "https://mirror.example/bundle.tar.gz"
    )
    assert followed.full_url == "https://mirror.example/bundle.tar.gz"
