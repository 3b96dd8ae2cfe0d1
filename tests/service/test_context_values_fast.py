"""``convert.context_values`` converts without naming anything first and names the entry or value
at fault only when it refuses one; it must answer exactly what the naming conversion answers
(``_named_context_values``, the conversion as it was), values and errors alike."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.engine import RequestError
from iamgate.service import convert, limits
from iamgate.service.config import ServiceConfig
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

VALUES = st.one_of(
    st.text(max_size=6).map(lambda text: pb.ContextValue(string_value=text)),
    st.booleans().map(lambda flag: pb.ContextValue(bool_value=flag)),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda n: pb.ContextValue(number_value=n)),
    st.sampled_from(["10.0.0.1", "::1", ""]).map(lambda ip: pb.ContextValue(ip_value=ip)),
    st.sampled_from(["2026-01-01T00:00:00Z", ""]).map(lambda text: pb.ContextValue(date_text=text)),
    st.integers(-(10**13), 10**13).map(lambda s: pb.ContextValue(date_value={"seconds": s, "nanos": 5})),
    st.binary(max_size=4).map(lambda data: pb.ContextValue(binary_value=data)),
    st.just(pb.ContextValue()),  # no value type set: refused
)
ENTRIES = st.builds(
    lambda key, values, multi: pb.ContextEntry(key=key, values=values, multi_valued=multi),
    st.sampled_from(["aws:SourceIp", "k", ""]),
    st.lists(VALUES, max_size=3),
    st.booleans(),
)


def _answer(convert_) -> tuple:
    try:
        return ("values", convert_())
    except RequestError as error:
        return ("refused", error.field, error.detail)


@settings(max_examples=500, deadline=None)
@given(st.lists(ENTRIES, max_size=3), st.sampled_from(["context", "requests[3].context"]))
def test_context_values_answer_what_the_naming_conversion_answers(entries, field):
    request = pb.AuthorizeRequest(context=entries)
    fast = _answer(lambda: convert.context_values(request.context, field))
    named = _answer(lambda: convert._named_context_values(request.context, field))
    assert fast == named
    if fast[0] == "values":
        assert [value.part for value in fast[1]] == [value.part for value in named[1]]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(ENTRIES, min_size=1, max_size=4),
    st.integers(1, 5),
    st.integers(1, 8),
)
def test_counted_context_values_answer_as_the_limits_and_the_conversion(entries, most_entries, most_values):
    """The route path's conversion of an item within the size limit and without a session
    policy: the values ``context_values`` gives when ``check_access_request`` passes the item and
    the conversion accepts it, ``None`` otherwise (the ordinary path then refuses it)."""
    request = pb.AuthorizeRequest(principal="p", action="s3:GetObject", resource="*", context=entries)
    config = ServiceConfig(max_context_entries=most_entries, max_context_values=most_values)
    try:
        limits.check_access_request(request, config)
        expected = convert.context_values(request.context)
    except (RequestError, limits.LimitExceeded):
        expected = None
    counted = convert.counted_context_values(request.context, most_entries, most_values)
    if expected is None:
        assert counted is None
    else:
        assert counted == expected
        assert [value.part for value in counted] == [value.part for value in expected]


def test_the_usual_context_is_converted_inline_as_context_values_converts_it():
    for multi in (False, True):
        request = pb.AuthorizeRequest(
            context=[
                pb.ContextEntry(
                    key="aws:SourceIp", values=[pb.ContextValue(string_value="10.0.0.1")], multi_valued=multi
                )
            ]
        )
        counted = convert.counted_context_values(request.context, 100, 1000)
        assert counted == convert.context_values(request.context) and counted[0].multi is multi
