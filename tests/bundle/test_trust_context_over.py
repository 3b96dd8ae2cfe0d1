"""``trust.caller_context_over`` (the route path's trust pass and merge in one) gives what
``caller_context`` followed by ``context.over_layers`` gives, or ``None``, and refuses only what
``caller_context`` refuses, with the same error.

These tests fail if the one-pass merge let an owned or undefined key through, named another
entry in a refusal, let a caller's key replace a filled key without reporting it, or merged a
repeated key other than as ``caller_context`` does.
"""

from __future__ import annotations

import contextlib
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.bundle import context as ctx
from iamgate.bundle.trust import (
    NO_TRUSTED_KEYS,
    DefinedKeys,
    ResourceKnowledge,
    TrustedKeys,
    caller_context,
    caller_context_over,
)
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue

KNOWLEDGE = [ResourceKnowledge(tags_known=t, owner_known=o) for t in (False, True) for o in (False, True)]
TRUSTED = [NO_TRUSTED_KEYS, TrustedKeys.of(["aws:PrincipalTag/*", "aws:username", "ec2:ResourceTag/*"])]
NAMES = (
    "aws:SourceIp",
    "aws:sourceip",
    "aws:MultiFactorAuthPresent",
    "ec2:ResourceTag/Environment",
    "aws:ResourceAccount",
    "aws:username",
    "aws:PrincipalTag/team",
    "aws:CurrentTime",
    "aws:NoSuchKey",
    "s3:prefx",
    "docs:Classification",
    "aws:RequestTag/Cost Center",
)
"""Caller-given, repeated in another case, bundle-held, owned, undefined and odd keys."""
LAYER_NAMES = ("aws:username", "aws:PrincipalTag/team", "aws:CurrentTime", "ec2:ResourceTag/Environment")

_entries = st.lists(
    st.builds(
        ContextValue,
        st.sampled_from(NAMES),
        st.lists(st.sampled_from(["a", "b", ""]), min_size=1, max_size=2).map(tuple),
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
)
_layers = st.lists(st.sampled_from(LAYER_NAMES), unique=True).map(
    lambda names: ctx.with_names(
        ctx.layered(MappingProxyType({n.lower(): ContextValue(n, ("f",)) for n in names}))
    )
)


def _reference(entries, knowledge, trusted, defined, layers):
    try:
        supplied = caller_context(entries, knowledge, trusted, defined=defined)
    except RequestError as error:
        return ("refused", error.field, error.detail)
    context, filled = ctx.over_layers(supplied, *layers)
    return dict(context), list(context), filled


@settings(max_examples=400, deadline=None)
@given(
    entries=_entries,
    knowledge=st.sampled_from(KNOWLEDGE),
    trusted=st.sampled_from(TRUSTED),
    layers=_layers,
    remembering=st.booleans(),
)
def test_the_one_pass_merge_answers_as_caller_context_and_over_layers(
    entries, knowledge, trusted, layers, remembering
):
    defined = DefinedKeys()
    if remembering:  # a defined-key memo filled by earlier requests changes no verdict
        for entry in entries:
            with contextlib.suppress(RequestError):
                caller_context((entry,), knowledge, trusted, defined=defined)
    expected = _reference(entries, knowledge, trusted, DefinedKeys(), layers)
    try:
        merged = caller_context_over(entries, knowledge, trusted, defined, layers[0])
    except RequestError as error:
        assert expected == ("refused", error.field, error.detail)
        return
    if merged is None:  # the general merge answers; it may refuse a later key
        return
    assert expected[0] != "refused"
    assert (dict(merged), list(merged), layers[2]) == expected
    assert type(merged) is dict and merged is not layers[0]  # the kept layers are never written


def test_the_usual_context_is_merged_in_one_pass():
    layers = ctx.with_names(
        ctx.layered(MappingProxyType({"aws:username": ContextValue("aws:username", ("x",))}))
    )
    entries = (ContextValue("aws:SourceIp", ("10.0.0.1",)),)
    merged = caller_context_over(entries, KNOWLEDGE[0], NO_TRUSTED_KEYS, DefinedKeys(), layers[0])
    assert merged == {"aws:username": layers[0]["aws:username"], "aws:sourceip": entries[0]}


@pytest.mark.parametrize(
    "entries",
    [
        (ContextValue("aws:SourceIp", ("1",)), ContextValue("AWS:SOURCEIP", ("2",))),  # repeated
        (ContextValue("aws:username", ("root",)),),  # a filled key the operator trusts callers with
    ],
    ids=["repeated key", "trusted filled key"],
)
def test_a_repeated_or_filled_key_is_left_to_the_general_merge(entries):
    layers = ctx.with_names(
        ctx.layered(MappingProxyType({"aws:username": ContextValue("aws:username", ("x",))}))
    )
    trusted = TrustedKeys.of(["aws:username"])
    assert caller_context_over(entries, KNOWLEDGE[0], trusted, DefinedKeys(), layers[0]) is None


def test_an_owned_key_is_refused_naming_its_entry():
    layers = ctx.with_names(ctx.layered(MappingProxyType({})))
    entries = (ContextValue("aws:SourceIp", ("1",)), ContextValue("aws:PrincipalTag/team", ("admins",)))
    with pytest.raises(RequestError) as refused:
        caller_context_over(entries, KNOWLEDGE[0], NO_TRUSTED_KEYS, DefinedKeys(), layers[0])
    assert refused.value.field == "context[1].key" and "callers may not assert it" in refused.value.detail
