"""The ``iamgate`` command line: serve the sidecar, ask it questions, work with bundles.

    iamgate serve [--address 127.0.0.1:50051] [--bundle PATH_OR_URL] [--shadow-bundle ...] ...
    iamgate check PRINCIPAL ACTION RESOURCE [--context KEY=VALUE ...] [--output text|json]
    iamgate explain PRINCIPAL ACTION RESOURCE [--context KEY=VALUE ...] [--output text|json]
    iamgate status | rollback                    (ask a running sidecar)
    iamgate simulate [FILE|-] [--explain]        (local, no sidecar needed)
    iamgate validate PATH | test PATH | bundle build SOURCE -o FILE | bundle inspect FILE

Exit codes: 0 when the command did its job (for ``check``, whatever the decision: read
``allowed``/``decision`` from the output); 1 when the sidecar failed (INTERNAL) or, for local
commands, when the input had errors or tests failed; 2 on a usage error, an unreachable sidecar,
or a request the sidecar rejected as malformed. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from iamgate import settings as setting_sources

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_ADDRESS = "127.0.0.1:50051"


class UsageError(Exception):
    """A problem with the command line or its input; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command, not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --- argument parsing --------------------------------------------------------------------------

# Bounded work per call: (setting, type, default, help). The setting is the ServiceConfig /
# SimulationLimits field and `--setting-with-dashes` its flag; README "Limits" lists them all, and
# tests/security/test_limits_config.py keeps these defaults equal to the dataclasses'.
LIMITS: tuple[tuple[str, type, float, str], ...] = (
    ("max_receive_message_bytes", int, 4 << 20, "largest gRPC request message accepted"),
    ("max_request_bytes", int, 64 << 10, "one Authorize/Explain request or AuthorizeBatch item"),
    ("max_session_policy_bytes", int, 10 << 10, "largest session policy of an Authorize/Explain request"),
    ("max_context_entries", int, 100, "context entries of one request"),
    ("max_context_values", int, 1_000, "context values over all entries of one request"),
    (
        "max_condition_comparisons",
        int,
        10_000,
        "condition values x context values a session policy (or Simulate's policies) may compare",
    ),
    ("max_simulate_evaluations", int, 10_000, "Simulate's action names x resource ARNs"),
    ("max_simulate_statements", int, 5_000, "statements over all policies of one Simulate"),
    ("max_simulate_policy_bytes", int, 1 << 20, "bytes of policy text over all policies of one Simulate"),
    ("max_scp_levels", int, 10, "service control policy levels of one Simulate"),
    ("max_simulate_response_bytes", int, 4 << 20, "estimated size of one Simulate answer"),
    ("max_explain_statements", int, 10_000, "statement traces in one Explain answer"),
    ("max_explain_bytes", int, 4 << 20, "size of one Explain answer"),
    ("max_expensive_call_seconds", float, 10.0, "wall-clock budget of one Simulate or Explain call"),
    ("max_expensive_calls", int, 2, "Simulate and Explain calls running at once (the rest are refused)"),
    ("max_batch_session_policies", int, 16, "distinct session policies one AuthorizeBatch may carry"),
    (
        "max_access_query_evaluations",
        int,
        10_000,
        "evaluations one WhoCan/WhatCan answer may cost (then it is marked truncated)",
    ),
)
SERVE_LIMITS = tuple(limit[0] for limit in LIMITS)
SIMULATE_LIMITS = (
    "max_context_entries",
    "max_context_values",
    "max_condition_comparisons",
    "max_simulate_evaluations",
    "max_simulate_statements",
    "max_simulate_policy_bytes",
    "max_scp_levels",
    "max_simulate_response_bytes",
    "max_expensive_call_seconds",
)


def _add_limits(parser: argparse.ArgumentParser, settings: Sequence[str]) -> None:
    group = parser.add_argument_group("limits (bounded work per call; see the README's Limits)")
    for setting, kind, default, description in LIMITS:
        if setting in settings:
            group.add_argument(
                "--" + setting.replace("_", "-"),
                dest=setting,
                type=kind,
                default=None,
                metavar="SECONDS" if kind is float else "N",
                help=f"{description} (default {default!s})",
            )


def _limit_settings(args: argparse.Namespace, settings: Sequence[str]) -> dict[str, Any]:
    """The limits given on the command line; the others keep their defaults."""
    return {name: getattr(args, name) for name in settings if getattr(args, name, None) is not None}


def _add_question_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("principal", metavar="PRINCIPAL", help="user or role name, IAM ARN, or session ARN")
    parser.add_argument("action", metavar="ACTION", help="e.g. ec2:StopInstances")
    parser.add_argument("resource", metavar="RESOURCE", help="resource ARN, or '*'")
    parser.add_argument(
        "--context",
        "-c",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value (a string); repeat a key to give it several values. Keys the sidecar "
        "owns (aws:username, aws:PrincipalTag/*, aws:CurrentTime, tags of resources the bundle tags, "
        "...) are refused unless the sidecar trusts them (docs/security.md)",
    )
    parser.add_argument(
        "--session-tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a session tag of an assumed-role session principal (repeatable); accepted where the "
        "role's trust policy allows sts:TagSession with it",
    )
    parser.add_argument(
        "--session-policy", metavar="JSON_OR_@FILE", help="a session policy: JSON text, or @path to a file"
    )
    parser.add_argument("--request-id", default="", help="an id echoed in the answer and the decision log")
    _add_address(parser)
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")


