"""Shared builders, reference implementations and hypothesis strategies for the engine tests.

The matcher, index, cache and explain tests all need the same things: compiled policies built from
plain JSON, requests built from plain strings, an obviously-correct reference glob matcher to judge
the linear one against, a way to evaluate with the statement index bypassed, and generated policy
documents that mix literal and wildcard actions, exact and prefix ARNs, NotAction, NotResource and
policy variables. Keeping them here keeps each test down to the behaviour it checks.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from hypothesis import strategies as st

from iamgate.engine import (
    CompiledPolicy,
    CompiledStatement,
    ContextValue,
    PolicyKind,
    PolicySet,
    Principal,
    Request,
    build_context,
    compile_policy,
)
from iamgate.engine.glob import ANY_CHAR, STAR
from iamgate.policy import parse_policy

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-role"
APP_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/worker"
OUTSIDER = f"arn:aws:iam::{OTHER_ACCOUNT}:user/carol"
CALLERS = (ALICE, BOB, APP_ROLE, APP_SESSION, OUTSIDER)

Document = dict[str, Any]
ContextSpec = Mapping[str, str | Sequence[str] | None]


# --------------------------------------------------------------------------------------------------
# Building compiled policies and requests from plain data


def document(statements: Sequence[Document] | Document, *, version: str | None = "2012-10-17") -> Document:
    body: Document = {"Statement": list(statements) if isinstance(statements, Sequence) else statements}
    if version is not None:
        body["Version"] = version
    return body


def compile_document(
    statements: Sequence[Document] | Document,
    *,
    policy_id: str = "policy",
    kind: PolicyKind = PolicyKind.IDENTITY,
    version: str | None = "2012-10-17",
) -> CompiledPolicy:
    """Parse and compile one policy made of ``statements``."""
    return compile_policy(parse_policy(document(statements, version=version)), policy_id=policy_id, kind=kind)


def context(entries: ContextSpec | None = None) -> dict[str, ContextValue]:
    """A request context: a string is a single value, a list a multivalued key, ``None`` no values."""
    values = []
    for name, value in (entries or {}).items():
        if value is None:
            values.append(ContextValue(name, ()))
        elif isinstance(value, str):
            values.append(ContextValue(name, (value,)))
        else:
            values.append(ContextValue(name, tuple(value), multi=True))
    return build_context(values)


def make_request(
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::bucket/key",
    entries: ContextSpec | None = None,
    *,
    caller: str = ALICE,
    resource_account: str | None = None,
) -> Request:
    return Request(Principal.parse(caller), action, resource, context(entries), resource_account)


@dataclasses.dataclass(frozen=True)
class FullScan:
    """An "index" that offers every statement: evaluation with indexing bypassed."""

    statements: tuple[CompiledStatement, ...]

    def candidates(self, action: str, resource: str | None = None) -> Sequence[CompiledStatement]:
        return self.statements

    def plan(self, action: str) -> ScanPlan:
        """The statements whose own Action/NotAction test matches ``action``, without an index."""
        statements = tuple(s for s in self.statements if s.matches_action(action))
        return ScanPlan(statements, any(s.is_deny for s in statements))


@dataclasses.dataclass(frozen=True)
class ScanPlan:
    """What the evaluator reads of an ``ActionPlan``: no resource index (``exact`` None)."""

    statements: tuple[CompiledStatement, ...]
    has_deny: bool
    exact: None = None
    level_groups: dict = dataclasses.field(default_factory=dict)
    own_groups: dict = dataclasses.field(default_factory=dict)
    """A fresh plan per question: what the evaluator keeps here is never asked for again."""


def unindexed(policy: CompiledPolicy) -> CompiledPolicy:
    """The same compiled policy, but every lookup scans all of its statements in order."""
    return dataclasses.replace(policy, index=FullScan(policy.statements))


def unindexed_set(policy_set: PolicySet) -> PolicySet:
    return PolicySet(
        identity=tuple(unindexed(p) for p in policy_set.identity),
        resource=unindexed(policy_set.resource) if policy_set.resource is not None else None,
        boundary=None if policy_set.boundary is None else tuple(unindexed(p) for p in policy_set.boundary),
        session=None if policy_set.session is None else tuple(unindexed(p) for p in policy_set.session),
        scp_levels=tuple(tuple(unindexed(p) for p in level) for level in policy_set.scp_levels),
    )


def all_policies(policy_set: PolicySet) -> list[CompiledPolicy]:
    """Every policy of a set, in the order the evaluator considers (and traces) them."""
    policies = [p for level in policy_set.scp_levels for p in level]
    if policy_set.resource is not None:
        policies.append(policy_set.resource)
    policies.extend(policy_set.identity)
    policies.extend(policy_set.boundary or ())
    policies.extend(policy_set.session or ())
    return policies


# --------------------------------------------------------------------------------------------------
# The reference glob matcher: obviously correct, exponential-free thanks to memoization, slow.


def pattern_tokens(pattern: str) -> list[object]:
    """A pattern's text as tokens: ``*`` -> STAR, ``?`` -> ANY_CHAR, anything else itself."""
    return [STAR if c == "*" else ANY_CHAR if c == "?" else c for c in pattern]


