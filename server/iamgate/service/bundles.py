"""Wiring from ``iamgate serve`` flags to a snapshot source for the servicer.

* no ``--bundle``: the embedded default bundle, activated once;
* ``--bundle PATH``: that directory, ``.tar.gz`` or account-details file, verified with
  ``--verify-key`` / ``--hmac-secret-file`` when given, activated once;
* watching, URLs, persistence and shadow rollout belong to the bundle layer's lifecycle manager
  (``iamgate.bundle.activation``); while it is not part of this build, asking for them is one
  clear error instead of a silently ignored flag.
"""

from __future__ import annotations

from typing import Any

from iamgate.errors import IamgateError
from iamgate.service.errors import ServiceError
from iamgate.service.snapshots import StaticSnapshots


class BundleSetupError(ServiceError):
    """The bundle settings cannot be honoured (unreadable bundle, unsupported flag, ...)."""


def default_source() -> StaticSnapshots:
    """The embedded default bundle (the beginner's guide's organization), activated at once."""
    from iamgate.bundle.default import load_default_snapshot

    try:
        return StaticSnapshots(load_default_snapshot())
    except IamgateError as error:
        raise BundleSetupError(f"the embedded default bundle failed to load: {error}") from None


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


def snapshot_source(
    *,
    bundle: str | None = None,
    shadow_bundle: str | None = None,
    verify_key: str | None = None,
    hmac_secret_file: str | None = None,
    persist_dir: str | None = None,
    cache: bool = True,
) -> Any:
    """A snapshot source for these settings; raises BundleSetupError with the reason.

    ``cache`` is accepted for the decision cache; decisions are not cached in this build.
    """
    lifecycle = [
        name for name, value in (("--shadow-bundle", shadow_bundle), ("--persist-dir", persist_dir)) if value
    ]
    if bundle is not None and "://" in bundle:
        lifecycle.insert(0, "--bundle URL")
    if lifecycle:
        raise BundleSetupError(
            f"{', '.join(lifecycle)}: needs the bundle lifecycle manager, not part of this build yet "
            "(serve a local bundle with --bundle PATH, or the embedded default without --bundle)"
        )
    verifier = verifier_from_files(verify_key, hmac_secret_file)
    if bundle is None:
        if verifier is not None:
            raise BundleSetupError(
                "--verify-key/--hmac-secret-file: need --bundle (the embedded bundle is unsigned)"
            )
        return default_source()
    from iamgate.bundle.load import load_snapshot

    try:
        return StaticSnapshots(load_snapshot(bundle, verifier=verifier))
    except IamgateError as error:
        raise BundleSetupError(f"--bundle {bundle}: {error}") from None