def _add_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        "-a",
        default=DEFAULT_ADDRESS,
        help=f"the sidecar: HOST:PORT or unix:/path (default {DEFAULT_ADDRESS})",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for an answer (default 5)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="iamgate", description="Policy-as-code authorization sidecar with AWS IAM semantics."
    )
    parser.add_argument("--version", action="version", version=f"iamgate {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    serve = commands.add_parser("serve", help="run the gRPC sidecar")
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file of serve settings (keys: the flags without --); IAMGATE_<FLAG> variables "
        "override it, flags override both (env: IAMGATE_CONFIG)",
    )
    serve.add_argument(
        "--address", default=DEFAULT_ADDRESS, help="HOST:PORT or unix:/path (default %(default)s)"
    )
    serve.add_argument(
        "--metrics-address",
        default="127.0.0.1:9464",
        help="HOST:PORT of the Prometheus /metrics endpoint, or 'off' (default %(default)s)",
    )
    serve.add_argument(
        "--bundle",
        metavar="PATH_OR_URL",
        help="the policy bundle: a directory, .tar.gz or account-details JSON file (watched for "
        "changes), or an http(s) URL (polled with ETag and Last-Modified); default: the embedded bundle",
    )
    serve.add_argument(
        "--shadow-bundle",
        metavar="PATH_OR_URL",
        help="a candidate bundle evaluated beside the active one on live traffic; disagreements "
        "are counted, logged and shown by `iamgate status`",
    )
    serve.add_argument(
        "--shadow-diff-limit",
        type=int,
        metavar="N",
        help="evaluations the shadow bundle's access diff against the active one may cost, on a "
        "background thread (default 20000; 0 switches the diff off)",
    )
    serve.add_argument(
        "--poll-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds between two polls of a bundle source, jittered by 10%% (default %(default)g)",
    )
    serve.add_argument(
        "--download-timeout",
        type=float,
        metavar="SECONDS",
        help="seconds one whole download of an http(s) bundle may take, however the server "
        "drips it (default 30)",
    )
    serve.add_argument(
        "--max-download-bytes",
        type=int,
        metavar="BYTES",
        help="bytes (compressed) one download of an http(s) bundle may have (default 67108864 = 64 MiB)",
    )
    serve.add_argument(
        "--verify-key", metavar="FILE", help="Ed25519 public key (PEM) bundles must be signed with"
    )
    serve.add_argument(
        "--hmac-secret-file", metavar="FILE", help="shared HMAC-SHA256 secret bundles must carry"
    )
    serve.add_argument(
        "--persist-dir",
        metavar="DIR",
        help="keep the last good bundle here; restored at start-up when the source is down",
    )
    serve.add_argument("--enable-admin", action="store_true", help="allow admin RPCs (Rollback)")
    serve.add_argument(
        "--enable-access-queries",
        action="store_true",
        help="answer WhoCan and WhatCan (they reveal the whole access model; docs/access.md)",
    )
    serve.add_argument(
        "--drain-seconds",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="on SIGTERM, report NOT_SERVING but keep answering this long before stopping (default 0)",
    )
    serve.add_argument(
        "--shutdown-grace-seconds",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="then let calls in flight finish for up to this long (default %(default)g)",
    )
    serve.add_argument(
        "--tls-cert-file", metavar="FILE", help="PEM certificate chain: the gRPC port speaks TLS only"
    )
    serve.add_argument("--tls-key-file", metavar="FILE", help="PEM private key of --tls-cert-file")
    serve.add_argument(
        "--tls-client-ca-file",
        metavar="FILE",
        help="PEM CA bundle: clients must present a certificate it signed (mutual TLS); "
        "all three files are reloaded when they change",
    )
    serve.add_argument(
        "--ext-authz",
        action="store_true",
        help="also serve Envoy's ext_authz (envoy.service.auth.v3.Authorization/Check) on --address; "
        "the bundle's http-routes.json maps requests (docs/mesh.md)",
    )
    cache = serve.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-size",
        type=int,
        metavar="N",
        help="decisions cached per bundle revision (default 100000; 0 switches the cache off)",
    )
    cache.add_argument("--no-cache", action="store_true", help="switch the decision cache off")
    serve.add_argument(
        "--session-policy-memo-bytes",
        type=int,
        metavar="N",
        help="estimated bytes of compiled session policies kept per bundle revision, and as many of "
        "session-tag checks (default 16777216; 0 keeps none)",
    )
    serve.add_argument(
        "--decision-log", metavar="PATH", help="write JSON-lines decision logs here ('-' = stderr)"
    )
    serve.add_argument(
        "--sensitive-context-key",
        action="append",
        default=[],
        metavar="KEY",
        help="redact this context key's values in decision logs (repeatable)",
    )
    serve.add_argument(
        "--trust-context-key",
        action="append",
        default=[],
        metavar="KEY",
        help="let callers assert this sidecar-owned context key, e.g. aws:SourceIdentity or the prefix "
        "aws:PrincipalTag/* (repeatable); the caller's value then wins. Default: none (docs/security.md)",
    )
    for flag, metavar, meaning in _DECISION_LOG_LIMIT_FLAGS:
        serve.add_argument(flag, type=int, metavar=metavar, help=meaning)
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    serve.add_argument(
        "--workers",
        default="1",
        metavar="N|auto",
        help="worker processes sharing the port (SO_REUSEPORT), each with its own engine and cache; "
        "'auto' = the cores this process may use (the container's CPU limit where set). A Unix "
        "socket is served by one process (default %(default)s)",
    )
    _add_limits(serve, SERVE_LIMITS)

    check = commands.add_parser("check", help="ask a running sidecar for a decision")
    _add_question_args(check)
    explain = commands.add_parser("explain", help="ask a running sidecar for a decision and its full trace")
    _add_question_args(explain)

    status = commands.add_parser("status", help="show the bundle a running sidecar serves")
    _add_address(status)
    status.add_argument("--output", "-o", choices=("text", "json"), default="text")
    status.add_argument(
        "--disagreements",
        type=int,
        default=3,
        metavar="N",
        help="show the N most recent shadow disagreements with both answers (default %(default)s)",
    )

    rollback = commands.add_parser("rollback", help="admin: re-activate the previous bundle revision")
    _add_address(rollback)
    rollback.add_argument("--expected-revision", default="", help="roll back only if this revision is active")

    simulate = commands.add_parser(
        "simulate",
        help="what-if: evaluate SimulateCustomPolicy-shaped JSON locally, exactly as given (one object, "
        "an array or JSON lines); no bundle and no trust model, never an answer for a real request",
    )
    simulate.add_argument(
        "input", nargs="?", default="-", metavar="FILE|-", help="input file (default stdin)"
    )
    simulate.add_argument("--explain", action="store_true", help="add an Explanation to every result")
    _add_limits(simulate, SIMULATE_LIMITS)

    validate = commands.add_parser("validate", help="check a bundle; exit 1 on errors")
    validate.add_argument("path", metavar="PATH")
    validate.add_argument(
        "--output",
        "-o",
        choices=("text", "json", "sarif"),
        default="text",
        help="findings as text, JSON or SARIF 2.1.0 (for CI code scanning); docs/validation.md",
    )
    _add_verify(validate)

    test = commands.add_parser("test", help="run a bundle's policy tests")
    test.add_argument("path", metavar="PATH")
    test.add_argument("--output", "-o", choices=("text", "json", "junit"), default="text")
    test.add_argument("--run", metavar="PATTERN", help="run only the tests whose name matches this regex")
    test.add_argument(
        "--coverage", action="store_true", help="list the statements no test matched (text and json)"
    )
    _add_verify(test)

    commands.add_parser("version", help="show iamgate's version and the service catalogue's")

    bundle = commands.add_parser("bundle", help="build or inspect bundles")
    bundle_commands = bundle.add_subparsers(dest="bundle_command", metavar="SUBCOMMAND", parser_class=_Parser)
    bundle_commands.required = True
    build = bundle_commands.add_parser(
        "build", help="build a bundle file from a directory or account details"
    )
    build.add_argument("source", metavar="SOURCE")
    build.add_argument("--output", "-o", required=True, metavar="FILE")
    build.add_argument(
        "--revision", help="the bundle's revision (default: from the manifest or content hash)"
    )
    build.add_argument("--sign-key", metavar="FILE", help="sign with this Ed25519 private key or HMAC secret")
    build.add_argument("--key-id", help="the signing key's id, recorded in the signature")
    inspect = bundle_commands.add_parser("inspect", help="show a bundle's manifest and contents")
    inspect.add_argument("path", metavar="FILE")
    _add_verify(inspect)
    _add_access_commands(commands, bundle_commands)
    _add_access_report_command(commands)
    return parser


