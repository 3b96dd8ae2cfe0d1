"""Compiling a validated Bundle into a Snapshot: every document exactly once.

Managed policies are compiled once and shared by every user, group and role that attaches them;
a group's policies are shared by its members; SCP levels are computed once per account. What a
principal keeps is a tuple of references, so a bundle of many principals attaching a few large
policies stays small.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from iamgate.bundle import context as ctx
from iamgate.bundle.model import Bundle, Group, InlinePolicy, Organization, OrganizationTree
from iamgate.bundle.snapshot import PrincipalEntry, Snapshot, SnapshotCounts
from iamgate.engine.compiled import CompiledPolicy, compile_policy
from iamgate.engine.identity import canonical_resource_or_none, iam_name_index
from iamgate.engine.request import ContextValue, PrincipalKind
from iamgate.engine.result import PolicyKind
from iamgate.policy.model import PolicyDocument


class _Compiler:
    """Compiles documents and remembers each result (local to one build)."""

    def __init__(self) -> None:
        self.compiled: dict[str, CompiledPolicy] = {}

    def compile(self, document: PolicyDocument, policy_id: str, kind: PolicyKind) -> CompiledPolicy:
        key = f"{kind.value}\0{policy_id}"
        policy = self.compiled.get(key)
        if policy is None:
            policy = compile_policy(document, policy_id=policy_id, kind=kind)
            self.compiled[key] = policy
        return policy

    def inline(self, owner_arn: str, policies: tuple[InlinePolicy, ...]) -> list[CompiledPolicy]:
        return [
            self.compile(p.document, f"{owner_arn}:inline/{p.name}", PolicyKind.IDENTITY) for p in policies
        ]


def build_snapshot(
    bundle: Bundle, *, source: str | None = None, activated_at: datetime | None = None
) -> Snapshot:
    """Compile ``bundle``; the caller has already verified and validated it.

    Compiling allocates hundreds of thousands of long-lived objects and no cycles worth finding,
    so the cyclic garbage collector is paused meanwhile (it would otherwise rescan the growing
    heap again and again).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_snapshot(bundle, source=source, activated_at=activated_at)
    finally:
        if paused:
            gc.enable()


