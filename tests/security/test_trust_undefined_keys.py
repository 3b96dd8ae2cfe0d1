"""A policy's misspelt AWS key is never the caller's to satisfy.

A policy Allow conditioned on ``aws:usrname`` (for ``aws:username``), ``aws:PrincipalTagg/...`` or
``s3:prefx`` loads with an ``unknown-condition-key`` warning. In AWS no request ever carries such a
key, so the condition never holds; the sidecar used to take it from any caller who sent it, and
the typo became a door. Now a caller's ``aws:`` key must be one AWS defines, and a key under an
AWS service's prefix one AWS's reference defines (or the bundle's services.json declares);
anything else is refused with INVALID_ARGUMENT naming the entry and the key, unless the operator
trusts callers with it (``--trust-context-key``). Keys of the application's own prefixes stay the
caller's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import iamgate_client as sdk

from .trust_helpers import sidecar_client

ACCOUNT = "111122223333"
LEDGER = "arn:aws:s3:::ledger/2026/q1.csv"
VAULT = "arn:aws:s3:::vault/keys.txt"
ARCHIVE = "arn:aws:s3:::archive"
REPORT = "arn:aws:docs:::document/report"
V = "2012-10-17"


def _allow(sid: str, action: str, resource: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}


FILES: dict[str, Any] = {
    f"accounts/{ACCOUNT}/users.json": {
        "Users": [
            {
                "UserName": "erin",
                "UserPolicyList": [
                    {
                        "PolicyName": "Typos",
                        "PolicyDocument": {
                            "Version": V,
                            "Statement": [
                                _allow(
                                    "MisspeltUserName",
                                    "s3:GetObject",
                                    "arn:aws:s3:::ledger/*",
                                    {"StringEquals": {"aws:usrname": "erin"}},
                                ),
                                _allow(
                                    "MisspeltPrincipalTag",
                                    "s3:GetObject",
                                    "arn:aws:s3:::vault/*",
                                    {"StringEquals": {"aws:PrincipalTagg/Department": "Finance"}},
                                ),
                                _allow(
                                    "MisspeltPrefix",
                                    "s3:ListBucket",
                                    ARCHIVE,
                                    {"StringLike": {"s3:prefx": "public/*"}},
                                ),
                                _allow(
                                    "RealPrefix",
                                    "s3:ListBucket",
                                    "arn:aws:s3:::shared",
                                    {"StringLike": {"s3:prefix": "public/*"}},
                                ),
                                _allow(
                                    "DeclaredApplicationKey",
                                    "docs:ReadDocument",
                                    "arn:aws:docs:::document/*",
                                    {"StringEquals": {"docs:Classification": "public"}},
                                ),
                                _allow(
                                    "OwnApplicationPrefix",
                                    "s3:GetObject",
                                    "arn:aws:s3:::tiered/*",
                                    {"StringEquals": {"myapp:tier": "gold"}},
                                ),
                                _allow(
                                    "RequestTag",
                                    "s3:PutObjectTagging",
                                    "arn:aws:s3:::ledger/*",
                                    {"StringEquals": {"aws:RequestTag/team": "finance"}},
                                ),
                            ],
                        },
                    }
                ],
            }
        ]
    },
    "services.json": {
        "Services": [
            {
                "Name": "docs",
                "Actions": [
                    {"Name": "ReadDocument", "AccessLevel": "Read", "Resources": [{"Name": "document"}]}
                ],
                "Resources": [{"Name": "document", "ARNFormats": ["arn:${Partition}:docs:::document/${Id}"]}],
                "ConditionKeys": [{"Name": "docs:Classification", "Types": ["String"]}],
            }
        ]
    },
}


def _write(root: Path) -> Path:
    for path, value in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value, indent=2))
    return root


@pytest.fixture(scope="module")
def typos(tmp_path_factory):
    with sidecar_client(_write(tmp_path_factory.mktemp("typos"))) as (client, _):
        yield client


def test_a_caller_cannot_satisfy_a_policy_condition_on_a_misspelt_aws_username(typos):
    assert typos.authorize("erin", "s3:GetObject", LEDGER).outcome is sdk.Outcome.IMPLICIT_DENY
    with pytest.raises(sdk.InvalidRequestError) as refused:
        typos.authorize("erin", "s3:GetObject", LEDGER, {"aws:usrname": "erin"})
    assert str(refused.value).endswith(
        "context[0].key: aws:usrname is not a condition key AWS defines, so AWS never sets it and a "
        "policy condition on it never holds; callers may not assert it (docs/security.md)"
    )


def test_a_caller_cannot_satisfy_a_misspelt_principal_tag_prefix(typos):
    with pytest.raises(sdk.InvalidRequestError, match=r"aws:PrincipalTagg/Department is not a condition key"):
        typos.authorize("erin", "s3:GetObject", VAULT, {"aws:PrincipalTagg/Department": "Finance"})


def test_undefined_aws_keys_are_refused_in_any_case_and_spelling(typos):
    for key in (
        "AWS:UsrName",
        "aws:usrname ",
        "aws:usrname\u200b",
        "aws:RequestTag/",
        "aws:SourceIp\u200b",
        "aws:usérname",
    ):
        with pytest.raises(sdk.InvalidRequestError, match="is not a condition key AWS defines"):
            typos.authorize("erin", "s3:GetObject", LEDGER, {key: "erin"})


def test_a_caller_cannot_satisfy_a_misspelt_service_key(typos):
    assert typos.authorize("erin", "s3:ListBucket", ARCHIVE).outcome is sdk.Outcome.IMPLICIT_DENY
    with pytest.raises(sdk.InvalidRequestError, match=r"context\[1\]\.key: s3:prefx is not a condition key"):
        typos.authorize(
            "erin", "s3:ListBucket", ARCHIVE, {"aws:SourceIp": sdk.Ip("10.0.0.1"), "s3:prefx": "public/a"}
        )


def test_keys_aws_defines_stay_the_callers(typos):
    shared = "arn:aws:s3:::shared"
    assert (
        typos.authorize("erin", "s3:ListBucket", shared, {"s3:prefix": "public/a"}).outcome
        is sdk.Outcome.ALLOWED
    )
    tagged = typos.authorize("erin", "s3:PutObjectTagging", LEDGER, {"aws:RequestTag/team": "finance"})
    assert tagged.outcome is sdk.Outcome.ALLOWED


def test_keys_the_bundle_declares_and_application_prefixes_stay_the_callers(typos):
    read = typos.authorize("erin", "docs:ReadDocument", REPORT, {"docs:Classification": "public"})
    assert read.outcome is sdk.Outcome.ALLOWED
    gold = typos.authorize("erin", "s3:GetObject", "arn:aws:s3:::tiered/a", {"myapp:tier": "gold"})
    assert gold.outcome is sdk.Outcome.ALLOWED


def test_explain_and_batches_refuse_undefined_keys_too(typos):
    with pytest.raises(sdk.InvalidRequestError, match=r"context\[0\]\.key: aws:usrname is not"):
        typos.explain("erin", "s3:GetObject", LEDGER, {"aws:usrname": "erin"})
    results = typos.authorize_batch(
        [
            sdk.Check("erin", "s3:GetObject", LEDGER),
            sdk.Check("erin", "s3:GetObject", LEDGER, {"aws:usrname": "erin"}),
        ]
    )
    assert results[0].outcome is sdk.Outcome.IMPLICIT_DENY
    assert "requests[1].context[0].key: aws:usrname is not a condition key" in str(results[1])


def test_an_operator_may_trust_callers_with_an_undefined_key(tmp_path):
    with sidecar_client(_write(tmp_path), trusted=("aws:usrname",)) as (client, _):
        decision = client.authorize("erin", "s3:GetObject", LEDGER, {"aws:usrname": "erin"})
        assert decision.outcome is sdk.Outcome.ALLOWED
        with pytest.raises(sdk.InvalidRequestError, match="aws:PrincipalTagg/Department is not"):
            client.authorize("erin", "s3:GetObject", VAULT, {"aws:PrincipalTagg/Department": "Finance"})


def test_embedded_mode_refuses_undefined_keys_as_the_sidecar_does(tmp_path):
    with sdk.Embedded(str(_write(tmp_path))) as embedded:
        assert embedded.authorize("erin", "s3:GetObject", LEDGER).outcome is sdk.Outcome.IMPLICIT_DENY
        with pytest.raises(sdk.InvalidRequestError, match=r"context\[0\]\.key: aws:usrname is not"):
            embedded.authorize("erin", "s3:GetObject", LEDGER, {"aws:usrname": "erin"})