def _add_access_report_command(commands: Any) -> None:
    """``access-report``: Access Advisor from decision logs and a tightened policy (docs/access-report.md)."""
    report = commands.add_parser(
        "access-report",
        help="per principal, what decision logs show was used; unused statements; a tighter policy",
    )
    report.add_argument(
        "logs", nargs="+", metavar="LOG", help="decision-log files (rotated and .gz ones too)"
    )
    report.add_argument("--bundle", metavar="BUNDLE", help="the bundle the decisions came from")
    report.add_argument("--since", metavar="TIME", help="only decisions at or after this ISO 8601 time")
    report.add_argument("--until", metavar="TIME", help="only decisions before this ISO 8601 time")
    report.add_argument(
        "--principal", metavar="P", help="only this user or role; with --bundle, suggest a tightened policy"
    )
    report.add_argument("--output", "-o", choices=("text", "json", "markdown"), default="text")
    for flag, default, what in (
        ("--max-line-bytes", 64 * 1024, "longer log lines are skipped and reported"),
        ("--max-field-chars", 4096, "a line with a longer principal, action or resource is reported"),
        ("--max-entries", 100_000, "principals and (principal, action) pairs tracked"),
        ("--max-replay", 10_000, "distinct requests replayed against the suggestion"),
        ("--collapse-at", 5, "ARNs sharing a parent path before they become parent* (0: never)"),
    ):
        report.add_argument(flag, type=int, default=default, metavar="N", help=f"{what} (default {default})")
    _add_verify(report)


def _add_access_commands(commands: Any, bundle_commands: Any) -> None:
    """``who-can``, ``what-can`` and ``bundle diff``: offline access questions (docs/access.md)."""
    who = commands.add_parser(
        "who-can", help="list the principals of a bundle allowed an action on a resource"
    )
    who.add_argument("action", metavar="ACTION")
    who.add_argument("resource", metavar="RESOURCE")
    who.add_argument("path", metavar="BUNDLE")
    what = commands.add_parser("what-can", help="list what a principal of a bundle is allowed to do")
    what.add_argument("principal", metavar="PRINCIPAL")
    what.add_argument("path", metavar="BUNDLE")
    what.add_argument("--service", metavar="S", help="only actions of this service prefix (e.g. s3)")
    diff = bundle_commands.add_parser(
        "diff", help="the access each principal gains and loses from OLD to NEW; exit 1 when any is added"
    )
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument(
        "--summary",
        action="store_true",
        help="counts per principal and service, and only the rows that add access in full",
    )
    check = commands.add_parser(
        "check-access",
        help="CI checks on a bundle: no new access, access not granted, no public access; exit 1 on findings",
    )
    check.add_argument("path", metavar="BUNDLE", help="the bundle checked (the new revision)")
    check.add_argument(
        "--no-new-access", metavar="OLD", help="fail on access BUNDLE allows that OLD did not (bundle diff)"
    )
    check.add_argument(
        "--not-granted",
        nargs=2,
        action="append",
        default=[],
        metavar=("ACTION", "RESOURCE"),
        help="fail when any principal is allowed ACTION (wildcards expand) on RESOURCE; repeatable",
    )
    check.add_argument(
        "--no-public-access",
        action="store_true",
        help="fail on resource or trust policies allowing Principal '*' without a restricting condition",
    )
    answers = ("text", "json")
    for parser, outputs in (
        (who, answers),
        (what, answers),
        (diff, (*answers, "markdown")),
        (check, (*answers, "sarif")),
    ):
        parser.add_argument("--output", "-o", choices=outputs, default="text")
        parser.add_argument(
            "--limit", type=int, default=20_000, metavar="N", help="evaluations at most (default 20000)"
        )
        parser.add_argument(
            "--now", metavar="TIME", help="evaluate at this ISO 8601 time (aws:CurrentTime; default now)"
        )
        _add_verify(parser)


def _add_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verify-key", metavar="FILE", help="verify with this Ed25519 public key")
    parser.add_argument("--hmac-secret-file", metavar="FILE", help="verify with this HMAC secret")


def _version() -> str:
    import iamgate

    return iamgate.__version__


# --- shared helpers ----------------------------------------------------------------------------


def parse_context(pairs: Sequence[str]) -> dict[str, str | list[str]]:
    """``["k=v", "k=w", "x=y"]`` -> ``{"k": ["v", "w"], "x": "y"}``: repetition makes a multi-valued key."""
    context: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--context {pair!r}: expected KEY=VALUE")
        existing = context.get(key)
        if existing is None:
            context[key] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            context[key] = [existing, value]
    return context


