"""Fixtures of the bundle tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from .helpers import default_bundle_dir, minimal_files, with_manifest, write_files


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., Path]:
    """Write a bundle directory from ``minimal_files(overrides)``; ``manifest=True`` adds a manifest."""
    counter = iter(range(1000))

    def make(overrides: Mapping[str, Any] | None = None, *, manifest: bool = False) -> Path:
        root = tmp_path / f"bundle{next(counter)}"
        root.mkdir()
        write_files(root, minimal_files(overrides))
        return with_manifest(root) if manifest else root

    return make


@pytest.fixture
def default_copy(tmp_path: Path) -> Path:
    """A writable copy of the embedded default bundle (with its manifest)."""
    target = tmp_path / "default"
    shutil.copytree(default_bundle_dir(), target)
    return target