def reference_match(tokens: Sequence[object], value: str, *, ignore_case: bool = False) -> bool:
    """Dynamic-programming glob match over tokens (STAR, ANY_CHAR or one literal character).

    A literal ``"*"`` or ``"?"`` token is just that character. ``ignore_case`` folds both sides with
    ``str.lower`` (meant for ASCII inputs).
    """
    marks = tuple("star" if t is STAR else "any" if t is ANY_CHAR else "lit" for t in tokens)
    if ignore_case:
        tokens = [t.lower() if isinstance(t, str) else t for t in tokens]
        value = value.lower()
    tokens = tuple(tokens)

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(tokens):
            return j == len(value)
        mark = marks[i]
        if mark == "star":
            return go(i + 1, j) or (j < len(value) and go(i, j + 1))
        if j == len(value):
            return False
        return (mark == "any" or tokens[i] == value[j]) and go(i + 1, j + 1)

    return go(0, 0)


def reference_glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return reference_match(pattern_tokens(pattern), value, ignore_case=ignore_case)


def glob_texts(alphabet: str, *, max_size: int = 10) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=max_size)


# --------------------------------------------------------------------------------------------------
# Generated policies for the index and explain tests

ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:GetObjectTagging",
    "ec2:RunInstances",
    "ec2:DescribeInstances",
    "sqs:SendMessage",
    "iam:CreateUser",
)
REQUEST_ACTIONS = (*ACTIONS, "S3:GETOBJECT", "ec2:describeinstances", "kms:Decrypt")
ACTION_PATTERNS = (
    *ACTIONS,
    "S3:getobject",
    "s3:*",
    "s3:Get*",
    "s3:?utObject",
    "s3:*Tagging",
    "ec2:Describe*",
    "EC2:*",
    "sqs:*",
    "iam:*User",
    "*",
    "*:GetObject",
)

