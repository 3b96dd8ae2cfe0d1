"""A bundle's own services (``services.json``) and its validation policy (``validation.json``).

``services.json`` declares the application's services in the shape of AWS's service reference
(https://servicereference.us-east-1.amazonaws.com), so ``docs:UpdateDocument`` gets the checks
``s3:GetObject`` gets::

    {"Services": [{"Name": "docs",
                   "Description": "the document service",
                   "Actions": [{"Name": "UpdateDocument", "AccessLevel": "Write",
                                "Resources": [{"Name": "document"}],
                                "ActionConditionKeys": ["docs:Classification"]}],
                   "Resources": [{"Name": "document",
                                  "ARNFormats": ["arn:${Partition}:docs:::document/${Id}"]}],
                   "ConditionKeys": [{"Name": "docs:Classification", "Types": ["String"]}]}]}

``validation.json`` is the bundle's severity policy::

    {"strict": true, "severity": {"undeclared-key-prefix": "off", "unknown-condition-key": "error"}}

``strict`` makes unknown services and actions and patterns matching nothing errors (which refuse
the bundle); ``severity`` sets any finding code's level (``error``, ``security-warning``,
``warning``, ``suggestion``) or switches it ``off``.
"""

from __future__ import annotations

import re
from typing import Any

from iamgate.bundle.jsonread import (
    FileReport,
    check_keys,
    expect_object,
    get_list,
    get_str,
    item_path,
    key_path,
)
from iamgate.catalogue import KEY_TYPES, Action, ConditionKey, ResourceType, Service
from iamgate.policy.errors import Severity
from iamgate.policy.findings import CODES

SERVICES = "services.json"
VALIDATION = "validation.json"
ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]*")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
SEVERITY_NAMES = {**{severity.value: severity for severity in Severity}, "off": None}


def read_services(report: FileReport, document: Any) -> list[Service]:
    """Every well-formed service of ``services.json``; problems are recorded as errors."""
    obj = expect_object(report, document, "")
    if obj is None:
        return []
    check_keys(report, obj, "", {"Services"}, errors=True)
    services: list[Service] = []
    seen: set[str] = set()
    for index, raw in enumerate(get_list(report, obj, "Services", "", required=True)):
        path = item_path("Services", index)
        service = _service(report, raw, path)
        if service is None:
            continue
        if service.prefix in seen:
            report.error(key_path(path, "Name"), f"service {service.prefix!r} is declared twice", "duplicate")
            continue
        seen.add(service.prefix)
        services.append(service)
    return services


def _service(report: FileReport, raw: Any, path: str) -> Service | None:
    obj = expect_object(report, raw, path)
    if obj is None:
        return None
    check_keys(
        report, obj, path, {"Name", "Description", "Actions", "Resources", "ConditionKeys"}, errors=True
    )
    prefix = get_str(report, obj, "Name", path, required=True)
    if prefix and not _PREFIX.fullmatch(prefix):
        report.error(key_path(path, "Name"), f"{prefix!r} is not a service prefix (lower-case, digits, '-')")
        return None
    if not prefix:
        return None
    keys: dict[str, ConditionKey] = {}
    for index, entry in enumerate(get_list(report, obj, "ConditionKeys", path)):
        key = _condition_key(report, entry, item_path(key_path(path, "ConditionKeys"), index), prefix)
        if key is not None:
            keys[key.name.lower()] = key
    types: dict[str, ResourceType] = {}
    for index, entry in enumerate(get_list(report, obj, "Resources", path)):
        resource_type = _resource_type(report, entry, item_path(key_path(path, "Resources"), index), prefix)
        if resource_type is not None:
            types[resource_type.name.lower()] = resource_type
    actions: dict[str, Action] = {}
    for index, entry in enumerate(get_list(report, obj, "Actions", path, required=True)):
        action = _action(report, entry, item_path(key_path(path, "Actions"), index), prefix, types, keys)
        if action is not None:
            actions[action.name.lower()] = action
    name = get_str(report, obj, "Description", path) or prefix
    return Service(prefix, name, actions, types, keys, origin=report.file)


def _condition_key(report: FileReport, raw: Any, path: str, prefix: str) -> ConditionKey | None:
    obj = expect_object(report, raw, path)
    if obj is None:
        return None
    check_keys(report, obj, path, {"Name", "Types", "Description"}, errors=True)
    name = get_str(report, obj, "Name", path, required=True)
    kinds = get_list(report, obj, "Types", path, required=True)
    if not name:
        return None
    if name.partition(":")[0].lower() != prefix:
        report.error(key_path(path, "Name"), f"a key of service {prefix!r} is named {prefix}:<name>")
        return None
    if len(kinds) != 1 or kinds[0] not in KEY_TYPES:
        report.error(key_path(path, "Types"), f"one of {', '.join(sorted(KEY_TYPES))}", "type")
        return None
    return ConditionKey(name, kinds[0])


