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
from iamgate.bundle.errors import BundleProblem, BundleValidationError
from iamgate.bundle.http_routes import NO_ROUTES
from iamgate.bundle.model import Bundle, InlinePolicy, ManagedPolicy, Organization, OrganizationTree, Origin
from iamgate.bundle.snapshot import PrincipalEntry, Snapshot, SnapshotCounts
from iamgate.bundle.trust import DefinedKeys
from iamgate.catalogue import aws_catalogue
from iamgate.engine.compiled import CompiledPolicy, compile_policy
from iamgate.engine.conditions import MultivaluedKeys, documented_multivalued
from iamgate.engine.identity import canonical_resource_or_none, iam_name_index
from iamgate.engine.request import ContextValue, PrincipalKind
from iamgate.engine.result import PolicyKind
from iamgate.engine.wildcard_only import WildcardOnlyActions
from iamgate.policy.model import PolicyDocument

Identity = tuple[str, ...]
"""What AWS keys an object by: ``("scp", id)``, ``("managed", arn)``, ``("inline", owner_arn, name)``..."""


class _Compiler:
    """Compiles each document once, remembered under the identity of the object it belongs to.

    The key is never a display name: two SCPs both named "Guard" are two policies (issue 14). An
    identity met twice with another document means the organization skipped validation; building
    it fails (closed) rather than letting one object stand in for the other.
    """

    def __init__(self, source: str, multivalued: MultivaluedKeys = documented_multivalued) -> None:
        self.source = source
        self.multivalued = multivalued
        """Which condition keys are multivalued: the catalogue's ``ArrayOf...`` keys."""
        self.compiled: dict[Identity, CompiledPolicy] = {}

    def compile(
        self, identity: Identity, document: PolicyDocument, policy_id: str, kind: PolicyKind, origin: Origin
    ) -> CompiledPolicy:
        policy = self.compiled.get(identity)
        if policy is None:
            policy = compile_policy(document, policy_id=policy_id, kind=kind, multivalued=self.multivalued)
            self.compiled[identity] = policy
        elif policy.document != document:
            raise _conflict(
                self.source, origin, f"{' '.join(identity)} is declared twice with different documents"
            )
        return policy

    def inline(self, owner_arn: str, policies: tuple[InlinePolicy, ...]) -> list[CompiledPolicy]:
        return [
            self.compile(
                ("inline", owner_arn, p.name.lower()),
                p.document,
                f"{owner_arn}:inline/{p.name}",
                PolicyKind.IDENTITY,
                p.origin,
            )
            for p in policies
        ]


def _conflict(source: str, origin: Origin | None, message: str) -> BundleValidationError:
    where = origin or Origin("", "")
    return BundleValidationError(source, [BundleProblem(where.file, where.path, message, code="identity")])