RESOURCES = (
    *(f"arn:aws:s3:::bucket-{b}/key-{k}" for b in range(4) for k in range(2)),
    "arn:aws:s3:::bucket-1/dir/key-0",
    "arn:aws:s3:::bucket-1",
    "arn:aws:s3:::bucket-10/key-0",
    "arn:AWS:S3:::bucket-2/key-1",
    "arn:aws:s3:::Bucket-2/key-1",
    "arn:aws:s3:::home/alice/notes",
    "arn:aws:s3:::home/bob/notes",
    "arn:aws:s3:::home/guest/notes",
    f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0",
    f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1",
    f"arn:aws:ec2:US-EAST-1:{ACCOUNT}:instance/i-1",
    f"arn:aws:ec2:eu-west-1:{OTHER_ACCOUNT}:instance/i-1",
    f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-0",
    f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-1:extra",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    "*",
    "not-an-arn",
)
RESOURCE_PATTERNS = (
    *RESOURCES[:-2],
    "arn:aws:S3:::bucket-1/key-1",
    "arn:aws:s3:::bucket-0/*",
    "arn:aws:s3:::bucket-1/*",
    "arn:aws:s3:::bucket-1*",
    "arn:aws:s3:::bucket-1/dir/*",
    "arn:aws:s3:::bucket-?/key-1",
    "arn:aws:s3:::bucket-2/key-*",
    "arn:aws:s3:::*/key-0",
    "arn:aws:s3:::*",
    "arn:*:s3:::bucket-3/*",
    "arn:aws:s3",
    "arn:aws:s3*",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:s3:::home/${aws:username, 'guest'}/*",
    "arn:aws:s3:::home/${aws:PrincipalTag/team}/*",
    f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
    "arn:aws:ec2:us-east-1:*:instance/i-1",
    "arn:aws:ec2:us-*",
    "arn:aws:sqs:*:*:queue-?",
    f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-1:*",
    f"arn:aws:iam::{ACCOUNT}:user/*",
    "arn:aws:*",
    "*",
)
PRINCIPALS = ("*", {"AWS": ACCOUNT}, {"AWS": ALICE}, {"AWS": [APP_ROLE, BOB]}, {"AWS": APP_SESSION})
CONDITIONS = (
    {"StringEquals": {"aws:username": "alice"}},
    {"StringLike": {"aws:username": "${aws:PrincipalTag/team}*"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": "red"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"DateLessThan": {"aws:CurrentTime": "2025-06-01T00:00:00Z"}},
    {"NumericLessThanEquals": {"s3:max-keys": "10"}},
    {"Null": {"aws:TokenIssueTime": "true"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Owner", "team"]}},
)
USERNAMES = ("alice", "bob", "guest", "Alice")
TEAMS = ("alice", "red", "blue")


def random_statement(
    rng: random.Random,
    *,
    with_principal: bool = False,
    with_conditions: bool = True,
    effect: str | None = None,
) -> Document:
    """One statement: literal/wildcard (Not)Action, exact/prefix/variable (Not)Resource, maybe a condition."""
    body: Document = {"Effect": effect or rng.choice(["Allow", "Allow", "Deny"])}
    if with_principal:
        body["Principal"] = rng.choice(PRINCIPALS)
    actions = rng.sample(ACTION_PATTERNS, rng.randint(1, 3))
    body["NotAction" if rng.randrange(8) == 0 else "Action"] = actions
    resources = rng.sample(RESOURCE_PATTERNS, rng.randint(1, 3))
    body["NotResource" if rng.randrange(8) == 0 else "Resource"] = resources
    if with_conditions and rng.randrange(4) == 0:
        body["Condition"] = rng.choice(CONDITIONS)
    return body


def random_statements(rng: random.Random, count: int, **options: Any) -> list[Document]:
    return [random_statement(rng, **options) for _ in range(count)]


def statement_lists(
    *, min_size: int, max_size: int, with_principal: bool = False, with_conditions: bool = True
) -> st.SearchStrategy[list[Document]]:
    """Lists of generated statements, built from a drawn seed (cheap to draw however long the list)."""

    def build(seed: int, count: int) -> list[Document]:
        rng = random.Random(seed)
        return random_statements(rng, count, with_principal=with_principal, with_conditions=with_conditions)

    return st.builds(build, st.integers(0, 2**32 - 1), st.integers(min_size, max_size))


OPTIONAL_CONTEXT = {
    "aws:SecureTransport": ["true", "false"],
    "aws:MultiFactorAuthPresent": ["true", "false"],
    "aws:SourceIp": ["10.1.2.3", "192.0.2.1"],
    "aws:CurrentTime": ["2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z"],
    "s3:max-keys": ["5", "10", "11"],
    "aws:TokenIssueTime": ["2025-01-01T00:00:00Z"],
}


def random_context(rng: random.Random) -> dict[str, ContextValue]:
    """Context for the generated policies: maybe a username and team, maybe the condition keys."""
    entries: dict[str, str | list[str] | None] = {}
    if rng.randrange(4):
        entries["aws:username"] = rng.choice(USERNAMES)
    if rng.randrange(2):
        entries["aws:PrincipalTag/team"] = rng.choice(TEAMS)
    for key, values in OPTIONAL_CONTEXT.items():
        if rng.randrange(2):
            entries[key] = rng.choice(values)
    if rng.randrange(2):
        entries["aws:TagKeys"] = rng.sample(["Owner", "team", "Env"], rng.randint(0, 3))
    return context(entries)


def request_contexts() -> st.SearchStrategy[dict[str, ContextValue]]:
    return st.builds(lambda seed: random_context(random.Random(seed)), st.integers(0, 2**32 - 1))
