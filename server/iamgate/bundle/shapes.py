"""Reading IAM entities in their AWS API shapes: UserDetail, GroupDetail, RoleDetail, policies.

The same readers serve hand-written bundle files (``strict``: unknown fields are warned about,
likely typos) and ``get-account-authorization-details`` output (not strict: AWS adds fields over
time and they are ignored). Missing ARNs and unique ids are derived, deterministically, so a
bundle written by hand needs only names.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from iamgate.bundle.documents import read_document
from iamgate.bundle.jsonread import (
    FileReport,
    check_keys,
    describe,
    expect_object,
    get_int,
    get_list,
    get_str,
    item_path,
    key_path,
)
from iamgate.bundle.model import Group, InlinePolicy, ManagedPolicy, Origin, Role, Tags, User
from iamgate.engine.result import PolicyKind

_NAME = re.compile(r"^[\w+=,.@-]+$")
_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")
AWS_MANAGED_PREFIX = ":iam::aws:policy/"

USER_KEYS = frozenset(
    {
        "UserName",
        "Path",
        "Arn",
        "UserId",
        "CreateDate",
        "Tags",
        "GroupList",
        "AttachedManagedPolicies",
        "UserPolicyList",
        "PermissionsBoundary",
    }
)
GROUP_KEYS = frozenset(
    {"GroupName", "Path", "Arn", "GroupId", "CreateDate", "AttachedManagedPolicies", "GroupPolicyList"}
)
ROLE_KEYS = frozenset(
    {
        "RoleName",
        "Path",
        "Arn",
        "RoleId",
        "CreateDate",
        "Description",
        "AssumeRolePolicyDocument",
        "Tags",
        "AttachedManagedPolicies",
        "RolePolicyList",
        "PermissionsBoundary",
        "MaxSessionDuration",
        "InstanceProfileList",
        "RoleLastUsed",
    }
)
POLICY_KEYS = frozenset({"PolicyName", "Path", "Arn", "PolicyId", "Description", "Document"})


def unique_id(prefix: str, arn: str) -> str:
    """An AWS-looking unique id (``AIDA...``, ``AROA...``) derived from the ARN, stable across loads."""
    digest = base64.b32encode(hashlib.sha256(arn.encode("utf-8")).digest()).decode("ascii")
    return prefix + digest[:17]


def entity_arn(partition: str, account: str, kind: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:{kind}{path}{name}"


class EntityReader:
    """Reads entities of one account from one file; problems go to ``report``."""

    def __init__(self, report: FileReport, account: str, *, strict: bool, partition: str = "aws") -> None:
        self.report = report
        self.account = account
        self.strict = strict
        self.partition = partition
        self.unreadable_policies: list[str] = []
        """ARNs of managed policies declared here whose document has errors (already reported)."""

    def origin(self, path: str) -> Origin:
        return Origin(self.report.file, path)

    # -- users, groups, roles -------------------------------------------------------------------

    def user(self, value: Any, path: str) -> User | None:
        obj = expect_object(self.report, value, path)
        if obj is None:
            return None
        check_keys(self.report, obj, path, USER_KEYS, strict=self.strict)
        name = self._name(obj, "UserName", path, limit=64)
        entity_path = self._path(obj, path)
        if not name:
            return None
        arn = self._arn(obj, path, "user", entity_path, name)
        groups, group_origins = [], []
        for index, group in enumerate(get_list(self.report, obj, "GroupList", path)):
            where = item_path(key_path(path, "GroupList"), index)
            if isinstance(group, str) and group:
                groups.append(group)
                group_origins.append(self.origin(where))
            else:
                self.report.error(where, f"expected a group name, got {describe(group)}", "type")
        attached, attached_origins = self._attached(obj, path)
        boundary, boundary_origin = self._boundary(obj, path)
        return User(
            account=self.account,
            name=name,
            path=entity_path,
            arn=arn,
            user_id=get_str(self.report, obj, "UserId", path) or unique_id("AIDA", arn),
            origin=self.origin(path),
            tags=self.tags(obj, path),
            groups=tuple(groups),
            attached=attached,
            inline=self._inline(obj, "UserPolicyList", path),
            boundary=boundary,
            group_origins=tuple(group_origins),
            attached_origins=attached_origins,
            boundary_origin=boundary_origin,
        )

    def group(self, value: Any, path: str) -> Group | None:
        obj = expect_object(self.report, value, path)
        if obj is None:
            return None
        check_keys(self.report, obj, path, GROUP_KEYS, strict=self.strict)
        name = self._name(obj, "GroupName", path, limit=128)
        entity_path = self._path(obj, path)
        if not name:
            return None
        arn = self._arn(obj, path, "group", entity_path, name)
        attached, attached_origins = self._attached(obj, path)
        return Group(
            account=self.account,
            name=name,
            path=entity_path,
            arn=arn,
            group_id=get_str(self.report, obj, "GroupId", path) or unique_id("AGPA", arn),
            origin=self.origin(path),
            attached=attached,
            inline=self._inline(obj, "GroupPolicyList", path),
            attached_origins=attached_origins,
        )

    def role(self, value: Any, path: str) -> Role | None:
        obj = expect_object(self.report, value, path)
        if obj is None:
            return None
        check_keys(self.report, obj, path, ROLE_KEYS, strict=self.strict)
        name = self._name(obj, "RoleName", path, limit=64)
        entity_path = self._path(obj, path)
        if not name:
            return None
        arn = self._arn(obj, path, "role", entity_path, name)
        trust = None
        if obj.get("AssumeRolePolicyDocument") is None:
            self.report.warning(
                key_path(path, "AssumeRolePolicyDocument"),
                "role has no trust policy: nobody can assume it",
                "no-trust-policy",
            )
        else:
            trust = read_document(
                self.report,
                obj["AssumeRolePolicyDocument"],
                key_path(path, "AssumeRolePolicyDocument"),
                PolicyKind.RESOURCE,
            )
        attached, attached_origins = self._attached(obj, path)
        boundary, boundary_origin = self._boundary(obj, path)
        return Role(
            account=self.account,
            name=name,
            path=entity_path,
            arn=arn,
            role_id=get_str(self.report, obj, "RoleId", path) or unique_id("AROA", arn),
            origin=self.origin(path),
            trust_policy=trust,
            tags=self.tags(obj, path),
            attached=attached,
            inline=self._inline(obj, "RolePolicyList", path),
            boundary=boundary,
            max_session_duration=get_int(self.report, obj, "MaxSessionDuration", path),
            attached_origins=attached_origins,
            boundary_origin=boundary_origin,
        )

    # -- managed policies -----------------------------------------------------------------------

    def managed_policy(self, value: Any, path: str) -> ManagedPolicy | None:
        """A hand-written customer-managed policy: name, path, description and its document."""
        obj = expect_object(self.report, value, path)
        if obj is None:
            return None
        check_keys(self.report, obj, path, POLICY_KEYS, strict=self.strict)
        name = self._name(obj, "PolicyName", path, limit=128)
        policy_path = self._path(obj, path)
        if "Document" not in obj:
            self.report.error(key_path(path, "Document"), "is required", "required")
            return None
        document = read_document(
            self.report, obj["Document"], key_path(path, "Document"), PolicyKind.IDENTITY
        )
        if not name:
            return None
        arn = self._arn(obj, path, "policy", policy_path, name)
        if document is None:
            self.unreadable_policies.append(arn)
            return None
        return ManagedPolicy(
            arn=arn,
            name=name,
            path=policy_path,
            account=self.account,
            document=document,
            origin=self.origin(path),
            description=get_str(self.report, obj, "Description", path),
            policy_id=get_str(self.report, obj, "PolicyId", path) or unique_id("ANPA", arn),
        )

    def details_policy(self, value: Any, path: str) -> ManagedPolicy | None:
        """An entry of get-account-authorization-details ``Policies``: its default version's document."""
        obj = expect_object(self.report, value, path)
        if obj is None:
            return None
        name = get_str(self.report, obj, "PolicyName", path, required=True)
        arn = get_str(self.report, obj, "Arn", path, required=True)
        if not name or not arn:
            return None
        versions = get_list(self.report, obj, "PolicyVersionList", path, required=True)
        default_id = obj.get("DefaultVersionId")
        chosen: tuple[int, dict[str, Any]] | None = None
        for index, version in enumerate(versions):
            entry = expect_object(self.report, version, item_path(key_path(path, "PolicyVersionList"), index))
            if entry is None:
                continue
            if entry.get("IsDefaultVersion") is True or (default_id and entry.get("VersionId") == default_id):
                chosen = (index, entry)
                break
        if chosen is None:
            if versions:
                self.report.error(key_path(path, "PolicyVersionList"), "no version is the default version")
            return None
        index, entry = chosen
        doc_path = key_path(item_path(key_path(path, "PolicyVersionList"), index), "Document")
        if "Document" not in entry:
            self.report.error(doc_path, "is required", "required")
            return None
        document = read_document(self.report, entry["Document"], doc_path, PolicyKind.IDENTITY)
        if document is None:
            self.unreadable_policies.append(arn)
            return None
        aws_managed = AWS_MANAGED_PREFIX in arn
        return ManagedPolicy(
            arn=arn,
            name=name,
            path=get_str(self.report, obj, "Path", path, default="/") or "/",
            account=None if aws_managed else arn.split(":")[4] if arn.count(":") >= 5 else self.account,
            document=document,
            origin=self.origin(path),
            description=get_str(self.report, obj, "Description", path),
            policy_id=get_str(self.report, obj, "PolicyId", path),
        )

    # -- pieces ---------------------------------------------------------------------------------

    def _name(self, obj: dict[str, Any], key: str, path: str, *, limit: int) -> str:
        name = get_str(self.report, obj, key, path, required=True)
        if name and (len(name) > limit or not _NAME.match(name)):
            self.report.error(
                key_path(path, key),
                f"{name!r} is not a valid IAM name (1-{limit} characters of letters, digits and +=,.@_-)",
                "name",
            )
            return ""
        return name

    def _path(self, obj: dict[str, Any], path: str) -> str:
        value = get_str(self.report, obj, "Path", path, default="/") or "/"
        if not _PATH.match(value) or len(value) > 512:
            self.report.error(
                key_path(path, "Path"), f"{value!r} is not an IAM path (it starts and ends with /)"
            )
            return "/"
        return value

    def _arn(self, obj: dict[str, Any], path: str, kind: str, entity_path: str, name: str) -> str:
        given = get_str(self.report, obj, "Arn", path)
        if given:
            partition = given.split(":")[1] if given.count(":") >= 5 else self.partition
            expected = entity_arn(partition, self.account, kind, entity_path, name)
            if given != expected:
                self.report.error(
                    key_path(path, "Arn"),
                    f"{given!r} does not match the {kind}'s account, path and name (expected {expected!r})",
                    "arn",
                )
            return expected
        return entity_arn(self.partition, self.account, kind, entity_path, name)

    def tags(self, obj: dict[str, Any], path: str) -> Tags:
        value = obj.get("Tags")
        where = key_path(path, "Tags")
        if value is None:
            return ()
        pairs: list[tuple[str, str]] = []
        if isinstance(value, dict):
            items = [(key_path(where, str(key)), key, item) for key, item in value.items()]
        elif isinstance(value, list):
            items = []
            for index, tag in enumerate(value):
                tag_path = item_path(where, index)
                entry = expect_object(self.report, tag, tag_path)
                if entry is not None:
                    items.append((tag_path, entry.get("Key"), entry.get("Value")))
        else:
            self.report.error(
                where, f"expected a list of {{Key, Value}} (or an object), got {describe(value)}"
            )
            return ()
        seen: set[str] = set()
        for tag_path, key, tag_value in items:
            if not isinstance(key, str) or not key or not isinstance(tag_value, str):
                self.report.error(tag_path, "a tag needs a non-empty string Key and a string Value", "tag")
                continue
            if key.lower() in seen:
                self.report.error(tag_path, f"tag key {key!r} appears twice (tag keys are case-insensitive)")
                continue
            seen.add(key.lower())
            pairs.append((key, tag_value))
        return tuple(pairs)

    def _attached(self, obj: dict[str, Any], path: str) -> tuple[tuple[str, ...], tuple[Origin, ...]]:
        arns: list[str] = []
        origins: list[Origin] = []
        where = key_path(path, "AttachedManagedPolicies")
        for index, item in enumerate(get_list(self.report, obj, "AttachedManagedPolicies", path)):
            item_where = item_path(where, index)
            arn = item.get("PolicyArn") if isinstance(item, dict) else item
            if not isinstance(arn, str) or not arn.startswith("arn:"):
                self.report.error(item_where, 'expected {"PolicyArn": "arn:..."} or a policy ARN', "type")
                continue
            if arn in arns:
                self.report.warning(item_where, f"{arn} is attached twice", "duplicate")
                continue
            arns.append(arn)
            origins.append(self.origin(item_where))
        return tuple(arns), tuple(origins)

    def _boundary(self, obj: dict[str, Any], path: str) -> tuple[str | None, Origin | None]:
        value = obj.get("PermissionsBoundary")
        where = key_path(path, "PermissionsBoundary")
        if value is None:
            return None, None
        arn = value.get("PermissionsBoundaryArn") if isinstance(value, dict) else value
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            self.report.error(where, 'expected {"PermissionsBoundaryArn": "arn:..."} or a policy ARN', "type")
            return None, None
        if isinstance(value, dict) and value.get("PermissionsBoundaryType", "Policy") != "Policy":
            self.report.error(key_path(where, "PermissionsBoundaryType"), 'expected "Policy"')
        return arn, self.origin(where)

    def _inline(self, obj: dict[str, Any], key: str, path: str) -> tuple[InlinePolicy, ...]:
        policies: list[InlinePolicy] = []
        names: set[str] = set()
        where = key_path(path, key)
        for index, item in enumerate(get_list(self.report, obj, key, path)):
            item_where = item_path(where, index)
            entry = expect_object(self.report, item, item_where)
            if entry is None:
                continue
            name = self._name(entry, "PolicyName", item_where, limit=128)
            if name and name.lower() in names:  # IAM policy names are not distinguished by case
                self.report.error(
                    key_path(item_where, "PolicyName"), f"inline policy {name!r} appears twice", "duplicate"
                )
                continue
            if "PolicyDocument" not in entry:
                self.report.error(key_path(item_where, "PolicyDocument"), "is required", "required")
                continue
            document = read_document(
                self.report,
                entry["PolicyDocument"],
                key_path(item_where, "PolicyDocument"),
                PolicyKind.IDENTITY,
            )
            if name and document is not None:
                names.add(name.lower())
                policies.append(InlinePolicy(name, document, self.origin(item_where)))
        return tuple(policies)
