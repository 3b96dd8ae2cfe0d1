"""The organization a bundle describes, as typed, frozen data.

Shapes follow the AWS IAM API (UserDetail, GroupDetail, RoleDetail, managed policies) and AWS
Organizations (root, OUs, accounts, SCP attachments), so that a bundle written by hand and the
output of ``aws iam get-account-authorization-details`` end up as the same objects. Policy
documents are parsed once here; the snapshot compiles each of them once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from iamgate.bundle.errors import BundleProblem
from iamgate.bundle.http_routes import HttpRoutes
from iamgate.catalogue import Catalogue
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision
from iamgate.policy.model import PolicyDocument

Tags = tuple[tuple[str, str], ...]
"""Tags as ``(key, value)`` pairs in their declared order."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was declared: the file inside the bundle and the JSON path in it."""

    file: str
    path: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}" if self.path else self.file


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    name: str
    document: PolicyDocument
    origin: Origin = field(compare=False)


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A customer-managed policy (its default version), or an AWS-managed one the bundle carries."""

    arn: str
    name: str
    path: str
    account: str | None
    """``None`` for AWS-managed policies (``arn:aws:iam::aws:policy/...``)."""
    document: PolicyDocument
    origin: Origin = field(compare=False)
    description: str = ""
    policy_id: str = ""

    @property
    def aws_managed(self) -> bool:
        return self.account is None


@dataclass(frozen=True, slots=True)
class User:
    account: str
    name: str
    path: str
    arn: str
    user_id: str
    origin: Origin = field(compare=False)
    tags: Tags = ()
    groups: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()
    """Attached managed policy ARNs."""
    inline: tuple[InlinePolicy, ...] = ()
    boundary: str | None = None
    """The permissions boundary's managed policy ARN."""
    group_origins: tuple[Origin, ...] = field(default=(), compare=False)
    attached_origins: tuple[Origin, ...] = field(default=(), compare=False)
    boundary_origin: Origin | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Group:
    account: str
    name: str
    path: str
    arn: str
    group_id: str
    origin: Origin = field(compare=False)
    attached: tuple[str, ...] = ()
    inline: tuple[InlinePolicy, ...] = ()
    attached_origins: tuple[Origin, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Role:
    account: str
    name: str
    path: str
    arn: str
    role_id: str
    origin: Origin = field(compare=False)
    trust_policy: PolicyDocument | None = None
    tags: Tags = ()
    attached: tuple[str, ...] = ()
    inline: tuple[InlinePolicy, ...] = ()
    boundary: str | None = None
    max_session_duration: int | None = None
    attached_origins: tuple[Origin, ...] = field(default=(), compare=False)
    boundary_origin: Origin | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """A resource-based policy (bucket, queue, topic, key...) of the resource ``resource_arn``."""

    resource_arn: str
    account: str | None
    """The account that owns the resource (the account directory it was declared in)."""
    document: PolicyDocument
    origin: Origin = field(compare=False)


@dataclass(frozen=True, slots=True)
class ResourceTags:
    resource_arn: str
    account: str | None
    tags: Tags
    origin: Origin = field(compare=False)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str = ""
    parent: str | None = None
    """The id of the root or OU the account sits in; ``None`` outside any organization."""
    origin: Origin | None = field(default=None, compare=False)
    """Where organization.json lists it (``None`` for an account known only by its directory)."""


@dataclass(frozen=True, slots=True)
class OrganizationalUnit:
    id: str
    name: str
    parent: str
    origin: Origin = field(compare=False)


@dataclass(frozen=True, slots=True)
class ServiceControlPolicy:
    id: str
    name: str
    document: PolicyDocument
    targets: tuple[str, ...]
    """Ids of the root, OUs and accounts the SCP is attached to."""
    origin: Origin = field(compare=False)


@dataclass(frozen=True, slots=True)
class OrganizationTree:
    """AWS Organizations: a root, OUs beneath it, accounts in them, SCPs attached anywhere.

    SCPs never apply to the management account (AWS's rule), nor to accounts outside the tree.
    """

    root_id: str
    management_account: str | None = None
    units: tuple[OrganizationalUnit, ...] = ()
    scps: tuple[ServiceControlPolicy, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyTest:
    """One expectation the bundle ships with: this principal, action, resource, context -> decision."""

    name: str
    principal: str
    action: str
    resource: str
    expected: Decision
    origin: Origin = field(compare=False)
    context: tuple[ContextValue, ...] = ()
    session_policy: str | None = None
    now: datetime | None = None
    session_tags: tuple[tuple[str, str], ...] = ()
    principal_unknown: bool = False
    """The test deliberately names a principal outside the bundle (else an unknown one is an error)."""


@dataclass(frozen=True, slots=True)
class Organization:
    """Everything a bundle declares, across all of its accounts."""

    accounts: tuple[Account, ...] = ()
    users: tuple[User, ...] = ()
    groups: tuple[Group, ...] = ()
    roles: tuple[Role, ...] = ()
    policies: tuple[ManagedPolicy, ...] = ()
    resource_policies: tuple[ResourcePolicy, ...] = ()
    resource_tags: tuple[ResourceTags, ...] = ()
    tree: OrganizationTree | None = None
    tests: tuple[PolicyTest, ...] = ()
    http_routes: HttpRoutes | None = None
    """``http-routes.json`` compiled (``iamgate.bundle.http_routes.HttpRoutes``), or ``None``."""
    catalogue: Catalogue | None = field(default=None, compare=False, repr=False)
    """What the bundle was validated against (AWS's reference plus its ``services.json``): it also
    types condition keys when compiling (multivalued keys). ``None``: AWS's reference."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """``manifest.json``: who the bundle is and the SHA-256 of every other file in it."""

    name: str
    revision: str
    created: str = ""
    metadata: tuple[tuple[str, object], ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    """``(path, sha256 hex)`` pairs, sorted by path."""
    format: str = "iamgate-bundle/v1"


@dataclass(frozen=True, slots=True)
class Bundle:
    """A read, verified and validated bundle: its manifest, its organization and where it came from."""

    manifest: Manifest
    organization: Organization
    source: str
    signature: str = "unsigned"
    """``unsigned``, ``verified (KEYID, ALGORITHM)`` or ``signed by KEYID (not verified)``."""
    warnings: tuple[BundleProblem, ...] = ()
    """The validation warnings; errors never reach a ``Bundle``."""

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def revision(self) -> str:
        return self.manifest.revision