def parse_session_tags(pairs: Sequence[str]) -> dict[str, str]:
    """``["team=red", "project=atlas"]`` -> ``{"team": "red", "project": "atlas"}``."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--session-tag {pair!r}: expected KEY=VALUE")
        if key in tags:
            raise UsageError(f"--session-tag {pair!r}: the key {key!r} is given twice")
        tags[key] = value
    return tags


def _session_policy(text: str | None) -> str | None:
    if not text:
        return None
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--session-policy: cannot read {text[1:]}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise UsageError(
                f"--session-policy: {text[1:]}: not UTF-8 text (invalid byte at offset {error.start})"
            ) from None
    return text


def _print_json(data: Any, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2) + "\n")


def _client_call(address: str, timeout: float, call: Callable[[Any], Any]) -> Any:
    """Run ``call(client)``; map client errors to one-line messages and exit codes."""
    import iamgate_client as sdk

    try:
        with sdk.Client(address, timeout=timeout, retry=sdk.NO_RETRY, on_unreachable="raise") as client:
            return call(client)
    except (
        sdk.TransportError,
        sdk.InvalidRequestError,
        sdk.PermissionDeniedError,
        sdk.FailedPreconditionError,
    ) as error:
        if isinstance(error, sdk.TransportError):
            raise _CommandFailed(
                f"cannot get an answer from the sidecar at {address}: {error}", EXIT_USAGE
            ) from None
        raise _CommandFailed(str(error), EXIT_USAGE) from None
    except (sdk.IamgateClientError, ValueError, TypeError) as error:
        raise _CommandFailed(str(error), EXIT_FAILED) from None


class _CommandFailed(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _ref_json(ref: Any) -> dict[str, Any]:
    return {"policyId": ref.policy_id, "policyType": str(ref.policy_type), "sid": ref.sid, "index": ref.index}


def decision_json(decision: Any, principal: str, action: str, resource: str) -> dict[str, Any]:
    """``check --output json``: ``allowed`` and ``decision`` first, in simulate's vocabulary."""
    return {
        "allowed": decision.allowed,
        "decision": str(decision.outcome),
        "principal": principal,
        "principalArn": decision.principal_arn,
        "action": action,
        "resource": resource,
        "message": decision.message,
        "revision": decision.revision,
        "decisionId": decision.decision_id,
        "requestId": decision.request_id,
        "determiningStatements": [_ref_json(r) for r in decision.determining],
        "deniedBy": str(decision.denied_by) or None,
        "filledContextKeys": list(decision.filled_context_keys),
        "missingContextKeys": list(decision.missing_context_keys),
    }


_PHRASES = {
    "scp": "SCP",
    "resource": "resource-based policy",
    "identity": "identity-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
}


def _kind(policy_type: Any) -> str:
    return _PHRASES.get(str(policy_type), f"{policy_type} policy")


def _ref_label(ref: Any) -> str:
    return f"{_kind(ref.policy_type)} {ref.policy_id}, statement {ref.label}"


def decision_text(decision: Any) -> str:
    lines = [f"{decision.outcome}: {decision.message}"]
    if decision.determining:
        lines.append("  determined by: " + "; ".join(_ref_label(r) for r in decision.determining))
    if decision.missing_context_keys:
        lines.append("  missing context keys: " + ", ".join(decision.missing_context_keys))
    lines.append(f"  revision {decision.revision}, decision id {decision.decision_id}")
    return "\n".join(lines)


