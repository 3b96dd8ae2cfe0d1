"""Session tags as AWS does them: passed explicitly, for role sessions, if the trust policy allows.

In AWS a session gets tags only when ``sts:AssumeRole`` passes them and the role's trust policy
allows ``sts:TagSession`` with those tags (its ``aws:RequestTag/K`` and ``aws:TagKeys``
conditions); the session's tags then become its ``aws:PrincipalTag/K`` keys, overriding the
role's tag of the same key. The sidecar never sees the AssumeRole call, so a request carries the
session's tags in a field of its own and the sidecar checks that the role's trust policy could
have let them through.

The rule (docs/security.md): the tags are accepted when the trust policy, evaluated by the one
evaluator for ``sts:TagSession`` on the role, allows it for some principal it names. The assumer
is not known to the sidecar, so each principal an Allow statement names is tried in turn (an
account as its root, a bundle user or role with its own keys); conditions on anything else the
AssumeRole call carried (MFA, source identity, its time) find their keys missing and, fail
closed, do not hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType

from iamgate.engine.compiled import CompiledPolicy
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue, Principal, PrincipalKind

MAX_SESSION_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
_TAG_PUNCTUATION = frozenset(" _.:/=+-@")

SessionTags = tuple[tuple[str, str], ...]


def _tag_text_ok(text: str) -> bool:
    """AWS's tag character set: letters, digits, spaces and ``_ . : / = + - @``."""
    return all(char.isalnum() or char in _TAG_PUNCTUATION for char in text)


def check_session_tags(tags: Sequence[tuple[str, str]], field: str = "session_tags") -> None:
    """AWS's limits on session tags; ``RequestError`` naming the tag at fault."""
    if len(tags) > MAX_SESSION_TAGS:
        raise RequestError(field, f"{len(tags)} session tags, at most {MAX_SESSION_TAGS} (AWS's limit)")
    seen: set[str] = set()
    for index, (key, value) in enumerate(tags):
        where = f"{field}[{index}]"
        if not key or len(key) > MAX_KEY_LENGTH or not _tag_text_ok(key):
            raise RequestError(
                f"{where}.key",
                f"{key!r} is not a tag key (1 to {MAX_KEY_LENGTH} letters, digits, spaces and _.:/=+-@)",
            )
        if key.lower().startswith("aws:"):
            raise RequestError(f"{where}.key", f"{key!r}: the aws: prefix is reserved for AWS")
        if len(value) > MAX_VALUE_LENGTH or not _tag_text_ok(value):
            raise RequestError(
                f"{where}.value",
                f"{value!r} is not a tag value (up to {MAX_VALUE_LENGTH} letters, digits, spaces, _.:/=+-@)",
            )
        if key.lower() in seen:
            raise RequestError(f"{where}.key", f"{key!r} is given twice (tag keys are case-insensitive)")
        seen.add(key.lower())


def principal_tag_entries(tags: SessionTags) -> dict[str, ContextValue]:
    """The session's ``aws:PrincipalTag/K`` keys, by lower-cased name."""
    return {
        f"aws:principaltag/{key.lower()}": ContextValue(f"aws:PrincipalTag/{key}", (value,))
        for key, value in tags
    }


def tag_session_context(tags: SessionTags) -> dict[str, ContextValue]:
    """What ``sts:TagSession`` is asked with: ``aws:RequestTag/K`` for each tag and ``aws:TagKeys``."""
    context = {
        f"aws:requesttag/{key.lower()}": ContextValue(f"aws:RequestTag/{key}", (value,))
        for key, value in tags
    }
    context["aws:tagkeys"] = ContextValue("aws:TagKeys", tuple(key for key, _ in tags), multi=True)
    return context


def named_principals(trust: CompiledPolicy) -> Iterator[Principal]:
    """Every principal an Allow statement of a trust policy names, as a caller the evaluator can match."""
    for statement in trust.statements:
        spec = statement.principal
        if statement.is_deny or statement.not_principal or spec is None:
            continue
        if spec.everyone:
            yield Principal(arn="*", kind=PrincipalKind.ANONYMOUS, account=None, name="anonymous")
        for kind, value in spec.entries:
            principal = _named(kind, value)
            if principal is not None:
                yield principal


def _named(kind: str, value: str) -> Principal | None:
    if kind == "AWS":
        if value == "*":
            return Principal(arn="*", kind=PrincipalKind.ANONYMOUS, account=None, name="anonymous")
        if value.isdigit() and len(value) == 12:
            value = f"arn:aws:iam::{value}:root"
        try:
            return Principal.parse(value)
        except RequestError:
            return None
    if kind in ("Service", "Federated"):
        # An identity provider is named exactly, like a service, and holds no identity policies.
        return Principal(arn=value, kind=PrincipalKind.SERVICE, account=None, name=value)
    return None


def root_entries(principal: Principal) -> Mapping[str, ContextValue]:
    """The keys IAM gives an account's root, for a trust policy naming the account."""
    return MappingProxyType(
        {
            "aws:principalarn": ContextValue("aws:PrincipalArn", (principal.arn,)),
            "aws:principalaccount": ContextValue("aws:PrincipalAccount", (principal.account or "",)),
            "aws:principaltype": ContextValue("aws:PrincipalType", ("Account",)),
            "aws:principalisawsservice": ContextValue("aws:PrincipalIsAWSService", ("false",)),
        }
    )
