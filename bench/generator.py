"""A seeded, synthetic but realistic AWS organization, sized by its total number of statements.

``generate_organization(size, seed)`` lays out accounts, thousands of users and roles, groups,
customer-managed policies shared by many principals, inline policies, a permissions boundary per
account, SCPs at three organization levels and resource-based policies (bucket, queue and topic
policies), with wildcards in actions and resources and conditions of every family. One role, the
"heavy" principal, holds up to 5,000 statements. It also synthesizes the request streams:
requests built from the principals' own statements (so they hit), with their conditions violated,
unrelated to anything the principal holds, or against another account's resource.

The result is plain data (JSON-able), so ``bench/run.py`` can hand it to a fresh process that
measures compile time and peak memory on its own; ``bench.workload.build_workload`` compiles it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.catalog import (
    ALLOWED_REGIONS,
    BY_PREFIX,
    DEPARTMENTS,
    REGIONS,
    SERVICES,
    TEAMS,
    Service,
    all_actions,
    expand_actions,
    service_of,
)
from bench.conditions import NOW, NOW_EPOCH, ConditionDraw, Entry, Owner, draw_conditions, merge_blocks

VERSION = "2012-10-17"
HEAVY_MAX = 5_000
"""The most statements the heavy principal holds (the issue's "principal with 5,000 statements")."""

DESTRUCTIVE = ("Delete", "Terminate", "Purge", "Put", "Modify", "Schedule", "Detach", "Attach")


@dataclass(frozen=True, slots=True)
class PolicyDef:
    policy_id: str
    kind: str
    """A ``PolicyKind`` value: identity, boundary, resource or scp."""
    account: str
    """The owning account ('' for the organization's SCPs)."""
    name: str
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GroupDef:
    name: str
    account: str
    policies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrincipalDef:
    arn: str
    kind: str
    """``user`` or ``role``."""
    account: str
    name: str
    team: str
    department: str
    groups: tuple[str, ...]
    attached: tuple[str, ...]
    """Managed policies attached directly."""
    inline: tuple[str, ...]
    boundary: str | None


@dataclass(frozen=True, slots=True)
class RequestDef:
    principal: str
    action: str
    resource: str
    context: tuple[Entry, ...]
    resource_account: str | None
    kind: str
    """How it was built: ``hit``, ``violate``, ``unrelated`` or ``cross-account``."""


@dataclass(frozen=True, slots=True)
class Organization:
    size: int
    seed: int
    revision: str
    accounts: tuple[str, ...]
    policies: tuple[PolicyDef, ...]
    groups: tuple[GroupDef, ...]
    principals: tuple[PrincipalDef, ...]
    scp_levels: Mapping[str, tuple[tuple[str, ...], ...]]
    """Account -> SCP policy ids per level, organization root first."""
    resource_policies: Mapping[str, str]
    """Resource ARN -> policy id (bucket policies are keyed by the bucket ARN)."""
    owners: Mapping[str, str]
    """Bucket ARN -> owning account (S3 ARNs carry no account)."""
    heavy_principal: str
    typical_requests: tuple[RequestDef, ...] = field(default=())
    heavy_requests: tuple[RequestDef, ...] = field(default=())

    @property
    def statement_count(self) -> int:
        return sum(_statement_count(p.document) for p in self.policies)

    def group_index(self) -> dict[tuple[str, str], GroupDef]:
        return {(g.account, g.name): g for g in self.groups}

    def identity_of(
        self, principal: PrincipalDef, groups: Mapping[tuple[str, str], GroupDef] | None = None
    ) -> tuple[str, ...]:
        """The principal's identity-based policies: its groups', then attached, then inline; once each."""
        by_name = groups if groups is not None else self.group_index()
        ordered: dict[str, None] = {}
        for group in principal.groups:
            for policy_id in by_name[(principal.account, group)].policies:
                ordered.setdefault(policy_id)
        for policy_id in principal.attached + principal.inline:
            ordered.setdefault(policy_id)
        return tuple(ordered)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Organization:
        raw = json.loads(text)

        def entries(items: Iterable[Any]) -> tuple[Entry, ...]:
            return tuple((name, tuple(values), bool(multi)) for name, values, multi in items)

        def requests(items: Iterable[Mapping[str, Any]]) -> tuple[RequestDef, ...]:
            return tuple(RequestDef(**{**r, "context": entries(r["context"])}) for r in items)

        return cls(
            size=raw["size"],
            seed=raw["seed"],
            revision=raw["revision"],
            accounts=tuple(raw["accounts"]),
            policies=tuple(PolicyDef(**p) for p in raw["policies"]),
            groups=tuple(GroupDef(g["name"], g["account"], tuple(g["policies"])) for g in raw["groups"]),
            principals=tuple(
                PrincipalDef(
                    **{
                        **p,
                        "groups": tuple(p["groups"]),
                        "attached": tuple(p["attached"]),
                        "inline": tuple(p["inline"]),
                    }
                )
                for p in raw["principals"]
            ),
            scp_levels={
                a: tuple(tuple(level) for level in levels) for a, levels in raw["scp_levels"].items()
            },
            resource_policies=dict(raw["resource_policies"]),
            owners=dict(raw["owners"]),
            heavy_principal=raw["heavy_principal"],
            typical_requests=requests(raw["typical_requests"]),
            heavy_requests=requests(raw["heavy_requests"]),
        )


def _statement_count(document: Mapping[str, Any]) -> int:
    statements = document["Statement"]
    return len(statements) if isinstance(statements, list) else 1


def heavy_target(size: int) -> int:
    """Statements the heavy principal holds at ``size``: half the bundle, at most 5,000."""
    return min(HEAVY_MAX, size // 2)


# -- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hint:
    """What the request synthesizer needs to know about a statement beyond its JSON."""

    owner: Owner
    conditions: tuple[ConditionDraw, ...]


class StatementFactory:
    """Draws realistic statements: a few services per policy, wildcards, conditions, some denies."""

    def __init__(self, rng: random.Random, *, cedar_only: bool = False) -> None:
        self.rng = rng
        self.cedar_only = cedar_only
        self.counter = 0

    def statement(
        self, owner: Owner, services: tuple[Service, ...], *, deny_rate: float = 0.1
    ) -> tuple[dict, Hint]:
        rng = self.rng
        self.counter += 1
        deny = rng.random() < deny_rate
        service = rng.choice(services)
        statement: dict[str, Any] = {"Effect": "Deny" if deny else "Allow"}
        if rng.random() < 0.6:
            statement["Sid"] = f"{service.prefix.capitalize()}{'Guard' if deny else 'Access'}{self.counter}"
        statement.update(self._actions(service, deny))
        statement.update(self._resources(service, owner))
        count = 1 if deny and rng.random() < 0.85 else rng.choices((0, 1, 2), (55, 33, 12))[0]
        draws = draw_conditions(rng, owner, deny=deny, count=count, cedar_only=self.cedar_only)
        if draws:
            statement["Condition"] = merge_blocks(draws)
        return statement, Hint(owner, draws)

    def _actions(self, service: Service, deny: bool) -> dict[str, Any]:
        rng = self.rng
        names = service.action_names()
        style = rng.random()
        if deny:
            destructive = [a for a in names if a.partition(":")[2].startswith(DESTRUCTIVE)] or list(names)
            if style < 0.7:
                return {"Action": rng.sample(destructive, min(len(destructive), rng.randint(1, 2)))}
            return {"Action": f"{service.prefix}:{rng.choice(('Delete', 'Put'))}*"}
        if style < 0.5:
            picked = rng.sample(names, rng.randint(1, 4))
            return {"Action": picked if len(picked) > 1 else picked[0]}
        if style < 0.85:
            verbs = rng.sample(service.wildcard_verbs, min(len(service.wildcard_verbs), rng.randint(1, 2)))
            return {"Action": [f"{service.prefix}:{verb}*" for verb in verbs]}
        if style < 0.97:
            return {"Action": f"{service.prefix}:*"}
        others = [s.prefix for s in SERVICES if s is not service]
        if self.cedar_only or style < 0.985:
            return {"Action": "*"}
        return {"NotAction": [f"{prefix}:*" for prefix in rng.sample(others, 3)]}

    def _resources(self, service: Service, owner: Owner) -> dict[str, Any]:
        rng = self.rng
        style = rng.random()
        if style < 0.35:
            arns = [
                rng.choice(service.resources)(rng, owner.region, owner.account, owner.team)
                for _ in range(rng.randint(1, 2))
            ]
            return {"Resource": arns if len(arns) > 1 else arns[0]}
        if style < 0.8:
            template = rng.choice(service.pattern_templates)
            return {"Resource": template.format(region=owner.region, account=owner.account, team=owner.team)}
        if style < 0.86 and service.prefix == "s3" and not self.cedar_only:
            return {"Resource": f"arn:aws:s3:::{owner.team}-0/home/${{aws:username}}/*"}
        if style < 0.985 or self.cedar_only:
            return {"Resource": "*"}
        template = rng.choice(service.pattern_templates)
        return {"NotResource": template.format(region=owner.region, account=owner.account, team=owner.team)}


def services_for(rng: random.Random) -> tuple[Service, ...]:
    return tuple(rng.sample(SERVICES, rng.choice((1, 1, 2, 2, 3))))


def _document(statements: list[dict]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


# -- fixed parts of the organization ----------------------------------------------------------------


def _scps(accounts: tuple[str, ...]) -> tuple[list[PolicyDef], dict[str, tuple[tuple[str, ...], ...]]]:
    """AWS's usual guardrails: a region lock, no root user, protected security tooling, no IAM users."""
    full = PolicyDef(
        "p-FullAWSAccess",
        "scp",
        "",
        "FullAWSAccess",
        _document([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    )
    region_lock = PolicyDef(
        "p-RegionLock",
        "scp",
        "",
        "RegionLock",
        _document(
            [
                {
                    "Sid": "DenyOutsideApprovedRegions",
                    "Effect": "Deny",
                    "NotAction": [
                        "iam:*",
                        "sts:*",
                        "organizations:*",
                        "cloudfront:*",
                        "route53:*",
                        "support:*",
                    ],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(ALLOWED_REGIONS)}},
                }
            ]
        ),
    )
    guardrails = PolicyDef(
        "p-Guardrails",
        "scp",
        "",
        "Guardrails",
        _document(
            [
                {
                    "Sid": "DenyRootUser",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}},
                },
                {
                    "Sid": "ProtectSecurityTooling",
                    "Effect": "Deny",
                    "Action": [
                        "cloudtrail:StopLogging",
                        "cloudtrail:DeleteTrail",
                        "guardduty:DeleteDetector",
                        "config:DeleteConfigurationRecorder",
                        "organizations:LeaveOrganization",
                    ],
                    "Resource": "*",
                },
            ]
        ),
    )
    workloads = PolicyDef(
        "p-Workloads",
        "scp",
        "",
        "WorkloadsOU",
        _document(
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "DenyIamUserCredentials",
                    "Effect": "Deny",
                    "Action": ["iam:CreateUser", "iam:CreateAccessKey"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalTag/Department": ["Security"]}},
                },
            ]
        ),
    )
    sandbox = PolicyDef(
        "p-Sandbox",
        "scp",
        "",
        "SandboxOU",
        _document(
            [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "SmallInstancesOnly",
                    "Effect": "Deny",
                    "Action": "ec2:RunInstances",
                    "Resource": "arn:aws:ec2:*:*:instance/*",
                    "Condition": {"ForAnyValue:StringNotLike": {"ec2:InstanceType": ["t3.*", "t4g.*"]}},
                },
            ]
        ),
    )
    levels = {}
    for index, account in enumerate(accounts):
        ou = sandbox if index % 4 == 3 else workloads
        levels[account] = (
            (full.policy_id, region_lock.policy_id, guardrails.policy_id),
            (ou.policy_id,),
            (full.policy_id,),
        )
    return [full, region_lock, guardrails, workloads, sandbox], levels