def _claim(table: dict, key, value, source: str, origin: Origin | None, what: str) -> None:  # type: ignore[no-untyped-def]
    """``table[key] = value``, refusing a second object under one identity (validation missed it)."""
    if key in table:
        raise _conflict(source, origin, f"{what} is declared twice")
    table[key] = value


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
    source = source if source is not None else bundle.source
    catalogue = organization.catalogue if organization.catalogue is not None else aws_catalogue()
    compiler = _Compiler(source, catalogue.multivalued)
    documents: dict[str, ManagedPolicy] = {}
    for policy in organization.policies:
        known = documents.setdefault(policy.arn, policy)
        if known is not policy and known.document != policy.document:
            raise _conflict(source, policy.origin, f"managed policy {policy.arn} is declared twice")
    managed = {
        arn: compiler.compile(("managed", arn), p.document, arn, PolicyKind.IDENTITY, p.origin)
        for arn, p in documents.items()
    }

    def resolve(arn: str, origin: Origin | None) -> ManagedPolicy:
        policy = documents.get(arn)
        if policy is None:
            raise _conflict(source, origin, f"managed policy {arn} does not exist in the bundle")
        return policy

    def attached(arns: tuple[str, ...], origins: tuple[Origin, ...]) -> list[CompiledPolicy]:
        return [
            managed[resolve(arn, origin).arn]
            for arn, origin in zip(arns, origins or (None,) * len(arns), strict=True)
        ]

    def boundary(arn: str | None, origin: Origin | None) -> tuple[CompiledPolicy, ...] | None:
        if arn is None:
            return None
        policy = resolve(arn, origin)
        return (
            compiler.compile(("boundary", arn), policy.document, arn, PolicyKind.BOUNDARY, policy.origin),
        )

    groups: dict[str, list[CompiledPolicy]] = {}
    group_arns: dict[tuple[str, str], str] = {}
    folded: dict[tuple[str, str], str] = {}
    for group in organization.groups:
        _claim(folded, (group.account, group.name.lower()), group.arn, source, group.origin, group.arn)
        group_arns[(group.account, group.name)] = group.arn
        groups[group.arn] = compiler.inline(group.arn, group.inline) + attached(
            group.attached, group.attached_origins
        )

    def member_of(account: str, name: str, origin: Origin | None) -> list[CompiledPolicy]:
        arn = group_arns.get((account, name))
        if arn is None:
            raise _conflict(source, origin, f"group {name!r} does not exist in account {account}")
        return groups[arn]

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
            boundary=boundary(who.boundary, who.boundary_origin),
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
        identity = compiler.inline(user.arn, user.inline) + attached(user.attached, user.attached_origins)
        for name, origin in zip(user.groups, user.group_origins or (None,) * len(user.groups), strict=True):
            identity += member_of(user.account, name, origin)
        entries.append(principal_entry(PrincipalKind.USER, user, identity, user.user_id))
    trust: dict[str, CompiledPolicy] = {}
    roles: dict[tuple[str, str], PrincipalEntry] = {}
    for role in organization.roles:
        identity = compiler.inline(role.arn, role.inline) + attached(role.attached, role.attached_origins)
        entry = principal_entry(PrincipalKind.ROLE, role, identity, role.role_id)
        entries.append(entry)
        _claim(roles, (role.account, role.name), entry, source, role.origin, role.arn)
        if role.trust_policy is not None:
            key = _key(role.arn)
            policy = compiler.compile(
                ("trust", key),
                role.trust_policy,
                f"{role.arn}:trust-policy",
                PolicyKind.RESOURCE,
                role.origin,
            )
            _claim(trust, key, policy, source, role.origin, f"the trust policy of {role.arn}")

    by_arn: dict[str, PrincipalEntry] = {}
    by_name: dict[str, list[PrincipalEntry]] = defaultdict(list)
    for entry, declared in zip(entries, (*organization.users, *organization.roles), strict=True):
        _claim(by_arn, entry.arn, entry, source, declared.origin, entry.arn)
        by_name[entry.name].append(entry)
    resource_policies: dict[str, CompiledPolicy] = {}
    for declared in organization.resource_policies:
        key = _key(declared.resource_arn)
        policy = compiler.compile(
            ("resource", key),
            declared.document,
            f"{declared.resource_arn}:resource-policy",
            PolicyKind.RESOURCE,
            declared.origin,
        )
        _claim(resource_policies, key, policy, source, declared.origin, f"the resource policy of {key}")
    owners: dict[str, str] = {}
    for declared in (*organization.resource_policies, *organization.resource_tags):
        if (
            declared.account
            and owners.setdefault(_key(declared.resource_arn), declared.account) != declared.account
        ):
            raise _conflict(source, declared.origin, f"{declared.resource_arn} has two owning accounts")
    tags: dict[str, Mapping[str, ContextValue]] = {}
    for entity in (*organization.users, *organization.roles):
        if entity.tags:
            tags[_key(entity.arn)] = ctx.resource_tag_entries(entity.arn, entity.tags)
    for tagged in organization.resource_tags:
        entries_for = ctx.resource_tag_entries(tagged.resource_arn, tagged.tags)
        _claim(
            tags,
            _key(tagged.resource_arn),
            entries_for,
            source,
            tagged.origin,
            f"the tags of {tagged.resource_arn}",
        )

    compiled = compiler.compiled.values()
    wildcard_only = WildcardOnlyActions(catalogue)
    wildcard_only.warm(  # read the catalogue's services now, not on a request's hot path
        action
        for policy in compiled
        for compiled_statement in policy.statements
        for action in (compiled_statement.statement.actions or compiled_statement.statement.not_actions or ())
    )
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
        source=source,
        activated_at=activated_at or datetime.now(UTC),
        counts=counts,
        manifest=bundle.manifest,
        signature=bundle.signature,
        tests=organization.tests,
        by_arn=MappingProxyType(by_arn),
        by_name=MappingProxyType({name: tuple(found) for name, found in by_name.items()}),
        roles=MappingProxyType(roles),
        resource_policies=MappingProxyType(resource_policies),
        trust_policies=MappingProxyType(trust),
        owners=MappingProxyType(owners),
        multivalued_keys=catalogue.multivalued,
        wildcard_only=wildcard_only,
        defined_keys=DefinedKeys(catalogue),
        resource_tags=MappingProxyType(tags),
        http_routes=organization.http_routes or NO_ROUTES,
        iam_arns=iam_name_index(
            e.arn
            for e in (*organization.users, *organization.roles, *organization.groups, *organization.policies)
        ),
    )


def _key(arn: str) -> str:
    """The spelling requests are looked up by (``engine.identity.canonical_resource``)."""
    return canonical_resource_or_none(arn) or arn


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
        # Keyed by the SCP's id, never its name (issue 14); the name is what explanations show.
        policy = compiler.compile(("scp", scp.id), scp.document, scp.name, PolicyKind.SCP, scp.origin)
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
