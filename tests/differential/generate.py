"""Generate random SimulateCustomPolicy-shaped requests by mutating the conformance cases.

Usage: python generate.py N SEED > requests.jsonl   (each line: {"id","base","tags","request"})
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

CASES = json.loads((Path(__file__).resolve().parent.parent / "conformance" / "cases.json").read_text())[
    "cases"
]

A1, A2, A3 = "111122223333", "444455556666", "777788889999"
ACCOUNTS = [A1, A2, A3]


def callers(acct):
    return [
        f"arn:aws:iam::{acct}:user/alice",
        f"arn:aws:iam::{acct}:user/bob",
        f"arn:aws:iam::{acct}:user/dev-bob",
        f"arn:aws:iam::{acct}:role/app-role",
        f"arn:aws:sts::{acct}:assumed-role/app-role/worker",
        f"arn:aws:sts::{acct}:assumed-role/partner-role/sync",
        f"arn:aws:sts::{acct}:assumed-role/OrgAdmin/admin-session",
    ]


RARE_CALLERS = [
    f"arn:aws:iam::{A1}:root",
    f"arn:aws:sts::{A1}:federated-user/bob",
    "sns.amazonaws.com",
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    f"arn:aws:iam::{A1}:role/path/app-role",
]

# key -> (family, request value pool, policy value pool, list?)
KEYS = {
    "aws:SourceIp": (
        "ip",
        [
            "10.0.0.5",
            "10.1.2.3",
            "203.0.113.5",
            "203.0.114.5",
            "192.168.1.1",
            "2001:db8::1",
            "2001:db8:1::5",
            "198.51.100.7",
        ],
        [
            "10.0.0.0/8",
            "203.0.113.0/24",
            "192.168.1.1/32",
            "192.168.1.1",
            "2001:db8::/32",
            "198.51.100.0/25",
            "10.0.0.0/16",
            "2001:db8::1",
        ],
        False,
    ),
    "aws:VpcSourceIp": ("ip", ["10.0.0.5", "172.16.0.3"], ["10.0.0.0/8", "172.16.0.0/12"], False),
    "aws:RequestedRegion": (
        "string",
        ["us-east-1", "eu-west-1", "US-EAST-1", "us-west-2", "eu-central-1", ""],
        ["us-east-1", "eu-*", "us-east-?", "eu-west-1", "US-East-1", "*"],
        False,
    ),
    "aws:PrincipalTag/team": (
        "string",
        ["platform", "data", "Platform", "plat*", "", "platform-ops"],
        ["platform", "data", "plat*", "Platform", "${aws:username}", "${aws:PrincipalTag/project}"],
        False,
    ),
    "aws:PrincipalTag/project": ("string", ["alpha", "beta"], ["alpha", "al*"], False),
    "aws:PrincipalOrgID": (
        "string",
        ["o-a1b2c3d4e5", "O-A1B2C3D4E5", "o-zzzzzzzzzz"],
        ["o-a1b2c3d4e5", "o-a1b2*", "O-A1B2C3D4E5"],
        False,
    ),
    "aws:username": ("string", ["alice", "bob", "Alice"], ["alice", "bob"], False),
    "aws:MultiFactorAuthAge": (
        "numeric",
        ["3600", "100", "0", "86400", "3601", "3600.0", "-5", "abc", "1e3"],
        ["3600", "300", "0", "86400", "3600.5"],
        False,
    ),
    "s3:max-keys": ("numeric", ["10", "100", "1000", "50"], ["100", "10", "1000"], False),
    "aws:MultiFactorAuthPresent": (
        "bool",
        ["true", "false", "TRUE", "False", "yes"],
        ["true", "false", True, False],
        False,
    ),
    "aws:SecureTransport": ("bool", ["true", "false"], ["true", "false", True], False),
    "aws:ViaAWSService": ("bool", ["true", "false"], ["true", "false"], False),
    "aws:CurrentTime": (
        "date",
        [
            "2025-06-01T12:00:00Z",
            "2025-06-01T11:59:59.000Z",
            "2025-06-08T12:00:00Z",
            "2025-06-01T14:00:00+02:00",
            "2025-06-01",
            "2024-12-31T23:59:59Z",
            "2026-01-01T00:00:00Z",
        ],
        [
            "2025-06-01T12:00:00Z",
            "2025-06-01T00:00:00Z",
            "2025-06-08T12:00:00Z",
            "2025-06-01T14:00:00+02:00",
            "2025-12-31T23:59:59Z",
        ],
        False,
    ),
    "aws:TokenIssueTime": (
        "date",
        ["2025-06-01T12:00:00Z", "2025-06-01T13:00:00Z", "2025-06-02T12:00:00Z"],
        ["2025-06-01T12:00:00Z", "2025-06-01T13:00:00Z"],
        False,
    ),
    "aws:EpochTime": (
        "date",
        ["1748779200", "1748865600", "1735689600", "1767225598", "1750000000"],
        ["1748779200", "1735689600", "1767225599", "2025-06-01T12:00:00Z"],
        False,
    ),
    "aws:SourceArn": (
        "arn",
        [
            "arn:aws:sns:us-east-1:111122223333:order-events",
            "arn:aws:lambda:us-east-1:111122223333:function:resize-images",
            "arn:aws:s3:::upload-bucket",
            "arn:aws:sns:us-east-1:444455556666:topic",
            "arn:aws:SNS:us-east-1:111122223333:order-events",
            "not-an-arn",
        ],
        [
            "arn:aws:sns:us-east-1:111122223333:order-events",
            "arn:aws:lambda:*:111122223333:function:resize*",
            "arn:aws:s3:::upload-bucket",
            "arn:aws:sns:us-east-1:444455556666:*",
            "arn:aws:s3:::upload-*",
            "arn:aws:*:*:111122223333:*",
        ],
        False,
    ),
    "aws:PrincipalArn": (
        "arn",
        [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/app-role",
            "arn:aws:iam::111122223333:role/OrgAdmin",
            "arn:aws:iam::444455556666:user/bob",
        ],
        [
            "arn:aws:iam::111122223333:role/OrgAdmin",
            "arn:aws:iam::111122223333:role/app-*",
            "arn:aws:iam::*:user/alice",
            "arn:aws:iam::111122223333:user/${aws:username}",
        ],
        False,
    ),
    "aws:PrincipalTag/cert-fingerprint": (
        "binary",
        ["QmluYXJ5VmFsdWUx", "QmluYXJ5VmFsdWUy"],
        ["QmluYXJ5VmFsdWUx", "QmluYXJ5VmFsdWUy"],
        False,
    ),
    "aws:TagKeys": (
        "string",
        [["Owner"], ["Owner", "environment"], [], ["CostCenter"], ["Environment", "Owner"], ["owner"]],
        ["Owner", "environment", "Env*", "CostCenter"],
        True,
    ),
    "aws:CalledVia": (
        "string",
        [
            ["cloudformation.amazonaws.com"],
            [],
            ["athena.amazonaws.com", "dynamodb.amazonaws.com"],
            ["dynamodb.amazonaws.com"],
        ],
        ["cloudformation.amazonaws.com", "athena.amazonaws.com", "*.amazonaws.com"],
        True,
    ),
    "aws:PrincipalServiceNamesList": (
        "string",
        [
            ["ec2.amazonaws.com"],
            ["ecs-tasks.amazonaws.com"],
            [],
            ["ec2.amazonaws.com", "lambda.amazonaws.com"],
        ],
        ["ec2.amazonaws.com", "lambda.amazonaws.com", "*.amazonaws.com"],
        True,
    ),
    "aws:PrincipalOrgPaths": (
        "string",
        [
            ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"],
            [],
            ["o-a1b2c3d4e5/r-ab12/ou-ab12-33333333/ou-ab12-44444444/"],
        ],
        ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", "o-a1b2c3d4e5/r-ab12/*"],
        True,
    ),
}

FAMILY_OPS = {
    "string": [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    ],
    "numeric": [
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ],
    "date": [
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    ],
    "bool": ["Bool"],
    "binary": ["BinaryEquals"],
    "ip": ["IpAddress", "NotIpAddress"],
    "arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
}


def family_of(op):
    base = op.split(":")[-1]
    if base.endswith("IfExists"):
        base = base[: -len("IfExists")]
    if base == "Null":
        return "null"
    for fam, ops in FAMILY_OPS.items():
        if base in ops:
            return fam
    return None


def statements(policy):
    st = policy["Statement"]
    if isinstance(st, dict):
        policy["Statement"] = [st]
    return policy["Statement"]


def all_policies(r, with_rp=True):
    out = list(r.get("PolicyInputList", []))
    out += r.get("PermissionsBoundaryPolicyInputList", [])
    out += [p for lvl in r.get("ServiceControlPolicyLevels", []) for p in lvl]
    if with_rp and r.get("ResourcePolicy"):
        out.append(r["ResourcePolicy"])
    return out


def all_statements(r):
    return [s for p in all_policies(r) for s in statements(p)]


def cond_sites(r):
    """(statement, op, key) triples."""
    out = []
    for s in all_statements(r):
        for op, kv in list(s.get("Condition", {}).items()):
            for k in list(kv):
                out.append((s, op, k))
    return out


def canon_key(k):
    for key in KEYS:
        if key.lower() == k.lower():
            return key
    return None


def ctx_entry(r, key):
    for e in r["ContextEntries"]:
        if e["ContextKeyName"].lower() == key.lower():
            return e
    return None


def set_ctx(r, key, value):
    e = ctx_entry(r, key)
    is_list = isinstance(value, list)
    entry = {
        "ContextKeyName": key,
        "ContextKeyValues": value if is_list else [value],
        "ContextKeyType": "stringList" if is_list else "string",
    }
    if e is None:
        r["ContextEntries"].append(entry)
    else:
        e.update({"ContextKeyValues": entry["ContextKeyValues"], "ContextKeyType": entry["ContextKeyType"]})


def flip_case(s, rng):
    choice = rng.random()
    if choice < 0.3:
        return s.lower()
    if choice < 0.5:
        return s.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


# ---------------------------------------------------------------- mutations


def m_ctx_value(r, rng):
    sites = cond_sites(r)
    keys = {canon_key(k) for _, _, k in sites} - {None}
    keys |= {canon_key(e["ContextKeyName"]) for e in r["ContextEntries"]} - {None}
    if not keys:
        return None
    k = rng.choice(sorted(keys))
    fam, reqvals, _, _is_list = KEYS[k]
    v = rng.choice(reqvals)
    e = ctx_entry(r, k)
    name = e["ContextKeyName"] if e else k
    set_ctx(r, name, copy.deepcopy(v))
    return f"ctx_value:{fam}"


def m_ctx_drop(r, rng):
    if not r["ContextEntries"]:
        return None
    r["ContextEntries"].pop(rng.randrange(len(r["ContextEntries"])))
    return "ctx_drop"


def m_ctx_listify(r, rng):
    """A scalar key given two values (string list) or a list key given as one string."""
    if not r["ContextEntries"]:
        return None
    e = rng.choice(r["ContextEntries"])
    k = canon_key(e["ContextKeyName"])
    if k is None:
        return None
    fam, reqvals, _, is_list = KEYS[k]
    if is_list:
        vals = e["ContextKeyValues"]
        if len(vals) != 1:
            return None
        e["ContextKeyType"] = "string"
        return "ctx_list_as_string"
    flat = [v for v in reqvals if isinstance(v, str)]
    e["ContextKeyValues"] = rng.sample(flat, 2)
    e["ContextKeyType"] = "stringList"
    return f"ctx_scalar_as_list:{fam}"


def m_key_case(r, rng):
    if rng.random() < 0.5 and r["ContextEntries"]:
        e = rng.choice(r["ContextEntries"])
        e["ContextKeyName"] = flip_case(e["ContextKeyName"], rng)
        return "keycase_ctx"
    sites = cond_sites(r)
    if not sites:
        return None
    s, op, k = rng.choice(sites)
    v = s["Condition"][op].pop(k)
    s["Condition"][op][flip_case(k, rng)] = v
    return "keycase_cond"


def m_op_case(r, rng):
    sites = cond_sites(r)
    if not sites:
        return None
    s, op, _k = rng.choice(sites)
    newop = flip_case(op, rng)
    if newop in s["Condition"] and newop != op:
        return None
    s["Condition"][newop] = s["Condition"].pop(op)
    return "opcase"


def _move(s, op, k, newop):
    v = s["Condition"][op].pop(k)
    if not s["Condition"][op]:
        del s["Condition"][op]
    s["Condition"].setdefault(newop, {})[k] = v


def m_op_swap(r, rng):
    sites = cond_sites(r)
    if not sites:
        return None
    s, op, k = rng.choice(sites)
    fam = family_of(op)
    ck = canon_key(k)
    if ck and rng.random() < 0.8:
        fam = KEYS[ck][0]
    if fam in (None, "null"):
        return None
    prefix = op.split(":")[0] + ":" if ":" in op else ""
    ifx = "IfExists" if op.endswith("IfExists") else ""
    newop = prefix + rng.choice(FAMILY_OPS[fam]) + ifx
    _move(s, op, k, newop)
    return f"op_swap:{fam}"


def m_ifexists(r, rng):
    sites = cond_sites(r)
    if not sites:
        return None
    s, op, k = rng.choice(sites)
    if family_of(op) == "null":
        return None
    newop = op[: -len("IfExists")] if op.endswith("IfExists") else op + "IfExists"
    _move(s, op, k, newop)
    return "ifexists_" + ("off" if op.endswith("IfExists") else "on")


def m_setop(r, rng):
    sites = cond_sites(r)
    if not sites:
        return None
    s, op, k = rng.choice(sites)
    if family_of(op) == "null":
        return None
    base = op.split(":")[-1]
    choice = rng.choice(["ForAllValues:", "ForAnyValue:", ""])
    newop = choice + base
    if newop == op:
        return None
    _move(s, op, k, newop)
    return "setop:" + (choice or "none")


def m_cond_value(r, rng):
    sites = cond_sites(r)
    if not sites:
        return None
    s, op, k = rng.choice(sites)
    ck = canon_key(k)
    if ck is None or family_of(op) == "null":
        return None
    pool = KEYS[ck][2]
    v = rng.sample(pool, min(2, len(pool))) if rng.random() < 0.3 else rng.choice(pool)
    s["Condition"][op][k] = v
    return "cond_value"


def m_add_condition(r, rng):
    stmts = [s for p in r["PolicyInputList"] for s in statements(p)]
    if not stmts:
        return None
    s = rng.choice(stmts)
    k = rng.choice(sorted(KEYS))
    fam, reqvals, polvals, is_list = KEYS[k]
    r_op = rng.random()
    if r_op < 0.1:
        op, v = "Null", rng.choice(["true", "false", True])
    else:
        op = rng.choice(FAMILY_OPS[fam])
        if rng.random() < 0.25:
            op += "IfExists"
        if is_list or rng.random() < 0.1:
            op = rng.choice(["ForAllValues:", "ForAnyValue:"]) + op
        v = rng.choice(polvals)
    s.setdefault("Condition", {}).setdefault(op, {})[k] = v
    if rng.random() < 0.7:
        set_ctx(r, k, copy.deepcopy(rng.choice(reqvals)))
    return f"add_cond:{fam}"


def m_caller(r, rng):
    if rng.random() < 0.15:
        r["CallerArn"] = rng.choice(RARE_CALLERS)
        return "caller_rare"
    r["CallerArn"] = rng.choice(callers(rng.choice(ACCOUNTS)))
    return "caller"


def m_owner(r, rng):
    r["ResourceOwner"] = rng.choice([f"arn:aws:iam::{a}:root" for a in ACCOUNTS])
    return "owner"


PB_POOL = [
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        ],
    },
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]},
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            }
        ],
    },
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]},
]

SCP_FULL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
SCP_POOL = [
    SCP_FULL,
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowListedServices",
                "Effect": "Allow",
                "Action": ["s3:*", "dynamodb:*", "sts:*"],
                "Resource": "*",
            }
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyOutsideRegions",
                "Effect": "Deny",
                "NotAction": ["iam:*", "sts:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
            }
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProtectBuckets",
                "Effect": "Deny",
                "Action": ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteObject"],
                "Resource": "*",
            }
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyExceptAdmin",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrgAdmin"}},
            }
        ],
    },
    {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AllowSQS", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
    },
]


def m_add_pb(r, rng):
    if rng.random() < 0.2 and "PermissionsBoundaryPolicyInputList" in r:
        del r["PermissionsBoundaryPolicyInputList"]
        return "pb_remove"
    r["PermissionsBoundaryPolicyInputList"] = [copy.deepcopy(rng.choice(PB_POOL))]
    return "pb_add"


def m_add_scp(r, rng):
    if rng.random() < 0.15 and "ServiceControlPolicyLevels" in r:
        del r["ServiceControlPolicyLevels"]
        return "scp_remove"
    n = rng.choice([1, 1, 2, 3])
    levels = []
    for _ in range(n):
        lvl = [copy.deepcopy(SCP_FULL)] if rng.random() < 0.7 else []
        for _ in range(rng.choice([0, 1, 1, 2])):
            lvl.append(copy.deepcopy(rng.choice(SCP_POOL)))
        if not lvl:
            lvl = [copy.deepcopy(rng.choice(SCP_POOL))]
        levels.append(lvl)
    r["ServiceControlPolicyLevels"] = levels
    return f"scp_add:{n}"


def principal_variants(rng):
    acct = rng.choice(ACCOUNTS)
    return rng.choice(
        [
            "*",
            {"AWS": "*"},
            {"AWS": f"arn:aws:iam::{acct}:root"},
            {"AWS": acct},
            {"AWS": f"arn:aws:iam::{acct}:user/alice"},
            {"AWS": f"arn:aws:iam::{acct}:user/bob"},
            {"AWS": f"arn:aws:iam::{acct}:role/app-role"},
            {"AWS": f"arn:aws:iam::{acct}:role/path/app-role"},
            {"AWS": f"arn:aws:iam::{acct}:role/partner-role"},
            {"AWS": f"arn:aws:sts::{acct}:assumed-role/app-role/worker"},
            {"AWS": [f"arn:aws:iam::{acct}:user/alice", f"arn:aws:iam::{acct}:root"]},
            {"Service": rng.choice(["sns.amazonaws.com", "lambda.amazonaws.com"])},
            {"AWS": "arn:aws:iam::111122223333:role/OrgAdmin"},
        ]
    )


def m_add_rp(r, rng):
    if rng.random() < 0.15 and "ResourcePolicy" in r:
        del r["ResourcePolicy"]
        return "rp_remove"
    action = r["ActionNames"][0]
    res = r["ResourceArns"][0]
    stmts = []
    n = rng.choice([1, 1, 2])
    tag = []
    for _ in range(n):
        eff = "Allow" if rng.random() < 0.7 else "Deny"
        st = {"Effect": eff, "Action": rng.choice([action, action.split(":")[0] + ":*", "*"])}
        if not action.startswith("sts:") or rng.random() < 0.3:
            st["Resource"] = rng.choice([res, "*"]) if res != "*" else "*"
        if rng.random() < 0.2:
            np = principal_variants(rng)
            if np == "*" or np == {"AWS": "*"}:
                np = {"AWS": f"arn:aws:iam::{rng.choice(ACCOUNTS)}:user/alice"}
            st["NotPrincipal"] = np
            tag.append(f"NotPrincipal-{eff}")
        else:
            st["Principal"] = principal_variants(rng)
            tag.append(f"Principal-{eff}")
        if rng.random() < 0.2:
            k = rng.choice(
                ["aws:SourceArn", "aws:SourceIp", "aws:PrincipalOrgID", "aws:MultiFactorAuthPresent"]
            )
            fam = KEYS[k][0]
            st["Condition"] = {rng.choice(FAMILY_OPS[fam]): {k: rng.choice(KEYS[k][2])}}
        stmts.append(st)
    r["ResourcePolicy"] = {"Version": "2012-10-17", "Statement": stmts}
    return "rp_add:" + ",".join(tag)


def m_identity_clear(r, rng):
    if rng.random() < 0.5:
        r["PolicyInputList"] = []
        return "identity_clear"
    r["PolicyInputList"] = [
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ]
    return "identity_admin"


def m_effect(r, rng):
    stmts = [s for p in r["PolicyInputList"] for s in statements(p)]
    if not stmts:
        return None
    s = rng.choice(stmts)
    s["Effect"] = "Deny" if s["Effect"] == "Allow" else "Allow"
    return "effect_flip"


def action_variants(a, rng):
    svc, name = a.split(":")
    cands = [
        a,
        a.upper(),
        a.lower(),
        svc + ":*",
        svc + ":" + name[:3] + "*",
        svc + ":*" + name[-4:],
        svc + ":" + name[:-1] + "?",
        "*",
        svc.upper() + ":" + name,
        svc + ":" + name + "*",
        svc + ":Get*",
        svc + ":List*",
        svc + ":*Object*",
        svc + ":Describe*",
    ]
    return rng.choice(cands)


def m_action(r, rng):
    stmts = [s for p in r["PolicyInputList"] for s in statements(p)]
    if not stmts:
        return None
    s = rng.choice(stmts)
    key = "Action" if "Action" in s else "NotAction"
    v = action_variants(r["ActionNames"][0], rng)
    if rng.random() < 0.25:
        newkey = "NotAction" if key == "Action" else "Action"
        del s[key]
        s[newkey] = v
        return f"action_to_{newkey}"
    s[key] = v if rng.random() < 0.6 else [v, action_variants(r["ActionNames"][0], rng)]
    return "action_variant"


def resource_variants(res, rng):
    if res == "*" or not res.startswith("arn:"):
        return "*"
    parts = res.split(":", 5)
    rest = parts[5]
    cands = [
        res,
        "*",
        ":".join(parts[:5]) + ":*",
        ":".join(parts[:5]) + ":" + rest[: max(1, len(rest) // 2)] + "*",
        ":".join(parts[:5]) + ":" + rest.upper(),
        ":".join([parts[0], parts[1], parts[2].upper(), parts[3], parts[4]]) + ":" + rest,
        ":".join([parts[0], parts[1], parts[2], "*", parts[4]]) + ":" + rest,
        ":".join([parts[0], parts[1], parts[2], parts[3], "*"]) + ":" + rest,
        ":".join(parts[:5]) + ":" + rest[:-1] + "?",
        "arn:aws:s3:::*",
        "arn:aws:*:*:*:*",
        f"arn:aws:{parts[2]}:*:*:*",
    ]
    if "/" in rest:
        cands.append(":".join(parts[:5]) + ":" + rest.split("/")[0] + "/${aws:username}/*")
        cands.append(":".join(parts[:5]) + ":" + rest.split("/")[0] + "/*")
    return rng.choice(cands)


def m_resource(r, rng):
    stmts = [s for p in r["PolicyInputList"] for s in statements(p)]
    if not stmts:
        return None
    s = rng.choice(stmts)
    key = "Resource" if "Resource" in s else "NotResource"
    v = resource_variants(r["ResourceArns"][0], rng)
    if rng.random() < 0.25:
        newkey = "NotResource" if key == "Resource" else "Resource"
        s.pop(key, None)
        s[newkey] = v
        return f"resource_to_{newkey}"
    s[key] = v
    return "resource_variant"


VARS = [
    "${aws:username}",
    "${aws:username, 'alice'}",
    "${aws:PrincipalTag/team}",
    "${aws:PrincipalTag/team, 'platform'}",
    "${aws:userid}",
    "${aws:PrincipalTag/team,'platform'}",
    "${AWS:UserName}",
    "${aws:username, ''}",
]


def m_var(r, rng):
    stmts = [s for p in r["PolicyInputList"] for s in statements(p)]
    if not stmts:
        return None
    s = rng.choice(stmts)
    var = rng.choice(VARS)
    if rng.random() < 0.5 and r["ResourceArns"][0].startswith("arn:"):
        res = r["ResourceArns"][0]
        parts = res.split(":", 5)
        rest = parts[5]
        seg = rest.split("/")
        if len(seg) >= 2:
            i = rng.randrange(1, len(seg))
            seg2 = seg[:i] + [var] + (["*"] if rng.random() < 0.5 else seg[i + 1 :])
            s.pop("NotResource", None)
            s["Resource"] = ":".join(parts[:5]) + ":" + "/".join(seg2)
            # give the variable the value it would need
            name = var[2:-1].split(",")[0].strip()
            if rng.random() < 0.7:
                set_ctx(r, name, seg[i] if rng.random() < 0.7 else "someone")
            return "var_resource"
    # condition value
    k = rng.choice(["aws:PrincipalTag/team", "aws:PrincipalTag/project", "aws:RequestedRegion", "s3:prefix"])
    op = rng.choice(
        ["StringEquals", "StringLike", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotLike"]
    )
    s.setdefault("Condition", {}).setdefault(op, {})[k] = var if rng.random() < 0.7 else "pre/" + var + "/*"
    name = var[2:-1].split(",")[0].strip()
    roll = rng.random()
    if roll < 0.6:
        set_ctx(r, name, rng.choice(["alice", "platform", "bob"]))
    if rng.random() < 0.8:
        set_ctx(r, k, rng.choice(["alice", "platform", "bob", "pre/alice/x"]))
    return "var_condition"


def m_notprincipal_pb(r, rng):
    """Deny NotPrincipal resource policy + maybe PB."""
    acct = rng.choice(ACCOUNTS)
    caller = r["CallerArn"]
    names = rng.choice(
        [
            [caller],
            [f"arn:aws:iam::{acct}:root"],
            [caller, f"arn:aws:iam::{acct}:root"],
            [f"arn:aws:iam::{acct}:role/app-role"],
            [f"arn:aws:iam::{acct}:role/app-role", f"arn:aws:iam::{acct}:root"],
            [acct],
        ]
    )
    res = r["ResourceArns"][0]
    st = [
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": names},
            "Action": "*",
            "Resource": res if res != "*" else "*",
        }
    ]
    if rng.random() < 0.5:
        st.insert(
            0,
            {
                "Effect": "Allow",
                "Principal": principal_variants(rng),
                "Action": "*",
                "Resource": res if res != "*" else "*",
            },
        )
    r["ResourcePolicy"] = {"Version": "2012-10-17", "Statement": st}
    if rng.random() < 0.4:
        r["PermissionsBoundaryPolicyInputList"] = [copy.deepcopy(rng.choice(PB_POOL))]
    return "notprincipal_deny"


# Service keys the catalogue types ArrayOfString, by the actions of the cases that carry them: a
# plain operator never matches their sets of values, the set operators compare them.
TYPED_KEYS = {
    "dynamodb:Attributes": ("dynamodb:", ["id", "name", "email", "secret"], ["id", "name", "e*"]),
    "dynamodb:LeadingKeys": ("dynamodb:", ["user-1", "user-2", "admin"], ["user-1", "user-*"]),
    "s3:RequestObjectTagKeys": ("s3:PutObject", ["team", "env", "cost"], ["team", "env", "c*"]),
    "sts:TransitiveTagKeys": ("sts:AssumeRole", ["team", "project", "cost"], ["team", "pro*"]),
}
TYPED_OPS = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "ForAnyValue:StringEquals",
    "ForAnyValue:StringLike",
    "ForAnyValue:StringNotEquals",
    "ForAllValues:StringEquals",
    "ForAllValues:StringLike",
    "ForAllValues:StringNotLike",
    "ForAnyValue:StringEqualsIfExists",
    "ForAllValues:StringEqualsIfExists",
]


def m_typed_key(r, rng):
    """A condition on a service key the catalogue types multivalued, given as a list (or not at all)."""
    action = r["ActionNames"][0]
    keys = [k for k, (applies, _, _) in TYPED_KEYS.items() if action.startswith(applies)]
    stmts = [s for p in r["PolicyInputList"] for s in statements(p)]
    if not keys or not stmts:
        return None
    key = rng.choice(keys)
    _, reqvals, polvals = TYPED_KEYS[key]
    op = rng.choice(TYPED_OPS)
    value = rng.choice(polvals) if rng.random() < 0.6 else rng.sample(polvals, 2)
    rng.choice(stmts).setdefault("Condition", {}).setdefault(op, {})[key] = value
    if rng.random() < 0.85:
        r["ContextEntries"] = [e for e in r["ContextEntries"] if e["ContextKeyName"].lower() != key.lower()]
        values = rng.sample(reqvals, rng.choice([1, 1, 2, 3]))
        r["ContextEntries"].append(
            {"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": "stringList"}
        )
    return "typed_key:" + ("set" if ":" in op else "plain")


# Actions the catalogue lists without resource types: AWS evaluates them against resource "*", where
# only a policy Resource matching "*" applies (an ARN pattern, even arn:aws:s3:::*, never does).
WILDCARD_ONLY = {
    "s3": "s3:ListAllMyBuckets",
    "ec2": "ec2:DescribeInstances",
    "iam": "iam:ListUsers",
    "dynamodb": "dynamodb:ListTables",
    "sqs": "sqs:ListQueues",
    "sns": "sns:ListTopics",
    "lambda": "lambda:ListFunctions",
    "secretsmanager": "secretsmanager:ListSecrets",
    "logs": "logs:DescribeLogGroups",
}


def m_wildcard_only(r, rng):
    """Ask a wildcard-only action of the case's service on resource "*", its policies unchanged (their
    Actions sometimes widened to the service, so ARN-only Resources are put to the test)."""
    service = r["ActionNames"][0].split(":")[0].lower()
    action = WILDCARD_ONLY.get(service)
    if action is None:
        return None
    r["ActionNames"] = [action]
    r["ResourceArns"] = ["*"]
    r.pop("ResourcePolicy", None)  # no resource, so no resource-based policy
    stmts = [s for p in r["PolicyInputList"] for s in statements(p) if "Action" in s]
    if stmts and rng.random() < 0.7:
        rng.choice(stmts)["Action"] = rng.choice([action, service + ":*", service + ":List*", "*"])
    return "wildcard_only_star"


MUTATIONS = [
    (m_ctx_value, 10),
    (m_ctx_drop, 4),
    (m_ctx_listify, 2),
    (m_key_case, 3),
    (m_op_case, 1),
    (m_op_swap, 8),
    (m_ifexists, 5),
    (m_setop, 4),
    (m_cond_value, 6),
    (m_add_condition, 5),
    (m_caller, 6),
    (m_owner, 4),
    (m_add_pb, 4),
    (m_add_scp, 4),
    (m_add_rp, 5),
    (m_identity_clear, 2),
    (m_effect, 2),
    (m_action, 4),
    (m_resource, 4),
    (m_var, 4),
    (m_notprincipal_pb, 2),
    (m_typed_key, 4),
    (m_wildcard_only, 3),
]


def generate(n, seed):
    rng = random.Random(seed)
    funcs = [f for f, _ in MUTATIONS]
    weights = [w for _, w in MUTATIONS]
    out = []
    i = 0
    while len(out) < n:
        base = rng.choice(CASES)
        r = copy.deepcopy(base["request"])
        tags = []
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            f = rng.choices(funcs, weights)[0]
            t = f(r, rng)
            if t:
                tags.append(t)
        if not tags:
            continue
        i += 1
        out.append(
            {
                "id": f"g{seed}-{i}",
                "base": base["id"],
                "category": base["category"],
                "tags": tags,
                "request": r,
            }
        )
    return out


if __name__ == "__main__":
    n = int(sys.argv[1])
    seed = int(sys.argv[2])
    for item in generate(n, seed):
        print(json.dumps(item))
