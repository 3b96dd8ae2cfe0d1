"""Random organizations written two ways: as bundle files, and as the policies AWS would evaluate.

``random_world(seed, size)`` draws an organization -- OUs and SCP levels, a management account and
one outside the organization, users in groups, roles with trust policies, permissions boundaries,
managed and inline policies, resource policies and tags -- and keeps, next to the bundle files, an
independent model of it: for every principal the identity policies, boundary and SCP levels AWS
would evaluate, and for every resource its policy, owner and tags. ``simulation(world, request)``
turns one request into the ``iamgate simulate`` input those facts call for, with every context key
the sidecar fills (aws:username, aws:userid, aws:Principal*, aws:CurrentTime, aws:ResourceTag/...)
written out. The bundle path and simulate must then answer alike (issue 14).

Names are drawn from small pools on purpose: equal names in different accounts, equal SCP
documents under different ids, equal inline policy names on different entities are the cases
where an object keyed by its display name would be confused with another.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

V = "2012-10-17"
MANAGEMENT = "100000000000"
MEMBERS = ("111111111111", "222222222222", "333333333333", "444444444444")
OUTSIDE = "555555555555"
SERVICES = ("ec2.amazonaws.com", "lambda.amazonaws.com")
USER_NAMES = ("alice", "bob", "carol", "dave", "erin")
ROLE_NAMES = ("deploy", "reader", "ops")
GROUP_NAMES = ("Dev", "Ops", "Audit")
TEAMS = ("blue", "red")
TRUST_ACTIONS = frozenset({"sts:assumerole", "sts:tagsession", "sts:setsourceidentity"})
TIMES = (
    datetime(2023, 6, 1, 12, 0, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
    datetime(2029, 6, 1, 12, 0, tzinfo=UTC),
)
REQUEST_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "sqs:SendMessage",
    "ec2:RunInstances",
    "ec2:DescribeInstances",
    "iam:GetUser",
    "sts:AssumeRole",
)
ACTION_PATTERNS = (*REQUEST_ACTIONS, "s3:*", "s3:Get*", "sqs:*", "ec2:Describe*", "iam:*", "*")
TYPED_CONDITIONS = (
    # s3:RequestObjectTagKeys is typed ArrayOfString by the catalogue: a plain operator never matches
    # its set of values, whichever path (bundle, session policy, simulate) compiled the policy.
    {"StringEquals": {"s3:RequestObjectTagKeys": "team"}},
    {"StringNotEquals": {"s3:RequestObjectTagKeys": "cost"}},
    {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "team"}},
    {"ForAllValues:StringLike": {"s3:RequestObjectTagKeys": ["team", "e*"]}},
)


@dataclass
class Principal:
    kind: str
    """``user`` or ``role``."""
    arn: str
    account: str
    name: str
    unique_id: str
    tags: dict[str, str]
    identity: list[dict[str, Any]] = field(default_factory=list)
    boundary: dict[str, Any] | None = None


@dataclass
class World:
    seed: int
    files: dict[str, Any]
    principals: dict[str, Principal]
    """By ARN."""
    trust: dict[str, dict[str, Any]]
    """Role ARN -> trust policy (roles without one are absent)."""
    resource_policies: dict[str, dict[str, Any]]
    owners: dict[str, str]
    tags: dict[str, dict[str, str]]
    """Resource ARN -> tags (users and roles included)."""
    scp_levels: dict[str, list[list[dict[str, Any]]]]
    """Member account -> documents of the root, each OU down, the account (management: none)."""
    resources: list[str]
    untagged: list[str]
    """Request resources the bundle holds no tags for: a caller may supply their ResourceTag."""

    @property
    def scp_names_clash(self) -> bool:
        names = [scp["Name"] for scp in self.files["organization.json"]["ServiceControlPolicies"]]
        return len(set(names)) < len(names)

    def with_unique_scp_names(self) -> World:
        """The same organization with each SCP's name made unique by its id (what AWS would require)."""
        organization = dict(self.files["organization.json"])
        organization["ServiceControlPolicies"] = [
            {**scp, "Name": f"{scp['Name']}-{scp['Id']}"} for scp in organization["ServiceControlPolicies"]
        ]
        return replace(self, files={**self.files, "organization.json": organization})


