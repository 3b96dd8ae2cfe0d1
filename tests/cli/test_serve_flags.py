"""`iamgate serve` flags: what reaches the bundle source, and one-line errors for what cannot work."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import iamgate.service
import iamgate.service.bundles
import iamgate_client as sdk
from iamgate.bundle.snapshot import DEFAULT_CACHE_SIZE
from iamgate.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main, status_json, status_text


@pytest.fixture
def captured(monkeypatch):
    """Run `serve` without serving: record the bundle source's settings instead."""
    calls: list[dict] = []

    def fake_source(**settings):
        calls.append(settings)
        return object()

    monkeypatch.setattr(iamgate.service.bundles, "snapshot_source", fake_source)
    monkeypatch.setattr(iamgate.service, "serve", lambda config, source: None)
    return calls


def _serve(*args: str) -> int:
    return main(["serve", "--address", "127.0.0.1:0", "--metrics-address", "off", *args])


def test_serve_passes_the_lifecycle_flags_to_the_bundle_source(captured):
    code = _serve(
        "--bundle",
        "https://bundles.example/prod.tar.gz",
        "--shadow-bundle",
        "/etc/iamgate/candidate",
        "--persist-dir",
        "/var/lib/iamgate",
        "--poll-interval",
        "2.5",
        "--verify-key",
        "signing.pub.pem",
    )
    assert code == EXIT_OK
    assert captured == [
        {
            "bundle": "https://bundles.example/prod.tar.gz",
            "shadow_bundle": "/etc/iamgate/candidate",
            "verify_key": "signing.pub.pem",
            "hmac_secret_file": None,
            "persist_dir": "/var/lib/iamgate",
            "poll_interval": 2.5,
        }
    ]


def test_the_decision_cache_is_on_by_default_with_the_bundle_layers_size(captured):
    _serve()
    assert "cache_size" not in captured[0]  # snapshot_source's default: DEFAULT_CACHE_SIZE
    assert iamgate.service.bundles.BundleSettings().cache_size == DEFAULT_CACHE_SIZE


def test_the_help_states_the_default_cache_size(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert f"default {DEFAULT_CACHE_SIZE};" in capsys.readouterr().out


def test_no_cache_is_a_cache_of_size_zero(captured):
    _serve("--no-cache")
    assert captured[0]["cache_size"] == 0


def test_cache_size_sets_the_cache_size(captured):
    _serve("--cache-size", "5000")
    assert captured[0]["cache_size"] == 5000


def test_no_cache_and_cache_size_together_are_a_usage_error(captured, capsys):
    with pytest.raises(SystemExit) as raised:
        _serve("--no-cache", "--cache-size", "5")
    assert raised.value.code == EXIT_USAGE
    assert "not allowed with" in capsys.readouterr().err and not captured


def test_download_limits_reach_the_bundle_source_only_when_given(captured):
    _serve("--download-timeout", "5", "--max-download-bytes", "1000")
    _serve()
    assert (captured[0]["download_timeout"], captured[0]["max_download_bytes"]) == (5.0, 1000)
    assert "download_timeout" not in captured[1] and "max_download_bytes" not in captured[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bundle", "ftp://bundles.example/b.tar.gz"], "only http:// and https:// URLs"),
        (["--bundle", "/no/such/bundle"], "/no/such/bundle: no such file or directory"),
        (["--persist-dir", "/tmp/x"], "--persist-dir: needs --bundle"),
        (["--poll-interval", "0"], "--poll-interval 0.0: must be more than 0"),
        (["--cache-size", "-1"], "--cache-size -1: must be 0 (off) or more"),
        (["--download-timeout", "0"], "--download-timeout 0.0: must be more than 0 seconds"),
        (["--max-download-bytes", "0"], "--max-download-bytes 0: must be at least 1"),
        (["--hmac-secret-file", "/no/such/secret"], "--verify-key/--hmac-secret-file"),
    ],
)
def test_settings_that_cannot_work_stop_serve_with_one_line(args, message, capsys):
    assert _serve(*args) == EXIT_FAILED
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_url_with_credentials_is_never_echoed(capsys):
    assert _serve("--bundle", "ftp://user:s3cret@bundles.example/b.tar.gz") == EXIT_FAILED
    err = capsys.readouterr().err
    assert "s3cret" not in err and "ftp://***@bundles.example/b.tar.gz" in err


