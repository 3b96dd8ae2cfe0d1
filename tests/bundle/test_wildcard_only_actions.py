"""Actions that take no resource, through the snapshot: evaluated on ``*``, cached so, remembered per action.

The sidecar's side of it is pinned on a real sidecar in
``tests/security/test_wild_wildcard_only_actions.py``; here the snapshot's own paths (bundle tests,
the decision cache) and the bounded memo of ``iamgate.engine.wildcard_only``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.bundle.testing import run_tests
from iamgate.catalogue import Action, Catalogue, Service
from iamgate.engine.wildcard_only import ACTIONS_KEPT, TEXT_LIMIT, WildcardOnlyActions
from tests.bundle.helpers import ACCOUNT, NOON, minimal_files, write_files

V = "2012-10-17"
CAROL = f"arn:aws:iam::{ACCOUNT}:user/carol"
DAVE = f"arn:aws:iam::{ACCOUNT}:user/dave"


def _user(name: str, *statements: dict) -> dict:
    document = {"Version": V, "Statement": list(statements)}
    return {"UserName": name, "UserPolicyList": [{"PolicyName": "Work", "PolicyDocument": document}]}


FILES = minimal_files(
    {
        f"accounts/{ACCOUNT}/users.json": {
            "Users": [
                {"UserName": "alice", "GroupList": ["Readers"]},
                _user(
                    "carol",
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"},
                ),
                _user(
                    "dave",
                    {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetObject"], "Resource": "*"},
                    {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::secret*"},
                ),
            ]
        },
        "tests/wildcard-only.json": {
            "tests": [
                {
                    "name": "an ARN pattern grants no action that takes no resource",
                    "principal": "carol",
                    "action": "s3:ListAllMyBuckets",
                    "resource": "arn:aws:s3:::foo",
                    "expected": "implicitDeny",
                },
                {
                    "name": "a Deny of an ARN does not reach an action that takes no resource",
                    "principal": "dave",
                    "action": "s3:ListAllMyBuckets",
                    "resource": "arn:aws:s3:::secret",
                    "expected": "allowed",
                },
            ]
        },
    }
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return write_files(tmp_path_factory.mktemp("wildcard-only"), FILES)


def test_the_bundle_s_own_tests_follow_aws(bundle):
    report = run_tests(load_snapshot(bundle))
    assert [(result.passed, result.error) for result in report.results] == [(True, "")] * 3


QUESTIONS = list(
    itertools.product(
        (CAROL, DAVE),
        ("s3:ListAllMyBuckets", "s3:GetObject"),
        ("*", "arn:aws:s3:::foo", "arn:aws:s3:::secret", "arn:aws:s3:::secret/x", "arn:aws:s3:::data/x"),
    )
)


def test_the_cache_on_and_off_give_the_same_answers(bundle):
    cached, fresh = load_snapshot(bundle, cache_size=1000), load_snapshot(bundle)
    for principal, action, resource in QUESTIONS * 2:
        query = AccessQuery(principal, action, resource)
        assert (
            cached.authorize(query, now=NOON).evaluation.decision
            is fresh.authorize(query, now=NOON).evaluation.decision
        ), query


def test_an_action_that_takes_no_resource_is_cached_once_for_every_arn(bundle):
    snapshot = load_snapshot(bundle, cache_size=1000)
    for resource in ("arn:aws:s3:::a", "arn:aws:s3:::b", "*"):
        snapshot.authorize(AccessQuery(DAVE, "s3:ListAllMyBuckets", resource), now=NOON)
    assert (snapshot.decision_cache.hits, snapshot.decision_cache.size) == (2, 1)


def test_the_answer_names_the_resource_evaluated(bundle):
    outcome = load_snapshot(bundle).authorize(AccessQuery(CAROL, "s3:ListAllMyBuckets", "arn:aws:s3:::foo"))
    assert "on resource: *" in outcome.message


# -- the memo ---------------------------------------------------------------------------------------


def _counting_catalogue(loads: list[str]) -> Catalogue:
    def load(prefix: str) -> Service:
        loads.append(prefix)
        actions = {
            "listthings": Action(prefix, "ListThings", "List"),
            "getthing": Action(prefix, "GetThing", "Read", resource_types=("thing",)),
        }
        return Service(prefix, prefix, actions, {}, {})

    return Catalogue("test", frozenset({"svc", "other"}), load)


def test_only_actions_the_catalogue_lists_without_resource_types_are_evaluated_on_star():
    actions = WildcardOnlyActions(_counting_catalogue([]))
    assert actions.evaluated_resource("svc:ListThings", "arn:aws:svc:::thing/1") == "*"
    assert actions.evaluated_resource("svc:GetThing", "arn:aws:svc:::thing/1") == "arn:aws:svc:::thing/1"
    assert actions.evaluated_resource("app:ListThings", "arn:aws:app:::thing/1") == "arn:aws:app:::thing/1"


def test_warming_reads_the_services_of_the_bundle_s_actions_once():
    loads: list[str] = []
    actions = WildcardOnlyActions(_counting_catalogue(loads))
    actions.warm(["svc:Get*", "*", "s?c:GetThing", "app:Read"])
    assert loads == ["svc"]
    actions.takes_no_resource("svc:ListThings")
    actions.takes_no_resource("svc:GetThing")
    assert loads == ["svc"]


def test_the_memo_of_actions_stays_bounded():
    actions = WildcardOnlyActions(_counting_catalogue([]))
    for index in range(ACTIONS_KEPT + 10):
        actions.takes_no_resource(f"svc:Action{index}")
    assert len(actions._actions) <= ACTIONS_KEPT
    actions.takes_no_resource("svc:" + "x" * TEXT_LIMIT)
    assert "svc:" + "x" * TEXT_LIMIT not in actions._actions
