"""Checking a bundle's integrity before anything in it is parsed.

Order matters: with verification configured the signature over manifest.json's bytes is checked
first, then the manifest is read and every file's SHA-256 compared with it — a missing, extra or
altered file is refused with its path. Only then do organization documents get parsed. Without
verification the hashes are still checked whenever the bundle has a manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from iamgate.bundle import format as fmt
from iamgate.bundle.errors import BundleVerificationError
from iamgate.bundle.loader import DETAILS, BundleFiles
from iamgate.bundle.model import Manifest
from iamgate.bundle.signing import Verifier, parse_signatures
from iamgate.policy.json_text import JsonTextError, load_strict

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class CheckedManifest:
    manifest: Manifest
    signature: str
    """``unsigned``, ``verified (KEYID, ALGORITHM)`` or ``signed by KEYID (not verified)``."""
    declared: bool
    """Whether the bundle carried a manifest.json (a source directory or a details file may not)."""


def check_bundle(
    files: BundleFiles, *, verifier: Verifier | None = None, revision: str | None = None
) -> CheckedManifest:
    """Verify the signature (if configured) and the file hashes; return the manifest to use."""
    manifest_bytes = files.files.get(fmt.MANIFEST) if files.kind != DETAILS else None
    signatures_bytes = files.files.get(fmt.SIGNATURES) if files.kind != DETAILS else None
    if verifier is not None:
        if manifest_bytes is None:
            raise BundleVerificationError(
                "unsigned", f"{files.source}: bundle has no {fmt.MANIFEST}, so it cannot be verified"
            )
        signature = verifier.check(manifest_bytes, signatures_bytes)
    else:
        signature = _signature_status(signatures_bytes)
    if manifest_bytes is None:
        name = files.default_name
        return CheckedManifest(
            Manifest(name=name, revision=revision or fmt.content_revision(files.files)),
            signature,
            declared=False,
        )
    manifest = parse_manifest(manifest_bytes)
    check_file_hashes(manifest, files)
    if revision:
        manifest = Manifest(
            manifest.name, revision, manifest.created, manifest.metadata, manifest.files, manifest.format
        )
    return CheckedManifest(manifest, signature, declared=True)


def parse_manifest(data: bytes) -> Manifest:
    """Read manifest.json strictly: any problem is a refusal naming the JSON path."""
    try:
        document = load_strict(data)
    except JsonTextError as error:
        raise BundleVerificationError("bad-manifest", f"{fmt.MANIFEST}: {error}") from None
    if not isinstance(document, dict):
        raise BundleVerificationError("bad-manifest", f"{fmt.MANIFEST}: expected a JSON object")
    unknown = sorted(set(document) - {"format", "name", "revision", "created", "metadata", "files"})
    if unknown:
        raise BundleVerificationError("bad-manifest", f"{fmt.MANIFEST}: {unknown[0]}: unknown field")
    form = document.get("format", fmt.FORMAT)
    if form != fmt.FORMAT:
        raise BundleVerificationError(
            "bad-manifest", f"{fmt.MANIFEST}: format: expected {fmt.FORMAT!r}, got {form!r}"
        )
    name = _string(document, "name", required=True)
    revision = _string(document, "revision", required=True)
    created = _string(document, "created", required=False)
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        raise BundleVerificationError("bad-manifest", f"{fmt.MANIFEST}: metadata: expected an object")
    listed = document.get("files")
    if not isinstance(listed, dict):
        raise BundleVerificationError(
            "bad-manifest", f"{fmt.MANIFEST}: files: expected an object {{path: sha256}}"
        )
    for path, digest in listed.items():
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise BundleVerificationError(
                "bad-manifest", f"{fmt.MANIFEST}: files[{path!r}]: expected a lower-case SHA-256 hex digest"
            )
    return Manifest(
        name=name,
        revision=revision,
        created=created,
        metadata=tuple(sorted(metadata.items())),
        files=tuple(sorted(listed.items())),
    )


def check_file_hashes(manifest: Manifest, files: BundleFiles) -> None:
    """Refuse a bundle whose files differ from the manifest's list: every discrepancy is named."""
    listed = dict(manifest.files)
    present = {path for path in files.files if path not in fmt.UNHASHED}
    missing = sorted(set(listed) - present)
    extra = sorted(present - set(listed))
    altered = sorted(
        path for path in set(listed) & present if fmt.sha256_hex(files.files[path]) != listed[path]
    )
    if not (missing or extra or altered):
        return
    parts = []
    if missing:
        parts.append("missing file(s) listed in the manifest: " + ", ".join(missing))
    if extra:
        parts.append("extra file(s) not listed in the manifest: " + ", ".join(extra))
    if altered:
        parts.append("altered file(s) (SHA-256 differs from the manifest): " + ", ".join(altered))
    reason = "missing-file" if missing else "extra-file" if extra else "altered-file"
    raise BundleVerificationError(reason, f"{files.source}: " + "; ".join(parts))


def _signature_status(signatures_bytes: bytes | None) -> str:
    if signatures_bytes is None:
        return "unsigned"
    try:
        entries = parse_signatures(signatures_bytes)
    except BundleVerificationError as error:
        return f"unreadable signatures ({error})"
    if not entries:
        return "unsigned"
    ids = ", ".join(f"{entry.keyid} ({entry.algorithm})" for entry in entries)
    return f"signed by {ids}, not verified"


def _string(document: dict[str, Any], key: str, *, required: bool) -> str:
    value = document.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BundleVerificationError("bad-manifest", f"{fmt.MANIFEST}: {key}: expected a non-empty string")
    return value