def _mark(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def explanation_text(explanation: Any, principal: str, action: str, resource: str) -> str:
    """A human-readable tree of an Explain answer: policies > statements > elements > conditions."""
    decision = explanation.decision
    lines = [f"{decision.outcome}  {principal}  {action}  {resource}", f"│ {decision.message}"]
    if decision.principal_arn and decision.principal_arn != principal:
        lines.append(f"│ principal: {decision.principal_arn}")
    if decision.determining:
        lines.append("│ determined by: " + "; ".join(_ref_label(r) for r in decision.determining))
    if decision.filled_context_keys:
        lines.append("│ context filled by the sidecar: " + ", ".join(decision.filled_context_keys))
    if decision.missing_context_keys:
        lines.append("│ missing context keys: " + ", ".join(decision.missing_context_keys))
    lines.append(f"│ revision {decision.revision}, decision id {decision.decision_id}")
    policies = explanation.policies
    if not policies:
        lines.append("└─ no policy applies to this principal")
    for p_index, policy in enumerate(policies):
        last_policy = p_index == len(policies) - 1
        level = f" (level {policy.scp_level})" if policy.scp_level is not None else ""
        lines.append(f"{'└─' if last_policy else '├─'} {_kind(policy.policy_type)} {policy.policy_id}{level}")
        indent = "   " if last_policy else "│  "
        for s_index, statement in enumerate(policy.statements):
            last = s_index == len(policy.statements) - 1
            verdict = "APPLIES" if statement.applies else "does not apply"
            lines.append(
                f"{indent}{'└─' if last else '├─'} {statement.effect} {statement.statement.label}: {verdict}"
            )
            inner = indent + ("   " if last else "│  ")
            elements = f"action {_mark(statement.action)}, resource {_mark(statement.resource)}"
            if statement.principal is not None:
                elements += f", principal {_mark(statement.principal)}"
            lines.append(f"{inner}   {elements}")
            for condition in statement.conditions:
                got = (
                    "(missing)"
                    if condition.request_values is None
                    else json.dumps(list(condition.request_values))
                )
                note = f" ({condition.note})" if condition.note else ""
                lines.append(
                    f"{inner}   condition {condition.operator} {condition.key} "
                    f"{json.dumps(list(condition.policy_values))} <- {got}: {_mark(condition.matched)}{note}"
                )
            if statement.note:
                lines.append(f"{inner}   note: {statement.note}")
    return "\n".join(lines)


# --- commands ----------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    context = parse_context(args.context)
    policy = _session_policy(args.session_policy)
    tags = parse_session_tags(args.session_tag) or None
    decision = _client_call(
        args.address,
        args.timeout,
        lambda c: c.authorize(
            args.principal,
            args.action,
            args.resource,
            context,
            policy,
            request_id=args.request_id,
            session_tags=tags,
        ),
    )
    hints = action_hints(args.action, args.resource)
    if args.output == "json":
        data = decision_json(decision, args.principal, args.action, args.resource)
        _print_json({**data, "hints": hints} if hints else data, out)
    else:
        out.write(decision_text(decision) + "\n" + "".join(f"hint: {hint}\n" for hint in hints))
    return EXIT_OK


def action_hints(action: str, resource: str | None = None) -> list[str]:
    """What the local service catalogue says about an action that does not exist, or a resource
    that does not fit the action's resource types (CLI only)."""
    from iamgate.catalogue import aws_catalogue

    catalogue = aws_catalogue()
    hints = [catalogue.action_hint(action), catalogue.resource_hint(action, resource) if resource else None]
    return [hint for hint in hints if hint]


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    context = parse_context(args.context)
    policy = _session_policy(args.session_policy)
    tags = parse_session_tags(args.session_tag) or None
    explanation = _client_call(
        args.address,
        args.timeout,
        lambda c: c.explain(
            args.principal,
            args.action,
            args.resource,
            context,
            policy,
            request_id=args.request_id,
            session_tags=tags,
        ),
    )
    hints = list(getattr(explanation.decision, "hints", ())) or action_hints(args.action, args.resource)
    if args.output == "json":
        data = decision_json(explanation.decision, args.principal, args.action, args.resource)
        data["policies"] = [_policy_json(p) for p in explanation.policies]
        if hints:
            data["hints"] = hints
        _print_json(data, out)
    else:
        text = explanation_text(explanation, args.principal, args.action, args.resource)
        out.write(text + "\n" + "".join(f"hint: {hint}\n" for hint in hints))
    return EXIT_OK


def _policy_json(policy: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "policyId": policy.policy_id,
        "policyType": str(policy.policy_type),
        "statements": [
            {
                "statement": _ref_json(s.statement),
                "effect": s.effect,
                "applies": s.applies,
                "actionMatched": s.action,
                "resourceMatched": s.resource,
                "principalMatched": s.principal,
                "conditions": [
                    {
                        "operator": c.operator,
                        "key": c.key,
                        "policyValues": list(c.policy_values),
                        "requestValues": None if c.request_values is None else list(c.request_values),
                        "matched": c.matched,
                    }
                    for c in s.conditions
                ],
            }
            for s in policy.statements
        ],
    }
    if policy.scp_level is not None:
        data["level"] = policy.scp_level
    return data


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    if args.disagreements < 0:
        raise UsageError("--disagreements: must be 0 or more")
    status = _client_call(args.address, args.timeout, lambda c: c.status(disagreements=args.disagreements))
    if args.output == "json":
        _print_json(status_json(status), out)
    else:
        out.write(status_text(status))
    return EXIT_OK


def _error_json(message: str, step: str, source: str = "", at: Any = None) -> dict[str, Any] | None:
    if not message:
        return None
    return {"step": step, "message": message, "source": source, "at": at.isoformat() if at else None}


def _verdict_lines(verdict: Any) -> list[str]:
    """The shadow's access diff against the active bundle (bundle/shadow_diff.py), one line per principal."""
    if verdict is None:
        return []
    if verdict.state != "done":
        detail = f": {verdict.error}" if verdict.error else ""
        return [f"access:     diff against {verdict.active_revision} {verdict.state}{detail}"]
    head = (
        f"access:     against {verdict.active_revision}: {verdict.added} added, {verdict.widened} widened, "
        f"{verdict.removed} removed, {verdict.narrowed} narrowed ({verdict.evaluations} evaluations)"
    )
    lines = [head + (" PARTIAL: the evaluation limit was reached" if verdict.truncated else "")]
    for p in verdict.principals:
        lines.append(
            f"            {p.principal}: {p.added} added, {p.widened} widened, "
            f"{p.removed} removed, {p.narrowed} narrowed"
        )
    if verdict.principals_omitted:
        lines.append(f"            ... and {verdict.principals_omitted} more principals")
    return lines


def _verdict_json(verdict: Any) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "state": verdict.state,
        "activeRevision": verdict.active_revision,
        "addsAccess": verdict.adds_access,
        "added": verdict.added,
        "widened": verdict.widened,
        "removed": verdict.removed,
        "narrowed": verdict.narrowed,
        "truncated": verdict.truncated,
        "evaluations": verdict.evaluations,
        "error": verdict.error or None,
        "computedAt": verdict.computed_at.isoformat() if verdict.computed_at else None,
        "principals": [
            {
                "principal": p.principal,
                "added": p.added,
                "widened": p.widened,
                "removed": p.removed,
                "narrowed": p.narrowed,
            }
            for p in verdict.principals
        ],
        "principalsOmitted": verdict.principals_omitted,
    }


def status_json(status: Any) -> dict[str, Any]:
    """``status --output json``."""
    stats = status.shadow_stats
    shadow = None
    if status.shadow is not None:
        shadow = _bundle_json(status.shadow)
        if stats is not None:
            shadow.update(
                {
                    "evaluated": stats.evaluated,
                    "agreed": stats.agreed,
                    "disagreed": stats.disagreed,
                    "errors": stats.errors,
                    "lastError": stats.last_error or None,
                    "recentDisagreements": [_disagreement_json(d) for d in stats.recent],
                    "accessDiff": _verdict_json(stats.access_diff),
                }
            )
    return {
        "active": _bundle_json(status.active),
        "previous": _bundle_json(status.previous),
        "previousRevision": status.previous_revision or None,
        "lastError": status.last_error or None,
        "lastErrorAt": status.last_error_at.isoformat() if status.last_error_at else None,
        "lastErrorStep": status.last_error_step or None,
        "lastErrorSource": status.last_error_source or None,
        "shadow": shadow,
        "shadowError": _error_json(status.shadow_error, status.shadow_error_step),
        "activations": status.activations,
        "rejections": status.rejections,
        "persistError": status.persist_error or None,
        "adminEnabled": status.admin_enabled,
        "serverVersion": status.server_version,
        "trustedContextKeys": list(getattr(status, "trusted_context_keys", ())),
        "catalogueVersion": getattr(status, "catalogue_version", "") or None,
        "worker": _worker_json(status),
    }


