"""One spelling per resource and action: what a request names is checked and canonicalised once.

The engine compares an ARN's partition, service and region case-insensitively, so
``arn:aws:EC2:US-EAST-1:...`` and ``arn:aws:ec2:us-east-1:...`` are the same resource to every
policy statement. Facts the bundle holds about a resource (its tags, its resource policy, its
owner) must then be found under either spelling too, or a Deny that depends on them is skipped.
``canonical_resource`` gives the one spelling both the bundle's maps and requests use: prefix
parts lower-cased, the resource part untouched (it is case-sensitive in IAM).

Anything that is not plainly an ARN is refused rather than guessed at: whitespace or control
characters anywhere, fewer than six parts, wildcards in the prefix parts. A refused request is
never an allow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from iamgate.engine.errors import RequestError

_PREFIX_PART = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_REGION = re.compile(r"(?:[a-z0-9][a-z0-9-]*)?\Z")
_ACCOUNT = re.compile(r"(?:[0-9]{12}|aws|[A-Za-z0-9][A-Za-z0-9_-]*)?\Z")
_ACTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_UNPRINTABLE = re.compile(
    r"[\s\x00-\x1f\x7f\u0085\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f\u2060\u3000\ufeff]"
)

S3_TYPED_RESOURCES = frozenset(
    {"accesspoint", "job", "storage-lens", "storage-lens-group", "access-grants", "async-request"}
)
"""S3 resource types whose ARNs carry a region and/or account (the rest are buckets and objects)."""


def canonical_resource(text: str, *, field: str = "resource") -> str:
    """The canonical spelling of a request's resource ARN (or ``*``); ``RequestError`` if malformed."""
    if text == "*":
        return text
    if not text:
        raise RequestError(field, "must not be empty (use * for actions without a resource type)")
    bad = _UNPRINTABLE.search(text)
    if bad is not None:
        raise RequestError(
            field, f"{text!r} contains whitespace or a control character at offset {bad.start()}"
        )
    pieces = text.split(":", 5)
    if len(pieces) != 6 or pieces[0] != "arn":
        raise RequestError(
            field, f"{text!r} is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) or *"
        )
    _, partition, service, region, account, resource = pieces
    partition, service, region = partition.lower(), service.lower(), region.lower()
    if not _PREFIX_PART.match(partition):
        raise RequestError(field, f"{text!r}: partition {pieces[1]!r} is not a partition name")
    if not _PREFIX_PART.match(service):
        raise RequestError(field, f"{text!r}: service {pieces[2]!r} is not a service name")
    if not _REGION.match(region):
        raise RequestError(field, f"{text!r}: region {pieces[3]!r} is not a region name")
    if not _ACCOUNT.match(account):
        raise RequestError(field, f"{text!r}: account {account!r} is not an account id")
    if not resource:
        raise RequestError(field, f"{text!r}: the resource part is empty")
    if service == "s3" and (region or account) and resource.split("/", 1)[0] not in S3_TYPED_RESOURCES:
        # Buckets and objects have no region or account: such a spelling would skip the bucket policy.
        raise RequestError(
            field, f"{text!r}: an S3 bucket or object ARN has no region or account (arn:aws:s3:::BUCKET/KEY)"
        )
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def canonical_resource_or_none(text: str) -> str | None:
    """``canonical_resource`` for text a bundle holds: ``None`` where a request could never name it."""
    try:
        return canonical_resource(text)
    except RequestError:
        return None


def check_action(text: str, *, field: str = "action") -> str:
    """A request's action must be one concrete ``service:Action`` name: no wildcard, no whitespace.

    A pattern such as ``ec2:Terminate*`` would otherwise be compared literally against statements
    and miss the Deny written for ``ec2:TerminateInstances``.
    """
    if not text:
        raise RequestError(field, "must not be empty")
    if _ACTION.match(text) is None:
        if "*" in text or "?" in text:
            why = "wildcards are not allowed in a request; name one action"
        elif _UNPRINTABLE.search(text):
            why = "whitespace and control characters are not allowed"
        else:
            why = "is not an action such as s3:GetObject"
        raise RequestError(field, f"{text!r}: {why}")
    return text


IAM_NAMED_TYPES = frozenset({"user", "role", "group", "policy"})
"""IAM resource types whose names are unique case-insensitively within an account."""

IamNameKey = tuple[str, str, str, str]
"""(partition, account, resource type, lower-cased name) of an IAM user, role, group or policy."""


def iam_name_key(arn: str) -> IamNameKey | None:
    """The key an IAM user/role/group/policy ARN is known by whatever its name's case or path.

    IAM names are unique case-insensitively within an account and AWS evaluates a request on the
    entity's real ARN (path included), so ``user/John-Developer`` is ``user/john-developer``.
    """
    pieces = arn.split(":", 5)
    if len(pieces) != 6 or pieces[2] != "iam":
        return None
    kind, sep, rest = pieces[5].partition("/")
    name = rest.rsplit("/", 1)[-1]
    if not sep or not name or kind not in IAM_NAMED_TYPES:
        return None
    return pieces[1], pieces[4], kind, name.lower()


def iam_name_index(arns: Iterable[str]) -> Mapping[IamNameKey, str]:
    """Each bundle IAM entity's key -> its real ARN in canonical spelling (``iam_name_key``)."""
    index: dict[IamNameKey, str] = {}
    for arn in arns:
        canonical = canonical_resource_or_none(arn)
        key = iam_name_key(canonical) if canonical is not None else None
        if key is not None:
            index.setdefault(key, canonical)
    return MappingProxyType(index)
