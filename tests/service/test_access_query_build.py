"""``convert.access_query`` is one definition of a request's checks and query: the usual request
(no context, session policy or tags) returns early with only its size checked, and every query
is built positionally by ``AccessQuery``'s slot-setting ``__init__``. Both must give what the
general path and a keyword-built query give; these tests fail if either differs."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.bundle.query import AccessQuery
from iamgate.engine import RequestError
from iamgate.engine.request import ContextValue
from iamgate.service import convert, limits
from iamgate.service.config import ServiceConfig
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

TEXT = st.text(max_size=12)
VALUES = st.tuples(TEXT, st.tuples(TEXT), st.booleans()).map(lambda v: ContextValue(*v))


@settings(max_examples=300, deadline=None)
@given(
    TEXT,
    TEXT,
    TEXT,
    st.lists(VALUES, max_size=3).map(tuple),
    st.none() | TEXT,
    TEXT,
    st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple),
)
def test_a_query_built_positionally_equals_the_one_built_by_keyword(
    principal, action, resource, context, session_policy, request_id, session_tags
):
    fields = (principal, action, resource, context, session_policy, request_id, session_tags)
    fast = convert._query(*fields)
    built = AccessQuery(
        principal=principal,
        action=action,
        resource=resource,
        context=context,
        session_policy=session_policy,
        request_id=request_id,
        session_tags=session_tags,
    )
    assert type(fast) is AccessQuery
    assert fast == built and hash(fast) == hash(built) and repr(fast) == repr(built)
    assert dataclasses.astuple(fast) == dataclasses.astuple(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.principal = "other"  # type: ignore[misc]


def _general(request: pb.AuthorizeRequest, prefix: str, config: ServiceConfig) -> AccessQuery:
    """What the servicer did before the early return: every limit, then the conversion."""
    limits.check_access_request(request, config, prefix)
    if not request.principal:
        raise RequestError(f"{prefix}principal", "must not be empty")
    convert.check_target(request.action, request.resource, prefix)
    return AccessQuery(
        request.principal,
        request.action,
        request.resource,
        convert.context_values(request.context, f"{prefix}context") if request.context else (),
        request.session_policy or None,
        request.request_id,
        tuple((tag.key, tag.value) for tag in request.session_tags),
    )


NAMES = st.sampled_from(["", "sarah-developer", "arn:aws:iam::123456789012:user/eve"])
ACTIONS = st.sampled_from(["", "ec2:StopInstances", "StopInstances", "s3:*", ":"])
RESOURCES = st.sampled_from(["", "*", "arn:aws:s3:::bucket/key"])


@st.composite
def requests(draw) -> pb.AuthorizeRequest:
    request = pb.AuthorizeRequest(
        principal=draw(NAMES),
        action=draw(ACTIONS),
        resource=draw(RESOURCES),
        request_id=draw(st.sampled_from(["", "r-1", "x" * 300])),
        session_policy=draw(st.sampled_from(["", "{}", "p" * 200])),
    )
    for _ in range(draw(st.integers(0, 3))):
        request.context.add(key=draw(st.sampled_from(["", "k"])), values=[pb.ContextValue(string_value="v")])
    for _ in range(draw(st.integers(0, 2))):
        request.session_tags.add(key="team", value=draw(TEXT))
    return request


def _answer(convert_) -> tuple:
    try:
        return ("query", convert_())
    except RequestError as error:
        return ("invalid", error.field, error.detail)
    except limits.LimitExceeded as error:
        return ("limit", error.code, error.message)


@settings(max_examples=400, deadline=None)
@given(requests(), st.sampled_from(["", "requests[7]."]), st.sampled_from([64, 150, 10_000]))
def test_access_query_with_limits_answers_what_the_limits_then_the_conversion_answer(request, prefix, most):
    config = ServiceConfig(max_request_bytes=most, max_session_policy_bytes=100, max_context_entries=2)
    got = _answer(lambda: convert.access_query(request, prefix, config))
    assert got == _answer(lambda: _general(request, prefix, config))
    assert _answer(lambda: convert.access_query(request, prefix)) == _answer(
        lambda: _general(request, prefix, ServiceConfig(max_request_bytes=1 << 30))
    )
