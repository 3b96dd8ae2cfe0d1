"""``ActionPlan._sources`` probes the prefix buckets only at delimiters where some bucket key can
end (``ActionPlan.cuts``: from the shortest key's length to the longest's). It must find exactly
the buckets a probe at every delimiter finds, and the candidates must be every statement whose
Resource can match: the tests fail if the range were cut one character short on either side."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import compile_document

from iamgate.engine import PolicyKind
from iamgate.engine.arn import ArnPattern, ShortArn
from iamgate.engine.index import _DELIMITERS, RESOURCE_INDEX_THRESHOLD, resource_key

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEGMENTS = st.sampled_from(["a", "b", "ab", "a:b", "x/y", ""])
PATHS = st.lists(SEGMENTS, min_size=0, max_size=4).map("/".join)
SERVICES = st.sampled_from(["s3:::", "sqs:us-east-1:111122223333:", "iam::111122223333:", "s3:::a"])
TAILS = st.sampled_from(["*", "/*", ":*", "", "?", "x*"])
PATTERNS = st.builds(lambda service, path, tail: f"arn:aws:{service}{path}{tail}", SERVICES, PATHS, TAILS) | (
    st.sampled_from(["arn:aws:*", "arn:*", "arn:aws:s3:*:*:*", "*"])
)
RESOURCES = st.builds(lambda service, path: f"arn:aws:{service}{path}", SERVICES, PATHS)


def _reference_sources(plan, key):
    """``_sources`` without the cut range: a probe at every delimiter of the key."""
    sources = []
    hit = plan.exact.get(key)
    if hit:
        sources.append(hit)
    if plan.by_prefix:
        hit = plan.by_prefix.get("")
        if hit:
            sources.append(hit)
        for delimiter in _DELIMITERS:
            position = key.find(delimiter)
            while position >= 0:
                hit = plan.by_prefix.get(key[: position + 1])
                if hit:
                    sources.append(hit)
                position = key.find(delimiter, position + 1)
    if plan.rest:
        sources.append(plan.rest)
    return sources


@EXAMPLES
@given(
    patterns=st.lists(PATTERNS, min_size=RESOURCE_INDEX_THRESHOLD, max_size=RESOURCE_INDEX_THRESHOLD * 4),
    resources=st.lists(RESOURCES, min_size=1, max_size=8),
)
def test_probes_find_the_buckets_a_probe_at_every_delimiter_finds(patterns, resources):
    statements = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": p} for p in patterns]
    policy = compile_document(statements, kind=PolicyKind.IDENTITY)
    plan = policy.index.plan("s3:getobject")
    assert plan.exact is not None
    for resource in resources:
        key = resource_key(resource)
        found = sorted(position for source in plan._sources(key) for position in source)
        expected = sorted(position for source in _reference_sources(plan, key) for position in source)
        assert found == expected, (resource, plan.cuts)
        offered = set(map(id, plan.select(key)))
        for statement in plan.statements:
            pattern = ArnPattern.compile(statement.statement.resources[0], short=ShortArn.PAD)
            if pattern.matches(resource, {}):
                assert id(statement) in offered, (statement.statement.resources, resource)


def test_a_prefix_key_of_the_shortest_and_of_the_longest_length_is_found():
    short, long = "arn:aws:s3:::a/", "arn:aws:s3:::a/b/c/d/e/"
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{prefix}*"}
        for prefix in (short, long, *(f"arn:aws:s3:::m{i}/n/" for i in range(RESOURCE_INDEX_THRESHOLD)))
    ]
    plan = compile_document(statements, kind=PolicyKind.IDENTITY).index.plan("s3:getobject")
    assert plan.cuts == (len(short) - 1, len(long))
    offered = plan.select(resource_key("arn:aws:s3:::a/b/c/d/e/key"))
    assert [s.statement.resources[0] for s in offered] == [f"{short}*", f"{long}*"]