def _resource_type(report: FileReport, raw: Any, path: str, prefix: str) -> ResourceType | None:
    obj = expect_object(report, raw, path)
    if obj is None:
        return None
    check_keys(report, obj, path, {"Name", "ARNFormats", "ConditionKeys"}, errors=True)
    name = get_str(report, obj, "Name", path, required=True)
    formats = get_list(report, obj, "ARNFormats", path, required=True)
    good = True
    for index, arn in enumerate(formats):
        if not isinstance(arn, str) or not arn.startswith("arn:") or arn.count(":") < 5:
            report.error(
                item_path(key_path(path, "ARNFormats"), index),
                "expected an ARN format such as "
                f"arn:${{Partition}}:{prefix}:${{Region}}:${{Account}}:thing/${{Id}}",
                "type",
            )
            good = False
    keys = [k for k in get_list(report, obj, "ConditionKeys", path) if isinstance(k, str)]
    if not name or not formats or not good:
        return None
    return ResourceType(name, tuple(formats), tuple(keys))


def _action(
    report: FileReport,
    raw: Any,
    path: str,
    prefix: str,
    types: dict[str, ResourceType],
    keys: dict[str, ConditionKey],
) -> Action | None:
    obj = expect_object(report, raw, path)
    if obj is None:
        return None
    check_keys(
        report,
        obj,
        path,
        {"Name", "AccessLevel", "Resources", "ActionConditionKeys", "Description"},
        errors=True,
    )
    name = get_str(report, obj, "Name", path, required=True)
    if name and not _NAME.fullmatch(name):
        report.error(
            key_path(path, "Name"), f"{name!r} is not an action name (letters, digits, '_', '.', '-')"
        )
        return None
    level = get_str(report, obj, "AccessLevel", path)
    if level and level not in ACCESS_LEVELS:
        report.error(key_path(path, "AccessLevel"), f"one of {', '.join(ACCESS_LEVELS)}")
    resource_names: list[str] = []
    for index, entry in enumerate(get_list(report, obj, "Resources", path)):
        where = item_path(key_path(path, "Resources"), index)
        entry_obj = expect_object(report, entry, where)
        if entry_obj is None:
            continue
        check_keys(report, entry_obj, where, {"Name"}, errors=True)
        resource = get_str(report, entry_obj, "Name", where, required=True)
        if resource and resource.lower() not in types:
            report.error(
                key_path(where, "Name"),
                f"resource type {resource!r} is not declared in Resources",
                "reference",
            )
        elif resource:
            resource_names.append(resource)
    action_keys: list[str] = []
    for index, key in enumerate(get_list(report, obj, "ActionConditionKeys", path)):
        where = item_path(key_path(path, "ActionConditionKeys"), index)
        if not isinstance(key, str):
            report.error(where, "expected a condition key name", "type")
        elif key.partition(":")[0].lower() == prefix and key.lower() not in keys:
            report.error(where, f"condition key {key!r} is not declared in ConditionKeys", "reference")
        else:
            action_keys.append(key)
    if not name:
        return None
    return Action(prefix, name, level, tuple(resource_names), tuple(action_keys))


def read_validation_policy(report: FileReport, document: Any) -> tuple[bool, dict[str, Severity | None]]:
    """``(strict, severities)`` of ``validation.json``; unknown codes or levels are errors."""
    obj = expect_object(report, document, "")
    if obj is None:
        return False, {}
    check_keys(report, obj, "", {"strict", "severity", "description"}, errors=True)
    strict = obj.get("strict", False)
    if not isinstance(strict, bool):
        report.error("strict", "expected true or false", "type")
        strict = False
    severities: dict[str, Severity | None] = {}
    levels = obj.get("severity", {})
    if not isinstance(levels, dict):
        report.error("severity", "expected an object of finding code -> level", "type")
        return strict, severities
    for code, level in levels.items():
        where = key_path("severity", code)
        if code not in CODES:
            report.error(
                where, f"unknown finding code {code!r}; docs/validation.md lists them", "unknown-field"
            )
        elif level not in SEVERITY_NAMES:
            report.error(where, f"{level!r}: use one of {', '.join(SEVERITY_NAMES)}", "type")
        else:
            severities[code] = SEVERITY_NAMES[level]
    return strict, severities
