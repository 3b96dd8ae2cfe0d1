"""Who may assert which context key: the trust model of Authorize, Explain and bundle tests.

The sidecar answers for AWS IAM, and IAM never lets a caller tell it who the caller is, what time
it is, or what the tags of a resource are: it knows. A sidecar that took such keys from the
request would let any caller talk it into an allow (``aws:username=john`` to act on John's user,
``ec2:ResourceTag/Environment=staging`` on a production instance, an old ``aws:CurrentTime``).
So keys fall into five groups (docs/security.md has the table):

* sidecar-owned: derived from the principal (``aws:username``, ``aws:PrincipalTag/*``, ...) or
  the clock (``aws:CurrentTime``, ``aws:EpochTime``): never taken from a caller;
* bundle-held: facts the bundle holds about the resource (its tags, for a resource the bundle
  lists tags for or an IAM user or role it defines; its account): never taken from a caller;
* caller-given: every other key AWS defines (``aws:SourceIp``, ``aws:RequestTag/*``, ``s3:prefix``,
  tags of resources the bundle does not list, ...) and every key of an application's own prefix
  (``docs:Classification``): the caller's to give;
* undefined: an ``aws:`` key AWS does not define, or a key under an AWS service's (or federation)
  prefix that AWS's reference does not define (``aws:usrname``, ``aws:PrincipalTagg/team``,
  ``s3:prefx``): AWS never sets such a key, so a policy condition on it never holds there. Were it
  the caller's to give, a policy's typo would be a door any caller could open;
* operator-trusted: keys of the owned or undefined groups that a deployment lets callers assert
  (``iamgate serve --trust-context-key``); then the caller's value wins.

A request asserting an owned or undefined key that is not trusted is refused (``RequestError``, so
INVALID_ARGUMENT), naming the entry, the key and why: refusing is louder, and safer, than
silently dropping the value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from iamgate.catalogue import Catalogue, aws_catalogue
from iamgate.engine.errors import RequestError
from iamgate.engine.identity import _UNPRINTABLE
from iamgate.engine.request import ContextValue

SEE = "(docs/security.md)"

PRINCIPAL_KEYS = frozenset(
    {
        "aws:username",
        "aws:userid",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:principalservicenameslist",
    }
)
"""Keys IAM derives from the authenticated principal."""
PRINCIPAL_PREFIXES = ("aws:principaltag/",)
TIME_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})
RESOURCE_ACCOUNT_KEYS = frozenset({"aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths"})
"""Facts of the resource's owning account: owned whenever the sidecar knows the owner."""
_RESOURCE_TAG = re.compile(r"[a-z0-9-]+:resourcetag/")
"""``aws:ResourceTag/K`` and the services' own ``ec2:ResourceTag/K``, ``iam:ResourceTag/K``, ..."""
DEFINED_KEYS_KEPT = 4096
DEFINED_KEY_TEXT_KEPT = 256
"""Longer key names are checked every time, never remembered: AWS keys and tag keys (128
characters) are shorter, so a caller's 60 KB names cannot fill the memos with megabytes."""
"""Caller-given key names remembered per revision as defined (then all are dropped): callers choose
key names (``aws:RequestTag/ANYTHING``), so the memo is bounded."""
_TRUSTED_KEY = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9_.:/+=@-]*\*?\Z")


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """Sidecar-owned keys a deployment trusts its callers to assert (``--trust-context-key``).

    ``aws:PrincipalTag/*`` (a trailing ``*``) trusts every key with that prefix. Compared
    case-insensitively, as IAM compares key names.
    """

    names: tuple[str, ...] = ()
    """As the operator wrote them, for GetStatus."""
    exact: frozenset[str] = field(default=frozenset(), repr=False)
    prefixes: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, keys: Iterable[str]) -> TrustedKeys:
        """Parse operator settings; ``ValueError`` names a malformed one."""
        names: list[str] = []
        exact: set[str] = set()
        prefixes: list[str] = []
        for key in keys:
            if not _TRUSTED_KEY.match(key):
                raise ValueError(
                    f"{key!r} is not a context key name such as aws:SourceIdentity or a prefix "
                    "such as aws:PrincipalTag/* (a single trailing * only)"
                )
            if key in names:
                continue
            names.append(key)
            if key.endswith("*"):
                prefixes.append(key[:-1].lower())
            else:
                exact.add(key.lower())
        return cls(tuple(names), frozenset(exact), tuple(prefixes))

    def trusts(self, lowered: str) -> bool:
        return lowered in self.exact or (bool(self.prefixes) and lowered.startswith(self.prefixes))

    def __bool__(self) -> bool:
        return bool(self.names)