def _boundary(account: str) -> PolicyDef:
    document = _document(
        [
            {
                "Sid": "WorkloadServices",
                "Effect": "Allow",
                "Action": [
                    "s3:*",
                    "dynamodb:*",
                    "lambda:*",
                    "logs:*",
                    "sqs:*",
                    "sns:*",
                    "cloudwatch:*",
                    "ecr:*",
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ComputeWithinAccount",
                "Effect": "Allow",
                "Action": [
                    "ec2:Describe*",
                    "ec2:StartInstances",
                    "ec2:StopInstances",
                    "ec2:RebootInstances",
                    "ec2:CreateTags",
                    "rds:Describe*",
                    "rds:Start*",
                    "rds:Stop*",
                ],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": list(ALLOWED_REGIONS)}},
            },
            {
                "Sid": "ConfigAndSecrets",
                "Effect": "Allow",
                "Action": [
                    "ssm:Get*",
                    "ssm:Describe*",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                ],
                "Resource": [
                    f"arn:aws:ssm:*:{account}:parameter/*",
                    f"arn:aws:secretsmanager:*:{account}:secret:*",
                ],
            },
            {
                "Sid": "NoIdentityAdmin",
                "Effect": "Deny",
                "Action": ["iam:*User*", "iam:*AccessKey*"],
                "Resource": "*",
            },
            {
                "Sid": "NoBoundaryEscape",
                "Effect": "Deny",
                "Action": ["iam:DeleteUserPermissionsBoundary"],
                "Resource": "*",
            },
        ]
    )
    return PolicyDef(
        f"arn:aws:iam::{account}:policy/WorkloadBoundary", "boundary", account, "WorkloadBoundary", document
    )


# -- the builder ------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.rng = random.Random(f"iamgate-bench:{seed}:{size}")
        self.factory = StatementFactory(self.rng)
        self.hints: dict[tuple[str, int], Hint] = {}
        self.policies: list[PolicyDef] = []

    def account_ids(self) -> tuple[str, ...]:
        count = 2 if self.size <= 1_000 else min(40, 2 + self.size // 5_000)
        ids: list[str] = []
        while len(ids) < count:
            candidate = str(self.rng.randrange(10**11, 10**12))
            if candidate not in ids:
                ids.append(candidate)
        return tuple(ids)

    def owner(self, account: str, team: str | None = None) -> Owner:
        rng = self.rng
        return Owner(team or rng.choice(TEAMS), account, rng.choice(ALLOWED_REGIONS), rng.choice(DEPARTMENTS))

    def policy(
        self,
        policy_id: str,
        kind: str,
        account: str,
        name: str,
        count: int,
        owner: Owner,
        services: tuple[Service, ...],
        deny_rate: float = 0.1,
    ) -> PolicyDef:
        statements = []
        for index in range(count):
            statement, hint = self.factory.statement(owner, services, deny_rate=deny_rate)
            statements.append(statement)
            self.hints[(policy_id, index)] = hint
        policy = PolicyDef(policy_id, kind, account, name, _document(statements))
        self.policies.append(policy)
        return policy

    def managed_sizes(self, budget: int) -> list[int]:
        sizes = []
        while budget > 0:
            low, high = self.rng.choices(((1, 3), (4, 10), (11, 30), (31, 60)), (30, 45, 20, 5))[0]
            take = min(budget, self.rng.randint(low, high))
            sizes.append(take)
            budget -= take
        return sizes

    def resource_policies(
        self, accounts: tuple[str, ...], budget: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Bucket, queue and topic policies, ``budget`` statements in all; bucket owners."""
        rng = self.rng
        owners = {
            f"arn:aws:s3:::{team}-{k}": accounts[(i * 4 + k) % len(accounts)]
            for i, team in enumerate(TEAMS)
            for k in range(4)
        }
        candidates: list[tuple[str, str]] = [(arn, owner) for arn, owner in owners.items()]
        for account in accounts:
            region = ALLOWED_REGIONS[int(account) % len(ALLOWED_REGIONS)]
            for team in TEAMS:
                for name in ("jobs", "events", "dlq"):
                    candidates.append((f"arn:aws:sqs:{region}:{account}:{team}-{name}", account))
                for name in ("alerts", "events"):
                    candidates.append((f"arn:aws:sns:{region}:{account}:{team}-{name}", account))
        rng.shuffle(candidates)
        attached: dict[str, str] = {}
        for arn, owner in candidates:
            if budget <= 0:
                break
            statements = self.resource_statements(arn, owner, accounts)[:budget]
            budget -= len(statements)
            policy_id = f"resource:{arn}"
            self.policies.append(PolicyDef(policy_id, "resource", owner, arn, _document(statements)))
            attached[arn] = policy_id
        return attached, owners

    def resource_statements(self, arn: str, owner: str, accounts: tuple[str, ...]) -> list[dict]:
        rng = self.rng
        others = [a for a in accounts if a != owner] or [owner]
        trusted = [f"arn:aws:iam::{a}:root" for a in rng.sample(others, min(len(others), rng.randint(1, 2)))]
        if ":s3:::" in arn:
            statements = [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "CrossAccountRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": trusted},
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [arn, f"{arn}/*"],
                },
                {
                    "Sid": "UploaderRole",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{owner}:role/{rng.choice(TEAMS)}-uploader"},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/uploads/*",
                },
            ]
        elif ":sqs:" in arn:
            statements = [
                {
                    "Sid": "FromTopics",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{owner}:*"}},
                },
                {
                    "Sid": "PartnerProducers",
                    "Effect": "Allow",
                    "Principal": {"AWS": trusted},
                    "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
                    "Resource": arn,
                },
            ]
        else:
            statements = [
                {
                    "Sid": "OrgPublish",
                    "Effect": "Allow",
                    "Principal": {"AWS": trusted},
                    "Action": ["sns:Publish", "sns:Subscribe"],
                    "Resource": arn,
                    "Condition": {
                        "StringEquals": {"aws:PrincipalAccount": [a.split(":")[4] for a in trusted]}
                    },
                },
            ]
        return statements


def generate_organization(size: int, seed: int = 1, *, requests: int = 2_000) -> Organization:
    """A deterministic organization of about ``size`` statements and ``requests`` requests per stream."""
    builder = _Builder(size, seed)
    rng = builder.rng
    accounts = builder.account_ids()
    scps, scp_levels = _scps(accounts)
    builder.policies.extend(scps)
    for account in accounts:
        builder.policies.append(_boundary(account))

    n_users = max(8, min(4_000, size // 25))
    n_roles = max(4, n_users // 2)
    skeletons: list[dict[str, Any]] = []
    for index in range(n_users + n_roles):
        is_user = index < n_users
        account = accounts[index % len(accounts)]
        team = rng.choice(TEAMS)
        name = f"{team}-{'dev' if is_user else 'svc'}-{index:05d}"
        kind = "user" if is_user else "role"
        skeletons.append(
            {
                "arn": f"arn:aws:iam::{account}:{kind}/{name}",
                "kind": kind,
                "account": account,
                "name": name,
                "team": team,
                "department": rng.choice(DEPARTMENTS),
                "boundary": (
                    f"arn:aws:iam::{account}:policy/WorkloadBoundary"
                    if rng.random() < (0.5 if is_user else 0.3)
                    else None
                ),
                "inline": rng.random() < 0.3,
            }
        )

    inline_ids: dict[str, tuple[str, ...]] = {}
    for skeleton in skeletons:
        if skeleton["inline"]:
            owner = Owner(
                skeleton["team"], skeleton["account"], rng.choice(ALLOWED_REGIONS), skeleton["department"]
            )
            policy_id = f"{skeleton['arn']}:inline/{skeleton['team']}-extras"
            builder.policy(
                policy_id,
                "identity",
                skeleton["account"],
                f"{skeleton['team']}-extras",
                rng.randint(1, 3),
                owner,
                services_for(rng),
            )
            inline_ids[skeleton["arn"]] = (policy_id,)

    fixed = sum(_statement_count(p.document) for p in builder.policies)
    resource_budget = max(3, round(size * 0.04))
    resource_attached, owners = builder.resource_policies(
        accounts, min(resource_budget, max(0, size - fixed))
    )
    fixed = sum(_statement_count(p.document) for p in builder.policies)
    managed_budget = max(len(accounts), size - fixed)

    heavy = heavy_target(size)
    share0 = min(managed_budget, max(round(heavy * 1.15), managed_budget // len(accounts)))
    budgets = [share0] + [
        (managed_budget - share0) // (len(accounts) - 1)
        + (1 if i < (managed_budget - share0) % (len(accounts) - 1) else 0)
        for i in range(len(accounts) - 1)
    ]
    managed: dict[str, list[PolicyDef]] = {account: [] for account in accounts}
    for account, budget in zip(accounts, budgets, strict=True):
        for number, count in enumerate(builder.managed_sizes(budget)):
            owner = builder.owner(account)
            name = f"{owner.team}-{'-'.join(s.prefix for s in services_for(rng))}-{number:04d}"
            policy = builder.policy(
                f"arn:aws:iam::{account}:policy/{name}",
                "identity",
                account,
                name,
                count,
                owner,
                services_for(rng),
            )
            managed[account].append(policy)

    groups: list[GroupDef] = []
    groups_of: dict[str, list[str]] = {}
    for account in accounts:
        pool = managed[account]
        members = sum(1 for s in skeletons if s["account"] == account and s["kind"] == "user")
        for number in range(max(2, members // 12)):
            attached = tuple(p.policy_id for p in rng.sample(pool, min(len(pool), rng.randint(1, 4))))
            name = f"{rng.choice(TEAMS)}-{rng.choice(('developers', 'operators', 'analysts'))}-{number}"
            groups.append(GroupDef(name, account, attached))
            groups_of.setdefault(account, []).append(name)

    principals: list[PrincipalDef] = []
    for skeleton in skeletons:
        account = skeleton["account"]
        pool = managed[account]
        if skeleton["kind"] == "user":
            names = groups_of[account]
            member_of = tuple(rng.sample(names, min(len(names), rng.randint(1, 3))))
            direct = rng.sample(pool, min(len(pool), rng.randint(0, 2)))
        else:
            member_of = ()
            direct = rng.sample(pool, min(len(pool), rng.randint(1, 5)))
        principals.append(
            PrincipalDef(
                skeleton["arn"],
                skeleton["kind"],
                account,
                skeleton["name"],
                skeleton["team"],
                skeleton["department"],
                member_of,
                tuple(p.policy_id for p in direct),
                inline_ids.get(skeleton["arn"], ()),
                skeleton["boundary"],
            )
        )

    heavy_account = accounts[0]
    pool = list(managed[heavy_account])
    rng.shuffle(pool)
    chosen: list[str] = []
    total = 0
    for policy in pool:
        count = _statement_count(policy.document)
        if total + count <= heavy:
            chosen.append(policy.policy_id)
            total += count
        if total == heavy:
            break
    heavy_principal = PrincipalDef(
        f"arn:aws:iam::{heavy_account}:role/platform-admin",
        "role",
        heavy_account,
        "platform-admin",
        "platform",
        "Engineering",
        (),
        tuple(chosen),
        (),
        None,
    )
    principals.append(heavy_principal)

    organization = Organization(
        size=size,
        seed=seed,
        revision=f"bench-{size}-{seed}",
        accounts=accounts,
        policies=tuple(builder.policies),
        groups=tuple(groups),
        principals=tuple(principals),
        scp_levels=scp_levels,
        resource_policies=resource_attached,
        owners=owners,
        heavy_principal=heavy_principal.arn,
    )
    synth = RequestSynthesizer(rng, organization, builder.hints)
    sample = [p for p in principals if p.arn != heavy_principal.arn]
    sample = rng.sample(sample, min(len(sample), 64))
    typical = tuple(synth.request(rng.choice(sample), cross_account=True) for _ in range(requests))
    heavy_stream = tuple(synth.request(heavy_principal, cross_account=False) for _ in range(requests))
    return Organization(
        **{
            **{f: getattr(organization, f) for f in organization.__dataclass_fields__},
            "typical_requests": typical,
            "heavy_requests": heavy_stream,
        }
    )


# -- requests -------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class RequestSynthesizer:
    """Builds requests from the statements a principal holds, with the context they need."""

    def __init__(self, rng: random.Random, organization: Organization, hints: Mapping[tuple[str, int], Hint]):
        self.rng = rng
        self.organization = organization
        self.hints = hints
        self.documents = {p.policy_id: p.document for p in organization.policies}
        self.statements_of: dict[str, list[tuple[str, int]]] = {}
        self.groups = organization.group_index()
        self.resource_statements = [
            (policy_id, index)
            for policy_id in organization.resource_policies.values()
            for index, s in enumerate(self.documents[policy_id]["Statement"])
            if s["Effect"] == "Allow" and isinstance(s.get("Principal"), dict) and "AWS" in s["Principal"]
        ]

    def statements(self, principal: PrincipalDef) -> list[tuple[str, int]]:
        cached = self.statements_of.get(principal.arn)
        if cached is None:
            cached = [
                (policy_id, index)
                for policy_id in self.organization.identity_of(principal, self.groups)
                for index in range(_statement_count(self.documents[policy_id]))
            ]
            self.statements_of[principal.arn] = cached
        return cached

    def request(self, principal: PrincipalDef, *, cross_account: bool) -> RequestDef:
        rng = self.rng
        roll = rng.random()
        if cross_account and roll < 0.1 and self.resource_statements:
            return self._cross_account(principal)
        held = self.statements(principal)
        if roll < 0.25 or not held:
            return self._unrelated(principal)
        policy_id, index = rng.choice(held)
        statement = self.documents[policy_id]["Statement"][index]
        hint = self.hints.get((policy_id, index))
        violate = roll < 0.42 and hint is not None and bool(hint.conditions)
        return build_request(
            rng, principal, statement, hint, violate=violate, owner_of=self.organization.owners.get
        )

    def _unrelated(self, principal: PrincipalDef) -> RequestDef:
        rng = self.rng
        action = rng.choice(all_actions())
        service = service_of(action)
        resource = rng.choice(service.resources)(
            rng, rng.choice(REGIONS), principal.account, rng.choice(TEAMS)
        )
        context = background(rng, principal, resource)
        return RequestDef(
            principal.arn,
            action,
            resource,
            tuple(context.values()),
            resource_account(resource, self.organization.owners.get),
            "unrelated",
        )

    def _cross_account(self, principal: PrincipalDef) -> RequestDef:
        rng = self.rng
        policy_id, index = rng.choice(self.resource_statements)
        statement = self.documents[policy_id]["Statement"][index]
        request = build_request(
            rng, principal, statement, None, violate=False, owner_of=self.organization.owners.get
        )
        return RequestDef(
            request.principal,
            request.action,
            request.resource,
            request.context,
            request.resource_account,
            "cross-account",
        )


def resource_account(resource: str, owner_of: Any) -> str | None:
    """The account owning ``resource``: the ARN's account field, else the bucket's known owner."""
    pieces = resource.split(":", 5)
    if len(pieces) != 6:
        return None
    if pieces[4]:
        return pieces[4]
    return owner_of(resource.split("/", 1)[0])


def background(rng: random.Random, principal: PrincipalDef, resource: str) -> dict[str, Entry]:
    """The context a sidecar would fill for this caller, plus what the SDK sends (IP, TLS, agent)."""
    pieces = resource.split(":")
    region = pieces[3] if len(pieces) > 3 and pieces[3] else rng.choice(ALLOWED_REGIONS)
    entries: list[Entry] = [
        ("aws:PrincipalArn", (principal.arn,), False),
        ("aws:PrincipalAccount", (principal.account,), False),
        ("aws:PrincipalType", ("User" if principal.kind == "user" else "AssumedRole",), False),
        ("aws:PrincipalTag/Department", (principal.department,), False),
        ("aws:PrincipalTag/Team", (principal.team,), False),
        ("aws:CurrentTime", (NOW,), False),
        ("aws:EpochTime", (NOW_EPOCH,), False),
        (
            "aws:SourceIp",
            (
                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                if rng.random() < 0.85
                else "203.0.113.50",
            ),
            False,
        ),
        ("aws:SecureTransport", ("true" if rng.random() < 0.97 else "false",), False),
        ("aws:RequestedRegion", (region,), False),
        ("aws:UserAgent", ("aws-sdk-go-v2/1.30.3 os/linux",), False),
    ]
    if principal.kind == "user":
        entries.append(("aws:username", (principal.name,), False))
        entries.append(("aws:MultiFactorAuthPresent", ("true" if rng.random() < 0.7 else "false",), False))
    return {name.lower(): (name, values, multi) for name, values, multi in entries}


def _pick_action(rng: random.Random, statement: Mapping[str, Any]) -> str:
    if "NotAction" in statement:
        excluded = {a.lower() for p in _as_list(statement["NotAction"]) for a in expand_actions(p)}
        return rng.choice([a for a in all_actions() if a.lower() not in excluded])
    pattern = rng.choice(_as_list(statement["Action"]))
    matches = expand_actions(pattern)
    if matches:
        return rng.choice(matches)
    return pattern if "*" not in pattern and "?" not in pattern else rng.choice(all_actions())


def _instantiate(rng: random.Random, pattern: str, principal: PrincipalDef, action: str) -> str:
    """A concrete ARN the pattern matches, filled the way real callers' ARNs look."""
    if pattern.strip("*") == "":
        service = BY_PREFIX.get(action.partition(":")[0])
        if service is None:
            return "*"
        return rng.choice(service.resources)(
            rng, rng.choice(ALLOWED_REGIONS), principal.account, principal.team
        )
    pieces = pattern.split(":", 5)
    if len(pieces) < 6:
        return pattern
    if "*" in pieces[3]:
        pieces[3] = rng.choice(ALLOWED_REGIONS)
    if "*" in pieces[4]:
        pieces[4] = principal.account
    text = pieces[5].replace("${aws:username}", principal.name)
    while "*" in text:
        text = text.replace("*", rng.choice(("2026/11/report.csv", "a1b2c3", "prod", "x")), 1)
    pieces[5] = text.replace("?", "q")
    return ":".join(pieces)


def build_request(
    rng: random.Random,
    principal: PrincipalDef,
    statement: Mapping[str, Any],
    hint: Hint | None,
    *,
    violate: bool,
    owner_of: Any,
) -> RequestDef:
    """A request ``statement`` applies to (conditions satisfied), or one that trips on a condition."""
    action = _pick_action(rng, statement)
    if "Resource" in statement:
        resource = _instantiate(rng, rng.choice(_as_list(statement["Resource"])), principal, action)
    else:
        resource = _instantiate(rng, "*", principal, action)
    context = background(rng, principal, resource)
    kind = "hit"
    if hint is not None:
        broken = rng.randrange(len(hint.conditions)) if violate else -1
        for position, draw in enumerate(hint.conditions):
            chosen = draw.violate if position == broken else draw.satisfy
            for name, values, multi in chosen:
                filled = tuple(v.replace("{username}", principal.name) for v in values)
                context[name.lower()] = (name, filled, multi)
            if position == broken:
                kind = "violate"
                for key in draw.absent_when_violated:
                    context.pop(key.lower(), None)
    return RequestDef(
        principal.arn, action, resource, tuple(context.values()), resource_account(resource, owner_of), kind
    )
