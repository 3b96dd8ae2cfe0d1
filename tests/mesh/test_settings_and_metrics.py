"""Configuration from flags, IAMGATE_* variables and a TOML file (flags win); errors as one line;
addresses with ports everywhere; /metrics and only /metrics, with process metrics."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import iamgate.service
import iamgate.service.bundles
from iamgate.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from iamgate.service import ServiceConfig, start_sidecar
from iamgate.service.bundles import default_source

IAMGATE = str(Path(sys.executable).parent / "iamgate")


@pytest.fixture
def configs(monkeypatch):
    """Every ServiceConfig `serve` would run with (nothing is started)."""
    seen: list[ServiceConfig] = []
    monkeypatch.setattr(iamgate.service.bundles, "snapshot_source", lambda **kwargs: object())
    monkeypatch.setattr(iamgate.service, "serve", lambda config, source: seen.append(config))
    for name in list(__import__("os").environ):
        if name.startswith("IAMGATE_"):
            monkeypatch.delenv(name)
    return seen


def _serve(*args: str) -> int:
    return main(["serve", "--metrics-address", "off", *args])


def test_a_variable_sets_a_serve_setting(configs, monkeypatch):
    monkeypatch.setenv("IAMGATE_ADDRESS", "127.0.0.1:0")
    monkeypatch.setenv("IAMGATE_MAX_REQUEST_BYTES", "7")
    monkeypatch.setenv("IAMGATE_EXT_AUTHZ", "true")
    assert _serve() == EXIT_OK
    assert (configs[0].address, configs[0].max_request_bytes, configs[0].ext_authz) == (
        "127.0.0.1:0",
        7,
        True,
    )


def test_a_toml_file_sets_settings_and_variables_then_flags_win(configs, monkeypatch, tmp_path):
    path = tmp_path / "iamgate.toml"
    path.write_text(
        'address = "127.0.0.1:0"\nmax-request-bytes = 5\nmax_context_entries = 10\n'
        'sensitive-context-key = ["app:Secret"]\ndrain-seconds = 2.5\n'
    )
    monkeypatch.setenv("IAMGATE_MAX_CONTEXT_ENTRIES", "20")
    assert _serve("--config", str(path), "--max-request-bytes", "6") == EXIT_OK
    config = configs[0]
    assert (config.max_request_bytes, config.max_context_entries, config.drain_seconds) == (6, 20, 2.5)
    assert config.sensitive_context_keys == frozenset({"app:secret"})


def test_the_config_file_can_come_from_iamgate_config(configs, monkeypatch, tmp_path):
    path = tmp_path / "iamgate.toml"
    path.write_text('address = "127.0.0.1:0"\nmax-request-bytes = 9\n')
    monkeypatch.setenv("IAMGATE_CONFIG", str(path))
    assert _serve() == EXIT_OK and configs[0].max_request_bytes == 9


def test_a_repeatable_flag_given_replaces_the_variables_list(configs, monkeypatch):
    monkeypatch.setenv("IAMGATE_SENSITIVE_CONTEXT_KEY", "a:One,a:Two")
    assert _serve("--address", "127.0.0.1:0", "--sensitive-context-key", "b:Three") == EXIT_OK
    assert configs[0].sensitive_context_keys == frozenset({"b:three"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "IAMGATE_MAX_REQUEST_BYTES",
            "many",
            "IAMGATE_MAX_REQUEST_BYTES: 'many' is not a valid value for --max-request-bytes",
        ),
        ("IAMGATE_LOG_LEVEL", "loud", "IAMGATE_LOG_LEVEL: 'loud' is not one of"),
        ("IAMGATE_EXT_AUTHZ", "maybe", "IAMGATE_EXT_AUTHZ: 'maybe' is not true or false"),
    ],
)
def test_a_malformed_variable_is_one_line_naming_it(configs, monkeypatch, capsys, variable, value, message):
    monkeypatch.setenv(variable, value)
    assert _serve() == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not configs


def test_an_unknown_key_in_the_file_is_one_line_naming_file_and_key(configs, tmp_path, capsys):
    path = tmp_path / "iamgate.toml"
    path.write_text("max-request-byts = 4\n")
    assert _serve("--config", str(path)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{path}: unknown setting 'max-request-byts'" in err and err.count("\n") == 1


def test_an_unreadable_config_file_exits_1(configs, tmp_path, capsys):
    assert _serve("--config", str(tmp_path / "missing.toml")) == EXIT_FAILED
    assert "cannot read it" in capsys.readouterr().err


def test_a_config_file_that_is_not_toml_exits_1(configs, tmp_path, capsys):
    path = tmp_path / "iamgate.toml"
    path.write_text("address = \n")
    assert _serve("--config", str(path)) == EXIT_FAILED
    assert "not TOML" in capsys.readouterr().err


def test_a_port_in_use_is_exit_1_and_one_line_without_grpc_logs():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [IAMGATE, "serve", "--address", f"127.0.0.1:{port}", "--metrics-address", "off"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == EXIT_FAILED
    assert (
        result.stderr
        == f"iamgate serve: --address: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


@pytest.mark.parametrize("command", [["check", "alice", "s3:GetObject", "*"], ["status"]])
def test_client_commands_read_iamgate_address(command, monkeypatch, capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("IAMGATE_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.setenv("IAMGATE_TIMEOUT", "0.5")
    assert main(command) == EXIT_USAGE
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["flag", "variable"])
def test_an_address_without_a_port_is_an_error_for_client_commands(source, monkeypatch, capsys):
    argv = ["check", "alice", "s3:GetObject", "*"]
    if source == "flag":
        argv += ["--address", "127.0.0.1"]
    else:
        monkeypatch.setenv("IAMGATE_ADDRESS", "127.0.0.1")
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "'127.0.0.1' is not HOST:PORT" in err and err.count("\n") == 1


def test_an_address_without_a_port_is_an_error_for_serve(configs, capsys):
    assert _serve("--address", "127.0.0.1") == EXIT_USAGE
    assert "'127.0.0.1' is not HOST:PORT" in capsys.readouterr().err


@pytest.fixture(scope="module")
def metrics_url():
    sidecar = start_sidecar(
        ServiceConfig(address="127.0.0.1:0", metrics_address="127.0.0.1:0"), default_source()
    )
    try:
        yield f"http://127.0.0.1:{sidecar.metrics_port}"
    finally:
        sidecar.stop(0)


def test_metrics_are_served_at_metrics_with_process_metrics(metrics_url):
    with urllib.request.urlopen(metrics_url + "/metrics", timeout=5) as answer:
        text = answer.read().decode()
    assert "iamgate_decisions_total" in text
    assert "process_resident_memory_bytes" in text and "python_info" in text


@pytest.mark.parametrize("path", ["/", "/healthz", "/metrics/x", "/favicon.ico"])
def test_every_other_path_is_404(metrics_url, path):
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(metrics_url + path, timeout=5)
    assert raised.value.code == 404


def test_every_serve_flag_is_in_the_readme():
    from iamgate.cli import build_parser

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    commands = next(
        a for a in build_parser()._actions if hasattr(a, "choices") and a.choices and "serve" in a.choices
    )
    flags = {
        max(action.option_strings, key=len)
        for action in commands.choices["serve"]._actions
        if action.option_strings and action.dest != "help"
    }
    assert sorted(flag for flag in flags if f"`{flag}" not in readme) == []
