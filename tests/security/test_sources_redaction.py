"""Credentials in a bundle URL (userinfo, presigned query strings, fragments) are used, never shown.

A presigned S3 URL carries its credential, session token and signature in the query string; a
sidecar fetches with the real URL but names the source everywhere else — metric labels, GetStatus,
log lines, error messages, the persisted state — with every query value masked.
"""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path

from service.bundle_helpers import MALFORMED, bundle_files, revision_becomes, serving, tarball, wait_until

from .sources_helpers import StaticServer

SECRETS = ("AKIASECRETCREDENTIAL", "SECRETSESSIONTOKEN", "5ec2e75eb0deadbeef", "SECRETFRAGMENT", "hunter2")
PRESIGNED = (
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIASECRETCREDENTIAL%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Security-Token=SECRETSESSIONTOKEN&X-Amz-Signature=5ec2e75eb0deadbeef&token=hunter2"
    "#SECRETFRAGMENT"
)


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_a_presigned_url_never_appears_in_metrics_status_logs_or_persisted_state(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server = StaticServer(tarball(bundle_files(revision="A")), etag=True)
    persist = tmp_path / "state"
    try:
        with serving(bundle=server.url + PRESIGNED, persist_dir=str(persist), metrics=True) as (
            sidecar,
            client,
        ):
            assert client.status().active.revision == "A"
            assert "X-Amz-Signature=5ec2e75eb0deadbeef" in server.paths[0]  # the real URL fetches
            server.fail_next = 1  # a fetch failure: logged, in last_error
            wait_until(lambda: client.status().last_error_step == "fetch")
            server.publish(tarball(bundle_files(revision="M", extra=MALFORMED)), 1_764_000_100)
            wait_until(lambda: client.status().last_error_step == "validate")  # a rejection
            server.publish(tarball(bundle_files(write=True, revision="B")), 1_764_000_200)
            revision_becomes(client, "B")
            metrics = (
                urllib.request.urlopen(f"http://127.0.0.1:{sidecar.metrics_port}/metrics").read().decode()
            )
            status = repr(client.status())
            source = client.status().active.source
    finally:
        server.close()
    assert "iamgate_bundle_info" in metrics and "X-Amz-Signature=***" in metrics
    assert source.endswith(
        "?X-Amz-Algorithm=***&X-Amz-Credential=***&X-Amz-Security-Token=***&X-Amz-Signature=***&token=***#***"
    )
    logs = caplog.text
    assert "cannot fetch bundle" in logs and "rejected bundle" in logs
    persisted = "".join(
        path.read_bytes().decode("latin-1") for path in Path(persist).rglob("*") if path.is_file()
    )
    assert (_leaks(metrics), _leaks(status), _leaks(logs), _leaks(persisted)) == ([], [], [], [])
