"""Reading organization.json: the AWS Organizations tree and the SCPs attached to it.

::

    {"Root": {"Id": "r-root"},
     "ManagementAccountId": "999988887777",
     "OrganizationalUnits": [{"Id": "ou-work", "Name": "Workloads", "ParentId": "r-root"}],
     "Accounts": [{"Id": "123456789012", "Name": "development", "ParentId": "ou-work"}],
     "ServiceControlPolicies": [{"Id": "p-full", "Name": "FullAWSAccess", "Document": {...},
                                 "Targets": ["r-root"]}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iamgate.bundle.documents import read_document
from iamgate.bundle.format import is_account_id
from iamgate.bundle.jsonread import (
    FileReport,
    check_keys,
    expect_object,
    get_list,
    get_str,
    item_path,
    key_path,
)
from iamgate.bundle.model import Account, OrganizationalUnit, OrganizationTree, Origin, ServiceControlPolicy
from iamgate.engine.result import PolicyKind

ORG_KEYS = frozenset(
    {"Root", "ManagementAccountId", "OrganizationalUnits", "Accounts", "ServiceControlPolicies"}
)
DEFAULT_ROOT = "r-root"


@dataclass(frozen=True, slots=True)
class OrganizationFile:
    tree: OrganizationTree
    accounts: tuple[Account, ...]
    account_origins: tuple[Origin, ...]


def read_organization_file(report: FileReport, document: Any) -> OrganizationFile | None:
    obj = expect_object(report, document, "")
    if obj is None:
        return None
    check_keys(report, obj, "", ORG_KEYS)
    root_id = DEFAULT_ROOT
    if "Root" in obj:
        root = expect_object(report, obj["Root"], "Root")
        if root is not None:
            root_id = get_str(report, root, "Id", "Root", required=True) or DEFAULT_ROOT
    management = get_str(report, obj, "ManagementAccountId", "")
    if management and not is_account_id(management):
        report.error("ManagementAccountId", f"{management!r} is not a 12-digit account id")
    units = []
    for index, value in enumerate(get_list(report, obj, "OrganizationalUnits", "")):
        path = item_path("OrganizationalUnits", index)
        unit = expect_object(report, value, path)
        if unit is None:
            continue
        check_keys(report, unit, path, {"Id", "Name", "ParentId"})
        unit_id = get_str(report, unit, "Id", path, required=True)
        if unit_id:
            units.append(
                OrganizationalUnit(
                    unit_id,
                    get_str(report, unit, "Name", path) or unit_id,
                    get_str(report, unit, "ParentId", path) or root_id,
                    Origin(report.file, path),
                )
            )
    accounts, origins = [], []
    seen_accounts: dict[str, Origin] = {}
    for index, value in enumerate(get_list(report, obj, "Accounts", "")):
        path = item_path("Accounts", index)
        entry = expect_object(report, value, path)
        if entry is None:
            continue
        check_keys(report, entry, path, {"Id", "Name", "ParentId"})
        account_id = get_str(report, entry, "Id", path, required=True)
        if account_id and not is_account_id(account_id):
            report.error(key_path(path, "Id"), f"{account_id!r} is not a 12-digit account id")
            continue
        if account_id in seen_accounts:
            first = seen_accounts[account_id]
            report.error(
                key_path(path, "Id"), f"account {account_id} is listed twice (first at {first})", "duplicate"
            )
            continue
        if account_id:
            origin = Origin(report.file, path)
            seen_accounts[account_id] = origin
            accounts.append(
                Account(
                    account_id,
                    get_str(report, entry, "Name", path),
                    get_str(report, entry, "ParentId", path) or root_id,
                    origin,
                )
            )
            origins.append(origin)
    scps = []
    for index, value in enumerate(get_list(report, obj, "ServiceControlPolicies", "")):
        path = item_path("ServiceControlPolicies", index)
        entry = expect_object(report, value, path)
        if entry is None:
            continue
        check_keys(report, entry, path, {"Id", "Name", "Description", "Document", "Targets"})
        name = get_str(report, entry, "Name", path, required=True)
        policy_id = get_str(report, entry, "Id", path) or name
        targets = []
        for target_index, target in enumerate(get_list(report, entry, "Targets", path, required=True)):
            if isinstance(target, str) and target:
                targets.append(target)
            else:
                report.error(
                    item_path(key_path(path, "Targets"), target_index), "expected a root, OU or account id"
                )
        if "Document" not in entry:
            report.error(key_path(path, "Document"), "is required", "required")
            continue
        document = read_document(report, entry["Document"], key_path(path, "Document"), PolicyKind.SCP)
        if name and document is not None:
            scps.append(
                ServiceControlPolicy(policy_id, name, document, tuple(targets), Origin(report.file, path))
            )
    tree = OrganizationTree(root_id, management or None, tuple(units), tuple(scps))
    return OrganizationFile(tree, tuple(accounts), tuple(origins))