# -- status rendering -----------------------------------------------------------------------------

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _decision(outcome: sdk.Outcome, revision: str, sid: str = "") -> sdk.Decision:
    determining = (sdk.StatementRef("arn:aws:iam::123456789012:policy/P", sdk.PolicyType.IDENTITY, sid, 0),)
    return sdk.Decision(
        outcome=outcome,
        message=f"{outcome} message",
        revision=revision,
        decision_id="",
        determining=determining if sid else (),
    )


STATUS = sdk.Status(
    active=sdk.BundleInfo("prod", "A", "https://***@bundles.example/prod.tar.gz", AT, 4, 3, 9),
    previous_revision="Z",
    previous=sdk.BundleInfo("prod", "Z", "https://***@bundles.example/prod.tar.gz", AT, 4, 3, 8),
    last_error="test: 1 of 2 tests fail: alice may delete: expected allowed, got implicitDeny",
    last_error_at=AT,
    last_error_step="test",
    last_error_source="/etc/iamgate/bundle",
    shadow=sdk.BundleInfo("prod", "B", "/etc/iamgate/candidate", None),
    shadow_stats=sdk.ShadowStats(
        evaluated=5,
        agreed=2,
        disagreed=3,
        recent=(
            sdk.ShadowDisagreement(
                "alice",
                "s3:PutObject",
                "arn:aws:s3:::data/x",
                AT,
                sdk.Explanation(_decision(sdk.Outcome.IMPLICIT_DENY, "A")),
                sdk.Explanation(_decision(sdk.Outcome.ALLOWED, "B", "Write")),
            ),
        ),
    ),
    activations=3,
    rejections=1,
    admin_enabled=True,
)


def test_status_text_shows_the_previous_bundle_the_failed_step_and_the_shadow_counts():
    text = status_text(STATUS)
    assert "previous:   prod (revision Z) from https://***@bundles.example/prod.tar.gz" in text
    assert "last error: test failed at 2026-11-28T12:00:00+00:00 (/etc/iamgate/bundle): test: 1 of 2" in text
    assert "loads:      3 activations, 1 rejections" in text
    assert "shadow:     prod (revision B) from /etc/iamgate/candidate" in text
    assert "5 evaluated, 2 agreed, 3 disagreed, 0 errors" in text
    assert "  disagreement at 2026-11-28T12:00:00+00:00: alice s3:PutObject arn:aws:s3:::data/x" in text
    assert "    active (revision A): implicitDeny: implicitDeny message" in text
    assert "    shadow (revision B): allowed: allowed message" in text
    assert "determined by: identity-based policy arn:aws:iam::123456789012:policy/P, statement Write" in text


def test_status_text_before_any_bundle_says_not_serving():
    assert "none active yet (the sidecar is NOT_SERVING)" in status_text(sdk.Status(active=None))


def test_status_json_carries_the_shadow_counters_and_disagreements():
    data = status_json(STATUS)
    assert (data["lastErrorStep"], data["previous"]["revision"], data["rejections"]) == ("test", "Z", 1)
    shadow = data["shadow"]
    assert (shadow["revision"], shadow["evaluated"], shadow["disagreed"]) == ("B", 5, 3)
    disagreement = shadow["recentDisagreements"][0]
    assert (disagreement["active"]["decision"], disagreement["shadow"]["decision"]) == (
        "implicitDeny",
        "allowed",
    )
    assert disagreement["shadow"]["determiningStatements"][0]["sid"] == "Write"


def test_serve_passes_the_trusted_context_keys_to_the_bundle_source(captured):
    code = _serve("--trust-context-key", "aws:SourceIdentity", "--trust-context-key", "aws:PrincipalTag/*")
    assert code == EXIT_OK
    assert captured[0]["trusted_context_keys"] == ("aws:SourceIdentity", "aws:PrincipalTag/*")


def test_status_shows_the_trusted_context_keys():
    trusting = sdk.Status(active=None, trusted_context_keys=("aws:PrincipalTag/*", "aws:SourceIdentity"))
    assert "trusted:    aws:PrincipalTag/*, aws:SourceIdentity" in status_text(trusting)
    assert status_json(trusting)["trustedContextKeys"] == ["aws:PrincipalTag/*", "aws:SourceIdentity"]
    assert "trusted:    - (callers may assert no sidecar-owned key)" in status_text(sdk.Status(active=None))
