"""Property: who-can and what-can agree with Authorize (Snapshot.authorize) on every request they imply.

An ``allowed`` row is allowed by Authorize with no caller context; anything Authorize allows with no
caller context is a row (allowed or conditional); who-can and what-can give the same answer for
the same (principal, action, resource).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamgate.bundle.access import (
    ALLOWED,
    action_patterns,
    expand_actions,
    fits_service,
    principal_variables,
    principals,
    resource_patterns,
    sample_resource,
    what_can,
    who_can,
)
from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.catalogue import aws_catalogue

from .helpers import ACCOUNT, NOON, write_files

ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:GetObj*", "sqs:SendMessage")
RESOURCES = (
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/secret/*",
    "arn:aws:s3:::c/*",
    f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
)
CONDITIONS = (
    None,
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"StringEquals": {"aws:PrincipalTag/team": "data"}},
    {"Bool": {"aws:SecureTransport": "false"}},
)

statements = st.builds(
    lambda effect, actions, resources, condition: {
        "Effect": effect,
        "Action": actions,
        "Resource": resources,
        **({"Condition": condition} if condition else {}),
    },
    st.sampled_from(("Allow", "Allow", "Deny")),
    st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True),
    st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True),
    st.sampled_from(CONDITIONS),
)
users = st.lists(
    st.tuples(st.lists(statements, min_size=1, max_size=3), st.booleans()), min_size=1, max_size=3
)


def _bundle(root: Path, generated: list) -> object:
    listed = []
    for number, (statement_list, tagged) in enumerate(generated):
        user = {
            "UserName": f"u{number}",
            "UserPolicyList": [
                {"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": statement_list}}
            ],
        }
        if tagged:
            user["Tags"] = [{"Key": "team", "Value": "data"}]
        listed.append(user)
    write_files(root, {f"accounts/{ACCOUNT}/users.json": {"Users": listed}})
    return load_snapshot(root)


def _check_agreement(snapshot, principal_arns, rng: random.Random, samples_per_principal: int) -> None:
    catalogue = aws_catalogue()
    resources = sorted(resource_patterns(snapshot))
    for arn in principal_arns:
        entry = snapshot.by_arn[arn]
        rows = {
            (row.action.lower(), row.resource): row
            for row in what_can(snapshot, arn, catalogue, now=NOON).rows
        }
        actions = expand_actions(action_patterns(snapshot, entry), catalogue, [])
        variables = principal_variables(snapshot, arn)
        universe = [
            (a, r)
            for a in actions
            for r in resources
            if sample_resource(r, variables) is not None and fits_service(a, r)
        ]
        for action, pattern in rng.sample(universe, min(samples_per_principal, len(universe))):
            sample = sample_resource(pattern, variables)
            outcome = snapshot.authorize(AccessQuery(arn, action, sample), now=NOON)
            row = rows.get((action.lower(), pattern))
            if row is not None and row.status == ALLOWED:
                assert outcome.allowed, (arn, action, pattern)
            if outcome.allowed:
                assert row is not None, (arn, action, pattern)
            who = {r.principal: r.status for r in who_can(snapshot, action, sample, now=NOON).rows}
            assert who.get(arn) == (row.status if row is not None else None), (arn, action, pattern)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(users, st.randoms(use_true_random=False))
def test_who_can_and_what_can_agree_with_authorize_on_generated_bundles(generated, rng):
    with tempfile.TemporaryDirectory() as directory:
        snapshot = _bundle(Path(directory), generated)
        _check_agreement(snapshot, [e.arn for e in principals(snapshot)], rng, 8)


def test_who_can_and_what_can_agree_with_authorize_on_the_embedded_bundle():
    snapshot = load_default_snapshot(cache_size=0)
    _check_agreement(snapshot, [e.arn for e in principals(snapshot)], random.Random(13), 20)
