"""Condition blocks of every operator family, each with the request context that satisfies it and
the context that does not.

The generator writes these into statements; the request synthesizer then builds requests that make
a statement apply (``satisfy``) or fall through on its condition (``violate``), so the request
stream exercises conditions instead of stopping at action and resource.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from bench.catalog import ALLOWED_REGIONS, DEPARTMENTS, ENVIRONMENTS, REGIONS

Entry = tuple[str, tuple[str, ...], bool]
"""A context entry: key name, values, multi-valued."""

NOW = "2026-11-28T10:15:00Z"
NOW_EPOCH = "1795860900"
"""The request time every synthesized request carries (fixed, so runs are reproducible)."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a policy is written for: fills ``{team}``, ``{account}`` and ``{region}`` in patterns."""

    team: str
    account: str
    region: str
    department: str


@dataclass(frozen=True, slots=True)
class ConditionDraw:
    """One condition block and how to make it true or false in a request."""

    name: str
    block: dict[str, dict[str, list[str]]]
    satisfy: tuple[Entry, ...]
    violate: tuple[Entry, ...]
    absent_when_violated: tuple[str, ...] = ()
    """Keys to drop from the context to violate the block (the Null family)."""
    keys: tuple[str, ...] = ()
    cedar: bool = True
    """Whether cedar.py can translate the block into an equivalent Cedar expression."""


def _one(key: str, value: str) -> Entry:
    return (key, (value,), False)


def _region(rng: random.Random, _owner: Owner) -> ConditionDraw:
    wanted = rng.sample(ALLOWED_REGIONS, 2)
    other = next(r for r in REGIONS if r not in wanted)
    return ConditionDraw(
        "StringEquals",
        {"StringEquals": {"aws:RequestedRegion": wanted}},
        (_one("aws:RequestedRegion", rng.choice(wanted)),),
        (_one("aws:RequestedRegion", other),),
    )


def _resource_tag(rng: random.Random, _owner: Owner) -> ConditionDraw:
    environment = rng.choice(ENVIRONMENTS[:2])
    other = next(e for e in ENVIRONMENTS if e != environment)
    key = rng.choice(("aws:ResourceTag/Environment", "ec2:ResourceTag/Environment"))
    return ConditionDraw(
        "StringEquals", {"StringEquals": {key: [environment]}}, (_one(key, environment),), (_one(key, other),)
    )


def _department_not(_rng: random.Random, owner: Owner) -> ConditionDraw:
    other = next(d for d in DEPARTMENTS if d != owner.department)
    key = "aws:PrincipalTag/Department"
    return ConditionDraw(
        "StringNotEquals",
        {"StringNotEquals": {key: [owner.department]}},
        (_one(key, other),),
        (_one(key, owner.department),),
    )


