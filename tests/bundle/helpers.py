"""Helpers shared by the bundle tests: writing small bundles, the default bundle's location."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from iamgate.bundle import format as fmt

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bundles"
DETAILS_FIXTURE = FIXTURES / "authorization-details.json"
NOON = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "123456789012"

ALLOW_S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def default_bundle_dir() -> Path:
    return Path(str(resources.files("iamgate.bundle.default").joinpath("bundle")))


def write_files(root: Path, files: Mapping[str, Any]) -> Path:
    """Write ``path -> JSON value`` (bytes and str are written as they are) under ``root``."""
    for path, value in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, bytes):
            target.write_bytes(value)
        elif isinstance(value, str):
            target.write_text(value)
        else:
            target.write_text(json.dumps(value, indent=2))
    return root


def minimal_files(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A one-account bundle: user alice in group Readers with a managed S3 read policy.

    ``overrides`` replaces or adds files by path; a ``None`` value removes the file.
    """
    files: dict[str, Any] = {
        f"accounts/{ACCOUNT}/users.json": {
            "Users": [
                {"UserName": "alice", "GroupList": ["Readers"], "Tags": [{"Key": "team", "Value": "data"}]}
            ]
        },
        f"accounts/{ACCOUNT}/groups.json": {
            "Groups": [
                {
                    "GroupName": "Readers",
                    "AttachedManagedPolicies": [{"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/S3Read"}],
                }
            ]
        },
        f"accounts/{ACCOUNT}/policies.json": {
            "Policies": [{"PolicyName": "S3Read", "Document": ALLOW_S3_READ}]
        },
        "tests/basic.json": {
            "tests": [
                {
                    "name": "alice may read",
                    "principal": "alice",
                    "action": "s3:GetObject",
                    "resource": "arn:aws:s3:::data/x",
                    "expected": "allowed",
                }
            ]
        },
    }
    files.update(overrides or {})
    return {path: value for path, value in files.items() if value is not None}


def with_manifest(root: Path, *, name: str = "test", revision: str = "r1") -> Path:
    """Add a manifest.json listing every file's SHA-256 (no signature)."""
    data = {
        str(path.relative_to(root)).replace("\\", "/"): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    manifest = fmt.manifest_object(
        name=name, revision=revision, created="2026-01-01T00:00:00Z", files=fmt.file_hashes(data)
    )
    (root / fmt.MANIFEST).write_bytes(fmt.dump_manifest(manifest))
    return root
