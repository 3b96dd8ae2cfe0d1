"""The embedded bundle's organization as Cerbos policies, and its requests as Cerbos requests.

``make bench-service`` measures Cerbos (a Go policy decision point) beside ``iamgate serve`` on the
same decisions: the embedded bundle's test requests (bench/service_requests.py). Cerbos has no IAM
engine, so the organization is translated by hand into Cerbos resource policies, one per AWS
service (the resource kind), with the IAM action names as Cerbos actions (Cerbos globs ``*``
inside a ``:``-separated segment, so ``logs:Get*`` means what it means in IAM):

==========================================  ============================================
IAM (server/iamgate/bundle/default/bundle)   Cerbos
==========================================  ============================================
group (Developers, DevOps, ...)              principal role of the group's users
role (EC2-S3-Upload-Role, ...)               principal role of its assumed-role sessions
service principal (ec2.amazonaws.com)        principal role ``service``, its id the service
principal outside the bundle                 principal role ``unknown`` (no rule names it)
identity policy statement                    ALLOW rule for the roles holding it, its
                                             Resource and Condition as a CEL condition
SCP / resource-policy Deny                   DENY rule for every role (``*``)
permissions boundary, trust policy           folded into the condition of the ALLOW rule
                                             (the intersection IAM evaluates)
request context (aws:SecureTransport, ...)   ``R.attr.context``: key -> list of values
resource tags (resource-tags.json, and       ``R.attr.tags``: key -> value
context keys ``<service>:ResourceTag/K``)
==========================================  ============================================

Cerbos leaves identity to the application: it is told the principal's roles and attributes and the
resource's attributes with each request. Here the "application" is :func:`to_cerbos`, which looks up
the user's groups and the resource's tags in the bundle and canonicalizes the ARN (partition,
service and region are case-insensitive, as iamgate treats them); the bench calls it once per
request before anything is timed. Cerbos answers allow or deny; iamgate's explicit and implicit
deny are both deny. A test (tests/bench/test_cerbos_translation.py) and every bench run check that
Cerbos agrees with iamgate's expected decision on every request of the mix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from iamgate.bundle.load import load_bundle
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

MAIN_ACCOUNT = "123456789012"
PRODUCTION_ACCOUNT = "210987654321"
ALLOW, DENY = "EFFECT_ALLOW", "EFFECT_DENY"

# Services DevOpsFullAccess grants in full ("InfrastructureServices").
DEVOPS_SERVICES = (
    "ec2",
    "elasticloadbalancing",
    "autoscaling",
    "cloudwatch",
    "logs",
    "s3",
    "lambda",
    "dynamodb",
    "rds",
    "ecs",
    "ecr",
    "cloudformation",
    "ssm",
)


def _context(key: str, value: str) -> str:
    """CEL: the request context holds ``value`` for ``key`` (absent key: false, as in IAM)."""
    return f'("{key}" in R.attr.context && "{value}" in R.attr.context["{key}"])'


def _arn_under(*patterns: str) -> str:
    """CEL: the resource ARN matches one of the IAM ARN patterns (``*`` any run of characters)."""
    regexes = ["^" + p.replace(".", "\\\\.").replace("*", ".*") + "$" for p in patterns]
    return "(" + " || ".join(f'R.id.matches("{r}")' for r in regexes) + ")"


def _rule(actions: list[str], roles: list[str], effect: str = ALLOW, condition: str | None = None) -> dict:
    rule: dict = {"actions": actions, "effect": effect, "roles": roles}
    if condition:
        rule["condition"] = {"match": {"expr": condition}}
    return rule


def _rules_by_kind() -> dict[str, list[dict]]:
    """Every statement of the embedded bundle, as Cerbos rules grouped by resource kind (service)."""
    kinds: dict[str, list[dict]] = {}

    def add(kind: str, rule: dict) -> None:
        kinds.setdefault(kind, []).append(rule)

    # Developers: DeveloperAccess, ManageOwnCredentials, AssumeProductionDebugRole.
    add("ec2", _rule(["ec2:*"], ["Developers"]))
    add(
        "ec2",
        _rule(
            ["ec2:TerminateInstances"],
            ["Developers"],
            DENY,
            '("Environment" in R.attr.tags && R.attr.tags["Environment"] == "production")',
        ),
    )
    add(
        "logs",
        _rule(
            [
                "logs:Describe*",
                "logs:Get*",
                "logs:List*",
                "logs:FilterLogEvents",
                "logs:StartQuery",
                "logs:StopQuery",
                "logs:TestMetricFilter",
            ],
            ["Developers"],
        ),
    )
    own_credentials = [
        "iam:GetUser",
        "iam:ChangePassword",
        "iam:CreateAccessKey",
        "iam:DeleteAccessKey",
        "iam:ListAccessKeys",
        "iam:UpdateAccessKey",
    ]
    add(
        "iam",
        _rule(
            own_credentials,
            ["Developers"],
            condition=f'R.id == "arn:aws:iam::{MAIN_ACCOUNT}:user/" + P.attr.username',
        ),
    )
    # The identity policy allows the role; its trust policy (account root, with MFA) must too.
    add(
        "sts",
        _rule(
            ["sts:AssumeRole"],
            ["Developers"],
            condition=(
                f'R.id == "arn:aws:iam::{PRODUCTION_ACCOUNT}:role/ProductionDebugRole"'
                f' && P.attr.account == "{MAIN_ACCOUNT}"'
                f" && {_context('aws:MultiFactorAuthPresent', 'true')}"
            ),
        ),
    )

    # DevOps: DevOpsFullAccess.
    for service in DEVOPS_SERVICES:
        add(service, _rule([f"{service}:*"], ["DevOps"]))
    passed_to = " || ".join(
        _context("iam:PassedToService", s)
        for s in ("ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com")
    )
    add(
        "iam",
        _rule(
            ["iam:PassRole"],
            ["DevOps"],
            condition=f"{_arn_under(f'arn:aws:iam::{MAIN_ACCOUNT}:role/*')} && ({passed_to})",
        ),
    )
    add("iam", _rule(["iam:Get*", "iam:List*"], ["DevOps"]))

    # Finance: BillingReadOnly.
    for service, actions in (
        ("aws-portal", ["aws-portal:ViewBilling", "aws-portal:ViewUsage", "aws-portal:ViewAccount"]),
        ("billing", ["billing:Get*", "billing:List*"]),
        ("ce", ["ce:Get*", "ce:Describe*", "ce:List*"]),
        ("budgets", ["budgets:ViewBudget", "budgets:Describe*"]),
        ("cur", ["cur:DescribeReportDefinitions"]),
    ):
        add(service, _rule(actions, ["Finance"]))

    # Contractors: ContractorTimeWindow within the ContractorBoundary (my-app-* buckets).
    add(
        "s3",
        _rule(
            ["s3:*"],
            ["Contractors"],
            condition=(
                'now() > timestamp("2025-01-01T09:00:00Z") && now() < timestamp("2025-12-31T18:00:00Z")'
                f" && {_arn_under('arn:aws:s3:::my-app-*', 'arn:aws:s3:::my-app-*/*')}"
            ),
        ),
    )

    # The roles' sessions: each role's managed policy.
    add(
        "s3",
        _rule(
            ["s3:PutObject"], ["EC2-S3-Upload-Role"], condition=_arn_under("arn:aws:s3:::my-app-uploads/*")
        ),
    )
    add(
        "dynamodb",
        _rule(
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
            ["Lambda-DynamoDB-Role"],
            condition=f'R.id == "arn:aws:dynamodb:ap-south-1:{MAIN_ACCOUNT}:table/UserProfiles"',
        ),
    )
    add(
        "logs",
        _rule(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            ["Lambda-DynamoDB-Role"],
            condition=_arn_under("arn:aws:logs:*:*:*"),
        ),
    )
    add(
        "s3",
        _rule(
            ["s3:GetObject", "s3:ListBucket"],
            ["MobileApp-Images-Role"],
            condition=_arn_under("arn:aws:s3:::my-app-images", "arn:aws:s3:::my-app-images/*"),
        ),
    )
    add(
        "s3",
        _rule(
            ["s3:GetObject", "s3:ListBucket"],
            ["ProductionDebugRole"],
            condition=_arn_under("arn:aws:s3:::prod-app-logs", "arn:aws:s3:::prod-app-logs/*"),
        ),
    )

    # Service principals: the roles' trust policies.
    trusts = " || ".join(
        f'(R.id == "arn:aws:iam::{MAIN_ACCOUNT}:role/{role}" && P.id == "{service}")'
        for role, service in (
            ("EC2-S3-Upload-Role", "ec2.amazonaws.com"),
            ("Lambda-DynamoDB-Role", "lambda.amazonaws.com"),
            ("MobileApp-Images-Role", "ecs-tasks.amazonaws.com"),
        )
    )
    add("sts", _rule(["sts:AssumeRole"], ["service"], condition=trusts))

    # Denies for everyone: the DenyLeaveOrganization SCP and my-app-uploads' bucket policy.
    add("organizations", _rule(["organizations:LeaveOrganization"], ["*"], DENY))
    add(
        "s3",
        _rule(
            ["s3:*"],
            ["*"],
            DENY,
            f"{_arn_under('arn:aws:s3:::my-app-uploads', 'arn:aws:s3:::my-app-uploads/*')}"
            f" && {_context('aws:SecureTransport', 'false')}",
        ),
    )
    return kinds


def policies() -> dict[str, dict]:
    """File name -> Cerbos resource policy, one per resource kind."""
    return {
        f"{kind}.yaml": {
            "apiVersion": "api.cerbos.dev/v1",
            "resourcePolicy": {"version": "default", "resource": kind, "rules": rules},
        }
        for kind, rules in sorted(_rules_by_kind().items())
    }


def write_policies(directory: Path) -> None:
    """Write the policy set for Cerbos's disk store (JSON text, which YAML reads as is)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, policy in policies().items():
        (directory / name).write_text(json.dumps(policy, indent=1) + "\n")


