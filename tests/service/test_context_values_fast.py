"""``convert.context_values`` converts without naming anything first and names the entry or value
at fault only when it refuses one; it must answer exactly what the naming conversion answers
(``_named_context_values``, the conversion as it was), values and errors alike."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.engine import RequestError
from iamgate.service import convert
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