NO_TRUSTED_KEYS = TrustedKeys()


@dataclass(frozen=True, slots=True)
class ResourceKnowledge:
    """What the sidecar knows about one request resource, for deciding who owns its keys."""

    tags_known: bool
    """The bundle holds the resource's tag set (a listed resource, or an IAM user or role it defines)."""
    owner_known: bool
    """The owning account is known (the ARN's account field, or the bundle's record)."""


_KNOWLEDGE = {
    (tags, owner): ResourceKnowledge(tags_known=tags, owner_known=owner)
    for tags in (False, True)
    for owner in (False, True)
}


def knowledge_of(*, tags_known: bool, owner_known: bool) -> ResourceKnowledge:
    """One of the four (immutable) values, shared: a new resource costs no dataclass built."""
    return _KNOWLEDGE[tags_known, owner_known]


def _plain_key(lowered: str) -> str:
    """``lowered`` without whitespace or invisible characters, compatibility-normalised (NFKC).

    A policy key with a stray space or a no-break space (``"aws:username "``, pasted from a page) is
    accepted with a warning; AWS never sets such a key, so the condition never holds there. Were the
    same spelling the caller's to give, a caller could satisfy it: it is owned like the key it spells.
    """
    return unicodedata.normalize("NFKC", _UNPRINTABLE.sub("", lowered)).lower()


def owned_reason(lowered: str, name: str, resource: ResourceKnowledge) -> str | None:
    """Why the sidecar owns ``name`` (lower-cased: ``lowered``) for this resource; ``None``: the caller's."""
    if not (lowered.isascii() and lowered.isprintable()) or " " in lowered:  # C-speed: the usual key
        lowered, name = _plain_key(lowered), repr(name)
    if lowered in PRINCIPAL_KEYS or lowered.startswith(PRINCIPAL_PREFIXES):
        hint = " (session tags go in session_tags)" if lowered.startswith(PRINCIPAL_PREFIXES) else ""
        return f"{name} is set by the sidecar from the principal{hint}; callers may not assert it {SEE}"
    if lowered in TIME_KEYS:
        return f"{name} is set by the sidecar from its clock; callers may not assert it {SEE}"
    if resource.tags_known and _RESOURCE_TAG.match(lowered):
        return (
            f"{name} is set by the sidecar from the tags the bundle holds for this resource; "
            f"callers may not assert it {SEE}"
        )
    if resource.owner_known and lowered in RESOURCE_ACCOUNT_KEYS:
        return (
            f"{name} is set by the sidecar from the resource's owning account; "
            f"callers may not assert it {SEE}"
        )
    return None


class DefinedKeys:
    """Which context key names exist, for one bundle revision: AWS's global keys, the keys AWS's
    service reference defines, and every key of a prefix AWS does not own (the application's).

    ``accepted`` remembers the defined names that no resource makes the sidecar's (not a
    ``ResourceTag`` nor a resource-account key): for those the whole trust check of a request's key
    is one set lookup. ``resource_keys`` remembers the defined ``ResourceTag`` and resource-account
    names, which are the sidecar's or the caller's depending on the resource: their check is then
    one dict lookup and one flag of the resource's ``ResourceKnowledge`` (before, every request
    asserting ``ec2:ResourceTag/K`` asked the catalogue again, ~11 µs of template matching). Both
    bounded by DEFINED_KEYS_KEPT. Shared by the threads of a revision; a race only costs
    duplicate work.
    """

    __slots__ = ("_catalogue", "accepted", "resource_keys")

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue
        """AWS's reference plus the bundle's services.json; ``None``: AWS's (read on first use)."""
        self.accepted: set[str] = set()
        self.resource_keys: dict[str, bool] = {}
        """Defined key name -> ``True`` for a ``ResourceTag`` key (the sidecar's when the resource's
        tags are known), ``False`` for a resource-account key (the sidecar's when its owner is)."""

    def undefined_reason(self, lowered: str, name: str) -> str | None:
        """Why a caller may not assert ``name`` (lower-cased: ``lowered``, not owned) because AWS
        never sets it; ``None`` when it is defined or not AWS's to define."""
        catalogue = self._catalogue if self._catalogue is not None else aws_catalogue()
        defined = catalogue.aws_defines(lowered)
        if not (lowered.isascii() and lowered.isprintable()) or " " in lowered:
            # A tag key may hold spaces and letters of any script (aws:RequestTag/Cost Center), but
            # AWS never sets a key whose name part holds invisible characters or full-width
            # letters: one that spells an AWS-prefixed key so is undefined. Never remembered.
            if defined is False:
                return _undefined(repr(name))
            if defined is None:
                plain = _plain_key(lowered)
                if plain != lowered and catalogue.aws_defines(plain) is not None:
                    return _undefined(repr(name))
            return None
        if defined is False:
            return _undefined(name)
        if len(lowered) > DEFINED_KEY_TEXT_KEPT:
            return None
        if _RESOURCE_TAG.match(lowered):
            self._remember_resource_key(lowered, True)
        elif lowered in RESOURCE_ACCOUNT_KEYS:
            self._remember_resource_key(lowered, False)
        else:
            accepted = self.accepted
            if len(accepted) >= DEFINED_KEYS_KEPT:
                accepted.clear()
            accepted.add(lowered)
        return None

    def _remember_resource_key(self, lowered: str, tag: bool) -> None:
        kept = self.resource_keys
        if len(kept) >= DEFINED_KEYS_KEPT:
            kept.clear()
        kept[lowered] = tag


