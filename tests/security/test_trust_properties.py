"""Issue 8, "Done when": no spelling, no asserted key and no wildcard turns a deny into an allow.

For random requests against the embedded bundle and a generated one (``bench/generator.py``):

* adding any key the sidecar owns (random case, random value) is refused;
* adding a misspelt AWS key (one letter changed, dropped or added: ``aws:usrname``), which AWS
  never sets, is refused;
* re-spelling the resource ARN (case of its prefix parts, the case of an IAM name, whitespace)
  is refused or decides exactly as the canonical spelling does;
* wildcarding the action is refused.

So a deny stays a deny: the request is refused or decides the same. It runs on the snapshot, the
layer every path (Authorize, Explain, ``iamgate test``) shares; the regression tests beside it
replay the attacks on a real sidecar.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.load import load_snapshot
from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.bundle.snapshot import Snapshot
from iamgate.bundle.trust import owned_reason
from iamgate.catalogue import GLOBAL_KEYS, aws_catalogue
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bundle_export import write_bundle  # noqa: E402
from bench.generator import generate_organization  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
OWNED_KEYS = (
    "aws:username",
    "aws:userid",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:PrincipalTag/Department",
    "aws:PrincipalTag/team",
    "aws:PrincipalOrgID",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:CurrentTime",
    "aws:EpochTime",
)
RESOURCE_KEYS = (
    "aws:ResourceTag/Environment",
    "ec2:ResourceTag/Environment",
    "s3:ResourceTag/Application",
    "iam:ResourceTag/Department",
    "aws:ResourceAccount",
)
VALUES = (
    "john-developer",
    "staging",
    "production",
    "Finance",
    "Engineering",
    "2025-06-02T10:00:00Z",
    "1748858400",
    "arn:aws:iam::123456789012:user/john-developer",
    "123456789012",
    "true",
    "",
)
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _embedded_queries(snapshot: Snapshot) -> list[AccessQuery]:
    principals = sorted({t.principal for t in snapshot.tests} | {"mike-devops", "lisa-finance"})
    actions = sorted({t.action for t in snapshot.tests} | {"ec2:TerminateInstances", "iam:CreateAccessKey"})
    resources = sorted(
        {t.resource for t in snapshot.tests}
        | set(snapshot.resource_tags)
        | {e.arn for e in snapshot.by_arn.values()}
    )
    return [AccessQuery(p, a, r) for p in principals for a in actions for r in resources]


def _generated_queries(snapshot: Snapshot, organization) -> list[AccessQuery]:
    queries = []
    for request in organization.typical_requests:
        context = tuple(ContextValue(name, values, multi) for name, values, multi in request.context)
        queries.append(AccessQuery(request.principal, request.action, request.resource, context))
    return queries


class _Cases:
    """Requests to start from: ``pointed`` (the bundles' own tests, generated requests) and
    ``broad`` (a cross product of the embedded bundle's principals, actions and resources).
    Its short repr keeps Hypothesis's report of a failing example readable."""

    def __init__(self, pointed: list, broad: list) -> None:
        self.pointed, self.broad = pointed, broad

    def __repr__(self) -> str:
        return f"<{len(self.pointed)} pointed and {len(self.broad)} broad requests>"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    embedded = load_default_snapshot(cache_size=0)
    organization = generate_organization(400, seed=11, requests=300)
    generated = load_snapshot(write_bundle(organization, tmp_path_factory.mktemp("generated"))).with_cache(0)
    own_tests = [
        (embedded, AccessQuery(t.principal, t.action, t.resource, t.context)) for t in embedded.tests
    ]
    pointed = own_tests + [(generated, q) for q in _generated_queries(generated, organization)]
    return _Cases(pointed, [(embedded, q) for q in _embedded_queries(embedded)])


def _decide(snapshot: Snapshot, query: AccessQuery) -> AccessOutcome | None:
    """The outcome, or ``None`` when the request is refused."""
    try:
        return snapshot.authorize(query, now=NOW)
    except RequestError:
        return None


def _valid(snapshot: Snapshot, query: AccessQuery) -> AccessQuery:
    """The query without the context keys this snapshot refuses (the generator fills some)."""
    knowledge = snapshot.resource_facts(query.resource).knowledge
    kept = tuple(c for c in query.context if owned_reason(c.name.lower(), c.name, knowledge) is None)
    return AccessQuery(query.principal, query.action, query.resource, kept)


def _case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


def _pick(data, cases: _Cases) -> tuple[Snapshot, AccessQuery]:
    pool = cases.broad if data.draw(st.integers(0, 2), label="pool") == 2 else cases.pointed
    snapshot, query = pool[data.draw(st.integers(0, len(pool) - 1), label="index")]
    query = _valid(snapshot, query)
    note(f"bundle {snapshot.name}: {query}")
    return snapshot, query


@given(data=st.data())
@SETTINGS
def test_adding_an_owned_key_is_refused_and_never_turns_a_deny_into_an_allow(cases, data):
    snapshot, query = _pick(data, cases)
    knowledge = snapshot.resource_facts(query.resource).knowledge
    candidates = OWNED_KEYS + tuple(
        k for k in RESOURCE_KEYS if owned_reason(k.lower(), k, knowledge) is not None
    )
    key = _case(data.draw, data.draw(st.sampled_from(candidates)))
    value = data.draw(st.one_of(st.sampled_from(VALUES), st.text(max_size=12)))
    position = data.draw(st.integers(0, len(query.context)))
    context = (*query.context[:position], ContextValue(key, (value,)), *query.context[position:])
    mutated = _decide(snapshot, AccessQuery(query.principal, query.action, query.resource, context))
    assert mutated is None, f"{key}={value!r} was accepted for {query}"


def _respell(draw, resource: str) -> str:
    pieces = resource.split(":", 5)
    if len(pieces) != 6:
        return resource
    arn, partition, service, region, account, rest = pieces
    partition, service, region = (_case(draw, part) for part in (partition, service, region))
    if service.lower() == "iam" and "/" in rest:
        head, name = rest.rsplit("/", 1)
        rest = f"{head}/{_case(draw, name)}"
    return ":".join((arn, partition, service, region, account, rest))


@given(data=st.data())
@SETTINGS
def test_a_respelled_resource_decides_as_the_canonical_one(cases, data):
    snapshot, query = _pick(data, cases)
    base = _decide(snapshot, query)
    spelling = _respell(data.draw, query.resource)
    mutated = _decide(snapshot, AccessQuery(query.principal, query.action, spelling, query.context))
    if base is None:
        assert mutated is None or not mutated.allowed
        return
    if mutated is None:
        return  # refused: never an allow
    assert mutated.evaluation.decision is base.evaluation.decision, f"{spelling!r} vs {query.resource!r}"


@given(data=st.data())
@SETTINGS
def test_whitespace_in_the_resource_is_refused(cases, data):
    snapshot, query = _pick(data, cases)
    blank = data.draw(st.sampled_from([" ", "\t", "\n", "\u00a0", "\u200b", "\r"]))
    position = data.draw(st.integers(0, len(query.resource)))
    spelling = query.resource[:position] + blank + query.resource[position:]
    assert _decide(snapshot, AccessQuery(query.principal, query.action, spelling, query.context)) is None


@given(data=st.data())
@SETTINGS
def test_a_wildcarded_action_is_refused(cases, data):
    snapshot, query = _pick(data, cases)
    service, _, name = query.action.partition(":")
    cut = data.draw(st.integers(0, len(name)))
    wildcard = data.draw(
        st.sampled_from(
            [
                f"{service}:{name[:cut]}*",
                f"{service}:*",
                f"{service}:{name[:cut]}?{name[cut + 1 :]}" if cut < len(name) else f"{service}:{name}?",
                f"{service}:{name[:cut]}*{name[cut:]}",
            ]
        )
    )
    assert _decide(snapshot, AccessQuery(query.principal, wildcard, query.resource, query.context)) is None


AWS_NAMES = (
    *(name for name in GLOBAL_KEYS if "${" not in name),
    "s3:prefix",
    "s3:delimiter",
    "iam:PassedToService",
    "ec2:InstanceType",
)


def _misspelt(draw) -> str:
    name = draw(st.sampled_from(AWS_NAMES))
    prefix, _, rest = name.partition(":")
    at = draw(st.integers(0, len(rest) - 1))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"))
    rest = draw(
        st.sampled_from(
            [rest[:at] + rest[at + 1 :], rest[:at] + letter + rest[at:], rest[:at] + letter + rest[at + 1 :]]
        )
    )
    return _case(draw, f"{prefix}:{rest}")


@given(data=st.data())
@SETTINGS
def test_adding_a_misspelt_aws_key_is_refused_and_never_turns_a_deny_into_an_allow(cases, data):
    snapshot, query = _pick(data, cases)
    key = _misspelt(data.draw)
    if aws_catalogue().aws_defines(key.lower()) is not False:
        return  # the change spelt another key AWS defines (aws:SourceVpc -> aws:SourceVpce)
    value = data.draw(st.one_of(st.sampled_from(VALUES), st.text(max_size=12)))
    position = data.draw(st.integers(0, len(query.context)))
    context = (*query.context[:position], ContextValue(key, (value,)), *query.context[position:])
    mutated = _decide(snapshot, AccessQuery(query.principal, query.action, query.resource, context))
    assert mutated is None, f"{key}={value!r} was accepted for {query}"