def _worker_json(status: Any) -> dict[str, int] | None:
    """The worker process that answered (``serve --workers``); None from a sidecar that does not say."""
    if not getattr(status, "worker_count", 0):
        return None
    return {"index": status.worker_index, "count": status.worker_count, "pid": status.worker_pid}


def _disagreement_json(disagreement: Any) -> dict[str, Any]:
    def side(explanation: Any) -> dict[str, Any]:
        data = decision_json(
            explanation.decision, disagreement.principal, disagreement.action, disagreement.resource
        )
        data["policies"] = [_policy_json(p) for p in explanation.policies]
        return data

    return {
        "principal": disagreement.principal,
        "action": disagreement.action,
        "resource": disagreement.resource,
        "at": disagreement.occurred_at.isoformat() if disagreement.occurred_at else None,
        "active": side(disagreement.active),
        "shadow": side(disagreement.shadow),
    }


def _bundle_json(info: Any) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "name": info.name,
        "revision": info.revision,
        "source": info.source,
        "activatedAt": info.activated_at.isoformat() if info.activated_at else None,
        "principals": info.principals,
        "policies": info.policies,
        "statements": info.statements,
    }


def _bundle_line(info: Any) -> str:
    return f"{info.name} (revision {info.revision}) from {info.source}"


def status_text(status: Any) -> str:
    """``status``: what is served, what was before, what went wrong, how the shadow compares."""
    lines = []
    active = status.active
    if active is None:
        lines.append("bundle:     none active yet (the sidecar is NOT_SERVING)")
    else:
        lines.append(f"bundle:     {active.name} (revision {active.revision})")
        lines.append(f"source:     {active.source}")
        if active.activated_at is not None:
            lines.append(f"activated:  {active.activated_at.isoformat()}")
        size = f"{active.principals} principals, {active.policies} policies, {active.statements} statements"
        lines.append(f"size:       {size}")
    if status.previous is not None:
        lines.append(f"previous:   {_bundle_line(status.previous)}")
    else:
        lines.append(f"previous:   {status.previous_revision or '-'}")
    if status.last_error:
        when = f" at {status.last_error_at.isoformat()}" if status.last_error_at else ""
        step = f"{status.last_error_step} failed" if status.last_error_step else "failed"
        source = f" ({status.last_error_source})" if status.last_error_source else ""
        message = status.last_error.replace("\n", "\n              ")
        lines.append(f"last error: {step}{when}{source}: {message}")
    else:
        lines.append("last error: -")
    lines.append(f"loads:      {status.activations} activations, {status.rejections} rejections")
    if status.persist_error:
        lines.append(f"persist:    {status.persist_error}")
    if status.shadow is not None:
        lines.append(f"shadow:     {_bundle_line(status.shadow)}")
        stats = status.shadow_stats
        if stats is not None:
            lines.append(
                f"            {stats.evaluated} evaluated, {stats.agreed} agreed, "
                f"{stats.disagreed} disagreed, {stats.errors} errors"
            )
            if stats.last_error:
                lines.append(f"            last shadow evaluation error: {stats.last_error}")
            lines.extend(_verdict_lines(stats.access_diff))
            for disagreement in stats.recent:
                lines.extend(_disagreement_lines(disagreement))
    if status.shadow_error:
        step = f"{status.shadow_error_step} failed" if status.shadow_error_step else "failed"
        lines.append(f"shadow error: {step}: {status.shadow_error}")
    lines.append(f"admin:      {'enabled' if status.admin_enabled else 'disabled'}")
    trusted = ", ".join(getattr(status, "trusted_context_keys", ()))
    note = (
        "(sidecar-owned context keys callers may assert)"
        if trusted
        else "(callers may assert no sidecar-owned key)"
    )
    lines.append(f"trusted:    {trusted or '-'} {note}")
    if getattr(status, "catalogue_version", ""):
        lines.append(f"catalogue:  {status.catalogue_version}")
    if getattr(status, "worker_count", 0):
        lines.append(f"worker:     {_worker_line(status)}")
    return "\n".join(lines) + "\n"


def _worker_line(status: Any) -> str:
    """Which process answered: with --workers N each worker has its own engine, bundle and cache."""
    if status.worker_count == 1:
        return f"single process (pid {status.worker_pid})"
    return (
        f"{status.worker_index} of {status.worker_count} worker processes (pid {status.worker_pid}); "
        "another call may reach another worker"
    )


def _disagreement_lines(disagreement: Any) -> list[str]:
    when = disagreement.occurred_at.isoformat() if disagreement.occurred_at else "?"
    lines = [
        f"  disagreement at {when}: {disagreement.principal} {disagreement.action} {disagreement.resource}"
    ]
    for label, explanation in (("active", disagreement.active), ("shadow", disagreement.shadow)):
        decision = explanation.decision
        lines.append(f"    {label} (revision {decision.revision}): {decision.outcome}: {decision.message}")
        if decision.determining:
            lines.append("      determined by: " + "; ".join(_ref_label(r) for r in decision.determining))
    return lines


def cmd_rollback(args: argparse.Namespace, out: TextIO) -> int:
    active, rolled_back = _client_call(
        args.address, args.timeout, lambda c: c.rollback(expected_revision=args.expected_revision)
    )
    out.write(f"rolled back from revision {rolled_back} to {active}\n")
    return EXIT_OK


def read_simulation_input(text: str, source: str) -> tuple[list[Any], str]:
    """Parse one object, a JSON array of objects, or JSON lines; returns (items, shape).

    Read strictly (``iamgate.policy.json_text``): a repeated key, deep nesting or NaN is refused
    with its JSON path, as in every other JSON iamgate reads.
    """
    from iamgate.policy.json_text import JsonTextError, load_strict

    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{source}: no input (expected a JSON object, a JSON array or JSON lines)")
    try:
        data = load_strict(stripped)
    except JsonTextError as whole_error:
        if any(problem.code != "json" for problem in whole_error.problems):
            raise UsageError(f"{source}: {whole_error}") from None
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(load_strict(line))
            except JsonTextError as error:
                if not items and number == 1:
                    raise UsageError(f"{source}: {whole_error}") from None
                raise UsageError(f"{source}: line {number}: {error}") from None
        return items, "lines"
    if isinstance(data, list):
        return data, "array"
    return [data], "object"


def cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from iamgate.engine.simulate import SimulationLimits, simulate_many

    try:
        limits = SimulationLimits(**_limit_settings(args, SIMULATE_LIMITS))
    except ValueError as error:
        raise UsageError(f"--{str(error).replace('_', '-')}") from None

    if args.input == "-":
        try:
            text, source = sys.stdin.read(), "stdin"
        except UnicodeDecodeError:
            raise UsageError("stdin: not UTF-8 text") from None
    else:
        try:
            text, source = Path(args.input).read_text(encoding="utf-8"), args.input
        except OSError as error:
            raise UsageError(f"{args.input}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{args.input}: not UTF-8 text") from None
    items, shape = read_simulation_input(text, source)
    answers = simulate_many(items, explain=args.explain, limits=limits)
    if shape == "object":
        _print_json(answers[0], out)
    elif shape == "array":
        _print_json(answers, out)
    else:
        for answer in answers:
            out.write(json.dumps(answer, separators=(",", ":")) + "\n")
    failed = [a["Error"] for a in answers if "Error" in a]
    for error in failed:
        where = f"{error.get('Path')}: " if error.get("Path") else ""
        sys.stderr.write(f"iamgate simulate: request {error.get('Index')}: {where}{error.get('Message')}\n")
    return EXIT_FAILED if failed else EXIT_OK


def _bundle_commands() -> Any:
    try:
        from iamgate.bundle import commands
    except ImportError as error:
        raise _CommandFailed(
            f"bundle commands are not available in this build ({error})", EXIT_USAGE
        ) from None
    return commands


def _emit(result: Any, out: TextIO) -> int:
    text = result.text
    if text:
        out.write(text if text.endswith("\n") else text + "\n")
    return int(result.exit_code)


def _verify_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``{"verifier": ...}`` when a key was given, else nothing (the commands then skip the check)."""
    from iamgate.service.bundles import BundleSetupError, verifier_from_files

    try:
        verifier = verifier_from_files(args.verify_key, args.hmac_secret_file)
    except BundleSetupError as error:
        raise UsageError(str(error)) from None
    return {} if verifier is None else {"verifier": verifier}


def cmd_version(args: argparse.Namespace, out: TextIO) -> int:
    """The versions that decide a verdict: the sidecar's, and the catalogue validation checks against."""
    from iamgate.catalogue import aws_catalogue

    out.write(f"iamgate {_version()}\ncatalogue: {aws_catalogue().version}\n")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    return _emit(
        _bundle_commands().validate_command(args.path, output=args.output, **_verify_kwargs(args)), out
    )


def cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    result = _bundle_commands().test_command(
        args.path, output=args.output, run=args.run, coverage=args.coverage, **_verify_kwargs(args)
    )
    return _emit(result, out)


def cmd_bundle(args: argparse.Namespace, out: TextIO) -> int:
    commands = _bundle_commands()
    if args.bundle_command == "build":
        result = commands.build_command(
            args.source, args.output, revision=args.revision, sign_key=args.sign_key, key_id=args.key_id
        )
    elif args.bundle_command == "diff":
        result = _access_commands().diff_command(
            args.old, args.new, summary=args.summary, **_access_kwargs(args)
        )
    else:
        result = commands.inspect_command(args.path, **_verify_kwargs(args))
    return _emit(result, out)


def _access_commands() -> Any:
    from iamgate.bundle import access_commands

    return access_commands


def _access_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    now = None
    if args.now is not None:
        try:
            now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--now: {args.now!r} is not an ISO 8601 time") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    return {"output": args.output, "limit": args.limit, "now": now, **_verify_kwargs(args)}


def cmd_who_can(args: argparse.Namespace, out: TextIO) -> int:
    result = _access_commands().who_can_command(args.action, args.resource, args.path, **_access_kwargs(args))
    return _emit(result, out)


def cmd_what_can(args: argparse.Namespace, out: TextIO) -> int:
    result = _access_commands().what_can_command(
        args.principal, args.path, service=args.service, **_access_kwargs(args)
    )
    return _emit(result, out)


