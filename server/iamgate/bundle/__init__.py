"""Versioned policy bundles: format, reading and validation, signing, the compiled Snapshot.

A bundle is read (``loader``), verified before anything is parsed (``verify``, ``signing``), parsed
and validated with every problem located by file and JSON path (``reader``, ``validate``), and
compiled into an immutable ``Snapshot`` that answers ``AccessQuery``s. ``activation`` swaps
snapshots atomically (with persistence, rollback and shadow evaluation); ``sources`` fetches
bundles from disk or HTTP; ``commands`` backs ``iamgate bundle build|inspect``, ``validate`` and
``test``. The bundle layer imports ``policy`` and ``engine`` only; it does no networking beyond
the HTTP source's polling.

The names below are imported from their modules on first use (PEP 562), so a process that needs
one of them (``iamgate serve`` needs activation, not signing, the HTTP source or the commands)
loads only what that one needs.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:  # what type checkers read; at run time __getattr__ below imports on first use
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

_MODULE_OF: dict[str, str] = {
    "AccessOutcome": "iamgate.bundle.query",
    "AccessQuery": "iamgate.bundle.query",
    "ActivationError": "iamgate.bundle.activation",
    "ActivationEvent": "iamgate.bundle.activation",
    "Bundle": "iamgate.bundle.model",
    "BundleError": "iamgate.bundle.errors",
    "BundleFiles": "iamgate.bundle.loader",
    "BundleFormatError": "iamgate.bundle.errors",
    "BundleManager": "iamgate.bundle.activation",
    "BundleProblem": "iamgate.bundle.errors",
    "BundleSourceError": "iamgate.bundle.sources",
    "BundleStatus": "iamgate.bundle.activation",
    "BundleValidationError": "iamgate.bundle.errors",
    "BundleVerificationError": "iamgate.bundle.errors",
    "CommandResult": "iamgate.bundle.commands",
    "HttpSource": "iamgate.bundle.sources",
    "LocalSource": "iamgate.bundle.sources",
    "Manifest": "iamgate.bundle.model",
    "NoActiveBundleError": "iamgate.bundle.activation",
    "Organization": "iamgate.bundle.model",
    "Poller": "iamgate.bundle.sources",
    "ShadowStatus": "iamgate.bundle.shadow",
    "Snapshot": "iamgate.bundle.snapshot",
    "SnapshotCounts": "iamgate.bundle.snapshot",
    "Verifier": "iamgate.bundle.signing",
    "build_snapshot": "iamgate.bundle.compiler",
    "load_bundle": "iamgate.bundle.load",
    "load_files": "iamgate.bundle.loader",
    "load_signer": "iamgate.bundle.signing",
    "load_snapshot": "iamgate.bundle.load",
    "load_verifier": "iamgate.bundle.signing",
    "open_bundle": "iamgate.bundle.load",
    "open_source": "iamgate.bundle.sources",
}
"""Public name -> the module that defines it."""


def __getattr__(name: str) -> _typing.Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
