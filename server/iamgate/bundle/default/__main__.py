"""Refresh the default bundle's manifest after its documents changed: ``python -m iamgate.bundle.default``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from importlib import resources

from iamgate.bundle import format as fmt
from iamgate.bundle.commands import manifest_command
from iamgate.bundle.loader import load_files


def main() -> int:
    root = resources.files("iamgate.bundle.default").joinpath("bundle")
    with resources.as_file(root) as path:
        content = {p: data for p, data in load_files(path).files.items() if p not in fmt.UNHASHED}
        revision = "default-" + fmt.content_revision(content)[:12]
        result = manifest_command(path, name="default", revision=revision, created=datetime.now(UTC))
    sys.stdout.write(result.text)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
