"""Matching the Principal and NotPrincipal elements of resource-based policies.

The way a statement names the caller matters beyond yes/no: AWS lets a resource-based policy that
names a user or a role session directly grant access on its own, while one that names the role or
the whole account stays subject to the caller's permissions boundary and session policy. So a match
says *how* it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from iamgate.engine.request import Principal, PrincipalKind
from iamgate.policy.model import PrincipalSpec

_ACCOUNT_ID = re.compile(r"\d{12}")


class PrincipalMatch(IntEnum):
    """How a Principal element named the caller (None when it did not), weakest first.

    ``ACCOUNT`` delegates to the account: the caller still needs an identity-based allow.
    ``ROLE`` (the role ARN, for the role or one of its sessions) grants on its own but stays
    limited by a permissions boundary. ``DIRECT`` (the caller's own user, session, federated
    or service name) and ``EVERYONE`` grant on their own, past an implicit deny of a boundary.
    """

    ACCOUNT = 1
    ROLE = 2
    EVERYONE = 3
    DIRECT = 4


# Enum members bound once, as in ``evaluator``: a module global reads ~10x faster than a member
# off its class on Python 3.11, and matching runs per resource-policy statement per request.
_ACCOUNT = PrincipalMatch.ACCOUNT
_ROLE = PrincipalMatch.ROLE
_EVERYONE = PrincipalMatch.EVERYONE
_DIRECT = PrincipalMatch.DIRECT
_ROLE_KIND = PrincipalKind.ROLE
_ASSUMED_ROLE = PrincipalKind.ASSUMED_ROLE
_SERVICE = PrincipalKind.SERVICE
_ANONYMOUS = PrincipalKind.ANONYMOUS


def _named_account(value: str) -> tuple[str | None, str] | None:
    """(partition, account) an AWS Principal entry names as a whole account, or ``None``.

    ``arn:PARTITION:iam::ACCOUNT:root`` names the account in that partition only: account ids are
    per partition (``arn:aws-cn:iam::111122223333:root`` is not ``arn:aws:...``'s account). A bare
    account id carries no partition (``None``): AWS reads it in the policy's own partition.
    """
    # The length and the ``:root`` tail first: most entries are neither (a user or role ARN), and
    # each test is exact (``\d{12}`` matches twelve characters; six parts ending "root" end ":root").
    if len(value) == 12 and _ACCOUNT_ID.fullmatch(value):
        return None, value
    if not value.endswith(":root"):
        return None
    parts = value.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root":
        return parts[1], parts[4]
    return None


def _names_account(named: tuple[str | None, str], principal: Principal) -> bool:
    partition, account = named
    return principal.account == account and (partition is None or partition == principal.partition)


def _role_identity(arn: str) -> tuple[str, str, str] | None:
    """(partition, account, role name) of a role ARN, path dropped: session ARNs carry no path."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[1], parts[4], parts[5].rsplit("/", 1)[-1]


def match_entry(kind: str, value: str, principal: Principal) -> PrincipalMatch | None:
    if kind == "AWS":
        if value == "*":
            return _EVERYONE
        whole = _named_account(value)
        if whole is not None:  # ``_names_account``, inlined (trust policies name accounts)
            partition, account = whole
            if principal.account != account:
                return None
            return _ACCOUNT if partition is None or partition == principal.partition else None
        if value == principal.arn:
            # A role's own ARN names the role, not a session: it stays capped by a boundary.
            return _ROLE if principal.kind is _ROLE_KIND else _DIRECT
        if principal.kind is _ASSUMED_ROLE:
            # A session ARN carries the role's name but not its path: match the role by name,
            # in the session's own partition and account.
            named = _role_identity(value)
            if (
                named is not None
                and named[0] == principal.partition
                and named[1] == principal.account
                and named[2].lower() == principal.name.lower()
            ):
                return _ROLE
        return None
    if kind == "Service":
        if principal.kind is _SERVICE and value == principal.arn:
            return _DIRECT
        return None
    if value == principal.arn:  # Federated and CanonicalUser name the caller exactly
        return _DIRECT
    return None


INDEXED_ENTRIES = 8
"""A Principal element with more entries than this is matched through a ``PrincipalIndex``."""


@dataclass(frozen=True, slots=True)
class PrincipalIndex:
    """A long Principal element as sets, so matching a caller costs the same whatever its length.

    A trust policy may name hundreds of accounts; session tags are checked by trying each of them
    against the whole policy, which entry by entry took (entries)^2 matches per request.
    ``match_entry``'s rules, one set per rule.
    """

    everyone: bool
    accounts: frozenset[tuple[str | None, str]]
    """(partition, account) of account entries; partition ``None`` for a bare account id."""
    arns: frozenset[str]
    """AWS entries that are not accounts: a caller's own ARN."""
    roles: frozenset[tuple[str, str, str]]
    """(partition, account, lower-cased role name) of role ARNs among ``arns``, for assumed-role
    sessions."""
    services: frozenset[str]
    exact: frozenset[str]
    """Federated and CanonicalUser entries."""

    @classmethod
    def of(cls, spec: PrincipalSpec) -> PrincipalIndex:
        aws = [value for kind, value in spec.entries if kind == "AWS" and value != "*"]
        accounts = {account for account in map(_named_account, aws) if account is not None}
        arns = frozenset(value for value in aws if _named_account(value) is None)
        roles = {
            (named[0], named[1], named[2].lower()) for named in map(_role_identity, arns) if named is not None
        }
        return cls(
            everyone=("AWS", "*") in spec.entries,
            accounts=frozenset(accounts),
            arns=arns,
            roles=frozenset(roles),
            services=frozenset(value for kind, value in spec.entries if kind == "Service"),
            exact=frozenset(value for kind, value in spec.entries if kind not in ("AWS", "Service")),
        )

    def match(self, principal: Principal) -> PrincipalMatch | None:
        """The strongest match, strongest first (``PrincipalMatch``'s order)."""
        named = principal.arn in self.arns
        if (
            principal.arn in self.exact
            or (principal.kind is _SERVICE and principal.arn in self.services)
            or (named and principal.kind is not _ROLE_KIND)
        ):
            return _DIRECT
        if self.everyone:
            return _EVERYONE
        # ``principal.partition`` splits the ARN: read only where a set could hold the answer.
        roles = self.roles
        if named or (
            roles
            and principal.kind is _ASSUMED_ROLE
            and (principal.partition, principal.account, principal.name.lower()) in roles
        ):
            return _ROLE
        accounts = self.accounts
        account = principal.account
        if (
            accounts
            and account is not None
            and ((None, account) in accounts or (principal.partition, account) in accounts)
        ):
            return _ACCOUNT
        return None


def match_principal(
    spec: PrincipalSpec, principal: Principal, index: PrincipalIndex | None = None
) -> PrincipalMatch | None:
    """The strongest way ``spec`` names ``principal``, or ``None`` (``index``: ``spec``'s, if built)."""
    if spec.everyone and not spec.entries:
        return _EVERYONE
    if principal.kind is _ANONYMOUS:
        return _EVERYONE if spec.everyone else None
    if index is not None:
        return index.match(principal)
    entries = spec.entries
    if len(entries) == 1:  # the usual element: one entry, its match is the best
        kind, value = entries[0]
        return match_entry(kind, value, principal)
    best: PrincipalMatch | None = None
    for kind, value in entries:
        found = match_entry(kind, value, principal)
        if found is not None and (best is None or found > best):
            best = found
    return best


def _identities(principal: Principal) -> list[tuple[str, str]]:
    """Every identity a request carries, each of which a NotPrincipal must list to spare it.

    AWS evaluates a caller as its own ARN *and* its account: a Deny with NotPrincipal that lists
    a user but not the user's account still denies the user, and one that lists the account
    root alone spares only the root user, not everyone in the account.
    """
    kind = principal.kind
    if kind is PrincipalKind.SERVICE:
        return [("Service", principal.arn)]
    if kind is PrincipalKind.ANONYMOUS:
        return [("AWS", "*")]
    account = principal.account or ""
    if kind is PrincipalKind.ROOT:
        return [("account", account)]
    if kind is PrincipalKind.ASSUMED_ROLE:
        # AWS evaluates a session as the session, its role and the role's account (docs'
        # NotPrincipal role example): a NotPrincipal that omits the role still denies the session.
        return [("arn", principal.arn), ("role", account), ("account", account)]
    return [("arn", principal.arn), ("account", account)]


def not_principal_spares(spec: PrincipalSpec, principal: Principal) -> bool:
    """Whether a NotPrincipal element lists every identity of the caller (so it does not apply)."""
    if spec.everyone:
        return True
    named_accounts = [
        named for kind, value in spec.entries if kind == "AWS" and (named := _named_account(value))
    ]
    named = {value for _kind, value in spec.entries}
    for kind, value in _identities(principal):
        if kind == "account":
            if not any(_names_account(account, principal) for account in named_accounts):
                return False
        elif kind == "role":
            role = (principal.partition, value, principal.name.lower())
            if not any(
                entry_kind == "AWS"
                and (named_role := _role_identity(entry)) is not None
                and (named_role[0], named_role[1], named_role[2].lower()) == role
                for entry_kind, entry in spec.entries
            ):
                return False
        elif value not in named:
            return False
    return True
