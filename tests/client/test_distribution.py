"""iamgate-client is its own distribution: built from client/ alone, installed into a clean venv
with nothing but grpcio and protobuf, it reaches a real sidecar.

The venv is built once per session (a wheel build and a pip install: ~10-20 s) and shared.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from service.fakes import running_server

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
CLIENT_PYPROJECT = tomllib.loads((CLIENT / "pyproject.toml").read_text())


def _requirement_names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("[")[0].split(";")[0].strip() for r in requirements}


def test_the_sdk_depends_only_on_grpcio_and_protobuf():
    assert CLIENT_PYPROJECT["project"]["name"] == "iamgate-client"
    assert _requirement_names(CLIENT_PYPROJECT["project"]["dependencies"]) == {"grpcio", "protobuf"}


def test_the_server_pins_the_sdk_released_with_it():
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in server["project"]["dependencies"] if d.startswith("iamgate-client")]
    assert pins == [f"iamgate-client=={CLIENT_PYPROJECT['project']['version']}"]


def test_the_embedded_extra_pulls_the_engine_of_the_same_release():
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert CLIENT_PYPROJECT["project"]["optional-dependencies"]["embedded"] == [
        f"iamgate=={server['project']['version']}"
    ]


@pytest.fixture(scope="session")
def client_wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of client/ alone: nothing outside it may be needed."""
    work = tmp_path_factory.mktemp("sdk-wheel")
    source = work / "client"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    build = ["pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist")]
    result = subprocess.run(
        [sys.executable, "-m", *build, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = (work / "dist").glob("iamgate_client-*.whl")
    return wheel


@pytest.fixture(scope="session")
def clean_venv(client_wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the SDK wheel and its two dependencies, and nothing of the server."""
    venv = tmp_path_factory.mktemp("sdk-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(client_wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return python


def test_the_wheel_ships_the_sdk_and_its_stubs(client_wheel):
    names = set(zipfile.ZipFile(client_wheel).namelist())
    for expected in (
        "iamgate_client/__init__.py",
        "iamgate_client/py.typed",
        "iamgate_client/api/iamgate/v1/authorizer_pb2.py",
        "iamgate_client/api/iamgate/v1/authorizer_pb2.pyi",
        "iamgate_client/api/iamgate/v1/authorizer_pb2_grpc.py",
    ):
        assert expected in names, expected
    assert not [name for name in names if name.startswith("iamgate/")]


def test_the_clean_venv_holds_no_server_package(clean_venv):
    result = subprocess.run(
        [str(clean_venv), "-c", "import importlib.util as u; print(u.find_spec('iamgate') is None)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "True", result.stderr


SCRIPT = """
import sys
import iamgate_client as sdk

with sdk.Client(sys.argv[1]) as client:
    allowed = client.authorize("sarah-developer", "ec2:StopInstances", "*")
    denied = client.authorize(
        "sarah-developer", "ec2:TerminateInstances", "*", {"ec2:ResourceTag/Environment": "production"}
    )
print(allowed.outcome.value, denied.outcome.value)
"""


def test_the_installed_sdk_alone_calls_a_real_sidecar(clean_venv):
    with running_server() as (address, _):
        result = subprocess.run(
            [str(clean_venv), "-c", SCRIPT, address], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["allowed", "explicitDeny"]
