"""``iamgate check-access``: Access Analyzer's custom policy checks, as CI gates over bundles.

Three checks, combinable in one run, each reporting findings in the validation format (text,
json or SARIF, ``bundle/findings_report.py``) with a stable code:

* ``--no-new-access OLD``: like CheckNoNewAccess, every row ``bundle diff OLD BUNDLE`` reports
  as added (``new-access``) or widened from conditional to outright (``widened-access``);
* ``--not-granted ACTION RESOURCE``: like CheckAccessNotGranted, every user or role allowed the
  action (a wildcard action expands through the catalogue) on the resource, outright
  (``access-granted``) or under conditions a caller could meet (``access-granted-conditionally``);
* ``--no-public-access``: every resource-based policy (bucket, queue, topic, key policy, role
  trust policy) with an Allow statement for ``Principal: "*"`` / ``{"AWS": "*"}`` or with
  ``NotPrincipal``, and no condition restricting who may call (``public-access``).

An answer cut short by ``--limit`` cannot show that nothing is granted: it is a finding too
(``check-incomplete``), so a gate fails closed. Exit codes: 0 no finding, 1 findings, 2 the
checks could not run (usage, unreadable or uncompilable bundle).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from iamgate.bundle.access import (
    CONDITIONAL,
    AccessError,
    diff_access,
    expand_actions,
    who_can,
)
from iamgate.bundle.access_catalogue import catalogue_of
from iamgate.bundle.commands import CommandResult
from iamgate.bundle.compiler import build_snapshot
from iamgate.bundle.errors import BundleError, BundleProblem
from iamgate.bundle.findings_report import FINDING_OUTPUTS, render_json, render_sarif, render_text
from iamgate.bundle.load import open_bundle
from iamgate.bundle.loader import BundleFiles, load_files
from iamgate.bundle.model import Bundle
from iamgate.bundle.signing import Verifier
from iamgate.bundle.snapshot import Snapshot
from iamgate.catalogue import Catalogue
from iamgate.errors import IamgateError
from iamgate.policy.errors import Severity
from iamgate.policy.json_text import load_strict
from iamgate.policy.model import Effect, PolicyDocument, Statement

CHECK_CODES: Mapping[str, str] = {
    "new-access": "the bundle allows a (principal, action, resource) the old revision did not",
    "widened-access": "the bundle allows outright what the old revision allowed only under conditions",
    "access-granted": "a principal is allowed an action on a resource that must not be granted",
    "access-granted-conditionally": "a principal is allowed it when a caller-given key has some value",
    "public-access": "a resource-based policy allows everyone (Principal '*', or NotPrincipal) without "
    "a condition restricting the caller",
    "check-incomplete": "the --limit cut a check short: it cannot show that no access is granted",
}
"""Every finding code of ``iamgate check-access`` (docs/access.md lists them with examples)."""

RESTRICTING_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:userid",
        "aws:username",
        "kms:CallerAccount",
    )
)
"""Condition keys that narrow *who* may call (as Access Analyzer reads them); others do not."""

_RESTRICTING_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)


class CheckUsageError(ValueError):
    """The checks cannot run as asked (exit code 2)."""


@dataclass(frozen=True, slots=True)
class NotGranted:
    action: str
    resource: str


@dataclass(frozen=True, slots=True)
class Checks:
    """What to check on BUNDLE: at least one of the three."""

    no_new_access_from: str | os.PathLike[str] | None = None
    not_granted: tuple[NotGranted, ...] = ()
    no_public_access: bool = False

    @property
    def empty(self) -> bool:
        return self.no_new_access_from is None and not self.not_granted and not self.no_public_access


# -- the checks ----------------------------------------------------------------------------------


def new_access_findings(
    old: Snapshot, new: Snapshot, catalogue: Catalogue, source: str, *, now: datetime | None, limit: int
) -> list[BundleProblem]:
    diff = diff_access(old, new, catalogue, now=now, limit=limit)
    findings = []
    for change in diff.changes:
        if change.change not in ("added", "widened"):
            continue
        row = change.row
        how = "allowed depending on " + "; ".join(row.conditions) if row.status == CONDITIONAL else "allowed"
        was = "not allowed" if change.change == "added" else "allowed only under conditions"
        message = (
            f"now {how}: {row.action} on {row.resource} (in {old.revision}: {was}); "
            f"by {', '.join(row.statements) or 'no statement'}"
        )
        code = "new-access" if change.change == "added" else "widened-access"
        findings.append(BundleProblem(source, row.principal, message, Severity.ERROR, code))
    if diff.truncated:
        findings.append(_incomplete(source, "--no-new-access", limit))
    for item in diff.unproven:
        principal, _, note = item.partition(": ")
        message = f"--no-new-access: not enumerated, access may be added unseen: {note}"
        findings.append(BundleProblem(source, principal, message, Severity.ERROR, "check-incomplete"))
    return findings


def not_granted_findings(
    snapshot: Snapshot,
    catalogue: Catalogue,
    requirement: NotGranted,
    source: str,
    *,
    now: datetime | None,
    limit: int,
) -> list[BundleProblem]:
    """Every principal allowed (or conditionally allowed) an action the requirement names."""
    notes: list[str] = []
    actions = expand_actions([requirement.action], catalogue, notes)
    if not actions:
        raise CheckUsageError(
            f"--not-granted {requirement.action}: names no action ({'; '.join(notes) or 'nothing matched'})"
        )
    findings = []
    budget = limit
    for action in actions:
        try:
            answer = who_can(snapshot, action, requirement.resource, now=now, limit=budget)
        except AccessError as error:
            raise CheckUsageError(
                f"--not-granted {requirement.action} {requirement.resource}: {error}"
            ) from None
        budget -= answer.evaluations
        for row in answer.rows:
            conditional = row.status == CONDITIONAL
            message = (
                f"allowed {action} on {requirement.resource}"
                + (" depending on " + "; ".join(row.conditions) if conditional else "")
                + f"; by {', '.join(row.statements) or 'no statement'}"
            )
            code = "access-granted-conditionally" if conditional else "access-granted"
            findings.append(BundleProblem(source, row.principal, message, Severity.ERROR, code))
        if answer.truncated:
            findings.append(_incomplete(source, f"--not-granted {requirement.action}", limit))
            break
    return findings


def public_access_findings(bundle: Bundle) -> list[BundleProblem]:
    """Resource-based policies and role trust policies that let anyone in."""
    findings = []
    organization = bundle.organization
    documents: list[tuple[str, str, str, PolicyDocument]] = [
        (policy.resource_arn, policy.origin.file, f"{policy.origin.path}.Policy", policy.document)
        for policy in organization.resource_policies
    ]
    documents += [
        (role.arn, role.origin.file, f"{role.origin.path}.AssumeRolePolicyDocument", role.trust_policy)
        for role in organization.roles
        if role.trust_policy is not None
    ]
    for resource, file, path, document in documents:
        for statement in document.statements:
            reason = public_reason(statement)
            if reason is not None:
                message = f"{resource}: {statement.label} allows {reason} {_actions(statement)}"
                findings.append(
                    BundleProblem(file, f"{path}.{statement.path}", message, Severity.ERROR, "public-access")
                )
    return findings


def public_reason(statement: Statement) -> str | None:
    """Why an Allow statement is public ("everyone", "everyone but ..."), or ``None`` when it is not."""
    if statement.effect is not Effect.ALLOW:
        return None
    if statement.not_principal is not None:
        who = "everyone but the NotPrincipal"
    elif statement.principal is not None and (
        statement.principal.everyone or ("AWS", "*") in statement.principal.entries
    ):
        who = "everyone (Principal '*')"
    else:
        return None
    if any(
        _restricts(clause.base_operator, clause.key, clause.values, clause.if_exists)
        for clause in statement.conditions
    ):
        return None
    keys = sorted({clause.key for clause in statement.conditions})
    unless = f", under conditions that do not restrict the caller ({', '.join(keys)})," if keys else ""
    return who + unless


def _restricts(operator: str, key: str, values: Sequence[str], if_exists: bool) -> bool:
    """A clause narrows the callers: a positive operator on an identifying key, with no bare ``*`` value."""
    return (
        not if_exists
        and operator.lower() in _RESTRICTING_OPERATORS
        and key.lower() in RESTRICTING_KEYS
        and not any(value.strip("*?") == "" for value in values)
    )


def _actions(statement: Statement) -> str:
    if statement.actions is not None:
        return ", ".join(statement.actions)
    return "every action but " + ", ".join(statement.not_actions or ())


def _incomplete(source: str, check: str, limit: int) -> BundleProblem:
    message = f"{check}: --limit {limit} evaluations reached; the check is incomplete (raise --limit)"
    return BundleProblem(source, "", message, Severity.ERROR, "check-incomplete")


# -- the command ---------------------------------------------------------------------------------


def check_access_command(
    path: str | os.PathLike[str],
    checks: Checks,
    *,
    output: str = "text",
    limit: int,
    now: datetime | None = None,
    verifier: Verifier | None = None,
) -> CommandResult:
    if output not in FINDING_OUTPUTS:
        return CommandResult(
            f"error: unknown output {output!r}: use one of {', '.join(FINDING_OUTPUTS)}\n", 2
        )
    if checks.empty:
        return CommandResult(
            "error: name at least one check: --no-new-access OLD, --not-granted ACTION RESOURCE, "
            "--no-public-access\n",
            2,
        )
    if limit < 1:
        return CommandResult(f"error: --limit must be at least 1 (got {limit})\n", 2)
    source = str(path)
    try:
        files, bundle, snapshot = _open(path, verifier)
        catalogue = catalogue_of(files)
        findings: list[BundleProblem] = []
        if checks.no_new_access_from is not None:
            old_files, _, old = _open(checks.no_new_access_from, verifier)
            old_catalogue = catalogue_of(old_files)
            both = catalogue.with_services(old_catalogue.own.values()) if old_catalogue.own else catalogue
            findings += new_access_findings(old, snapshot, both, source, now=now, limit=limit)
        for requirement in checks.not_granted:
            findings += not_granted_findings(snapshot, catalogue, requirement, source, now=now, limit=limit)
        if checks.no_public_access:
            findings += public_access_findings(bundle)
    except CheckUsageError as error:
        return CommandResult(f"error: {error}\n", 2)
    return CommandResult(
        _render(findings, output, source, files, catalogue.version, checks), 1 if findings else 0
    )


def _open(path: str | os.PathLike[str], verifier: Verifier | None) -> tuple[BundleFiles, Bundle, Snapshot]:
    try:
        files = load_files(path)
        bundle = open_bundle(files, verifier=verifier)
        return files, bundle, build_snapshot(bundle, source=str(path))
    except BundleError as error:
        raise CheckUsageError(str(error)) from None
    except IamgateError as error:
        raise CheckUsageError(f"{path}: cannot compile the bundle: {error}") from None


def _names(checks: Checks) -> list[str]:
    names = []
    if checks.no_new_access_from is not None:
        names.append(f"no-new-access from {checks.no_new_access_from}")
    names += [f"not-granted {r.action} {r.resource}" for r in checks.not_granted]
    if checks.no_public_access:
        names.append("no-public-access")
    return names


def _render(
    findings: list[BundleProblem],
    output: str,
    source: str,
    files: BundleFiles,
    catalogue: str,
    checks: Checks,
) -> str:
    if output == "sarif":
        from iamgate import __version__

        text = render_sarif(findings, version=__version__, catalogue=catalogue, files=files.files)
        return _describe_rules(text)
    if output == "json":
        summary = {"source": source, "checks": _names(checks), "passed": not findings, "count": len(findings)}
        return render_json(findings, summary)
    verdict = "passed" if not findings else f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    return render_text(findings, f"{source}: {'; '.join(_names(checks))}: {verdict}")


def _describe_rules(sarif: str) -> str:
    """The SARIF rules of check-access's own codes carry their descriptions."""
    document = load_strict(sarif)
    for run in document["runs"]:
        for rule in run["tool"]["driver"]["rules"]:
            if rule["id"] in CHECK_CODES:
                rule["shortDescription"] = {"text": CHECK_CODES[rule["id"]]}
    return json.dumps(document, indent=2) + "\n"


def parse_not_granted(pairs: Iterable[Sequence[str]]) -> tuple[NotGranted, ...]:
    return tuple(NotGranted(action, resource) for action, resource in pairs)
