"""Cross-file checks: every reference in the organization must resolve.

A user in a group that does not exist, an attached policy ARN or a permissions boundary that the
bundle does not define, two users with one name, an OU whose parent is missing: each is an error
at the place of the reference (file and JSON path), because the sidecar would otherwise answer
from a different organization than the one its authors meant.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from iamgate.bundle.errors import BundleProblem
from iamgate.bundle.model import Organization, Origin
from iamgate.policy.errors import Severity


def validate_organization(
    organization: Organization, *, unreadable_policies: Collection[str] = ()
) -> list[BundleProblem]:
    """Check every reference; ``unreadable_policies`` were declared but had errors already reported."""
    problems: list[BundleProblem] = []

    def error(origin: Origin, message: str, code: str = "reference") -> None:
        problems.append(BundleProblem(origin.file, origin.path, message, Severity.ERROR, code))

    def warning(origin: Origin, message: str, code: str = "warning") -> None:
        problems.append(BundleProblem(origin.file, origin.path, message, Severity.WARNING, code))

    _unique(error, "user", ((u.account, u.name.lower(), u.origin) for u in organization.users))
    _unique(error, "group", ((g.account, g.name.lower(), g.origin) for g in organization.groups))
    _unique(error, "role", ((r.account, r.name.lower(), r.origin) for r in organization.roles))
    _unique(error, "managed policy", ((None, p.arn, p.origin) for p in organization.policies))
    _unique(
        error, "resource policy", ((None, p.resource_arn, p.origin) for p in organization.resource_policies)
    )
    _unique(error, "resource tag set", ((None, t.resource_arn, t.origin) for t in organization.resource_tags))
    _unique(error, "test", ((None, t.name, t.origin) for t in organization.tests))

    groups = {(group.account, group.name) for group in organization.groups}
    policies = {policy.arn: policy for policy in organization.policies}

    def check_policy(account: str, arn: str, origin: Origin, what: str) -> None:
        policy = policies.get(arn)
        if policy is None and arn in unreadable_policies:
            return
        if policy is None:
            hint = " (add its document to aws-managed-policies.json)" if ":iam::aws:policy/" in arn else ""
            error(origin, f"{what} {arn} does not exist in the bundle{hint}")
        elif policy.account is not None and policy.account != account:
            error(origin, f"{what} {arn} belongs to account {policy.account}, not {account}")

    for user in organization.users:
        for name, origin in zip(user.groups, user.group_origins, strict=True):
            if (user.account, name) not in groups:
                error(origin, f"group {name!r} does not exist in account {user.account}")
        for arn, origin in zip(user.attached, user.attached_origins, strict=True):
            check_policy(user.account, arn, origin, "attached policy")
        if user.boundary and user.boundary_origin:
            check_policy(user.account, user.boundary, user.boundary_origin, "permissions boundary")
    for group in organization.groups:
        for arn, origin in zip(group.attached, group.attached_origins, strict=True):
            check_policy(group.account, arn, origin, "attached policy")
    for role in organization.roles:
        for arn, origin in zip(role.attached, role.attached_origins, strict=True):
            check_policy(role.account, arn, origin, "attached policy")
        if role.boundary and role.boundary_origin:
            check_policy(role.account, role.boundary, role.boundary_origin, "permissions boundary")

    _check_tree(organization, error, warning)
    return problems


def _unique(error, kind: str, entries: Iterable[tuple[str | None, str, Origin]]) -> None:  # type: ignore[no-untyped-def]
    seen: dict[tuple[str | None, str], Origin] = {}
    for account, key, origin in entries:
        first = seen.setdefault((account, key), origin)
        if first is not origin:
            where = f" in account {account}" if account else ""
            error(origin, f"{kind} {key!r}{where} is declared twice (first at {first})", "duplicate")


def _check_tree(organization: Organization, error, warning) -> None:  # type: ignore[no-untyped-def]
    tree = organization.tree
    if tree is None:
        return
    units = {unit.id: unit for unit in tree.units}
    members = {account.id for account in organization.accounts if account.parent}
    nodes = {tree.root_id, *units, *members}
    for unit in tree.units:
        if unit.parent not in units and unit.parent != tree.root_id:
            error(unit.origin, f"parent {unit.parent!r} of OU {unit.id!r} is neither the root nor an OU")
            continue
        seen = {unit.id}
        parent = unit.parent
        while parent in units:
            if parent in seen:
                error(unit.origin, f"OU {unit.id!r} is its own ancestor")
                break
            seen.add(parent)
            parent = units[parent].parent
    for account in organization.accounts:
        if account.parent and account.parent not in units and account.parent != tree.root_id:
            origin = Origin("organization.json", "Accounts")
            error(origin, f"parent {account.parent!r} of account {account.id} is neither the root nor an OU")
    attached: set[str] = set()
    for scp in tree.scps:
        for index, target in enumerate(scp.targets):
            if target not in nodes:
                error(
                    Origin(scp.origin.file, f"{scp.origin.path}.Targets[{index}]"),
                    f"target {target!r} is neither the root, an OU nor an account of the organization",
                )
            attached.add(target)
    if not tree.scps:
        return
    where = Origin("organization.json", "ServiceControlPolicies")
    for node in sorted(nodes - attached - {tree.management_account}):
        what = f"account {node}" if node in members else f"{node!r} and everything beneath it"
        warning(
            where,
            f"no SCP is attached to {node!r}: every action is denied in {what} (attach FullAWSAccess)",
            "scp-gap",
        )
    for account in organization.accounts:
        if not account.parent:
            warning(
                Origin("organization.json", "Accounts"),
                f"account {account.id} is not in the organization: no SCP applies to it",
                "outside-organization",
            )
