"""Cross-file checks: every object has one identity, and every reference resolves to exactly one object.

AWS keys each object of an organization by an identity -- an SCP or OU by its id, an account by
its id, IAM users, groups, roles and managed policies by ARN (names unique per account, compared
case-insensitively), an inline policy by its owner and name, a resource by its ARN -- and refuses
a second object with the same identity or name. The bundle does the same: a duplicate AWS would
refuse, or a reference (group membership, attached policy, permissions boundary, SCP target, OU or
account parent) that matches nothing or more than one object, is an error at its file and JSON
path, because the sidecar would otherwise answer from a different organization than the one its
authors meant (issue 14: two SCPs named alike once swapped one account's SCP for another's).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from iamgate.bundle.errors import BundleProblem
from iamgate.bundle.model import Organization, Origin
from iamgate.engine.identity import canonical_resource_or_none
from iamgate.policy.errors import Severity


def resource_key(arn: str) -> str:
    """The identity of a resource: its canonical ARN (``engine.identity``), as requests name it."""
    return canonical_resource_or_none(arn) or arn


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
    # Unique ids are identities too: policies guard with aws:userid, so two entities must never share one.
    ids: dict[str, tuple[str, Origin]] = {}
    for entity, unique in (
        *((u, u.user_id) for u in organization.users),
        *((r, r.role_id) for r in organization.roles),
    ):
        first = ids.setdefault(unique.upper(), (entity.arn, entity.origin))
        if first[0].lower() != entity.arn.lower():  # one entity declared twice is reported above
            error(entity.origin, f"unique id {unique!r} of {entity.arn} is also {first[0]}'s", "duplicate")
    _check_managed_policies(organization, error)
    _check_resources(organization, error)
    _unique(error, "test", ((None, t.name, t.origin) for t in organization.tests))

    groups = {(group.account, group.name) for group in organization.groups}
    groups_folded: dict[tuple[str, str], str] = {
        (g.account, g.name.lower()): g.name for g in organization.groups
    }
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
        listed: set[str] = set()
        for name, origin in zip(user.groups, user.group_origins, strict=True):
            if name.lower() in listed:
                warning(origin, f"group {name!r} is listed twice", "duplicate")
            listed.add(name.lower())
            if (user.account, name) in groups:
                continue
            spelled = groups_folded.get((user.account, name.lower()))
            hint = f" (did you mean {spelled!r}? group references are exact)" if spelled else ""
            error(origin, f"group {name!r} does not exist in account {user.account}{hint}")
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


def _at(origin: Origin, key: str) -> Origin:
    return Origin(origin.file, f"{origin.path}.{key}" if origin.path else key)


def _unique(error, kind: str, entries: Iterable[tuple[str | None, str, Origin]]) -> None:  # type: ignore[no-untyped-def]
    seen: dict[tuple[str | None, str], Origin] = {}
    for account, key, origin in entries:
        first = seen.setdefault((account, key), origin)
        if first is not origin:
            where = f" in account {account}" if account else ""
            error(origin, f"{kind} {key!r}{where} is declared twice (first at {first})", "duplicate")


def _check_managed_policies(organization: Organization, error) -> None:  # type: ignore[no-untyped-def]
    """One policy per ARN, one name per account; an AWS-managed policy may come with several exports.

    ``get-account-authorization-details`` of each account lists the AWS-managed policies used
    there, so two exports carry the same ``arn:aws:iam::aws:policy/...``: the same policy when the
    documents agree, a conflict when they do not (exported at different times: export again).
    """
    first: dict[str, tuple[Origin, object]] = {}
    names: dict[tuple[str, str], Origin] = {}
    for policy in organization.policies:
        seen = first.get(policy.arn)
        if seen is not None:
            if policy.aws_managed and seen[1] == policy.document:
                continue
            what = "with a different document " if policy.aws_managed else ""
            error(
                policy.origin,
                f"managed policy {policy.arn} is declared twice {what}(first at {seen[0]})",
                "duplicate",
            )
            continue
        first[policy.arn] = (policy.origin, policy.document)
        owner = policy.account or "aws"
        named = names.setdefault((owner, policy.name.lower()), policy.origin)
        if named is not policy.origin:
            where = "AWS-managed policies" if policy.aws_managed else f"account {owner}"
            error(
                policy.origin,
                f"managed policy name {policy.name!r} is used twice in {where} (first at {named}); "
                "policy names are unique per account, compared case-insensitively",
                "duplicate",
            )


def _check_resources(organization: Organization, error) -> None:  # type: ignore[no-untyped-def]
    """One resource policy and one tag set per resource, one owner, tags of IAM entities where they live.

    Resources are compared by their canonical ARN, so ``arn:aws:S3:::b`` and ``arn:aws:s3:::b`` are
    one bucket: two declarations would otherwise silently replace each other.
    """
    _unique(
        error,
        "resource policy",
        ((None, resource_key(p.resource_arn), p.origin) for p in organization.resource_policies),
    )
    _unique(
        error,
        "resource tag set",
        ((None, resource_key(t.resource_arn), t.origin) for t in organization.resource_tags),
    )
    owners: dict[str, tuple[str, Origin]] = {}
    for declared in (*organization.resource_policies, *organization.resource_tags):
        if declared.account is None:
            continue
        key = resource_key(declared.resource_arn)
        owner = owners.setdefault(key, (declared.account, declared.origin))
        if owner[0] != declared.account:
            error(
                declared.origin,
                f"resource {declared.resource_arn} is declared in account {declared.account} and in "
                f"account {owner[0]} (at {owner[1]}); a resource has one owner",
                "duplicate",
            )
    entities = {resource_key(e.arn): e for e in (*organization.users, *organization.roles)}
    for declared in organization.resource_policies:
        entity = entities.get(resource_key(declared.resource_arn))
        if entity is not None:
            error(
                declared.origin,
                f"{declared.resource_arn} is an IAM {type(entity).__name__.lower()} of the bundle: its "
                "only resource-based policy is a role's trust policy "
                f"(AssumeRolePolicyDocument, at {entity.origin})",
                "duplicate",
            )
    for tagged in organization.resource_tags:
        entity = entities.get(resource_key(tagged.resource_arn))
        if entity is not None:
            error(
                tagged.origin,
                f"{tagged.resource_arn} is an IAM {type(entity).__name__.lower()} of the bundle: declare its "
                f"Tags where it is declared ({entity.origin}), so its PrincipalTag and ResourceTag agree",
                "duplicate",
            )


def _check_tree(organization: Organization, error, warning) -> None:  # type: ignore[no-untyped-def]
    tree = organization.tree
    if tree is None:
        return
    _unique(error, "SCP id", ((None, scp.id, _at(scp.origin, "Id")) for scp in tree.scps))
    _unique(error, "SCP name", ((None, scp.name, _at(scp.origin, "Name")) for scp in tree.scps))
    _unique(error, "OU id", ((None, unit.id, _at(unit.origin, "Id")) for unit in tree.units))
    siblings: dict[tuple[str, str], Origin] = {}
    for unit in tree.units:
        first = siblings.setdefault((unit.parent, unit.name), unit.origin)
        if first is not unit.origin:
            error(
                _at(unit.origin, "Name"),
                f"OU name {unit.name!r} is used twice under {unit.parent!r} (first at {first})",
                "duplicate",
            )
    accounts = {account.id for account in organization.accounts}
    if tree.root_id in accounts:
        error(
            Origin("organization.json", "Root.Id"),
            f"root id {tree.root_id!r} is also an account id",
            "duplicate",
        )
    for unit in tree.units:
        if unit.id == tree.root_id or unit.id in accounts:
            what = "the root" if unit.id == tree.root_id else "an account"
            error(_at(unit.origin, "Id"), f"OU id {unit.id!r} is also the id of {what}", "duplicate")
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
            origin = (
                _at(account.origin, "ParentId") if account.origin else Origin("organization.json", "Accounts")
            )
            error(origin, f"parent {account.parent!r} of account {account.id} is neither the root nor an OU")
    attached: set[str] = set()
    for scp in tree.scps:
        for index, target in enumerate(scp.targets):
            if target in scp.targets[:index]:
                error(
                    Origin(scp.origin.file, f"{scp.origin.path}.Targets[{index}]"),
                    f"SCP {scp.name!r} is attached to {target!r} twice",
                    "duplicate",
                )
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
