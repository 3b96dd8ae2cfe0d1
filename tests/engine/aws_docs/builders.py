"""Small builders for policy documents and SimulateCustomPolicy-shaped requests.

They keep each test down to the policy and request that the documentation rule talks about; every
document they build is plain JSON data, exactly what a user would pass to ``iamgate simulate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
THIRD_ACCOUNT = "777788889999"

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ACCOUNT_ROOT = f"arn:aws:iam::{ACCOUNT}:root"
OTHER_ACCOUNT_ROOT = f"arn:aws:iam::{OTHER_ACCOUNT}:root"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-role"
APP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/worker"
OTHER_APP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/batch"
FEDERATED_BOB = f"arn:aws:sts::{ACCOUNT}:federated-user/bob"

BUCKET = "arn:aws:s3:::example-bucket"
OBJECT = "arn:aws:s3:::example-bucket/report.csv"

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

Document = dict[str, Any]


def statement(
    effect: str,
    action: str | Sequence[str] | None = "s3:GetObject",
    resource: str | Sequence[str] | None = "*",
    *,
    condition: Mapping[str, Any] | None = None,
    principal: Any = None,
    not_principal: Any = None,
    not_action: str | Sequence[str] | None = None,
    not_resource: str | Sequence[str] | None = None,
    sid: str | None = None,
) -> Document:
    """One statement; ``not_action`` / ``not_resource`` replace ``action`` / ``resource``."""
    body: Document = {"Effect": effect}
    if sid is not None:
        body["Sid"] = sid
    if principal is not None:
        body["Principal"] = principal
    if not_principal is not None:
        body["NotPrincipal"] = not_principal
    if not_action is not None:
        body["NotAction"] = _json_list(not_action)
    elif action is not None:
        body["Action"] = _json_list(action)
    if not_resource is not None:
        body["NotResource"] = _json_list(not_resource)
    elif resource is not None:
        body["Resource"] = _json_list(resource)
    if condition is not None:
        body["Condition"] = dict(condition)
    return body


def allow(
    action: str | Sequence[str] | None = "s3:GetObject", resource: str | Sequence[str] | None = "*", **kw: Any
) -> Document:
    return statement("Allow", action, resource, **kw)


def deny(
    action: str | Sequence[str] | None = "s3:GetObject", resource: str | Sequence[str] | None = "*", **kw: Any
) -> Document:
    return statement("Deny", action, resource, **kw)


def policy(*statements: Document, version: str | None = "2012-10-17") -> Document:
    """A policy document; ``version=None`` leaves the Version element out."""
    document: Document = {}
    if version is not None:
        document["Version"] = version
    document["Statement"] = list(statements)
    return document


def entry(name: str, value: str | Sequence[str], value_type: str | None = None) -> Document:
    """A ContextEntries item: a str is a ``string``, a list a ``stringList``, unless a type is given."""
    values = [value] if isinstance(value, str) else list(value)
    if value_type is None:
        value_type = "string" if isinstance(value, str) else "stringList"
    return {"ContextKeyName": name, "ContextKeyValues": values, "ContextKeyType": value_type}


def account_root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def account_of(arn: str) -> str:
    """The account of an IAM or STS ARN; ACCOUNT for anything else (a service principal, a typo)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else ACCOUNT


def request(
    action: str = "s3:GetObject",
    resource: str = OBJECT,
    *,
    caller: str = ALICE,
    resource_account: str | None = None,
    identity: Iterable[Document | str] = (),
    boundary: Iterable[Document | str] | None = None,
    session: Iterable[Document | str] | None = None,
    resource_policy: Document | str | None = None,
    scp_levels: Iterable[Iterable[Document | str]] | None = None,
    context: Iterable[Document] = (),
) -> Document:
    """A SimulateCustomPolicy-shaped request for one action on one resource.

    The resource belongs to the caller's account unless ``resource_account`` says otherwise.
    """
    owner = resource_account if resource_account is not None else account_of(caller)
    body: Document = {
        "CallerArn": caller,
        "ActionNames": [action],
        "ResourceArns": [resource],
        "ResourceOwner": account_root(owner),
        "PolicyInputList": list(identity),
        "ContextEntries": list(context),
    }
    if boundary is not None:
        body["PermissionsBoundaryPolicyInputList"] = list(boundary)
    if session is not None:
        body["SessionPolicyList"] = list(session)
    if resource_policy is not None:
        body["ResourcePolicy"] = resource_policy
    if scp_levels is not None:
        body["ServiceControlPolicyLevels"] = [list(level) for level in scp_levels]
    return body


def allow_when(condition: Mapping[str, Any], *context: Document) -> Document:
    """A request whose only policy allows s3:GetObject under ``condition``.

    The answer is ``allowed`` when the condition holds and ``implicitDeny`` when it does not.
    """
    return request(identity=[policy(allow("s3:GetObject", "*", condition=condition))], context=context)


def deny_when(condition: Mapping[str, Any], *context: Document) -> Document:
    """A request allowed outright but for a Deny of s3:GetObject under ``condition``.

    The answer is ``explicitDeny`` when the condition holds and ``allowed`` when it does not.
    """
    statements = (allow("*", "*"), deny("s3:GetObject", "*", condition=condition))
    return request(identity=[policy(*statements)], context=context)


def _json_list(value: str | Sequence[str]) -> str | list[str]:
    return value if isinstance(value, str) else list(value)
