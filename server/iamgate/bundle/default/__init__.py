"""The embedded default bundle: the organization of the AWS IAM beginner's guide.

Served when no bundle is configured, so ``iamgate serve`` answers from the first second. Account
123456789012 holds the guide's users (sarah-developer and john-developer in Developers, mike-devops
in DevOps, lisa-finance in Finance, plus a time-boxed contractor), the EC2-S3-Upload-Role and the
guide's example policies; account 210987654321 is the production account of the guide's
cross-account scenario. The bundle's own tests (``bundle/tests/``) pin the guide's claims.

After editing a file under ``bundle/``, refresh the manifest (its revision is the content hash)::

    python -m iamgate.bundle.default
"""

from __future__ import annotations

from pathlib import Path

from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.load import load_bundle
from iamgate.bundle.snapshot import DEFAULT_CACHE_SIZE, Snapshot

SOURCE = "embedded:default"


def load_default_snapshot(*, cache_size: int = DEFAULT_CACHE_SIZE) -> Snapshot:
    """Load, check the file hashes of, validate and compile the embedded bundle (milliseconds)."""
    bundle = load_bundle(Path(__file__).with_name("bundle"))  # (importlib.resources costs ~10 ms to import)
    return build_snapshot(bundle, source=SOURCE).with_cache(cache_size)