def _undefined(name: str) -> str:
    return (
        f"{name} is not a condition key AWS defines, so AWS never sets it and a policy "
        f"condition on it never holds; callers may not assert it {SEE}"
    )


def refusal(
    lowered: str, name: str, resource: ResourceKnowledge, defined: DefinedKeys, trusted: TrustedKeys
) -> str | None:
    """Why a caller may not assert ``name`` (lower-cased: ``lowered``) for this resource, or ``None``."""
    if lowered in defined.accepted:
        return None
    tag = defined.resource_keys.get(lowered)
    if tag is not None and not (resource.tags_known if tag else resource.owner_known):
        # A defined resource key (plain ASCII: only those are remembered) that this resource does
        # not make the sidecar's: exactly what owned_reason and undefined_reason would find.
        return None
    reason = owned_reason(lowered, name, resource)
    if reason is None:
        reason = defined.undefined_reason(lowered, name)
    if reason is None or trusted.trusts(lowered):
        return None
    return reason


def caller_context(
    entries: Sequence[ContextValue],
    resource: ResourceKnowledge,
    trusted: TrustedKeys = NO_TRUSTED_KEYS,
    *,
    defined: DefinedKeys,
    field_name: str = "context",
) -> dict[str, ContextValue]:
    """The caller's context, by lower-cased key; ``RequestError`` for an owned or undefined key it
    may not assert.

    A key given twice keeps its first name and merges values (``build_context``'s rule).
    """
    context: dict[str, ContextValue] = {}
    accepted = defined.accepted
    for index, entry in enumerate(entries):
        lowered = entry.name.lower()
        if lowered not in accepted:  # the usual key: one set lookup
            reason = refusal(lowered, entry.name, resource, defined, trusted)
            if reason is not None:
                raise RequestError(f"{field_name}[{index}].key", reason)
        existing = context.get(lowered)
        if existing is None:
            context[lowered] = entry
        else:
            context[lowered] = ContextValue(existing.name, existing.values + entry.values, multi=True)
    return context


def caller_context_over(
    entries: Sequence[ContextValue],
    resource: ResourceKnowledge,
    trusted: TrustedKeys,
    defined: DefinedKeys,
    layers: Mapping[str, ContextValue],
) -> dict[str, ContextValue] | None:
    """The request context ``context.over_layers(caller_context(entries, ...), layers, ...)``
    gives, built in one pass, when every key is named once and none is one of ``layers``' (the
    usual request: the filled names are then all the layers'); ``None`` otherwise (ask
    ``caller_context`` and ``over_layers``). Raises ``RequestError`` exactly as ``caller_context``
    does for a key the caller may not assert: each key is checked by ``refusal`` in order, before
    it is put in, so the first refused key is the one ``caller_context`` names.

    ``layers`` is the filled layers' read-only proxy (``context.Layers``); its ``copy()`` is the
    request's own dict. Saves building the caller's dict and merging it into the copy.
    """
    merged = layers.copy()  # type: ignore[attr-defined]
    accepted = defined.accepted
    for index, entry in enumerate(entries):
        name = entry.name
        lowered = name.lower()
        if lowered not in accepted:  # the usual key: one set lookup
            reason = refusal(lowered, name, resource, defined, trusted)
            if reason is not None:
                raise RequestError(f"context[{index}].key", reason)
        if lowered in merged:  # repeated, or one of the layers' keys: the general merge
            return None
        merged[lowered] = entry
    return merged
