"""Write a generated Organization as an iamgate bundle directory (docs/bundles.md's format).

Users, groups and roles go into ``accounts/<id>/`` in their AWS API shapes, customer-managed
policies (the permissions boundary among them) into ``policies.json``, bucket/queue/topic
policies into ``resource-policies.json``, and the SCPs with the organization tree into
``organization.json``; the manifest lists every file's SHA-256. Each role gets a one-statement
trust policy for ``lambda.amazonaws.com``, which the bundle requires and the bench's own
statement count leaves out, and every bucket a resource tag in its owner's account, so the bundle
knows who owns it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.generator import Organization, PolicyDef


def _dump(value: Any) -> bytes:
    return json.dumps(value, indent=1).encode("utf-8")


def _attached(ids: tuple[str, ...], policies: dict[str, PolicyDef]) -> list[dict[str, str]]:
    return [{"PolicyName": policies[i].name, "PolicyArn": i} for i in ids]


def _inline(ids: tuple[str, ...], policies: dict[str, PolicyDef]) -> list[dict[str, Any]]:
    return [{"PolicyName": policies[i].name, "PolicyDocument": policies[i].document} for i in ids]


def _boundary(policy_id: str | None) -> dict[str, Any]:
    if policy_id is None:
        return {}
    return {"PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": policy_id}}


def _organization_file(organization: Organization, policies: dict[str, PolicyDef]) -> dict[str, Any]:
    accounts = []
    targets: dict[str, list[str]] = defaultdict(list)
    units: set[str] = set()
    for account, (root, ou, own) in organization.scp_levels.items():
        unit = "ou-sandbox" if "p-Sandbox" in ou else "ou-workloads"
        units.add(unit)
        accounts.append({"Id": account, "Name": f"account-{account}", "ParentId": unit})
        for level, target in ((root, "r-root"), (ou, unit), (own, account)):
            for policy_id in level:
                if target not in targets[policy_id]:
                    targets[policy_id].append(target)
    return {
        "Root": {"Id": "r-root"},
        "OrganizationalUnits": [
            {"Id": u, "Name": u.removeprefix("ou-"), "ParentId": "r-root"} for u in sorted(units)
        ],
        "Accounts": accounts,
        "ServiceControlPolicies": [
            {
                "Id": policy_id,
                "Name": policies[policy_id].name,
                "Document": policies[policy_id].document,
                "Targets": target_list,
            }
            for policy_id, target_list in targets.items()
        ],
    }


def bundle_files(organization: Organization) -> dict[str, bytes]:
    """Every file of the bundle but the manifest, keyed by its path inside the bundle."""
    policies = {p.policy_id: p for p in organization.policies}
    users: dict[str, list] = defaultdict(list)
    roles: dict[str, list] = defaultdict(list)
    for principal in organization.principals:
        tags = [
            {"Key": "Department", "Value": principal.department},
            {"Key": "Team", "Value": principal.team},
        ]
        common = {
            "AttachedManagedPolicies": _attached(principal.attached, policies),
            **_boundary(principal.boundary),
            "Tags": tags,
        }
        if principal.kind == "user":
            users[principal.account].append(
                {
                    "UserName": principal.name,
                    "GroupList": list(principal.groups),
                    "UserPolicyList": _inline(principal.inline, policies),
                    **common,
                }
            )
        else:
            roles[principal.account].append(
                {
                    "RoleName": principal.name,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "RolePolicyList": _inline(principal.inline, policies),
                    **common,
                }
            )
    groups: dict[str, list] = defaultdict(list)
    for group in organization.groups:
        groups[group.account].append(
            {"GroupName": group.name, "AttachedManagedPolicies": _attached(group.policies, policies)}
        )
    managed: dict[str, list] = defaultdict(list)
    resource: dict[str, list] = defaultdict(list)
    for policy in organization.policies:
        if policy.kind in ("identity", "boundary") and ":policy/" in policy.policy_id:
            managed[policy.account].append(
                {"PolicyName": policy.name, "Path": "/", "Document": policy.document}
            )
        elif policy.kind == "resource":
            resource[policy.account].append({"ResourceArn": policy.name, "Policy": policy.document})
    # Buckets carry no account in their ARN: the bundle learns their owners from resource tags
    # (a key no policy reads, so the tags change no decision).
    tags: dict[str, list] = defaultdict(list)
    for arn, account in organization.owners.items():
        tags[account].append(
            {"ResourceArn": arn, "Tags": [{"Key": "CostCenter", "Value": arn.rsplit(":", 1)[-1]}]}
        )
    files: dict[str, bytes] = {"organization.json": _dump(_organization_file(organization, policies))}
    for account in organization.accounts:
        base = f"accounts/{account}"
        files[f"{base}/users.json"] = _dump({"Users": users[account]})
        files[f"{base}/groups.json"] = _dump({"Groups": groups[account]})
        files[f"{base}/roles.json"] = _dump({"Roles": roles[account]})
        files[f"{base}/policies.json"] = _dump({"Policies": managed[account]})
        if resource[account]:
            files[f"{base}/resource-policies.json"] = _dump({"ResourcePolicies": resource[account]})
        if tags[account]:
            files[f"{base}/resource-tags.json"] = _dump({"ResourceTags": tags[account]})
    return files


def write_bundle(organization: Organization, directory: Path) -> Path:
    """Write the bundle (with its manifest) into ``directory``; returns the directory."""
    from iamgate.bundle import format as fmt

    files = bundle_files(organization)
    manifest = fmt.manifest_object(
        name=f"bench-{organization.size}",
        revision=organization.revision,
        created="2026-11-28T00:00:00Z",
        files=fmt.file_hashes(files),
        metadata={"generator": "bench/generator.py", "seed": organization.seed},
    )
    files[fmt.MANIFEST] = fmt.dump_manifest(manifest)
    for path, data in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory
