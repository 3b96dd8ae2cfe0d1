"""Review finding: a long Principal element no longer makes session-tag checks quadratic.

Session tags are accepted when the role's trust policy allows ``sts:TagSession`` for some
principal it names, so each named principal is tried against the whole policy. A trust policy
naming 270 accounts (AWS's 4,096-character limit allows that many) compared each of the 270
callers with each of the 270 entries: 73,000 matches, 240 ms of CPU for every Authorize a caller
sent with fresh tag values. Long Principal elements are now matched through sets
(``PrincipalIndex``), which give exactly what entry-by-entry matching gives.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

import iamgate_client as sdk
from iamgate.engine import principals
from iamgate.engine.principals import PrincipalIndex, match_entry
from iamgate.engine.request import Principal, PrincipalKind
from iamgate.policy.model import PrincipalSpec
from tests.security.trust_helpers import ABAC, ABAC_FILES, ANALYST_SESSION, LEDGER, sidecar_client

ACCOUNTS = [f"{100000000000 + i}" for i in range(270)]


def _bundle(root: Path) -> Path:
    files = copy.deepcopy(ABAC_FILES)
    analyst = files[f"accounts/{ABAC}/roles.json"]["Roles"][1]
    analyst["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": [ABAC, *ACCOUNTS]}
    for path, value in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    return root


def test_refused_session_tags_cost_one_pass_over_a_long_trust_policy(tmp_path, monkeypatch) -> None:
    calls = 0

    def counting(*args):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return match_entry(*args)

    monkeypatch.setattr(principals, "match_entry", counting)
    with sidecar_client(_bundle(tmp_path)) as (client, _running):
        assert client.authorize(
            ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"}
        ).allowed
        with pytest.raises(sdk.InvalidRequestError, match="sts:TagSession"):
            client.authorize(ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Sales"})
    assert calls < 1_000  # entry by entry: 271 callers x 271 entries


def _loop(spec: PrincipalSpec, principal: Principal):  # type: ignore[no-untyped-def]
    found = [match_entry(kind, value, principal) for kind, value in spec.entries]
    return max((f for f in found if f is not None), default=None)


_VALUES = [
    ("AWS", "*"),
    ("AWS", "111111111111"),
    ("AWS", "arn:aws:iam::111111111111:root"),
    ("AWS", "arn:aws:iam::222222222222:root"),
    ("AWS", "arn:aws:iam::111111111111:role/path/Admin"),
    ("AWS", "arn:aws:iam::111111111111:user/alice"),
    ("AWS", "arn:aws:sts::111111111111:assumed-role/Admin/s"),
    ("Service", "ec2.amazonaws.com"),
    ("Federated", "cognito-identity.amazonaws.com"),
    ("CanonicalUser", "abc"),
]
_CALLERS = [
    Principal("arn:aws:iam::111111111111:user/alice", PrincipalKind.USER, "111111111111", "alice"),
    Principal("arn:aws:iam::111111111111:user/bob", PrincipalKind.USER, "111111111111", "bob"),
    Principal("arn:aws:iam::111111111111:role/path/Admin", PrincipalKind.ROLE, "111111111111", "Admin"),
    Principal(
        "arn:aws:sts::111111111111:assumed-role/admin/s", PrincipalKind.ASSUMED_ROLE, "111111111111", "admin"
    ),
    Principal(
        "arn:aws:sts::111111111111:assumed-role/Admin/s", PrincipalKind.ASSUMED_ROLE, "111111111111", "Admin"
    ),
    Principal("arn:aws:iam::333333333333:root", PrincipalKind.ROOT, "333333333333", "333333333333"),
    Principal("arn:aws:iam::222222222222:root", PrincipalKind.ROOT, "222222222222", "222222222222"),
    Principal("ec2.amazonaws.com", PrincipalKind.SERVICE, None, "ec2.amazonaws.com"),
    Principal(
        "cognito-identity.amazonaws.com", PrincipalKind.SERVICE, None, "cognito-identity.amazonaws.com"
    ),
    Principal("abc", PrincipalKind.FEDERATED_USER, "111111111111", "abc"),
]


@pytest.mark.parametrize("seed", range(200))
def test_the_index_matches_exactly_as_entry_by_entry_matching(seed: int) -> None:
    rng = random.Random(seed)
    spec = PrincipalSpec(everyone=False, entries=tuple(rng.sample(_VALUES, rng.randint(1, len(_VALUES)))))
    index = PrincipalIndex.of(spec)
    for caller in _CALLERS:
        assert index.match(caller) == _loop(spec, caller), (spec, caller)
