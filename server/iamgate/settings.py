"""Where `iamgate` settings come from besides flags: ``IAMGATE_*`` variables and a TOML file.

One rule for every ``serve`` flag, so the README's table is the only table: the flag
``--metrics-address`` is the variable ``IAMGATE_METRICS_ADDRESS`` and the key ``metrics-address``
(or ``metrics_address``) of the file given by ``--config`` / ``IAMGATE_CONFIG``. Precedence:
flags, then variables, then the file, then defaults. Values from variables and the file go
through the flag's own type and choices, so ``IAMGATE_MAX_WORKERS=many`` fails exactly as
``--max-workers many`` would, naming where the value came from. The client commands (check,
explain, status, rollback, ...) read ``IAMGATE_ADDRESS`` and ``IAMGATE_TIMEOUT``.

The variables and file only change the parser's defaults (``set_defaults``): argparse then lets
any flag given win, and nothing else about the command line changes.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "IAMGATE_"
CONFIG_ENV = "IAMGATE_CONFIG"
CLIENT_SETTINGS = ("address", "timeout")
"""What the client commands take from the environment."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SKIP = {"help", "config", "command"}


class SettingsError(Exception):
    """A variable or file value that cannot work; the message names its origin.

    ``exit_code`` 2 for a malformed value (as argparse answers a malformed flag), 1 for a config
    file that cannot be read (README: settings that cannot work exit 1).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def env_name(dest: str) -> str:
    return ENV_PREFIX + dest.upper()


def _settable(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        action.dest: action
        for action in parser._actions
        if action.dest not in _SKIP and action.option_strings and action.default != argparse.SUPPRESS
    }


def _convert(action: argparse.Action, value: Any, origin: str) -> Any:
    """A value of the flag's type (and choices), from text (variables) or TOML values (file)."""
    flag = max(action.option_strings, key=len)
    if isinstance(action, argparse._StoreTrueAction):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise SettingsError(f"{origin}: {value!r} is not true or false ({flag})")
    if isinstance(action, argparse._AppendAction):
        items = (
            value
            if isinstance(value, list)
            else [part.strip() for part in str(value).split(",") if part.strip()]
        )
        return [_one(action, item, origin, flag) for item in items]
    if isinstance(value, list | dict):
        raise SettingsError(f"{origin}: expected one value, not a {type(value).__name__} ({flag})")
    return _one(action, value, origin, flag)


def _one(action: argparse.Action, value: Any, origin: str, flag: str) -> Any:
    if isinstance(value, bool):
        raise SettingsError(f"{origin}: expected a value for {flag}, not a boolean")
    converter = action.type or str
    try:
        converted = converter(value if converter is not str else str(value))
    except (TypeError, ValueError):
        raise SettingsError(f"{origin}: {value!r} is not a valid value for {flag}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise SettingsError(f"{origin}: {value!r} is not one of {choices} ({flag})")
    return converted


def read_config_file(path: str) -> dict[str, Any]:
    import tomllib  # only with --config

    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise SettingsError(f"--config {path}: cannot read it: {error.strerror}", 1) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"--config {path}: not TOML: {error}", 1) from None
    return document


def prepare(
    parser: argparse.ArgumentParser, argv: list[str], environ: Mapping[str, str] | None = None
) -> None:
    """Before parsing ``argv``: give the command's parser the defaults the environment and file hold."""
    environ = os.environ if environ is None else environ
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    target = commands.choices.get(command) if command else None
    if target is None:
        return
    if command == "serve":
        apply_file_and_environment(
            target, _flag_value(argv, "--config") or environ.get(CONFIG_ENV), argv, environ
        )
    else:
        apply_client_environment(target, environ)


def _flag_value(argv: list[str], flag: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == flag and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def check_client_address(address: str) -> None:
    """A client command's ``--address`` / ``IAMGATE_ADDRESS`` must name a port (gRPC would dial 443)."""
    from iamgate.service.config import check_address
    from iamgate.service.errors import ConfigError

    try:
        check_address(address, setting="address")
    except ConfigError as error:
        raise SettingsError(f"--address: {error.detail}") from None


def apply_file_and_environment(
    parser: argparse.ArgumentParser,
    config_path: str | None,
    argv: list[str] = (),  # type: ignore[assignment]
    environ: Mapping[str, str] | None = None,
) -> None:
    """Turn the file's values, then the variables', into ``parser``'s defaults (flags still win).

    A repeatable flag given on the command line replaces, not extends, the other sources' list.
    """
    environ = os.environ if environ is None else environ
    actions = _settable(parser)
    given = {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}
    defaults: dict[str, Any] = {}
    if config_path:
        for key, value in read_config_file(config_path).items():
            dest = key.replace("-", "_")
            action = actions.get(dest)
            if action is None:
                raise SettingsError(
                    f"{config_path}: unknown setting {key!r} (keys are serve's flags without --)"
                )
            defaults[dest] = _convert(action, value, f"{config_path}: {key}")
    for dest, action in actions.items():
        name = env_name(dest)
        if name in environ:
            defaults[dest] = _convert(action, environ[name], name)
    for dest, action in actions.items():
        if isinstance(action, argparse._AppendAction) and given & set(action.option_strings):
            defaults.pop(dest, None)
    parser.set_defaults(**defaults)


def apply_client_environment(
    parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None
) -> None:
    """``IAMGATE_ADDRESS`` and ``IAMGATE_TIMEOUT`` for a client command."""
    environ = os.environ if environ is None else environ
    actions = _settable(parser)
    defaults = {}
    for dest in CLIENT_SETTINGS:
        if dest in actions and env_name(dest) in environ:
            defaults[dest] = _convert(actions[dest], environ[env_name(dest)], env_name(dest))
    parser.set_defaults(**defaults)


def check_tls_files(config: Any) -> None:
    """The TLS files of a ServiceConfig can serve (ConfigError naming the setting), checked before
    anything starts so that the answer is one line."""
    if config.tls_cert_file is None or config.tls_key_file is None:
        return
    from iamgate.service.tls import CertificateFiles, TlsSettings

    CertificateFiles(TlsSettings(config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file))


def probe_listen(address: str, setting: str) -> str | None:
    """Why ``HOST:PORT`` cannot be listened on (address in use, no such local address), or None.

    Asked before gRPC binds, so that the answer is one clear line instead of gRPC's own log lines;
    port 0 and Unix sockets are left to the server.
    """
    if address.startswith("unix:"):
        return None
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not port_text.isdigit() or int(port_text) == 0:
        return None
    try:
        infos = socket.getaddrinfo(
            host or None, int(port_text), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        return f"--{setting.replace('_', '-')}: cannot listen on {address}: {error.strerror}"
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC: TIME_WAIT is no conflict
        try:
            probe.bind(sockaddr)
        except OSError as error:
            return f"--{setting.replace('_', '-')}: cannot listen on {address}: {error.strerror}"
    return None
