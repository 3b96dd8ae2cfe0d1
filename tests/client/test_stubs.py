"""The committed stubs match protos/ and import only from iamgate_client.api."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "client" / "iamgate_client" / "api"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_a_fresh_generation(tmp_path):
    gen = _generator()
    fresh_root = tmp_path / "api"
    gen.generate(fresh_root)
    fresh = {p.relative_to(fresh_root) for p in fresh_root.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert committed == fresh, "stub files differ from protos/: run `make proto`"
    stale = [
        str(path)
        for path in sorted(fresh)
        if gen.normalized((fresh_root / path).read_text()) != gen.normalized((COMMITTED / path).read_text())
    ]
    assert not stale, f"stale stubs {stale}: run `make proto`"


def test_the_stubs_import_as_part_of_the_sdk():
    for path in COMMITTED.rglob("*.py"):
        text = path.read_text()
        assert "from iamgate.v1" not in text and "import iamgate.v1" not in text, path


def test_the_sdk_never_imports_the_server_package():
    """Only Embedded (the ``embedded`` extra) uses the engine, and only once one is made."""
    for path in (ROOT / "client" / "iamgate_client").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if path.name == "_embedded.py" and line.startswith(" "):
                continue  # the import inside Embedded.__init__
            assert not stripped.startswith(("import iamgate.", "from iamgate.", "from iamgate import")), (
                path,
                line,
            )


def test_importing_the_sdk_does_not_import_the_server_package():
    code = "import sys, iamgate_client, iamgate_client.guards; print('iamgate' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def _buf() -> str | None:
    """buf on PATH, or the copy `make lint-proto` (npx) left in the npm cache; never downloads."""
    found = shutil.which("buf")
    if found:
        return found
    cached = sorted(Path.home().glob(".npm/_npx/*/node_modules/.bin/buf"))
    return str(cached[-1]) if cached else None


def test_the_contract_passes_buf_lint():
    buf = _buf()
    if buf is None:
        pytest.skip("buf is not installed here (run `make lint-proto`, which fetches it with npx)")
    result = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_proto_is_one_command(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(tmp_path / "api")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "api" / "iamgate" / "v1" / "authorizer_pb2_grpc.py").is_file()