def _home_prefix(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    # The IAM user guide's home-folder pattern: a policy variable resolved per request.
    return ConditionDraw(
        "StringLike+variable",
        {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}"]}},
        (_one("s3:prefix", "home/{username}/notes"),),
        (_one("s3:prefix", "home/someone-else/notes"),),
        cedar=False,
    )


def _instance_type(rng: random.Random, _owner: Owner) -> ConditionDraw:
    family = rng.choice(("t3", "t4g", "m6i"))
    return ConditionDraw(
        "StringLike",
        {"StringLike": {"ec2:InstanceType": [f"{family}.*"]}},
        (_one("ec2:InstanceType", f"{family}.large"),),
        (_one("ec2:InstanceType", "p4d.24xlarge"),),
    )


def _team_ignore_case(_rng: random.Random, owner: Owner) -> ConditionDraw:
    key = "aws:PrincipalTag/Team"
    return ConditionDraw(
        "StringEqualsIgnoreCase",
        {"StringEqualsIgnoreCase": {key: [owner.team.upper()]}},
        (_one(key, owner.team),),
        (_one(key, "nobody"),),
        cedar=False,
    )


def _max_keys(rng: random.Random, _owner: Owner) -> ConditionDraw:
    bound = rng.choice((100, 500, 1000))
    return ConditionDraw(
        "NumericLessThanEquals",
        {"NumericLessThanEquals": {"s3:max-keys": [str(bound)]}},
        (_one("s3:max-keys", str(bound // 2)),),
        (_one("s3:max-keys", str(bound * 2)),),
    )


def _mfa_age(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    return ConditionDraw(
        "NumericLessThan",
        {"NumericLessThan": {"aws:MultiFactorAuthAge": ["3600"]}},
        (_one("aws:MultiFactorAuthAge", "600"),),
        (_one("aws:MultiFactorAuthAge", "86400"),),
    )


def _date_window(rng: random.Random, _owner: Owner) -> ConditionDraw:
    start = f"{rng.choice((2024, 2025))}-01-01T00:00:00Z"
    end = f"{rng.choice((2027, 2028))}-12-31T23:59:59Z"
    return ConditionDraw(
        "DateGreaterThan+DateLessThan",
        {"DateGreaterThan": {"aws:CurrentTime": [start]}, "DateLessThan": {"aws:CurrentTime": [end]}},
        (_one("aws:CurrentTime", NOW),),
        (_one("aws:CurrentTime", "2031-06-01T12:00:00Z"),),
    )


def _epoch_deadline(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    return ConditionDraw(
        "DateLessThan(epoch)",
        {"DateLessThan": {"aws:EpochTime": ["1893456000"]}},
        (_one("aws:EpochTime", NOW_EPOCH),),
        (_one("aws:EpochTime", "1924992000"),),
    )


def _mfa_present(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    key = "aws:MultiFactorAuthPresent"
    return ConditionDraw("Bool", {"Bool": {key: ["true"]}}, (_one(key, "true"),), (_one(key, "false"),))


def _insecure_transport(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    key = "aws:SecureTransport"
    return ConditionDraw("Bool", {"Bool": {key: ["false"]}}, (_one(key, "false"),), (_one(key, "true"),))


def _source_ip(rng: random.Random, _owner: Owner) -> ConditionDraw:
    networks = ["10.0.0.0/8", rng.choice(("192.0.2.0/24", "198.51.100.0/24"))]
    return ConditionDraw(
        "IpAddress",
        {"IpAddress": {"aws:SourceIp": networks}},
        (_one("aws:SourceIp", f"10.{rng.randrange(256)}.{rng.randrange(256)}.7"),),
        (_one("aws:SourceIp", "203.0.113.50"),),
    )


def _outside_network(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    return ConditionDraw(
        "NotIpAddress",
        {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "172.16.0.0/12"]}},
        (_one("aws:SourceIp", "203.0.113.50"),),
        (_one("aws:SourceIp", "10.1.2.3"),),
    )


def _source_arn(_rng: random.Random, owner: Owner) -> ConditionDraw:
    key = "aws:SourceArn"
    return ConditionDraw(
        "ArnLike",
        {"ArnLike": {key: [f"arn:aws:sns:*:{owner.account}:{owner.team}-*"]}},
        (_one(key, f"arn:aws:sns:{owner.region}:{owner.account}:{owner.team}-alerts"),),
        (_one(key, f"arn:aws:sns:{owner.region}:000000000000:{owner.team}-alerts"),),
    )


def _principal_arn(_rng: random.Random, owner: Owner) -> ConditionDraw:
    key = "aws:PrincipalArn"
    pattern = f"arn:aws:iam::{owner.account}:role/{owner.team}-*"
    return ConditionDraw(
        "ArnNotLike",
        {"ArnNotLike": {key: [pattern]}},
        (_one(key, f"arn:aws:iam::{owner.account}:user/outsider"),),
        (_one(key, f"arn:aws:iam::{owner.account}:role/{owner.team}-deployer"),),
    )


def _token_present(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    key = "aws:TokenIssueTime"
    return ConditionDraw(
        "Null",
        {"Null": {key: ["false"]}},
        (_one(key, "2026-11-28T09:00:00Z"),),
        (),
        absent_when_violated=(key,),
    )


def _project_if_exists(_rng: random.Random, owner: Owner) -> ConditionDraw:
    key = "aws:RequestTag/Project"
    return ConditionDraw(
        "StringEqualsIfExists",
        {"StringEqualsIfExists": {key: [owner.team]}},
        (_one(key, owner.team),),
        (_one(key, "not-" + owner.team),),
    )


def _tag_keys_any(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    key = "aws:TagKeys"
    return ConditionDraw(
        "ForAnyValue:StringEquals",
        {"ForAnyValue:StringEquals": {key: ["CostCenter", "Project"]}},
        ((key, ("Name", "Project"), True),),
        ((key, ("Name", "Owner"), True),),
    )


def _tag_keys_all(_rng: random.Random, _owner: Owner) -> ConditionDraw:
    key = "aws:TagKeys"
    return ConditionDraw(
        "ForAllValues:StringEquals",
        {"ForAllValues:StringEquals": {key: ["CostCenter", "Project", "Name"]}},
        ((key, ("Name", "Project"), True),),
        ((key, ("Name", "Secret"), True),),
    )


Template = Callable[[random.Random, Owner], ConditionDraw]

ALLOW_TEMPLATES: tuple[Template, ...] = (
    _region,
    _resource_tag,
    _home_prefix,
    _instance_type,
    _team_ignore_case,
    _max_keys,
    _mfa_age,
    _date_window,
    _epoch_deadline,
    _mfa_present,
    _source_ip,
    _source_arn,
    _token_present,
    _project_if_exists,
    _tag_keys_any,
    _tag_keys_all,
)
DENY_TEMPLATES: tuple[Template, ...] = (
    _resource_tag,
    _department_not,
    _insecure_transport,
    _outside_network,
    _principal_arn,
    _region,
    _tag_keys_any,
)


def _keys(draw: ConditionDraw) -> tuple[str, ...]:
    return tuple(key.lower() for operator in draw.block.values() for key in operator)


def draw_conditions(
    rng: random.Random, owner: Owner, *, deny: bool, count: int, cedar_only: bool = False
) -> tuple[ConditionDraw, ...]:
    """``count`` condition blocks on distinct keys, so one request can satisfy them all at once."""
    templates = DENY_TEMPLATES if deny else ALLOW_TEMPLATES
    chosen: list[ConditionDraw] = []
    used: set[str] = set()
    for _ in range(count * 4):
        if len(chosen) == count:
            break
        draw = rng.choice(templates)(rng, owner)
        keys = _keys(draw)
        if (cedar_only and not draw.cedar) or used.intersection(keys):
            continue
        used.update(keys)
        chosen.append(
            ConditionDraw(
                draw.name, draw.block, draw.satisfy, draw.violate, draw.absent_when_violated, keys, draw.cedar
            )
        )
    return tuple(chosen)


def merge_blocks(draws: tuple[ConditionDraw, ...]) -> dict[str, dict[str, list[str]]]:
    """The statement's Condition element: the blocks of ``draws`` (their keys are distinct)."""
    merged: dict[str, dict[str, list[str]]] = {}
    for draw in draws:
        for operator, keys in draw.block.items():
            merged.setdefault(operator, {}).update(keys)
    return merged