def _iso_time(flag: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_access_report(args: argparse.Namespace, out: TextIO) -> int:
    from iamgate.bundle.access_report.command import ReportLimits, access_report_command

    limits = ReportLimits(
        max_line_bytes=args.max_line_bytes,
        max_field_chars=args.max_field_chars,
        max_entries=args.max_entries,
        max_replay=args.max_replay,
        collapse_at=args.collapse_at,
    )
    result = access_report_command(
        args.logs,
        bundle=args.bundle,
        since=_iso_time("--since", args.since),
        until=_iso_time("--until", args.until),
        principal=args.principal,
        output=args.output,
        limits=limits,
        **_verify_kwargs(args),
    )
    return _emit(result, out)


def cmd_check_access(args: argparse.Namespace, out: TextIO) -> int:
    from iamgate.bundle import check_access

    checks = check_access.Checks(
        no_new_access_from=args.no_new_access,
        not_granted=check_access.parse_not_granted(args.not_granted),
        no_public_access=args.no_public_access,
    )
    result = check_access.check_access_command(args.path, checks, **_access_kwargs(args))
    return _emit(result, out)


_DECISION_LOG_LIMIT_FLAGS = (
    (
        "--decision-log-max-bytes",
        "BYTES",
        "rotate the decision log file before it grows past this (default 100 MiB)",
    ),
    ("--decision-log-max-files", "N", "rotated decision log files kept, PATH.1 ... PATH.N (default 5)"),
    ("--decision-log-max-value-chars", "N", "cut each logged context value and key name here (default 256)"),
    (
        "--decision-log-max-field-chars",
        "N",
        "cut the logged principal, action, resource, request id and message here (default 1024)",
    ),
    ("--decision-log-max-context-keys", "N", "log at most this many context keys (default 64)"),
    ("--decision-log-max-values-per-key", "N", "log at most this many values of a context key (default 16)"),
    (
        "--decision-log-max-line-bytes",
        "BYTES",
        "no decision log line is longer (default 16384, minimum 4096)",
    ),
)


def _decision_log_limits(args: argparse.Namespace) -> dict[str, int]:
    """The ``--decision-log-max-*`` flags given, as ServiceConfig fields (the rest keep their defaults)."""
    given = {}
    for flag, _, _ in _DECISION_LOG_LIMIT_FLAGS:
        setting = flag.removeprefix("--").replace("-", "_")
        if getattr(args, setting) is not None:
            given[setting] = getattr(args, setting)
    return given


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from iamgate.service import BundleSetupError, ConfigError, ServiceConfig, serve
    from iamgate.service.bundles import SHADOW_LOGGER, snapshot_source

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The bundle layer's shadow logger formats a line on the request thread for every
    # disagreement; the service logs them itself, with both explanations, off the hot path.
    logging.getLogger(SHADOW_LOGGER).setLevel(logging.ERROR)
    metrics = None if args.metrics_address.lower() in ("off", "none", "") else args.metrics_address
    try:
        config = ServiceConfig(
            address=args.address,
            metrics_address=metrics,
            enable_admin=args.enable_admin,
            enable_access_queries=args.enable_access_queries,
            ext_authz=args.ext_authz,
            drain_seconds=args.drain_seconds,
            tls_cert_file=args.tls_cert_file,
            tls_key_file=args.tls_key_file,
            tls_client_ca_file=args.tls_client_ca_file,
            shutdown_grace_seconds=args.shutdown_grace_seconds,
            decision_log=args.decision_log,
            sensitive_context_keys=frozenset(args.sensitive_context_key),
            **_decision_log_limits(args),
            **_limit_settings(args, SERVE_LIMITS),
        )
    except ConfigError as error:
        raise UsageError(f"--{error.setting.replace('_', '-')}: {error.detail}") from None
    settings: dict[str, Any] = {}
    if args.download_timeout is not None:
        settings["download_timeout"] = args.download_timeout
    if args.max_download_bytes is not None:
        settings["max_download_bytes"] = args.max_download_bytes
    if args.no_cache:
        settings["cache_size"] = 0
    elif args.cache_size is not None:
        settings["cache_size"] = args.cache_size
    if args.trust_context_key:
        settings["trusted_context_keys"] = tuple(args.trust_context_key)
    if args.shadow_diff_limit is not None:
        if args.shadow_diff_limit < 0:
            raise UsageError("--shadow-diff-limit: must be 0 (off) or more")
        settings["shadow_diff_limit"] = args.shadow_diff_limit
    if args.session_policy_memo_bytes is not None:
        settings["session_policy_memo_bytes"] = args.session_policy_memo_bytes
    workers = _serve_workers(args, config)

    def make_source() -> Any:
        return snapshot_source(
            bundle=args.bundle,
            shadow_bundle=args.shadow_bundle,
            verify_key=args.verify_key,
            hmac_secret_file=args.hmac_secret_file,
            persist_dir=args.persist_dir,
            poll_interval=args.poll_interval,
            **settings,
        )

    try:
        source = make_source()  # with --workers each worker builds its own after the fork
    except BundleSetupError as error:
        raise _CommandFailed(str(error), EXIT_FAILED) from None
    for setting in ("address", "metrics_address"):  # one clear line, never gRPC's own log lines
        problem = setting_sources.probe_listen(getattr(config, setting) or "", setting)
        if problem:
            raise _CommandFailed(problem, EXIT_FAILED)
    try:
        setting_sources.check_tls_files(config)
    except ConfigError as error:
        raise _CommandFailed(f"--{error.setting.replace('_', '-')}: {error.detail}", EXIT_FAILED) from None
    try:
        if workers > 1:
            from iamgate.service.workers import serve_workers

            del source
            serve_workers(config, make_source, workers)
        else:
            serve(config, source)
    except ConfigError as error:
        raise _CommandFailed(str(error), EXIT_FAILED) from None
    return EXIT_OK


def _serve_workers(args: argparse.Namespace, config: Any) -> int:
    """``--workers``: a count, or auto (a Unix socket gets one process under auto)."""
    from iamgate.service import ConfigError
    from iamgate.service.workers import check_workers, parse_workers

    try:
        workers = parse_workers(args.workers)
        if args.workers.strip().lower() == "auto" and config.address.startswith("unix:"):
            workers = 1
        check_workers(config, workers)
    except ConfigError as error:
        raise UsageError(f"--workers: {error.detail}") from None
    return workers


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "serve": cmd_serve,
    "check": cmd_check,
    "explain": cmd_explain,
    "status": cmd_status,
    "rollback": cmd_rollback,
    "simulate": cmd_simulate,
    "validate": cmd_validate,
    "version": cmd_version,
    "test": cmd_test,
    "bundle": cmd_bundle,
    "who-can": cmd_who_can,
    "what-can": cmd_what_can,
    "access-report": cmd_access_report,
    "check-access": cmd_check_access,
}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point of the ``iamgate`` script; returns the exit code."""
    out = out if out is not None else sys.stdout
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        setting_sources.prepare(parser, argv)  # IAMGATE_* variables and --config: flags still win
    except setting_sources.SettingsError as error:
        sys.stderr.write(f"iamgate: error: {error}\n")
        return error.exit_code
    args = parser.parse_args(argv)
    if args.command != "serve" and isinstance(getattr(args, "address", None), str):
        try:
            setting_sources.check_client_address(args.address)
        except setting_sources.SettingsError as error:
            sys.stderr.write(f"iamgate {args.command}: error: {error}\n")
            return EXIT_USAGE
    try:
        return COMMANDS[args.command](args, out)
    except UsageError as error:
        sys.stderr.write(f"iamgate {args.command}: error: {error}\n")
        return EXIT_USAGE
    except _CommandFailed as error:
        sys.stderr.write(f"iamgate {args.command}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # a bug or input nothing foresaw: one line, never a traceback
        logging.getLogger(__name__).debug("iamgate %s failed", args.command, exc_info=True)
        sys.stderr.write(f"iamgate {args.command}: internal error: {type(error).__name__}: {error}\n")
        return EXIT_FAILED


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
