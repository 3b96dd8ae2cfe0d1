"""The bundle package exports a curated public API (and nothing public is left out of it)."""

from __future__ import annotations

import types

import iamgate.bundle


def test_every_exported_name_exists():
    assert all(hasattr(iamgate.bundle, name) for name in iamgate.bundle.__all__)


def test_every_public_member_is_exported():
    members = [
        name
        for name, value in vars(iamgate.bundle).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    ]
    assert sorted(members) == sorted(iamgate.bundle.__all__)
