"""Review finding: the decision cache never keeps a caller's huge strings.

The cache holds up to 100,000 decisions per revision, keyed by the request's resource, its
session policy and the context values the policies compare. Authorize requests with 60 KB
resources each left ~60 KB behind: 2,000 of them grew the sidecar by 121 MB, and the default
cache size let a caller pin ~6 GB. Requests with longer texts than ``MAX_CACHED_TEXT`` are now
evaluated afresh and not kept, and a long session policy is kept in the key by its digest.
"""

from __future__ import annotations

import iamgate_client as sdk
from iamgate.engine.cache import MAX_CACHED_TEXT
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

SESSION = "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-0abc"
UPLOADS = "arn:aws:s3:::my-app-uploads/"


def _cached_entries(requests: list[dict]) -> int:
    source = default_source()
    running = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            for request in requests:
                client.authorize(SESSION, "s3:PutObject", **request)
        cache = source.current().decision_cache
        return cache.size
    finally:
        running.stop(0)


def test_requests_with_huge_resources_leave_nothing_in_the_decision_cache() -> None:
    huge = [{"resource": f"{UPLOADS}{n}-" + "k" * 60_000} for n in range(20)]
    assert _cached_entries(huge) == 0


def test_requests_with_ordinary_resources_are_still_cached() -> None:
    ordinary = [{"resource": f"{UPLOADS}{n}.jpg"} for n in range(20)]
    assert _cached_entries(ordinary) == 20


def test_a_long_session_policy_is_kept_by_digest_not_by_text() -> None:
    statement = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{UPLOADS}*"}
    policy = {"Version": "2012-10-17", "Statement": [statement], "Id": "x" * (MAX_CACHED_TEXT + 1)}
    source = default_source()
    running = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            assert client.authorize(SESSION, "s3:PutObject", f"{UPLOADS}a.jpg", session_policy=policy).allowed
            assert client.authorize(SESSION, "s3:PutObject", f"{UPLOADS}a.jpg", session_policy=policy).allowed
        cache = source.current().decision_cache
        assert cache.size == 1 and cache.hits == 1
        (base,) = list(cache._plans.keys())  # entries are keyed by their plan, kept under this base
        assert all(len(part) <= MAX_CACHED_TEXT for part in base[0] if isinstance(part, str | bytes))
    finally:
        running.stop(0)


def test_a_huge_service_principal_leaves_nothing_huge_in_the_decision_cache() -> None:
    source = default_source()
    running = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with sdk.Client(f"127.0.0.1:{running.port}") as client:
            for n in range(5):
                client.authorize(f"s{n}{'x' * 60_000}.amazonaws.com", "s3:GetObject", f"{UPLOADS}a.jpg")
        for base in source.current().decision_cache._plans:  # entries are keyed by these bases' plans
            assert all(len(part) <= MAX_CACHED_TEXT for part in base[0] if isinstance(part, str | bytes))
    finally:
        running.stop(0)
