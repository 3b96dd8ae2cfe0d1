"""Properties of the evaluator over generated policies (issue 3, "Done when").

Documents are drawn from valid elements: actions and resources with wildcards, conditions of every
operator family with plausible values (and IfExists / set qualifiers), Allow and Deny. Requests carry
random actions, resources and context, including values of the wrong kind for an operator. Then:

(a) evaluation never raises on a document the parser accepts;
(b) adding a Deny statement never turns a deny into an allow, nor an explicit deny into anything else;
(c) an Allow of ``*`` on ``*`` with no other policy allows every request.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iamgate.policy import PolicyParseError, parse_policy

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
DECISIONS = {"allowed", "explicitDeny", "implicitDeny"}
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CALLERS = [
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:role/app-role",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/worker",
]
SESSION_CALLER = CALLERS[2]

ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "ec2:RunInstances",
    "ec2:DescribeInstances",
    "iam:CreateUser",
    "sqs:SendMessage",
    "dynamodb:GetItem",
]
ACTION_PATTERNS = [*ACTIONS, "*", "s3:*", "s3:Get*", "ec2:Describe*", "iam:*User", "s3:?etObject", "*:Get*"]

RESOURCES = [
    "arn:aws:s3:::bucket/alice/key.txt",
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::other/a/b",
    f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc",
    f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue",
    "*",
]
RESOURCE_PATTERNS = [
    *RESOURCES,
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::*",
    "arn:aws:ec2:*:111122223333:instance/*",
    "arn:aws:s3:::b?cket/*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:s3:::bucket/${aws:username, 'guest'}/*",
    "arn:aws:sqs:us-east-1:*:queue",
]

# operator family -> (operators, key, plausible policy values)
FAMILIES: dict[str, tuple[list[str], str, list[str]]] = {
    "string": (
        [
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
        ],
        "aws:username",
        ["alice", "bob", "ali*", "${aws:PrincipalTag/team}", "a?ice", "${*}"],
    ),
    "tags": (["StringEquals", "StringLike", "StringNotEquals"], "aws:TagKeys", ["Owner", "Env*", "team"]),
    "numeric": (
        [
            "NumericEquals",
            "NumericNotEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
        ],
        "s3:max-keys",
        ["0", "10", "-3", "2.5", "1000"],
    ),
    "date": (
        [
            "DateEquals",
            "DateNotEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
        ],
        "aws:CurrentTime",
        ["2025-06-01T12:00:00Z", "1748779200", "2030-01-01", "2025-06-01T14:00:00+02:00"],
    ),
    "bool": (["Bool"], "aws:SecureTransport", ["true", "false"]),
    "ip": (["IpAddress", "NotIpAddress"], "aws:SourceIp", ["10.0.0.0/8", "203.0.113.5", "2001:db8::/32"]),
    "arn": (
        ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
        "aws:SourceArn",
        [
            f"arn:aws:sns:*:{ACCOUNT}:*",
            f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
            "arn:aws:sns:*:*:${aws:username}",
        ],
    ),
    "binary": (["BinaryEquals"], "aws:PrincipalTag/fingerprint", ["QmluYXJ5VmFsdWU=", "b3RoZXI="]),
    "null": (["Null"], "aws:TokenIssueTime", ["true", "false"]),
}

# context key -> (type, well-typed values, values of the wrong kind sent as plain strings)
CONTEXT: dict[str, tuple[str, list[str], list[str]]] = {
    "aws:username": ("string", ["alice", "bob", "Alice"], []),
    "aws:PrincipalTag/team": ("string", ["alice", "data"], []),
    "s3:max-keys": ("numeric", ["5", "10", "1000", "-1", "2.5"], ["many", ""]),
    "aws:CurrentTime": ("date", ["2025-06-01T12:00:00Z", "2024-01-01T00:00:00Z", "1748779200"], ["tomorrow"]),
    "aws:SecureTransport": ("boolean", ["true", "false"], ["yes"]),
    "aws:SourceIp": ("ip", ["10.1.2.3", "203.0.113.5", "2001:db8::1"], ["nowhere"]),
    "aws:SourceArn": (
        "string",
        [f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts", "alice", "arn:aws:sns:eu:1:x"],
        [],
    ),
    "aws:PrincipalTag/fingerprint": ("binary", ["QmluYXJ5VmFsdWU="], ["%%%"]),
    "aws:TokenIssueTime": ("date", ["2025-06-01T12:00:00Z"], []),
}
TAG_KEYS = ["Owner", "Environment", "team", "CostCenter"]


@st.composite
def condition_blocks(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for family in draw(st.lists(st.sampled_from(sorted(FAMILIES)), min_size=1, max_size=3, unique=True)):
        operators, key, values = FAMILIES[family]
        operator = draw(st.sampled_from(operators))
        if family == "tags":
            operator = draw(st.sampled_from(["ForAllValues:", "ForAnyValue:"])) + operator
        if family != "null" and draw(st.booleans()):
            operator += "IfExists"
        chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
        block.setdefault(operator, {})[key] = chosen[0] if len(chosen) == 1 else chosen
    return block


@st.composite
def statements(draw: st.DrawFn, *, effect: str | None = None, with_principal: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    if with_principal:
        body["Principal"] = draw(
            st.sampled_from(["*", {"AWS": ACCOUNT}, {"AWS": CALLERS[0]}, {"AWS": [CALLERS[1], CALLERS[2]]}])
        )
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    body["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3, unique=True))
    body["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resources
    if draw(st.booleans()):
        body["Condition"] = draw(condition_blocks())
    return body


def documents(*, with_principal: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(statements(with_principal=with_principal), min_size=1, max_size=4).map(
        lambda body: {"Version": "2012-10-17", "Statement": body}
    )


@st.composite
def context_entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = []
    for key in draw(st.lists(st.sampled_from(sorted(CONTEXT)), max_size=len(CONTEXT), unique=True)):
        value_type, good, wrong_kind = CONTEXT[key]
        if wrong_kind and draw(st.integers(0, 3)) == 0:
            value_type, value = "string", draw(st.sampled_from(wrong_kind))
        else:
            value = draw(st.sampled_from(good))
        entries.append({"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": value_type})
    if draw(st.booleans()):
        tags = draw(st.lists(st.sampled_from(TAG_KEYS), max_size=3, unique=True))
        entries.append(
            {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": tags, "ContextKeyType": "stringList"}
        )
    return entries


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A one-action, one-resource request with identity policies and, at random, every other policy kind."""
    caller = draw(st.sampled_from(CALLERS))
    owner = draw(st.sampled_from([ACCOUNT, ACCOUNT, OTHER_ACCOUNT]))
    body: dict[str, Any] = {
        "CallerArn": caller,
        "ActionNames": [draw(st.sampled_from(ACTIONS))],
        "ResourceArns": [draw(st.sampled_from(RESOURCES))],
        "ResourceOwner": f"arn:aws:iam::{owner}:root",
        "PolicyInputList": draw(st.lists(documents(), min_size=1, max_size=2)),
        "ContextEntries": draw(context_entries()),
    }
    if draw(st.booleans()):
        body["ResourcePolicy"] = draw(documents(with_principal=True))
    if draw(st.integers(0, 3)) == 0:
        body["PermissionsBoundaryPolicyInputList"] = [draw(documents())]
    if caller == SESSION_CALLER and draw(st.integers(0, 3)) == 0:
        body["SessionPolicyList"] = [draw(documents())]
    if draw(st.integers(0, 3)) == 0:
        body["ServiceControlPolicyLevels"] = [[draw(documents())] for _ in range(draw(st.integers(1, 3)))]
    return body


