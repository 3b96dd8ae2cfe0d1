"""Versioned policy bundles: format, reading and validation, signing, the compiled Snapshot.

A bundle is read (``loader``), verified before anything is parsed (``verify``, ``signing``), parsed
and validated with every problem located by file and JSON path (``reader``, ``validate``), and
compiled into an immutable ``Snapshot`` that answers ``AccessQuery``s. ``activation`` swaps
snapshots atomically (with persistence, rollback and shadow evaluation); ``sources`` fetches
bundles from disk or HTTP; ``commands`` backs ``iamgate bundle build|inspect``, ``validate`` and
``test``. The bundle layer imports ``policy`` and ``engine`` only; it does no networking beyond
the HTTP source's polling.
"""

from iamgate.bundle.activation import (
    ActivationError,
    ActivationEvent,
    BundleManager,
    BundleStatus,
    NoActiveBundleError,
)
from iamgate.bundle.commands import CommandResult
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import (
    BundleError,
    BundleFormatError,
    BundleProblem,
    BundleValidationError,
    BundleVerificationError,
)
from iamgate.bundle.load import load_bundle, load_snapshot, open_bundle
from iamgate.bundle.loader import BundleFiles, load_files
from iamgate.bundle.model import Bundle, Manifest, Organization
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.shadow import ShadowStatus
from iamgate.bundle.signing import Verifier, load_signer, load_verifier
from iamgate.bundle.snapshot import Snapshot, SnapshotCounts
from iamgate.bundle.sources import BundleSourceError, HttpSource, LocalSource, Poller, open_source

__all__ = [
    "AccessOutcome",
    "AccessQuery",
    "ActivationError",
    "ActivationEvent",
    "Bundle",
    "BundleError",
    "BundleFiles",
    "BundleFormatError",
    "BundleManager",
    "BundleProblem",
    "BundleSourceError",
    "BundleStatus",
    "BundleValidationError",
    "BundleVerificationError",
    "CommandResult",
    "HttpSource",
    "LocalSource",
    "Manifest",
    "NoActiveBundleError",
    "Organization",
    "Poller",
    "ShadowStatus",
    "Snapshot",
    "SnapshotCounts",
    "Verifier",
    "build_snapshot",
    "load_bundle",
    "load_files",
    "load_signer",
    "load_snapshot",
    "load_verifier",
    "open_bundle",
    "open_source",
]
