"""The bundle commands behind ``iamgate bundle build|inspect``, ``iamgate validate`` and ``iamgate test``.

Each returns a ``CommandResult`` (the text to print, the exit code) and never raises for bad
input: the CLI prints ``text`` and exits with ``exit_code``. Exit codes: 0 success, 1 the bundle
has problems (errors, refused signature, failing tests), 2 the command could not run (no such
path, unreadable key, unknown output format).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iamgate.bundle import format as fmt
from iamgate.bundle.archive import archive_bytes, write_atomically
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.coverage import coverage_json, measure_coverage, render_coverage
from iamgate.bundle.errors import BundleError, BundleProblem, BundleVerificationError
from iamgate.bundle.findings_report import FINDING_OUTPUTS, ordered, render_sarif
from iamgate.bundle.findings_report import render_json as render_findings_json
from iamgate.bundle.findings_report import render_text as render_findings_text
from iamgate.bundle.loader import DETAILS, BundleFiles, load_files
from iamgate.bundle.model import Bundle, Organization
from iamgate.bundle.reader import read_organization
from iamgate.bundle.signing import Verifier, load_signer, signatures_document
from iamgate.bundle.testing import render_junit, render_text, report_json, run_tests
from iamgate.bundle.verify import check_bundle, parse_manifest
from iamgate.catalogue import aws_catalogue
from iamgate.errors import IamgateError
from iamgate.policy.errors import Severity
from iamgate.policy.json_text import JsonTextError, load_strict

OUTPUTS = ("text", "json", "junit")


@dataclass(frozen=True, slots=True)
class CommandResult:
    text: str
    exit_code: int


def build_command(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    revision: str | None = None,
    sign_key: str | os.PathLike[str] | None = None,
    key_id: str | None = None,
    name: str | None = None,
    run_bundle_tests: bool = True,
    created: datetime | None = None,
) -> CommandResult:
    """Validate ``source`` (a directory, an archive or a details JSON) and write it as a .tar.gz.

    The manifest gets the SHA-256 of every file; ``revision`` defaults to the source manifest's
    revision when that manifest still matches the files, else to the content hash;
    with ``sign_key`` (an Ed25519 private key PEM or an HMAC secret file) signatures.json is added.
    The bundle's own tests must pass, or nothing is written.
    """
    try:
        files = load_files(source)
        signer = load_signer(sign_key, key_id) if sign_key is not None else None
    except BundleError as error:
        return CommandResult(f"error: {error}\n", 2)
    content = _content_files(files)
    result = read_organization(BundleFiles(files.source, files.kind, content))
    if result.errors:
        return CommandResult(_problem_text(str(source), result.problems, "not built"), 1)
    previous = _source_manifest(files)
    bundle_name = name or (previous or {}).get("name") or files.default_name
    stamp = (created or datetime.now(UTC)).astimezone(UTC)
    manifest = fmt.manifest_object(
        name=bundle_name,
        revision=revision or _current_revision(previous, content) or fmt.content_revision(content),
        created=fmt.created_stamp(stamp),
        files=fmt.file_hashes(content),
        metadata=(previous or {}).get("metadata") or {},
    )
    manifest_bytes = fmt.dump_manifest(manifest)
    archive_files = {**content, fmt.MANIFEST: manifest_bytes}
    if signer is not None:
        archive_files[fmt.SIGNATURES] = signatures_document([signer], manifest_bytes)
    lines = []
    if run_bundle_tests:
        try:
            bundle = Bundle(parse_manifest(manifest_bytes), result.organization, str(source))
            report = run_tests(build_snapshot(bundle))
        except IamgateError as error:
            return CommandResult(f"error: {source}: cannot compile the bundle: {error}\n", 1)
        if not report.ok:
            return CommandResult(render_text(report) + f"\n{source}: not built: the bundle's tests fail\n", 1)
        lines.append(f"tests:     {len(report.results)} passed")
    try:
        write_atomically(output, archive_bytes(archive_files, mtime=int(stamp.timestamp())))
    except OSError as error:
        return CommandResult(f"error: {output}: cannot write ({error.strerror})\n", 2)
    signature = f"signed by {signer.key_id} ({signer.algorithm})" if signer else "unsigned"
    head = [
        f"built {output}",
        f"bundle:    {bundle_name}",
        f"revision:  {manifest['revision']}",
        f"files:     {len(content)} (+ {fmt.MANIFEST}{', ' + fmt.SIGNATURES if signer else ''})",
        f"signature: {signature}",
        f"contents:  {_counts_line(result.organization)}",
    ]
    warnings = [f"warning   {problem}" for problem in result.warnings]
    return CommandResult("\n".join(head + lines + warnings) + "\n", 0)


def manifest_command(
    directory: str | os.PathLike[str],
    *,
    name: str | None = None,
    revision: str | None = None,
    sign_key: str | os.PathLike[str] | None = None,
    key_id: str | None = None,
    created: datetime | None = None,
) -> CommandResult:
    """Write manifest.json (and signatures.json when signing) into a bundle directory, in place.

    For bundles served as directories (a ConfigMap volume, a git checkout). The documents must be
    valid; the revision defaults to the content hash.
    """
    try:
        files = load_files(directory)
        signer = load_signer(sign_key, key_id) if sign_key is not None else None
    except BundleError as error:
        return CommandResult(f"error: {error}\n", 2)
    if files.kind != "directory":
        return CommandResult(f"error: {directory}: not a directory\n", 2)
    content = _content_files(files)
    result = read_organization(BundleFiles(files.source, files.kind, content))
    if result.errors:
        return CommandResult(_problem_text(str(directory), result.problems, "no manifest written"), 1)
    previous = _source_manifest(files) or {}
    manifest = fmt.manifest_object(
        name=name or previous.get("name") or files.default_name,
        revision=revision or fmt.content_revision(content),
        created=fmt.created_stamp(created or datetime.now(UTC)),
        files=fmt.file_hashes(content),
        metadata=previous.get("metadata") or {},
    )
    manifest_bytes = fmt.dump_manifest(manifest)
    try:
        write_atomically(os.path.join(directory, fmt.MANIFEST), manifest_bytes)
        signatures = os.path.join(directory, fmt.SIGNATURES)
        if signer is not None:
            write_atomically(signatures, signatures_document([signer], manifest_bytes))
        elif os.path.exists(signatures):
            os.remove(signatures)  # a stale signature would no longer match
    except OSError as error:
        return CommandResult(f"error: {directory}: cannot write the manifest ({error.strerror})\n", 2)
    signature = f", signed by {signer.key_id} ({signer.algorithm})" if signer else ", unsigned"
    text = f"wrote {fmt.MANIFEST}: bundle {manifest['name']} revision {manifest['revision']}, "
    return CommandResult(text + f"{len(content)} files{signature}\n", 0)


def inspect_command(path: str | os.PathLike[str], *, verifier: Verifier | None = None) -> CommandResult:
    """The manifest, what the bundle holds, and whether its signature and file hashes check out."""
    try:
        files = load_files(path)
    except BundleError as error:
        return CommandResult(f"error: {error}\n", 2)
    lines = [f"source:    {path} ({files.kind})"]
    try:
        checked = check_bundle(files, verifier=verifier)
    except BundleVerificationError as error:
        lines.append(f"REFUSED:   {error} [{error.reason}]")
        return CommandResult("\n".join(lines) + "\n", 1)
    manifest = checked.manifest
    lines += [
        f"bundle:    {manifest.name}",
        f"revision:  {manifest.revision}" + ("" if checked.declared else " (content hash: no manifest)"),
    ]
    if manifest.created:
        lines.append(f"created:   {manifest.created}")
    for key, value in manifest.metadata:
        lines.append(f"metadata:  {key} = {json.dumps(value)}")
    lines.append(f"signature: {checked.signature}")
    hashed = len([p for p in files.files if p not in fmt.UNHASHED])
    lines.append(
        f"files:     {hashed}"
        + (", all match the manifest's SHA-256" if checked.declared else " (no manifest)")
    )
    result = read_organization(files)
    organization = result.organization
    accounts = ", ".join(account.id for account in organization.accounts) or "none"
    lines.append(f"accounts:  {len(organization.accounts)} ({accounts})")
    lines.append(f"contents:  {_counts_line(organization)}")
    lines.append(f"problems:  {len(result.errors)} error(s), {len(result.warnings)} warning(s)")
    if result.errors:
        lines.append(f"run `iamgate validate {path}` for the details")
    return CommandResult("\n".join(lines) + "\n", 1 if result.errors else 0)


def validate_command(
    path: str | os.PathLike[str], *, verifier: Verifier | None = None, output: str = "text"
) -> CommandResult:
    """Every problem of the bundle with its file and JSON path; exit code 1 if any is an error.

    ``output`` is ``text``, ``json`` or ``sarif`` (findings_report); problems that stop the check
    before the documents are read (no such path, a refused signature) are always text.
    """
    if output not in FINDING_OUTPUTS:
        return CommandResult(
            f"error: unknown output {output!r}: use one of {', '.join(FINDING_OUTPUTS)}\n", 2
        )
    try:
        files = load_files(path)
    except BundleError as error:
        return CommandResult(f"error: {error}\n", 2)
    try:
        checked = check_bundle(files, verifier=verifier)
    except BundleVerificationError as error:
        return CommandResult(
            f"error   {error} [{error.reason}]\n{path}: invalid (refused before parsing)\n", 1
        )
    result = read_organization(files)
    catalogue = aws_catalogue().version
    if not result.errors:
        try:
            snapshot = build_snapshot(
                Bundle(checked.manifest, result.organization, str(path), checked.signature)
            )
        except IamgateError as error:
            return CommandResult(f"error   {path}: cannot compile the bundle: {error}\n{path}: invalid\n", 1)
    exit_code = 1 if result.errors else 0
    if output == "sarif":
        text = render_sarif(
            result.problems, version=_iamgate_version(), catalogue=catalogue, files=files.files
        )
        return CommandResult(text, exit_code)
    if output == "json":
        summary = {"source": str(path), "valid": not result.errors, "catalogue": catalogue}
        summary.update(_severity_counts(result.problems))
        return CommandResult(render_findings_json(result.problems, summary), exit_code)
    if result.errors:
        return CommandResult(_problem_text(str(path), result.problems, "invalid"), 1)
    counts = snapshot.counts
    summary_line = (
        f"{path}: valid: bundle {checked.manifest.name} revision {checked.manifest.revision}; "
        f"{counts.principals} principals, {counts.policies} policies, {counts.statements} statements, "
        f"{counts.tests} tests; {len(result.warnings)} warning(s)"
    )
    return CommandResult(render_findings_text(result.warnings, summary_line), 0)


def test_command(
    path: str | os.PathLike[str],
    *,
    output: str = "text",
    verifier: Verifier | None = None,
    run: str | None = None,
    coverage: bool = False,
) -> CommandResult:
    """Run the bundle's policy tests; exit code 1 if any fails (or the bundle cannot be loaded).

    ``run`` selects the tests whose name matches a regular expression (as ``go test -run``);
    ``coverage`` adds the statements no selected test matched.
    """
    if output not in OUTPUTS:
        return CommandResult(f"error: unknown output {output!r}: use one of {', '.join(OUTPUTS)}\n", 2)
    try:
        selector = re.compile(run) if run is not None else None
    except re.error as error:
        return CommandResult(f"error: --run {run!r} is not a regular expression: {error}\n", 2)
    try:
        files = load_files(path)
    except BundleError as error:
        return CommandResult(f"error: {error}\n", 2)
    try:
        checked = check_bundle(files, verifier=verifier)
    except BundleVerificationError as error:
        return CommandResult(f"error: {error} [{error.reason}]\n", 1)
    result = read_organization(files)
    if result.errors:
        return CommandResult(_problem_text(str(path), result.problems, "cannot run tests"), 1)
    try:
        snapshot = build_snapshot(Bundle(checked.manifest, result.organization, str(path), checked.signature))
    except IamgateError as error:
        return CommandResult(f"error: {path}: cannot compile the bundle: {error}\n", 1)
    tests = snapshot.tests
    if selector is not None:
        tests = tuple(test for test in tests if selector.search(test.name))
        if not tests:
            return CommandResult(f"error: --run {run!r} selects none of the {len(snapshot.tests)} tests\n", 1)
    report = run_tests(snapshot, tests)
    measured = measure_coverage(snapshot, tests) if coverage else None
    if output == "json":
        data = report_json(report)
        if measured is not None:
            data["coverage"] = coverage_json(measured)
        return CommandResult(json.dumps(data, indent=2) + "\n", 0 if report.ok else 1)
    renderer = {"text": render_text, "junit": render_junit}[output]
    text = renderer(report)
    if measured is not None and output == "text":
        text += "\n" + render_coverage(measured)
    return CommandResult(text, 0 if report.ok else 1)


test_command.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _content_files(files: BundleFiles) -> dict[str, bytes]:
    """The files that go into a built bundle: everything but an old manifest and its signatures."""
    if files.kind == DETAILS:
        return {fmt.AUTHORIZATION_DETAILS: next(iter(files.files.values()))}
    return {path: data for path, data in files.files.items() if path not in fmt.UNHASHED}


def _source_manifest(files: BundleFiles) -> dict[str, Any] | None:
    data = files.files.get(fmt.MANIFEST) if files.kind != DETAILS else None
    if data is None:
        return None
    try:
        document = load_strict(data)
    except JsonTextError:
        return None
    return document if isinstance(document, dict) else None


def _current_revision(previous: dict[str, Any] | None, content: dict[str, bytes]) -> str | None:
    """The source manifest's revision if it still describes exactly these files, else ``None``."""
    if not previous or previous.get("files") != fmt.file_hashes(content):
        return None
    revision = previous.get("revision")
    return revision if isinstance(revision, str) and revision else None


def _counts_line(organization: Organization) -> str:
    org = organization
    scps = len(org.tree.scps) if org.tree else 0
    return (
        f"{len(org.users)} users, {len(org.groups)} groups, {len(org.roles)} roles, "
        f"{len(org.policies)} managed policies, {len(org.resource_policies)} resource policies, "
        f"{len(org.resource_tags)} tagged resources, {scps} SCPs, {len(org.tests)} tests"
    )


def _iamgate_version() -> str:
    import iamgate

    return iamgate.__version__


def _severity_counts(problems: tuple[BundleProblem, ...]) -> dict[str, int]:
    return {f"{severity.value}s": sum(1 for p in problems if p.severity is severity) for severity in Severity}


def _problem_text(source: str, problems: tuple[BundleProblem, ...], verdict: str) -> str:
    errors = [problem for problem in problems if problem.is_error]
    warnings = [problem for problem in problems if not problem.is_error]
    lines = [f"error   {problem}" for problem in errors] + [
        f"{problem.severity.value:<7} {problem} [{problem.code}]" for problem in ordered(warnings)
    ]
    lines.append(f"{source}: {verdict}: {len(errors)} error(s), {len(warnings)} warning(s)")
    return "\n".join(lines) + "\n"
