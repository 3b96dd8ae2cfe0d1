"""The context keys the sidecar fills as IAM would, and reports as filled."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgate.bundle import context as ctx
from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.trust import TrustedKeys
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision

from .helpers import NOON, write_files

ACCOUNT = "111122223333"
V = "2012-10-17"


def _echo_policy(key: str, value: str) -> dict:
    """Allows s3:GetObject on the atlas bucket only when ``key`` equals ``value``."""
    return {
        "Version": V,
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::atlas/*",
                "Condition": {"StringEquals": {key: value}},
            }
        ],
    }


FILES = {
    f"accounts/{ACCOUNT}/users.json": {
        "Users": [
            {
                "UserName": "erin",
                "UserId": "AIDAERINEXAMPLE00001",
                "Tags": [{"Key": "Department", "Value": "Data"}],
                "UserPolicyList": [
                    {
                        "PolicyName": "Probe",
                        "PolicyDocument": {
                            "Version": V,
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "ec2:StopInstances",
                                    "Resource": "*",
                                    "Condition": {"StringEquals": {"ec2:ResourceTag/Environment": "staging"}},
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::${aws:username}/*",
                                },
                            ],
                        },
                    }
                ],
            },
        ]
    },
    f"accounts/{ACCOUNT}/roles.json": {
        "Roles": [
            {
                "RoleName": "builder",
                "RoleId": "AROABUILDEREXAMPLE01",
                "Tags": [{"Key": "Project", "Value": "atlas"}],
                "AssumeRolePolicyDocument": {
                    "Version": V,
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "codebuild.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "RolePolicyList": [
                    {
                        "PolicyName": "Probe",
                        "PolicyDocument": _echo_policy("aws:PrincipalTag/Project", "atlas"),
                    }
                ],
            },
        ]
    },
    f"accounts/{ACCOUNT}/resource-tags.json": {
        "ResourceTags": [
            {
                "ResourceArn": f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1",
                "Tags": [{"Key": "Environment", "Value": "staging"}],
            },
        ]
    },
}
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/builder/job-9"
ERIN = f"arn:aws:iam::{ACCOUNT}:user/erin"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    return load_snapshot(write_files(tmp_path_factory.mktemp("context"), FILES))


def _filled(snapshot, principal, resource="arn:aws:s3:::x/y", context=(), action="s3:GetObject"):
    outcome = snapshot.authorize(AccessQuery(principal, action, resource, context), explain=True, now=NOON)
    return outcome, dict.fromkeys(outcome.filled_context)


def test_a_user_gets_username_userid_arn_account_type_and_tags(snapshot):
    _, filled = _filled(snapshot, "erin")
    assert list(filled)[:6] == [
        "aws:username",
        "aws:userid",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:PrincipalIsAWSService",
    ]
    assert "aws:PrincipalTag/Department" in filled


def test_the_time_keys_come_from_the_injected_clock(snapshot):
    outcome = snapshot.authorize(AccessQuery("erin", "s3:GetObject", "*"), explain=True, now=NOON)
    assert {"aws:CurrentTime", "aws:EpochTime"} <= set(outcome.filled_context)


def test_the_username_variable_is_substituted_from_the_filled_key(snapshot):
    outcome = snapshot.authorize(AccessQuery("erin", "s3:GetObject", "arn:aws:s3:::erin/notes.txt"), now=NOON)
    assert outcome.evaluation.decision is Decision.ALLOWED


def test_a_role_session_has_no_username(snapshot):
    _, filled = _filled(snapshot, SESSION)
    assert "aws:username" not in filled
    assert {"aws:userid", "aws:PrincipalArn", "aws:PrincipalType", "aws:PrincipalTag/Project"} <= set(filled)


def test_a_role_tag_is_a_principal_tag_of_its_sessions(snapshot):
    outcome, _ = _filled(snapshot, SESSION, "arn:aws:s3:::atlas/build.log")
    assert outcome.evaluation.decision is Decision.ALLOWED


@pytest.mark.parametrize(
    ("principal", "key", "value"),
    [
        ("erin", "aws:username", "erin"),
        ("erin", "aws:userid", "AIDAERINEXAMPLE00001"),
        ("erin", "aws:PrincipalArn", ERIN),
        ("erin", "aws:PrincipalAccount", ACCOUNT),
        ("erin", "aws:PrincipalType", "User"),
        ("erin", "aws:PrincipalTag/Department", "Data"),
        ("erin", "aws:CurrentTime", "2025-06-02T12:00:00Z"),
        ("erin", "aws:EpochTime", "1748865600"),
        (SESSION, "aws:userid", "AROABUILDEREXAMPLE01:job-9"),
        (SESSION, "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/builder"),
        (SESSION, "aws:PrincipalType", "AssumedRole"),
        ("codebuild.amazonaws.com", "aws:PrincipalServiceName", "codebuild.amazonaws.com"),
        ("codebuild.amazonaws.com", "aws:PrincipalIsAWSService", "true"),
    ],
)
def test_a_filled_key_has_the_value_iam_would_give_it(tmp_path, principal, key, value):
    """Each probe policy allows only when the filled key has exactly the expected value."""
    files = dict(FILES)
    files[f"accounts/{ACCOUNT}/resource-policies.json"] = {
        "ResourcePolicies": [
            {
                "ResourceArn": "arn:aws:s3:::probe",
                "Policy": {
                    "Version": V,
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::probe/*",
                            "Condition": {"StringEquals": {key: value}},
                        }
                    ],
                },
            }
        ]
    }
    snapshot = load_snapshot(write_files(tmp_path, files))
    outcome = snapshot.authorize(AccessQuery(principal, "s3:GetObject", "arn:aws:s3:::probe/x"), now=NOON)
    assert outcome.evaluation.decision is Decision.ALLOWED, outcome.message
    asserted = AccessQuery(
        principal, "s3:GetObject", "arn:aws:s3:::probe/x", (ContextValue(key.upper(), ("something-else",)),)
    )
    with pytest.raises(RequestError, match=r"context\[0\]\.key: .*callers may not assert it"):
        snapshot.authorize(asserted, now=NOON)
    trusting = snapshot.with_trust(TrustedKeys.of([key]))
    assert trusting.authorize(asserted, now=NOON).evaluation.decision is Decision.IMPLICIT_DENY


def test_resource_tags_fill_the_global_and_the_service_key(snapshot):
    _, filled = _filled(
        snapshot, "erin", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1", action="ec2:StopInstances"
    )
    assert {"aws:ResourceTag/Environment", "ec2:ResourceTag/Environment"} <= set(filled)


def test_a_resource_tag_from_the_bundle_decides_a_condition(snapshot):
    outcome = snapshot.authorize(
        AccessQuery("erin", "ec2:StopInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1"), now=NOON
    )
    assert outcome.evaluation.decision is Decision.ALLOWED


def test_a_tag_of_a_resource_the_bundle_tags_is_refused_from_the_caller(snapshot):
    supplied = (ContextValue("EC2:ResourceTag/Environment", ("production",)),)
    query = AccessQuery(
        "erin", "ec2:StopInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1", supplied
    )
    with pytest.raises(RequestError, match="from the tags the bundle holds for this resource"):
        snapshot.authorize(query, now=NOON)


def test_a_tag_of_a_resource_the_bundle_does_not_tag_is_the_callers_to_give(snapshot):
    supplied = (ContextValue("ec2:ResourceTag/Environment", ("staging",)),)
    query = AccessQuery(
        "erin", "ec2:StopInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-2", supplied
    )
    outcome = snapshot.authorize(query, now=NOON)
    assert outcome.evaluation.decision is Decision.ALLOWED
    assert "ec2:ResourceTag/Environment" not in outcome.filled_context


def test_an_operator_trusted_key_the_query_supplies_wins_and_is_not_reported_as_filled(snapshot):
    trusting = snapshot.with_trust(TrustedKeys.of(["ec2:ResourceTag/*"]))
    supplied = (ContextValue("EC2:ResourceTag/Environment", ("production",)),)
    outcome = trusting.authorize(
        AccessQuery("erin", "ec2:StopInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1", supplied),
        now=NOON,
    )
    assert outcome.evaluation.decision is Decision.IMPLICIT_DENY
    assert "ec2:ResourceTag/Environment" not in outcome.filled_context


def test_the_tags_of_a_bundle_user_are_known_even_when_it_has_none(tmp_path):
    files = dict(FILES)
    files[f"accounts/{ACCOUNT}/users.json"] = {
        "Users": [*FILES[f"accounts/{ACCOUNT}/users.json"]["Users"], {"UserName": "untagged"}]
    }
    snapshot = load_snapshot(write_files(tmp_path, files))
    supplied = (ContextValue("iam:ResourceTag/Department", ("Data",)),)
    query = AccessQuery("erin", "iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/untagged", supplied)
    with pytest.raises(RequestError, match="callers may not assert it"):
        snapshot.authorize(query, now=NOON)


def test_the_resource_account_is_filled_from_the_arn(snapshot):
    outcome = snapshot.authorize(
        AccessQuery("erin", "ec2:StopInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1"), now=NOON
    )
    assert "aws:ResourceAccount" in outcome.filled_context


def test_an_unknown_principal_gets_no_filled_context(snapshot):
    outcome = snapshot.authorize(AccessQuery("nobody", "s3:GetObject", "*"), now=NOON)
    assert outcome.filled_context == ()


def test_the_role_tags_fill_iam_resource_tags_when_the_role_is_the_resource(snapshot):
    outcome = snapshot.authorize(
        AccessQuery("erin", "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/builder"), now=NOON
    )
    assert {"aws:ResourceTag/Project", "iam:ResourceTag/Project"} <= set(outcome.filled_context)


_names = st.sampled_from(["aws:a", "aws:b", "aws:C", "x:d", "x:e"])
_layer = st.dictionaries(_names, st.text(max_size=3), max_size=4).map(
    lambda values: MappingProxyType({k.lower(): ContextValue(k, (v,)) for k, v in values.items()})
)


@given(layers=st.lists(_layer, min_size=1, max_size=3), supplied=st.none() | _layer.map(dict))
def test_over_layers_merges_as_merge_does(layers, supplied):
    """The snapshot's merge over kept layers (a copy of the proxy) equals the reference ``merge``."""
    merged, pairs = ctx.layered(*layers)
    names = tuple(name for _, name in pairs)
    context, filled = ctx.over_layers(supplied, merged, pairs, names)
    expected, expected_filled = ctx.merge(supplied or {}, *layers)
    assert dict(context) == expected
    assert list(context) == list(expected)
    assert filled == expected_filled
    if supplied:
        assert type(context) is dict and context is not merged  # the kept layers are never written


@given(layers=st.lists(_layer, min_size=1, max_size=3), layer=_layer)
def test_a_layer_put_on_kept_base_layers_merges_as_layered_does(layers, layer):
    """``extended`` (the snapshot's resource layer on a principal's base) equals merging them all."""
    base = ctx.with_names(ctx.layered(*layers))
    kept = tuple(base[0].items()), base[1], base[2]
    merged, pairs, names = ctx.extended(base, layer)
    expected, expected_pairs = ctx.layered(*layers, layer)
    assert list(merged.items()) == list(expected.items())
    assert pairs == expected_pairs
    assert names == tuple(name for _, name in expected_pairs)
    assert (tuple(base[0].items()), base[1], base[2]) == kept  # the base is never written
    assert isinstance(merged, MappingProxyType)
