"""The bundle format: file names, size limits, the manifest and the canonical forms that get hashed.

A bundle is a directory (or a ``.tar.gz`` of one)::

    manifest.json                                  name, revision, created, metadata, files{path: sha256}
    signatures.json                                optional signatures over manifest.json
    organization.json                              optional: root, OUs, accounts, SCPs
    aws-managed-policies.json                      optional: documents of AWS-managed policies used
    http-routes.json                               optional: HTTP request -> access query (ext_authz)
    accounts/<ACCOUNT_ID>/users.json               {"Users": [UserDetail...]}
    accounts/<ACCOUNT_ID>/groups.json              {"Groups": [GroupDetail...]}
    accounts/<ACCOUNT_ID>/roles.json               {"Roles": [RoleDetail...]}
    accounts/<ACCOUNT_ID>/policies.json            {"Policies": [customer-managed policy...]}
    accounts/<ACCOUNT_ID>/authorization-details.json   `aws iam get-account-authorization-details`, as is
    accounts/<ACCOUNT_ID>/resource-policies.json   {"ResourcePolicies": [{"ResourceArn", "Policy"}]}
    accounts/<ACCOUNT_ID>/resource-tags.json       {"ResourceTags": [{"ResourceArn", "Tags"}]}
    tests/*.json                                   {"tests": [policy test...]}

docs/bundles.md is the user's description of the same; the JSON Schemas live in ``schemas/``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

FORMAT = "iamgate-bundle/v1"

MANIFEST = "manifest.json"
SIGNATURES = "signatures.json"
ORGANIZATION = "organization.json"
AWS_MANAGED_POLICIES = "aws-managed-policies.json"
AUTHORIZATION_DETAILS = "authorization-details.json"
HTTP_ROUTES = "http-routes.json"
ACCOUNTS_DIR = "accounts"
TESTS_DIR = "tests"

USERS = "users.json"
GROUPS = "groups.json"
ROLES = "roles.json"
POLICIES = "policies.json"
RESOURCE_POLICIES = "resource-policies.json"
RESOURCE_TAGS = "resource-tags.json"
ACCOUNT_FILES = (USERS, GROUPS, ROLES, POLICIES, AUTHORIZATION_DETAILS, RESOURCE_POLICIES, RESOURCE_TAGS)

UNHASHED = frozenset({MANIFEST, SIGNATURES})
"""Files the manifest does not list: the manifest itself and the signatures over it."""

MAX_FILES = 10_000
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""Caps on what a bundle may expand to; a gzip bomb is refused when it crosses them, not after."""
MAX_ARCHIVE_OVERHEAD = 16 * 1024 * 1024
"""Tar headers (PAX headers included) allowed on top of MAX_TOTAL_BYTES of file content."""

SIGNATURE_DOMAIN = b"iamgate-bundle-manifest/v1\n"
"""Prefixed to manifest.json's bytes before signing, so a signature cannot be replayed elsewhere."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: one byte sequence per JSON value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_revision(files: Mapping[str, bytes]) -> str:
    """A revision derived from the content alone: SHA-256 over the sorted (path, file hash) list.

    A single-file source (an authorization-details JSON) is hashed as its bytes, so the revision is
    the file's own ``sha256sum``.
    """
    hashed = {path: data for path, data in files.items() if path not in UNHASHED}
    if len(hashed) == 1:
        return sha256_hex(next(iter(hashed.values())))
    listing = "".join(f"{path}\0{sha256_hex(data)}\n" for path, data in sorted(hashed.items()))
    return sha256_hex(listing.encode("utf-8"))


def file_hashes(files: Mapping[str, bytes]) -> dict[str, str]:
    """The manifest's ``files`` object: every file but the manifest and the signatures."""
    return {path: sha256_hex(data) for path, data in sorted(files.items()) if path not in UNHASHED}


def created_stamp(moment: datetime) -> str:
    """A manifest's ``created``: RFC 3339 in UTC, with milliseconds when the moment has a fraction.

    Signed revisions are ordered by ``created`` and two different revisions of equal ``created``
    are refused as unorderable, so builds stamp the time to the millisecond: two builds in one
    second still order. A whole-second moment (a reproducible build's fixed time) keeps the
    short form.
    """
    utc = moment.astimezone(UTC)
    fraction = f".{utc.microsecond // 1000:03d}" if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def manifest_object(
    *,
    name: str,
    revision: str,
    created: str,
    files: Mapping[str, str],
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON object written as manifest.json (keys in a stable order)."""
    return {
        "format": FORMAT,
        "name": name,
        "revision": revision,
        "created": created,
        "metadata": dict(metadata or {}),
        "files": dict(sorted(files.items())),
    }


def dump_manifest(manifest: Mapping[str, Any]) -> bytes:
    """manifest.json's bytes: indented for humans; the signature covers exactly these bytes."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_account_id(text: str) -> bool:
    return len(text) == 12 and text.isdigit()


def account_file_kind(path: str) -> tuple[str, str] | None:
    """``accounts/ACCOUNT/users.json`` -> ``("ACCOUNT", "users.json")``; ``None`` for other paths."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == ACCOUNTS_DIR:
        return parts[1], parts[2]
    return None
