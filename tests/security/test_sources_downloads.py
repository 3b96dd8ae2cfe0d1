"""A hostile or slow bundle server never keeps a sidecar from serving, and never costs unbounded work.

Each test runs a real sidecar (``ManagedBundles``, the source ``iamgate serve`` uses, on loopback
ephemeral ports) against a real HTTP server on loopback.
"""

from __future__ import annotations

import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service.bundle_helpers import BundleServer, bundle_files, revision_becomes, serving, tarball, wait_until

from .sources_helpers import DripServer, StaticServer

READ = ("alice", "s3:GetObject", "arn:aws:s3:::data/x")


def _health(port: int) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = health_pb2.HealthCheckRequest(service="iamgate.v1.Authorizer")
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def _persisted_revision_a(persist: str) -> None:
    """Run a sidecar once against a good server so that ``persist`` holds revision A."""
    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        with serving(bundle=server.url, persist_dir=persist) as (_, client):
            assert client.status().active.revision == "A"
    finally:
        server.close()


def test_a_dripping_server_does_not_keep_a_restored_sidecar_from_serving_or_stopping(tmp_path):
    persist = str(tmp_path / "state")
    _persisted_revision_a(persist)
    drip = DripServer(tarball(bundle_files(write=True, revision="B")), every=0.2)  # ~1 KB: minutes
    try:
        started = time.monotonic()
        with serving(bundle=drip.url, persist_dir=persist) as (sidecar, client):
            opened = time.monotonic() - started
            assert _health(sidecar.port) == health_pb2.HealthCheckResponse.SERVING
            answer = client.authorize(*READ)
            assert (answer.allowed, answer.revision) == (True, "A")
            assert opened < 2.0, f"the port opened after {opened:.1f} s"
            wait_until(lambda: drip.answers)  # the first poll is under way, in the background
            stopping = time.monotonic()
        # leaving ``serving`` stopped the sidecar while the download was still dripping
        assert time.monotonic() - stopping < 3.0
    finally:
        drip.close()


def test_a_dripping_download_is_cut_off_at_the_deadline_as_a_fetch_failure(tmp_path):
    persist = str(tmp_path / "state")
    _persisted_revision_a(persist)
    drip = DripServer(tarball(bundle_files(write=True, revision="B")), every=0.2)
    try:
        with serving(bundle=drip.url, persist_dir=persist, download_timeout=1.0, metrics=True) as (
            sidecar,
            client,
        ):
            status = wait_until(lambda: (s := client.status()).last_error_step == "fetch" and s, timeout=8)
            assert "did not finish within 1 s" in status.last_error
            assert status.active.revision == "A" and client.authorize(*READ).allowed
            fetch_failed = {"result": "fetch-failed"}
            assert sidecar.metrics.registry.get_sample_value("iamgate_bundle_activations_total", fetch_failed)
    finally:
        drip.close()


def test_an_oversized_download_is_refused_while_streaming(tmp_path):
    body = tarball(bundle_files(revision="A")) + b"\0" * 200_000  # no Content-Length: only streaming sees it
    server = StaticServer(body, content_length=False)
    try:
        with serving(bundle=server.url, max_download_bytes=100_000) as (_, client):
            status = client.status()
            assert status.active is None and status.last_error_step == "fetch"
            assert "exceeds the 100000-byte download limit" in status.last_error
    finally:
        server.close()


def test_an_oversized_download_is_refused_from_its_content_length(tmp_path):
    server = StaticServer(tarball(bundle_files(revision="A")) + b"\0" * 200_000)
    try:
        with serving(bundle=server.url, max_download_bytes=100_000) as (_, client):
            assert "more than the 100000-byte download limit" in client.status().last_error
    finally:
        server.close()


def test_a_server_with_last_modified_but_no_etag_answers_304_to_later_polls(tmp_path):
    server = StaticServer(tarball(bundle_files(revision="A")))
    try:
        with serving(bundle=server.url) as (_, client):
            assert client.status().active.revision == "A"
            wait_until(lambda: len(server.answers) >= 5)
            assert server.answers[0] == 200 and set(server.answers[1:]) == {304}
            assert server.conditional[1]["If-Modified-Since"] == server.modified
            server.publish(tarball(bundle_files(write=True, revision="B")), 1_764_000_100)
            revision_becomes(client, "B")
    finally:
        server.close()
