#!/usr/bin/env python3
"""Regenerate the protobuf and gRPC stubs of the public contract (``make proto``).

protoc writes imports relative to the proto root (``from iamgate.v1 import authorizer_pb2``),
which would clash with the server's own ``iamgate`` package. The stubs live inside the SDK, under
``iamgate_client.api``, so this script rewrites those imports to
``from iamgate_client.api.iamgate.v1 import ...``. The staleness test in tests/client runs the
same ``generate`` into a temporary directory and compares.

Usage: python scripts/gen_protos.py [--out DIR]   (default: client/iamgate_client/api)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
DEFAULT_OUT = ROOT / "client" / "iamgate_client" / "api"
API_PACKAGE = "iamgate_client.api"
_PACKAGE_DOCSTRING = '"""Generated from protos/ by scripts/gen_protos.py (`make proto`); do not edit."""\n'

# Lines that name the generator's own version: they differ between grpcio-tools releases
# without the contract changing, so the staleness check ignores them.
VERSION_LINE = re.compile(
    r"^(# Protobuf Python Version:.*|GRPC_GENERATED_VERSION = .*|.*ValidateProtobufRuntimeVersion\(.*"
    r"|\s*\d+,\s*$|\s*'',\s*$)$"
)


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(proto_root.rglob("*.proto"))


def _rewrite_imports(text: str, packages: set[str]) -> str:
    """Point imports of our own proto packages at ``iamgate_client.api``."""
    for package in sorted(packages, key=len, reverse=True):
        text = re.sub(
            rf"^(\s*)from {re.escape(package)} import ",
            rf"\1from {API_PACKAGE}.{package} import ",
            text,
            flags=re.MULTILINE,
        )
        text = re.sub(
            rf"^(\s*)import {re.escape(package)}\.",
            rf"\1import {API_PACKAGE}.{package}.",
            text,
            flags=re.MULTILINE,
        )
    return text


def generate(out: Path, proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Compile every .proto under ``proto_root`` into ``out``; return the files written."""
    import grpc_tools
    from grpc_tools import protoc

    protos = proto_files(proto_root)
    if not protos:
        raise SystemExit(f"gen_protos: no .proto files under {proto_root}")
    out.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(p.relative_to(proto_root)) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("gen_protos: protoc failed (see the messages above)")

    packages = {".".join(p.relative_to(proto_root).parent.parts) for p in protos}
    written: list[Path] = []
    for path in sorted(out.rglob("*")):
        if path.suffix in {".py", ".pyi"} and path.name != "__init__.py":
            path.write_text(_rewrite_imports(path.read_text(), packages))
            written.append(path)
    # Regular packages (not namespace packages), so that setuptools' find_packages ships them.
    for directory in [out, *(d for d in out.rglob("*") if d.is_dir() and d.name != "__pycache__")]:
        init = directory / "__init__.py"
        init.write_text(_PACKAGE_DOCSTRING)
        written.append(init)
    return sorted(written)


def normalized(text: str) -> str:
    """The text without generator-version lines, for comparing stubs across tool releases."""
    return "\n".join(line for line in text.splitlines() if not VERSION_LINE.match(line))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path.relative_to(args.out.parent) if path.is_relative_to(args.out.parent) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
