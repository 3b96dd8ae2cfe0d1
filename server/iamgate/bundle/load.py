"""One call from a path to a Bundle or a Snapshot: read -> verify -> parse -> validate -> compile.

Each step refuses with a ``BundleError`` subclass whose message names the file and JSON path;
verification runs on the raw bytes before any organization document is parsed.
"""

from __future__ import annotations

import os
from datetime import datetime

from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import BundleValidationError
from iamgate.bundle.loader import BundleFiles, load_files
from iamgate.bundle.model import Bundle
from iamgate.bundle.reader import read_organization
from iamgate.bundle.signing import Verifier
from iamgate.bundle.snapshot import Snapshot
from iamgate.bundle.verify import check_bundle


def open_bundle(
    files: BundleFiles, *, verifier: Verifier | None = None, revision: str | None = None
) -> Bundle:
    """Verify and read already-loaded files; raise on the first failing step (all errors listed)."""
    checked = check_bundle(files, verifier=verifier, revision=revision)
    result = read_organization(files)
    if result.errors:
        raise BundleValidationError(files.source, result.problems)
    return Bundle(checked.manifest, result.organization, files.source, checked.signature, result.warnings)


def load_bundle(
    source: str | os.PathLike[str], *, verifier: Verifier | None = None, revision: str | None = None
) -> Bundle:
    """Read a directory, .tar.gz or authorization-details JSON file into a validated Bundle."""
    return open_bundle(load_files(source), verifier=verifier, revision=revision)


def load_snapshot(
    source: str | os.PathLike[str],
    *,
    verifier: Verifier | None = None,
    revision: str | None = None,
    activated_at: datetime | None = None,
    cache_size: int = 0,
) -> Snapshot:
    """A compiled Snapshot of the bundle at ``source`` (raises ``BundleError`` if it is not usable).

    ``cache_size`` > 0 gives it a decision cache of that many entries.
    """
    bundle = load_bundle(source, verifier=verifier, revision=revision)
    return build_snapshot(bundle, source=str(source), activated_at=activated_at).with_cache(cache_size)
