"""Start-up loads what serving needs, and the lazily exported names still resolve.

`iamgate serve` spends most of its start-up importing (docs/performance.md, start-up). The modules
below are not needed to serve the embedded bundle, so a change that imports one of them on the
serve path again (an eager package ``__init__``, an import line at a module's top) fails here,
by name, whatever the machine's speed: nothing is timed. Each test runs in a fresh interpreter,
because this test session has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

NOT_NEEDED_TO_SERVE = {
    "cryptography": "Ed25519 signatures (--verify-key) and TLS only",
    "multiprocessing": "--workers > 1 only",
    "tomllib": "--config only",
    "tarfile": "reading or writing a .tar.gz bundle only",
    "importlib.resources": "nothing: the package data is found with importlib.util.find_spec",
    "iamgate_client._client": "the SDK's clients: the sidecar needs only the generated stubs",
    "iamgate_client._async_client": "the SDK's clients (and the rest of grpc.aio's client side)",
    "iamgate_client._embedded": "the SDK's in-process client",
    "iamgate_client._models": "the SDK's models",
    "iamgate.bundle.commands": "iamgate bundle build|inspect, validate, test",
    "iamgate.bundle.testing": "running a bundle's tests (the embedded bundle's run in the suite)",
    "iamgate.bundle.access_commands": "iamgate who-can / what-can",
    "iamgate.bundle.check_access": "iamgate check-access",
    "iamgate.bundle.access_report": "iamgate access-report",
    "iamgate.service.tls": "--tls-cert-file only",
    "iamgate.service.ext_authz": "--ext-authz only",
    "iamgate.service.metrics_http": "the /metrics endpoint (off here)",
}
"""Module -> what it is for. A package's submodules count as the package."""

NEEDED_TO_SERVE = ("grpc", "iamgate.service.servicer", "iamgate.bundle.activation", "iamgate.bundle.default")
"""Loaded by the time it serves: proves the snapshot below was taken after start-up, not before."""

_SERVE_AND_LIST_MODULES = textwrap.dedent(
    """
    import json, logging, os, signal, sys

    class _OnListening(logging.Handler):
        # "iamgate listening on ..." is logged once the server has started: the sidecar serves.
        def emit(self, record):
            if record.getMessage().startswith("iamgate listening on"):
                print(json.dumps(sorted(sys.modules)), flush=True)
                os.kill(os.getpid(), signal.SIGTERM)

    logging.getLogger("iamgate.service.server").addHandler(_OnListening())
    from iamgate.cli import main

    sys.exit(main(["serve", "--address", "127.0.0.1:0", "--metrics-address", "off",
                   "--drain-seconds", "0", "--log-level", "info"]))
    """
)


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def _loaded(modules: list[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


@pytest.fixture(scope="module")
def modules_when_serving() -> list[str]:
    result = _run(_SERVE_AND_LIST_MODULES)
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert lines, "the sidecar never logged that it listens:\n" + result.stderr
    return json.loads(lines[0])


def test_serving_has_loaded_the_serve_path(modules_when_serving):
    assert [name for name in NEEDED_TO_SERVE if name not in modules_when_serving] == []


@pytest.mark.parametrize("module", sorted(NOT_NEEDED_TO_SERVE))
def test_serving_the_embedded_bundle_does_not_load(modules_when_serving, module):
    assert not _loaded(modules_when_serving, module), f"{module} is for {NOT_NEEDED_TO_SERVE[module]}"


def test_the_generated_stubs_load_without_the_sdk_clients():
    result = _run(
        "import json, sys\n"
        "from iamgate_client.api.iamgate.v1 import authorizer_pb2, authorizer_pb2_grpc\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    modules = json.loads(result.stdout)
    assert [m for m in modules if m.startswith("iamgate_client._")] == []


_CHECK_EXPORTS = textwrap.dedent(
    """
    import importlib, sys
    package = importlib.import_module(sys.argv[1])
    wrong = []
    for name in package.__all__:
        value = getattr(package, name)
        home = importlib.import_module(package._MODULE_OF[name])
        if getattr(home, name) is not value:
            wrong.append(name)
    namespace = {}
    exec(f"from {sys.argv[1]} import *", namespace)
    missing = sorted(set(package.__all__) - set(namespace))
    assert not wrong and not missing, (wrong, missing)
    assert set(package.__all__) <= set(dir(package))
    try:
        package.no_such_name
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
    print("ok", len(package.__all__))
    """
)


@pytest.mark.parametrize("package", ["iamgate.bundle", "iamgate.service", "iamgate_client"])
def test_every_lazily_exported_name_resolves_to_its_definition(package):
    result = _run(_CHECK_EXPORTS, package)
    assert result.stdout.startswith("ok ")


@pytest.mark.parametrize("package", ["iamgate.bundle", "iamgate.service", "iamgate_client"])
def test_from_package_import_name_works_in_a_fresh_interpreter(package):
    import importlib

    names = importlib.import_module(package).__all__
    _run(f"from {package} import {', '.join(names)}")
