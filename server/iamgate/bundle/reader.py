"""Reading a bundle's files into an Organization, collecting every problem with file and JSON path.

The reader dispatches on the file's place in the layout (see ``format``), reads what it can from
each file, and never stops at the first problem; ``validate`` then checks the references between
files. ``read_organization`` returns the organization together with all problems found; callers
decide whether errors are fatal (activation: yes, ``iamgate validate``: report them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iamgate.bundle import format as fmt
from iamgate.bundle.documents import read_document
from iamgate.bundle.errors import BundleProblem
from iamgate.bundle.http_routes import HttpRoutes, read_http_routes
from iamgate.bundle.jsonread import (
    MISSING,
    FileReport,
    check_keys,
    expect_object,
    get_list,
    get_str,
    item_path,
    key_path,
    load_json,
)
from iamgate.bundle.loader import DETAILS, BundleFiles
from iamgate.bundle.model import (
    Account,
    Group,
    ManagedPolicy,
    Organization,
    OrganizationTree,
    Origin,
    PolicyTest,
    ResourcePolicy,
    ResourceTags,
    Role,
    User,
)
from iamgate.bundle.orgfile import read_organization_file
from iamgate.bundle.servicefile import SERVICES, VALIDATION, read_services, read_validation_policy
from iamgate.bundle.shapes import AWS_MANAGED_PREFIX, EntityReader
from iamgate.bundle.testcheck import lying_test_problems
from iamgate.bundle.testfile import read_tests
from iamgate.bundle.validate import validate_organization
from iamgate.catalogue import Catalogue, aws_catalogue
from iamgate.engine.errors import RequestError
from iamgate.engine.identity import canonical_resource
from iamgate.engine.result import PolicyKind
from iamgate.policy.findings import CatalogueChecks

DETAILS_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


@dataclass(frozen=True, slots=True)
class ReadResult:
    organization: Organization
    problems: tuple[BundleProblem, ...]

    @property
    def errors(self) -> tuple[BundleProblem, ...]:
        return tuple(problem for problem in self.problems if problem.is_error)

    @property
    def warnings(self) -> tuple[BundleProblem, ...]:
        return tuple(problem for problem in self.problems if not problem.is_error)


@dataclass
class _Parts:
    """What the files contributed so far (local to one read)."""

    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    policies: list[ManagedPolicy] = field(default_factory=list)
    resource_policies: list[ResourcePolicy] = field(default_factory=list)
    resource_tags: list[ResourceTags] = field(default_factory=list)
    tests: list[PolicyTest] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    tree: OrganizationTree | None = None
    http_routes: HttpRoutes | None = None
    unreadable_policies: set[str] = field(default_factory=set)
    """Managed policies declared with a broken document: references to them are not errors too."""


def read_organization(files: BundleFiles, *, catalogue: Catalogue | None = None) -> ReadResult:
    """Read every document of the bundle; all problems are returned, none is raised.

    Policies are checked against ``catalogue`` (default: AWS's reference, ``iamgate.catalogue``)
    with the bundle's own services and severity policy (``services.json``, ``validation.json``)
    read first.
    """
    problems: list[BundleProblem] = []
    parts = _Parts()
    checks = _catalogue_checks(files, problems, catalogue if catalogue is not None else aws_catalogue())
    if files.kind == DETAILS:
        for path, data in files.files.items():
            _read_details(FileReport(path, problems, checks), data, None, parts)
    else:
        for path in sorted(files.files):
            if path not in (SERVICES, VALIDATION):
                _read_file(path, files.files[path], problems, parts, checks)
    organization = Organization(
        accounts=tuple(sorted(parts.accounts.values(), key=lambda account: account.id)),
        users=tuple(parts.users),
        groups=tuple(parts.groups),
        roles=tuple(parts.roles),
        policies=tuple(parts.policies),
        resource_policies=tuple(parts.resource_policies),
        resource_tags=tuple(parts.resource_tags),
        tree=parts.tree,
        tests=tuple(parts.tests),
        http_routes=parts.http_routes,
        catalogue=checks.catalogue,
    )
    problems.extend(validate_organization(organization, unreadable_policies=parts.unreadable_policies))
    problems.extend(lying_test_problems(organization, checks.catalogue))
    return ReadResult(organization, tuple(problems))


def _catalogue_checks(
    files: BundleFiles, problems: list[BundleProblem], catalogue: Catalogue
) -> CatalogueChecks:
    if files.kind == DETAILS:
        return CatalogueChecks(catalogue)
    strict, severities = False, {}
    if VALIDATION in files.files:
        report = FileReport(VALIDATION, problems)
        document = load_json(report, files.files[VALIDATION])
        if document is not MISSING:
            strict, severities = read_validation_policy(report, document)
    if SERVICES in files.files:
        report = FileReport(SERVICES, problems)
        document = load_json(report, files.files[SERVICES])
        if document is not MISSING:
            catalogue = catalogue.with_services(read_services(report, document))
    return CatalogueChecks(catalogue, strict, severities)


def _read_file(
    path: str,
    data: bytes,
    problems: list[BundleProblem],
    parts: _Parts,
    checks: CatalogueChecks | None = None,
) -> None:
    report = FileReport(path, problems, checks)
    if path in fmt.UNHASHED:
        return
    if path == fmt.ORGANIZATION:
        document = load_json(report, data)
        if document is not MISSING:
            organization_file = read_organization_file(report, document)
            if organization_file is not None:
                parts.tree = organization_file.tree
                for account in organization_file.accounts:
                    parts.accounts[account.id] = account
        return
    if path == fmt.AWS_MANAGED_POLICIES:
        document = load_json(report, data)
        if document is not MISSING:
            _read_aws_managed(report, document, parts)
        return
    if path == fmt.AUTHORIZATION_DETAILS:
        _read_details(report, data, None, parts)
        return
    if path == fmt.HTTP_ROUTES:
        document = load_json(report, data)
        if document is not MISSING:
            parts.http_routes = read_http_routes(report, document)
        return
    account_kind = fmt.account_file_kind(path)
    if account_kind is not None:
        account, kind = account_kind
        if not fmt.is_account_id(account):
            report.error(
                "", f"{account!r} is not a 12-digit account id (expected accounts/<ACCOUNT_ID>/{kind})"
            )
            return
        if kind not in fmt.ACCOUNT_FILES:
            if kind.endswith(".json"):
                report.warning(
                    "", f"unknown file (ignored); account files are {', '.join(fmt.ACCOUNT_FILES)}"
                )
            return
        parts.accounts.setdefault(account, Account(account))
        if kind == fmt.AUTHORIZATION_DETAILS:
            _read_details(report, data, account, parts)
            return
        document = load_json(report, data)
        if document is not MISSING:
            _read_account_file(report, kind, document, account, parts)
        return
    if path.startswith(fmt.TESTS_DIR + "/") and path.endswith(".json"):
        document = load_json(report, data)
        if document is not MISSING:
            parts.tests.extend(read_tests(report, document))
        return
    if path.endswith(".json"):
        report.warning("", "unknown file (ignored); see docs/bundles.md for the layout", "unknown-file")


_LISTS = {
    fmt.USERS: ("Users", "user"),
    fmt.GROUPS: ("Groups", "group"),
    fmt.ROLES: ("Roles", "role"),
    fmt.POLICIES: ("Policies", "managed_policy"),
}


def _read_account_file(report: FileReport, kind: str, document: Any, account: str, parts: _Parts) -> None:
    obj = expect_object(report, document, "")
    if obj is None:
        return
    if kind == fmt.RESOURCE_POLICIES:
        _read_resource_policies(report, obj, account, parts)
        return
    if kind == fmt.RESOURCE_TAGS:
        _read_resource_tags(report, obj, account, parts)
        return
    key, method = _LISTS[kind]
    check_keys(report, obj, "", {key})
    reader = EntityReader(report, account, strict=True)
    target = {
        "user": parts.users,
        "group": parts.groups,
        "role": parts.roles,
        "managed_policy": parts.policies,
    }
    for index, value in enumerate(get_list(report, obj, key, "", required=True)):
        entity = getattr(reader, method)(value, item_path(key, index))
        if entity is not None:
            target[method].append(entity)
    parts.unreadable_policies.update(reader.unreadable_policies)


def _read_details(report: FileReport, data: bytes, account: str | None, parts: _Parts) -> None:
    """``aws iam get-account-authorization-details`` output, as is (documents may be URL-encoded)."""
    document = load_json(report, data)
    if document is MISSING:
        return
    obj = expect_object(report, document, "")
    if obj is None:
        return
    if not any(key in obj for key in DETAILS_LISTS):
        report.error(
            "",
            "not get-account-authorization-details output (expected UserDetailList, GroupDetailList, "
            "RoleDetailList or Policies)",
            "details",
        )
        return
    if obj.get("IsTruncated") is True:
        report.warning(
            "IsTruncated", "the output is truncated: fetch every page (the AWS CLI does by default)"
        )
    found = _accounts_in_details(obj)
    if account is None:
        if len(found) != 1:
            which = "no ARN names an account" if not found else f"ARNs name several accounts: {sorted(found)}"
            report.error("", f"cannot tell which account this is: {which}", "details")
            return
        account = next(iter(found))
    parts.accounts.setdefault(account, Account(account))
    reader = EntityReader(report, account, strict=False)
    for key, method, target in (
        ("UserDetailList", reader.user, parts.users),
        ("GroupDetailList", reader.group, parts.groups),
        ("RoleDetailList", reader.role, parts.roles),
        ("Policies", reader.details_policy, parts.policies),
    ):
        for index, value in enumerate(get_list(report, obj, key, "")):
            entity = method(value, item_path(key, index))
            if entity is not None:
                target.append(entity)
    parts.unreadable_policies.update(reader.unreadable_policies)


def _accounts_in_details(obj: dict[str, Any]) -> set[str]:
    found = set()
    for key in DETAILS_LISTS:
        entries = obj.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            arn = entry.get("Arn") if isinstance(entry, dict) else None
            if isinstance(arn, str) and arn.count(":") >= 5 and AWS_MANAGED_PREFIX not in arn:
                found.add(arn.split(":")[4])
    return found


def _read_aws_managed(report: FileReport, document: Any, parts: _Parts) -> None:
    obj = expect_object(report, document, "")
    if obj is None:
        return
    check_keys(report, obj, "", {"Policies"})
    for index, value in enumerate(get_list(report, obj, "Policies", "", required=True)):
        path = item_path("Policies", index)
        entry = expect_object(report, value, path)
        if entry is None:
            continue
        check_keys(report, entry, path, {"Arn", "PolicyName", "Description", "Document"})
        arn = get_str(report, entry, "Arn", path, required=True)
        if arn and AWS_MANAGED_PREFIX not in arn:
            report.error(
                key_path(path, "Arn"),
                f"{arn!r} is not an AWS-managed policy ARN (arn:aws:iam::aws:policy/...)",
            )
            continue
        if "Document" not in entry:
            report.error(key_path(path, "Document"), "is required", "required")
            continue
        policy_document = read_document(
            report, entry["Document"], key_path(path, "Document"), PolicyKind.IDENTITY
        )
        if arn and policy_document is not None:
            name = get_str(report, entry, "PolicyName", path) or arn.rsplit("/", 1)[-1]
            policy_path = (
                "/" + arn.split(":policy/", 1)[1].rsplit("/", 1)[0] + "/" if arn.count("/") > 1 else "/"
            )
            parts.policies.append(
                ManagedPolicy(
                    arn,
                    name,
                    policy_path,
                    None,
                    policy_document,
                    Origin(report.file, path),
                    get_str(report, entry, "Description", path),
                )
            )


def _resource_arn(
    report: FileReport, entry: dict[str, Any], path: str, account: str, *, policy: bool = False
) -> str:
    """The entry's ResourceArn, or "" after an error naming why no request could ever reach it.

    A resource policy or tag set under a spelling no request can name (whitespace, a malformed
    part, an S3 bucket written with a region or account, a bucket policy attached to ``BUCKET/*``)
    would never apply: its Denies would silently deny nothing. That is an error, not a bundle.
    """
    arn = get_str(report, entry, "ResourceArn", path, required=True)
    if not arn:
        return ""
    pieces = arn.split(":", 5)
    if len(pieces) != 6 or pieces[0] != "arn" or not pieces[2]:
        report.error(
            key_path(path, "ResourceArn"), f"{arn!r} is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:...)"
        )
        return ""
    if pieces[4] and pieces[4] != account:
        report.error(
            key_path(path, "ResourceArn"),
            f"the ARN names account {pieces[4]}, but the file is in accounts/{account}/",
        )
        return ""
    try:
        canonical_resource(arn)
    except RequestError as error:
        report.error(key_path(path, "ResourceArn"), f"no request can name this resource: {error.detail}")
        return ""
    if policy and pieces[2].lower() == "s3" and not pieces[3] and not pieces[4] and "/" in pieces[5]:
        bucket = pieces[5].split("/", 1)[0]
        report.error(
            key_path(path, "ResourceArn"),
            f"{arn!r}: a bucket policy is attached to its bucket (arn:{pieces[1]}:s3:::{bucket}); "
            "its Resource elements name the objects",
        )
        return ""
    return arn


def _read_resource_policies(report: FileReport, obj: dict[str, Any], account: str, parts: _Parts) -> None:
    check_keys(report, obj, "", {"ResourcePolicies"})
    for index, value in enumerate(get_list(report, obj, "ResourcePolicies", "", required=True)):
        path = item_path("ResourcePolicies", index)
        entry = expect_object(report, value, path)
        if entry is None:
            continue
        check_keys(report, entry, path, {"ResourceArn", "Policy", "Description"})
        arn = _resource_arn(report, entry, path, account, policy=True)
        if "Policy" not in entry:
            report.error(key_path(path, "Policy"), "is required", "required")
            continue
        document = read_document(report, entry["Policy"], key_path(path, "Policy"), PolicyKind.RESOURCE)
        if arn and document is not None:
            parts.resource_policies.append(ResourcePolicy(arn, account, document, Origin(report.file, path)))


def _read_resource_tags(report: FileReport, obj: dict[str, Any], account: str, parts: _Parts) -> None:
    check_keys(report, obj, "", {"ResourceTags"})
    reader = EntityReader(report, account, strict=True)
    for index, value in enumerate(get_list(report, obj, "ResourceTags", "", required=True)):
        path = item_path("ResourceTags", index)
        entry = expect_object(report, value, path)
        if entry is None:
            continue
        check_keys(report, entry, path, {"ResourceArn", "Tags"})
        arn = _resource_arn(report, entry, path, account)
        tags = reader.tags(entry, path)
        if arn:
            parts.resource_tags.append(ResourceTags(arn, account, tags, Origin(report.file, path)))