@dataclass(frozen=True)
class Request:
    principal: str
    action: str
    resource: str
    context: dict[str, str | tuple[str, ...]]
    """A tuple is a multivalued key (``s3:RequestObjectTagKeys``, typed ``ArrayOfString``)."""
    session_policy: dict[str, Any] | None
    now: datetime


def _unique_id(prefix: str, seed: int, arn: str) -> str:
    return prefix + hashlib.sha256(f"{seed}:{arn}".encode()).hexdigest()[:16].upper()


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": V, "Statement": statements}


class _Draw:
    """The random choices of one world."""

    def __init__(self, rng: random.Random, accounts: list[str]) -> None:
        self.rng = rng
        self.accounts = accounts

    def pick(self, options):  # type: ignore[no-untyped-def]
        return self.rng.choice(list(options))

    def some(self, options, low: int, high: int) -> list:  # type: ignore[no-untyped-def]
        options = list(options)
        return self.rng.sample(options, min(len(options), self.rng.randint(low, high)))

    def account(self) -> str:
        return self.pick(self.accounts)

    def resource_pattern(self) -> str:
        account = self.account()
        return self.pick(
            (
                "*",
                "*",
                "*",
                "*",
                "arn:aws:s3:::bucket-1",
                "arn:aws:s3:::bucket-1/*",
                "arn:aws:s3:::bucket-*/${aws:username}/*",
                "arn:aws:s3:::bucket-2/shared/*",
                f"arn:aws:sqs:*:{account}:*",
                "arn:aws:sqs:us-east-1:*:queue-1",
                "arn:aws:ec2:*:*:instance/*",
                f"arn:aws:iam::{account}:role/*",
                "arn:aws:iam::*:user/${aws:username}",
            )
        )

    def condition(self) -> dict[str, Any]:
        account = self.account()
        return self.pick(
            (
                {"StringEquals": {"aws:PrincipalTag/team": self.pick(TEAMS)}},
                {"StringEquals": {"aws:ResourceTag/env": self.pick(("prod", "dev"))}},
                {"StringNotEquals": {"aws:ResourceTag/env": "prod"}},
                {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
                {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
                {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
                {"DateLessThan": {"aws:CurrentTime": "2028-01-01T00:00:00Z"}},
                {"NumericLessThan": {"aws:EpochTime": "1800000000"}},
                {"StringEquals": {"aws:PrincipalAccount": account}},
                {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
                {"StringEquals": {"aws:PrincipalType": self.pick(("User", "AssumedRole"))}},
                {"StringEquals": {"aws:RequestTag/project": "alpha"}},
                {"Null": {"aws:RequestTag/project": self.pick(("true", "false"))}},
                {"StringLike": {"aws:userid": self.pick(("AIDA*", "AROA*:*"))}},
                {"StringEquals": {"aws:username": self.pick(USER_NAMES)}},
                {"StringEquals": {"sqs:ResourceTag/env": "prod"}},
                *TYPED_CONDITIONS,
            )
        )

    def identity_statement(self) -> dict[str, Any]:
        statement: dict[str, Any] = {"Effect": "Deny" if self.rng.random() < 0.2 else "Allow"}
        actions = self.some(ACTION_PATTERNS, 1, 4)
        statement["NotAction" if self.rng.random() < 0.1 else "Action"] = actions
        resources = self.some({self.resource_pattern() for _ in range(3)}, 1, 2)
        statement["NotResource" if self.rng.random() < 0.1 else "Resource"] = resources
        if self.rng.random() < 0.3:
            statement["Condition"] = self.condition()
        return statement

    def identity_policy(self) -> dict[str, Any]:
        return _doc([self.identity_statement() for _ in range(self.rng.randint(1, 3))])

    def aws_principal(self, users: list[str], roles: list[str]) -> str:
        account = self.account()
        return self.pick(
            (
                "*",
                account,
                f"arn:aws:iam::{account}:root",
                *(users[:3] or ["*"]),
                *(roles[:2] or ["*"]),
            )
        )

    def scp(self) -> dict[str, Any]:
        statements = []
        for _ in range(self.rng.randint(1, 2)):
            if self.rng.random() < 0.6:
                statements.append(
                    {"Effect": "Allow", "Action": self.some(ACTION_PATTERNS, 1, 4), "Resource": "*"}
                )
            else:
                deny: dict[str, Any] = {"Effect": "Deny", "Resource": "*"}
                deny["NotAction" if self.rng.random() < 0.2 else "Action"] = self.some(ACTION_PATTERNS, 1, 2)
                if self.rng.random() < 0.5:
                    deny["Condition"] = self.condition()
                statements.append(deny)
        return _doc(statements)


def random_world(seed: int, size: int = 1) -> World:
    """An organization of ``size`` x (2 member accounts, a few principals each)."""
    rng = random.Random(seed)
    members = list(MEMBERS[: min(len(MEMBERS), 1 + size)])
    accounts = [*members, MANAGEMENT, OUTSIDE]
    draw = _Draw(rng, accounts)
    files: dict[str, Any] = {}

    # -- the organization: OUs, where the accounts sit, SCPs on every level ---------------------
    units = [{"Id": "ou-a", "Name": "Work", "ParentId": "r-root"}]
    if rng.random() < 0.7:
        units.append({"Id": "ou-b", "Name": "Teams", "ParentId": "ou-a"})
    if rng.random() < 0.5:
        units.append(
            {"Id": "ou-c", "Name": "Work", "ParentId": units[-1]["Id"]}
        )  # an OU name reused lower down
    parents = {unit["Id"]: unit["ParentId"] for unit in units}
    placed = {account: draw.pick(["r-root", *parents]) for account in members}
    nodes = ["r-root", *parents, *members, MANAGEMENT]
    scp_docs: dict[str, list[dict[str, Any]]] = {node: [] for node in nodes}
    scps = []
    full = _doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    scps.append({"Id": "p-full", "Name": "FullAWSAccess", "Document": full, "Targets": []})
    for node in nodes:
        if rng.random() < 0.9:
            scps[0]["Targets"].append(node)
            scp_docs[node].append(full)
    shared = draw.scp()  # one document under several ids and names: each is its own policy
    for index in range(rng.randint(1, 2 + 2 * size)):
        document = shared if rng.random() < 0.3 else draw.scp()
        targets = draw.some(nodes, 1, 2)
        name = rng.choice(
            ("Guard", "Fence", "Limit")
        )  # names may clash: AWS refuses that, so must the bundle
        scps.append({"Id": f"p-{index}", "Name": name, "Document": document, "Targets": targets})
        for target in targets:
            scp_docs[target].append(document)
    files["organization.json"] = {
        "Root": {"Id": "r-root"},
        "ManagementAccountId": MANAGEMENT,
        "OrganizationalUnits": units,
        "Accounts": [{"Id": a, "ParentId": placed[a]} for a in members] + [{"Id": MANAGEMENT}],
        "ServiceControlPolicies": scps,
    }
    scp_levels: dict[str, list[list[dict[str, Any]]]] = {}
    for account in members:
        chain = [account]
        node = placed[account]
        while node != "r-root":
            chain.append(node)
            node = parents[node]
        chain.append("r-root")
        scp_levels[account] = [scp_docs[n] for n in reversed(chain)]

    # -- IAM, account by account ----------------------------------------------------------------
    principals: dict[str, Principal] = {}
    trust: dict[str, dict[str, Any]] = {}
    all_users = [f"arn:aws:iam::{a}:user/{n}" for a in accounts for n in USER_NAMES]
    all_roles = [f"arn:aws:iam::{a}:role/{n}" for a in accounts for n in ROLE_NAMES]
    for account in accounts:
        managed = {}
        for name in draw.some(("Base", "Extra", "Fence"), 1, 3):
            managed[f"arn:aws:iam::{account}:policy/{name}"] = (name, draw.identity_policy())
        wide = {"Effect": "Allow", "Action": draw.some(("s3:*", "sqs:*", "ec2:*", "iam:*", "sts:*"), 2, 5)}
        wide["Resource"] = "*"
        if rng.random() < 0.5:
            wide["Condition"] = draw.condition()
        statements = [wide]
        if rng.random() < 0.6:
            typed = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}
            statements.append({**typed, "Condition": draw.pick(TYPED_CONDITIONS)})
        managed[f"arn:aws:iam::{account}:policy/Wide"] = ("Wide", _doc(statements))
        files[f"accounts/{account}/policies.json"] = {
            "Policies": [{"PolicyName": name, "Document": doc} for name, doc in managed.values()]
        }
        groups = {}
        for name in draw.some(GROUP_NAMES, 0, 2):
            attached = draw.some(managed, 0, 1)
            inline = (
                [{"PolicyName": "Main", "PolicyDocument": draw.identity_policy()}]
                if rng.random() < 0.6
                else []
            )
            groups[name] = attached, inline
        if groups:
            files[f"accounts/{account}/groups.json"] = {
                "Groups": [
                    {
                        "GroupName": name,
                        "AttachedManagedPolicies": [{"PolicyArn": arn} for arn in attached],
                        "GroupPolicyList": inline,
                    }
                    for name, (attached, inline) in groups.items()
                ]
            }

        def entity(kind: str, name: str, path: str, account: str = account, managed: dict = managed):  # type: ignore[no-untyped-def]
            arn = f"arn:aws:iam::{account}:{kind}{path}{name}"
            prefix = "AIDA" if kind == "user" else "AROA"
            principal = Principal(kind, arn, account, name, _unique_id(prefix, seed, arn), {})
            body: dict[str, Any] = {"Path": path, "Arn": arn}
            body["UserId" if kind == "user" else "RoleId"] = principal.unique_id
            if rng.random() < 0.6:
                principal.tags = {"team": draw.pick(TEAMS)}
                if rng.random() < 0.3:
                    principal.tags["owner"] = draw.pick(USER_NAMES)
                body["Tags"] = [{"Key": k, "Value": v} for k, v in principal.tags.items()]
            attached = draw.some(managed, 0, 2)
            wide_arn = f"arn:aws:iam::{account}:policy/Wide"
            if wide_arn not in attached and rng.random() < 0.5:
                attached.append(wide_arn)
            body["AttachedManagedPolicies"] = [{"PolicyArn": arn} for arn in attached]
            principal.identity += [managed[arn][1] for arn in attached]
            inline = [
                {"PolicyName": "Main", "PolicyDocument": draw.identity_policy()}
                for _ in range(rng.randint(0, 1))
            ]
            body["UserPolicyList" if kind == "user" else "RolePolicyList"] = inline
            principal.identity += [item["PolicyDocument"] for item in inline]
            if rng.random() < 0.25:
                boundary = draw.pick(managed)
                body["PermissionsBoundary"] = {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": boundary,
                }
                principal.boundary = managed[boundary][1]
            principals[arn] = principal
            return principal, body

        users = []
        for name in draw.some(USER_NAMES, 1, 2 + size):
            principal, body = entity("user", name, draw.pick(("/", "/", "/eng/")))
            body["UserName"] = name
            member_of = draw.some(groups, 0, 2)
            body["GroupList"] = member_of
            for group in member_of:
                attached, inline = groups[group]
                principal.identity += [managed[arn][1] for arn in attached]
                principal.identity += [item["PolicyDocument"] for item in inline]
            users.append(body)
        files[f"accounts/{account}/users.json"] = {"Users": users}
        roles = []
        for name in draw.some(ROLE_NAMES, 0, 2):
            principal, body = entity("role", name, draw.pick(("/", "/", "/svc/")))
            body["RoleName"] = name
            if rng.random() < 0.85:
                statements = []
                for _ in range(rng.randint(1, 2)):
                    who = (
                        {"Service": draw.pick(SERVICES)}
                        if rng.random() < 0.2
                        else {"AWS": draw.aws_principal(all_users, all_roles)}
                    )
                    statement = {"Effect": "Deny" if rng.random() < 0.15 else "Allow", "Principal": who}
                    statement["Action"] = "sts:AssumeRole"
                    if rng.random() < 0.3:
                        statement["Condition"] = draw.condition()
                    statements.append(statement)
                body["AssumeRolePolicyDocument"] = trust[principal.arn] = _doc(statements)
            roles.append(body)
        if roles:
            files[f"accounts/{account}/roles.json"] = {"Roles": roles}

    # -- resources: policies, owners, tags ------------------------------------------------------
    resource_policies: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    tags: dict[str, dict[str, str]] = {p.arn: p.tags for p in principals.values() if p.tags}
    per_account: dict[str, tuple[list, list]] = {account: ([], []) for account in accounts}
    buckets = [f"arn:aws:s3:::bucket-{i}" for i in (1, 2, 3)]
    queues = [f"arn:aws:sqs:us-east-1:{draw.account()}:queue-{i}" for i in (1, 2)]
    instances = [f"arn:aws:ec2:us-east-1:{draw.account()}:instance/i-{i}" for i in (1, 2)]
    for resource in (*buckets, *queues, *instances):
        owner = resource.split(":")[4] or draw.account()
        policies, tag_sets = per_account[owner]
        if rng.random() < 0.6 and not resource.startswith("arn:aws:ec2"):
            statements = []
            for _ in range(rng.randint(1, 2)):
                statement: dict[str, Any] = {
                    "Effect": "Deny" if rng.random() < 0.25 else "Allow",
                    "Principal": {"AWS": draw.aws_principal(all_users, all_roles)}
                    if rng.random() < 0.85
                    else "*",
                    "Action": draw.some(
                        ("s3:GetObject", "s3:PutObject", "s3:*", "sqs:SendMessage", "sqs:*", "*"), 1, 2
                    ),
                    "Resource": [resource, f"{resource}/*"]
                    if resource.startswith("arn:aws:s3")
                    else resource,
                }
                if rng.random() < 0.3:
                    statement["Condition"] = draw.condition()
                statements.append(statement)
            resource_policies[resource] = _doc(statements)
            policies.append({"ResourceArn": resource, "Policy": resource_policies[resource]})
            owners[resource] = owner
        if rng.random() < 0.5:
            tags[resource] = {"env": draw.pick(("prod", "dev"))}
            if rng.random() < 0.4:
                tags[resource]["owner"] = draw.pick(USER_NAMES)
            tag_sets.append({"ResourceArn": resource, "Tags": tags[resource]})
            owners[resource] = owner
    for account, (policies, tag_sets) in per_account.items():
        if policies:
            files[f"accounts/{account}/resource-policies.json"] = {"ResourcePolicies": policies}
        if tag_sets:
            files[f"accounts/{account}/resource-tags.json"] = {"ResourceTags": tag_sets}

    resources = [
        "*",
        *buckets,
        *(f"{bucket}/{name}/report.csv" for bucket in buckets[:2] for name in USER_NAMES[:3]),
        "arn:aws:s3:::bucket-2/shared/x",
        *queues,
        *instances,
        *all_roles[: 3 * len(members)],
        *(arn for arn in principals if ":user/" in arn),
    ]
    # A bundle's users and roles have a known tag set even when it is empty (docs/security.md).
    untagged = [r for r in resources if r not in tags and r != "*" and _entity(principals, r) is None]
    return World(
        seed, files, principals, trust, resource_policies, owners, tags, scp_levels, resources, untagged
    )


def random_requests(world: World, count: int, rng: random.Random) -> list[Request]:
    """Requests a caller may send: caller-owned context keys only; the sidecar fills the rest."""
    callers: list[str] = []
    for principal in world.principals.values():
        callers.append(principal.arn)
        if principal.kind == "role" and principal.arn.endswith(f":role/{principal.name}"):
            # A session ARN carries no path, so simulate's CallerArn cannot name a session of a role
            # with a path (the sidecar finds the role; simulate would guess a path-less role ARN).
            callers.append(f"arn:aws:sts::{principal.account}:assumed-role/{principal.name}/session-1")
    others = [*USER_NAMES, *ROLE_NAMES, *SERVICES, f"arn:aws:iam::{MEMBERS[0]}:user/nobody"]
    roles = [arn for arn in world.trust if rng.random() < 0.8] + [
        arn for arn in world.resources if ":role/" in arn
    ]
    requests = []
    for _ in range(count):
        action = rng.choice(REQUEST_ACTIONS)
        if action == "sts:AssumeRole" and rng.random() < 0.8:
            resource = rng.choice(roles or world.resources)
        else:
            resource = rng.choice(world.resources)
        context: dict[str, str] = {}
        if rng.random() < 0.5:
            context["aws:SourceIp"] = rng.choice(("10.1.2.3", "192.0.2.7"))
        if rng.random() < 0.5:
            context["aws:MultiFactorAuthPresent"] = rng.choice(("true", "false"))
        if rng.random() < 0.3:
            context["aws:RequestTag/project"] = rng.choice(("alpha", "beta"))
        if resource in world.untagged and rng.random() < 0.3:
            context["aws:ResourceTag/env"] = rng.choice(("prod", "dev"))
        if action == "s3:PutObject" and rng.random() < 0.6:
            context["s3:RequestObjectTagKeys"] = tuple(
                rng.sample(("team", "env", "cost"), rng.choice((1, 2)))
            )
        caller = rng.choice(callers if rng.random() < 0.85 else others)
        session = None
        if (":role/" in caller or ":assumed-role/" in caller) and rng.random() < 0.25:
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Action": rng.choice(ACTION_PATTERNS),
                "Resource": "*",
            }
            if rng.random() < 0.3:  # session policies are compiled with the catalogue's typing too
                statement["Condition"] = {"StringEquals": {"s3:RequestObjectTagKeys": "team"}}
            session = _doc([statement])
        requests.append(Request(caller, action, resource, context, session, rng.choice(TIMES)))
    return requests


# -- the reference: the same facts, as simulate's input -------------------------------------------


def resolve(world: World, text: str) -> tuple[str, Principal | None] | None:
    """(caller ARN, its principal) -- ``None`` principal for a service; ``None`` if unknown."""
    if text in SERVICES:
        return text, None
    if not text.startswith("arn:"):
        named = [p for p in world.principals.values() if p.name == text]
        return (named[0].arn, named[0]) if len(named) == 1 else None
    if ":assumed-role/" in text:
        account = text.split(":")[4]
        role = world.principals.get(f"arn:aws:iam::{account}:role/{text.split('/')[1]}")
        return (text, role) if role is not None else None
    principal = world.principals.get(text)
    return (text, principal) if principal is not None else None


def _string(name: str, value: str | tuple[str, ...]) -> dict[str, Any]:
    if isinstance(value, tuple):
        return {"ContextKeyName": name, "ContextKeyValues": list(value), "ContextKeyType": "stringList"}
    return {"ContextKeyName": name, "ContextKeyValues": [value], "ContextKeyType": "string"}


def filled_context(
    world: World, caller: str, principal: Principal | None, request: Request
) -> dict[str, str]:
    """Every key the sidecar fills for this request, as AWS would set it."""
    request = real_request(world, request)
    moment = request.now.astimezone(UTC)
    keys = {
        "aws:CurrentTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(moment.timestamp())),
    }
    if principal is None:
        keys["aws:PrincipalIsAWSService"] = "true"
        keys["aws:PrincipalServiceName"] = caller
    else:
        session = caller.startswith("arn:aws:sts:")
        if principal.kind == "user":
            keys["aws:username"] = principal.name
        keys["aws:userid"] = (
            f"{principal.unique_id}:{caller.rsplit('/', 1)[1]}" if session else principal.unique_id
        )
        keys["aws:PrincipalArn"] = principal.arn
        keys["aws:PrincipalAccount"] = principal.account
        keys["aws:PrincipalType"] = "User" if principal.kind == "user" else "AssumedRole"
        keys["aws:PrincipalIsAWSService"] = "false"
        keys.update({f"aws:PrincipalTag/{k}": v for k, v in principal.tags.items()})
    service = request.resource.split(":")[2] if request.resource.startswith("arn:") else ""
    for key, value in world.tags.get(request.resource, {}).items():
        keys[f"aws:ResourceTag/{key}"] = value
        keys[f"{service}:ResourceTag/{key}"] = value
    return keys


def _bucket(resource: str) -> str | None:
    return resource.split("/", 1)[0] if resource.startswith("arn:aws:s3:::") and "/" in resource else None


def _entity(principals: dict[str, Principal], resource: str) -> str | None:
    """The real ARN of the bundle user or role ``resource`` names, whatever its path or name case.

    IAM names are unique case-insensitively in an account and AWS evaluates the real ARN, as the
    sidecar does (docs/security.md).
    """
    pieces = resource.split(":", 5)
    if len(pieces) != 6 or pieces[2] != "iam" or "/" not in pieces[5]:
        return None
    kind, name = pieces[5].split("/", 1)[0], pieces[5].rsplit("/", 1)[1].lower()
    for principal in principals.values():
        if (principal.kind, principal.account, principal.name.lower()) == (kind, pieces[4], name):
            return principal.arn
    return None


def real_request(world: World, request: Request) -> Request:
    """``request`` naming the real ARN of a bundle user or role it names (as the sidecar resolves it),
    or ``*`` for an action AWS's reference lists without resource types (AWS evaluates it on ``*``)."""
    from iamgate.catalogue import aws_catalogue

    action = aws_catalogue().action(request.action)
    if action is not None and not action.resource_types:
        return replace(request, resource="*")
    real = _entity(world.principals, request.resource)
    return request if real is None or real == request.resource else replace(request, resource=real)


def simulation(world: World, request: Request) -> dict[str, Any] | str:
    """The ``simulate`` input for ``request``, or the decision when no evaluation is needed."""
    request = real_request(world, request)
    resolved = resolve(world, request.principal)
    if resolved is None:
        return "implicitDeny"  # unknown (or ambiguous) principals are never evaluated
    caller, principal = resolved
    trust_action = request.action.lower() in TRUST_ACTIONS
    if trust_action and ":iam::" in request.resource and ":role/" in request.resource:
        if request.resource not in world.trust:
            return "implicitDeny"  # only a trust policy lets anyone assume a role
        resource_policy = world.trust[request.resource]
    else:
        resource_policy = world.resource_policies.get(request.resource)
        bucket = _bucket(request.resource)
        if resource_policy is None and bucket is not None:
            resource_policy = world.resource_policies.get(bucket)
    context = {**filled_context(world, caller, principal, request), **request.context}
    simulated: dict[str, Any] = {
        "CallerArn": caller,
        "ActionNames": [request.action],
        "ResourceArns": [request.resource],
        "ContextEntries": [_string(name, value) for name, value in context.items()],
    }
    pieces = request.resource.split(":")
    owner = pieces[4] if len(pieces) > 5 and pieces[4].isdigit() else world.owners.get(request.resource)
    if owner is None and _bucket(request.resource):
        owner = world.owners.get(_bucket(request.resource) or "")
    if owner is not None:
        simulated["ResourceOwner"] = owner
    if resource_policy is not None:
        simulated["ResourcePolicy"] = resource_policy
    if principal is not None:
        simulated["PolicyInputList"] = principal.identity
        if principal.boundary is not None:
            simulated["PermissionsBoundaryPolicyInputList"] = [principal.boundary]
        if principal.account in world.scp_levels:
            simulated["ServiceControlPolicyLevels"] = world.scp_levels[principal.account]
        if request.session_policy is not None:
            simulated["SessionPolicyList"] = [request.session_policy]
    return simulated


def describe(world: World, request: Request) -> str:
    """Enough to reproduce a disagreement by hand."""
    return json.dumps({"seed": world.seed, "request": request.__dict__}, default=str)