@dataclass(frozen=True)
class CerbosCheck:
    """One iamgate request as Cerbos sees it: who (roles, attributes), on what (kind, id, attributes)."""

    principal_id: str
    roles: tuple[str, ...]
    principal_attr: dict
    kind: str
    resource_id: str
    resource_attr: dict
    action: str


def canonical_arn(arn: str) -> str:
    """``arn:AWS:EC2:US-EAST-1:...`` -> ``arn:aws:ec2:us-east-1:...``: the case-insensitive parts lowered."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    return ":".join([p.lower() for p in parts[:4]] + parts[4:])


class Directory:
    """What the application knows in Cerbos's model: users' groups, resources' tags (from the bundle)."""

    def __init__(self) -> None:
        import iamgate.bundle.default as default

        root = resources.files(default.__name__).joinpath("bundle")
        with resources.as_file(root) as path:
            organization = load_bundle(path).organization
        self.users = {u.name: u for u in organization.users}
        self.tags = {canonical_arn(t.resource_arn): dict(t.tags) for t in organization.resource_tags}

    def principal(self, name: str) -> tuple[tuple[str, ...], dict]:
        if name.startswith("arn:aws:sts::") and ":assumed-role/" in name:
            account = name.split(":")[4]
            role = name.split(":assumed-role/", 1)[1].split("/", 1)[0]
            return (role,), {"account": account}
        if name.endswith(".amazonaws.com"):
            return ("service",), {}
        user = self.users.get(name)
        if user is None:
            return ("unknown",), {}
        return tuple(user.groups) or ("unknown",), {
            "account": user.account,
            "username": user.name,
            "tags": dict(user.tags),
        }

    def to_cerbos(self, request: pb.AuthorizeRequest) -> CerbosCheck:
        if request.session_policy or request.session_tags:
            raise ValueError("session policies and tags have no translation to Cerbos here")
        roles, principal_attr = self.principal(request.principal)
        resource = canonical_arn(request.resource)
        tags = dict(self.tags.get(resource, {}))
        context: dict[str, list[str]] = {}
        for value in request.context:
            context[value.key] = [v.string_value for v in value.values]
            if "ResourceTag/" in value.key and value.values:
                tags[value.key.split("ResourceTag/", 1)[1]] = value.values[0].string_value
        return CerbosCheck(
            principal_id=request.principal,
            roles=roles,
            principal_attr=principal_attr,
            kind=request.action.split(":", 1)[0].lower(),
            resource_id=resource,
            resource_attr={"tags": tags, "context": context},
            action=request.action,
        )