def _all_documents(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(body["PolicyInputList"])
    found += body.get("PermissionsBoundaryPolicyInputList", [])
    found += body.get("SessionPolicyList", [])
    found += [doc for level in body.get("ServiceControlPolicyLevels", []) for doc in level]
    if "ResourcePolicy" in body:
        found.append(body["ResourcePolicy"])
    return found


def _accepted(body: dict[str, Any]) -> bool:
    """Whether the parser accepts every document of the request (the properties speak of those only)."""
    try:
        for document in _all_documents(body):
            parse_policy(document)
    except PolicyParseError:
        return False
    return True


def _decision(body: dict[str, Any]) -> str:
    from iamgate.engine.simulate import simulate

    (result,) = simulate(body)["EvaluationResults"]
    return result["EvalDecision"]


@SETTINGS
@given(requests())
def test_evaluation_never_raises_on_documents_the_parser_accepts(body):
    """A request built from parser-accepted documents gets one of the three decisions, never an exception."""
    assume(_accepted(body))
    assert _decision(body) in DECISIONS


@SETTINGS
@given(requests(), st.data())
def test_adding_a_deny_statement_never_turns_a_deny_into_an_allow(body, data):
    """An explicit deny in any policy overrides allows; a Deny statement never grants, it only denies more."""
    assume(_accepted(body))
    targets = ["PolicyInputList", "PermissionsBoundaryPolicyInputList", "SessionPolicyList", "ResourcePolicy"]
    target = data.draw(st.sampled_from([t for t in targets if t in body]))
    extra = data.draw(statements(effect="Deny", with_principal=target == "ResourcePolicy"))
    denser = copy.deepcopy(body)
    document = denser[target] if target == "ResourcePolicy" else denser[target][0]
    document["Statement"].append(extra)
    assume(_accepted(denser))

    before, after = _decision(body), _decision(denser)
    assert after in (before, "explicitDeny"), f"{before} became {after} after adding {extra}"


@st.composite
def any_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Arbitrary action and resource names, arbitrary context, a caller asking in its own account."""
    service = draw(st.from_regex(r"[a-z][a-z0-9-]{1,11}", fullmatch=True))
    action = f"{service}:{draw(st.from_regex(r'[A-Za-z][A-Za-z0-9]{0,23}', fullmatch=True))}"
    path = draw(st.from_regex(r"[A-Za-z0-9_./-]{1,30}", fullmatch=True))
    region = draw(st.sampled_from(["", "us-east-1", "eu-west-3"]))
    resource = draw(st.sampled_from(["*", f"arn:aws:{service}:{region}:{ACCOUNT}:{path}"]))
    return {
        "CallerArn": draw(st.sampled_from(CALLERS)),
        "ActionNames": [action],
        "ResourceArns": [resource],
        "ResourceOwner": f"arn:aws:iam::{ACCOUNT}:root",
        "PolicyInputList": [
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ],
        "ContextEntries": draw(context_entries()),
    }


@SETTINGS
@given(any_requests())
def test_allow_everything_with_no_other_policy_allows_every_request(body):
    """Allow * on * in an identity policy, with no deny, boundary, SCP or session policy, allows all."""
    assert _decision(body) == "allowed"