def _build_snapshot(bundle: Bundle, *, source: str | None, activated_at: datetime | None) -> Snapshot:
    organization = bundle.organization
    compiler = _Compiler()
    managed = {
        policy.arn: compiler.compile(policy.document, policy.arn, PolicyKind.IDENTITY)
        for policy in organization.policies
    }
    boundaries: dict[str, CompiledPolicy] = {}

    def boundary(arn: str | None) -> tuple[CompiledPolicy, ...] | None:
        if arn is None:
            return None
        if arn not in boundaries:
            document = next(p.document for p in organization.policies if p.arn == arn)
            boundaries[arn] = compiler.compile(document, arn, PolicyKind.BOUNDARY)
        return (boundaries[arn],)

    groups: dict[tuple[str, str], list[CompiledPolicy]] = {}
    for group in organization.groups:
        groups[(group.account, group.name)] = _group_policies(compiler, group, managed)
    scp_levels = _scp_levels(compiler, organization)

    def principal_entry(
        kind: PrincipalKind, who, identity: list[CompiledPolicy], unique_id: str
    ) -> PrincipalEntry:
        """A user's or role's entry: the same shape, only the IAM type and username differ."""
        is_user = kind is PrincipalKind.USER
        return PrincipalEntry(
            kind=kind,
            arn=who.arn,
            account=who.account,
            name=who.name,
            unique_id=unique_id,
            identity=_unique(identity),
            boundary=boundary(who.boundary),
            scp_levels=scp_levels.get(who.account, ()),
            context=ctx.principal_entries(
                arn=who.arn,
                account=who.account,
                principal_type="User" if is_user else "AssumedRole",
                user_id=unique_id,
                username=who.name if is_user else None,
                tags=who.tags,
            ),
        )

    entries: list[PrincipalEntry] = []
    for user in organization.users:
        identity = compiler.inline(user.arn, user.inline) + [managed[arn] for arn in user.attached]
        for name in user.groups:
            identity += groups.get((user.account, name), [])
        entries.append(principal_entry(PrincipalKind.USER, user, identity, user.user_id))
    trust: dict[str, CompiledPolicy] = {}
    roles: dict[tuple[str, str], PrincipalEntry] = {}
    for role in organization.roles:
        identity = compiler.inline(role.arn, role.inline) + [managed[arn] for arn in role.attached]
        entry = principal_entry(PrincipalKind.ROLE, role, identity, role.role_id)
        entries.append(entry)
        roles[(role.account, role.name)] = entry
        if role.trust_policy is not None:
            trust[_key(role.arn)] = compiler.compile(
                role.trust_policy, f"{role.arn}:trust-policy", PolicyKind.RESOURCE
            )

    by_name: dict[str, list[PrincipalEntry]] = defaultdict(list)
    for entry in entries:
        by_name[entry.name].append(entry)
    resource_policies = {
        _key(policy.resource_arn): compiler.compile(
            policy.document, f"{policy.resource_arn}:resource-policy", PolicyKind.RESOURCE
        )
        for policy in organization.resource_policies
    }
    owners = {_key(p.resource_arn): p.account for p in organization.resource_policies if p.account}
    owners.update({_key(t.resource_arn): t.account for t in organization.resource_tags if t.account})
    tags: dict[str, Mapping[str, ContextValue]] = {}
    for entity in (*organization.users, *organization.roles):
        if entity.tags:
            tags[_key(entity.arn)] = ctx.resource_tag_entries(entity.arn, entity.tags)
    for tagged in organization.resource_tags:
        tags[_key(tagged.resource_arn)] = ctx.resource_tag_entries(tagged.resource_arn, tagged.tags)

    compiled = compiler.compiled.values()
    counts = SnapshotCounts(
        principals=len(entries),
        policies=len(compiled),
        statements=sum(len(policy.statements) for policy in compiled),
        accounts=len(organization.accounts),
        tests=len(organization.tests),
    )
    return Snapshot(
        name=bundle.name,
        revision=bundle.revision,
        source=source if source is not None else bundle.source,
        activated_at=activated_at or datetime.now(UTC),
        counts=counts,
        manifest=bundle.manifest,
        signature=bundle.signature,
        tests=organization.tests,
        by_arn=MappingProxyType({entry.arn: entry for entry in entries}),
        by_name=MappingProxyType({name: tuple(found) for name, found in by_name.items()}),
        roles=MappingProxyType(roles),
        resource_policies=MappingProxyType(resource_policies),
        trust_policies=MappingProxyType(trust),
        owners=MappingProxyType(owners),
        resource_tags=MappingProxyType(tags),
        iam_arns=iam_name_index(
            e.arn
            for e in (*organization.users, *organization.roles, *organization.groups, *organization.policies)
        ),
    )


def _key(arn: str) -> str:
    """The spelling requests are looked up by (``engine.identity.canonical_resource``)."""
    return canonical_resource_or_none(arn) or arn


def _group_policies(
    compiler: _Compiler, group: Group, managed: dict[str, CompiledPolicy]
) -> list[CompiledPolicy]:
    return compiler.inline(group.arn, group.inline) + [managed[arn] for arn in group.attached]


def _unique(policies: list[CompiledPolicy]) -> tuple[CompiledPolicy, ...]:
    """Each policy once (a managed policy attached to a user and to its group counts once)."""
    seen: dict[int, CompiledPolicy] = {}
    for policy in policies:
        seen.setdefault(id(policy), policy)
    return tuple(seen.values())


def _scp_levels(
    compiler: _Compiler, organization: Organization
) -> dict[str, tuple[tuple[CompiledPolicy, ...], ...]]:
    """Per member account: the SCPs of the root, each OU down the path, and the account itself.

    The management account and accounts outside the organization get no levels: SCPs do not
    apply to them (AWS's rule).
    """
    tree: OrganizationTree | None = organization.tree
    if tree is None or not tree.scps:
        return {}
    attached: dict[str, list[CompiledPolicy]] = defaultdict(list)
    for scp in tree.scps:
        policy = compiler.compile(scp.document, scp.name, PolicyKind.SCP)
        for target in scp.targets:
            attached[target].append(policy)
    parents = {unit.id: unit.parent for unit in tree.units}
    levels: dict[str, tuple[tuple[CompiledPolicy, ...], ...]] = {}
    for account in organization.accounts:
        if not account.parent or account.id == tree.management_account:
            continue
        chain = [account.id]
        node = account.parent
        while node in parents and node not in chain:
            chain.append(node)
            node = parents[node]
        chain.append(tree.root_id)
        levels[account.id] = tuple(tuple(attached.get(node, ())) for node in reversed(chain))
    return levels
