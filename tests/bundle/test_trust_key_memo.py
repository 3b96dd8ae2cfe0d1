"""The trust check's memo of resource keys (``DefinedKeys.resource_keys``) answers as the full check.

``ResourceTag`` and resource-account keys are the sidecar's for one resource and the caller's for
another, so their memo keeps only that the name is *defined*; whether it is owned is read off each
request's ``ResourceKnowledge``. These tests fail if the memo let a key through for a resource
that owns it because another resource did not, or remembered an undefined or odd spelling.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.bundle.trust import (
    DEFINED_KEYS_KEPT,
    NO_TRUSTED_KEYS,
    DefinedKeys,
    ResourceKnowledge,
    TrustedKeys,
    caller_context,
    refusal,
)
from iamgate.engine.errors import RequestError
from iamgate.engine.request import ContextValue

FULL_WIDTH = "aws:ResourceTag/\uff25nv"
"""A full-width letter in the tag name."""
UNKNOWN = ResourceKnowledge(tags_known=False, owner_known=False)
TAGGED = ResourceKnowledge(tags_known=True, owner_known=True)
OWNED_ONLY = ResourceKnowledge(tags_known=False, owner_known=True)
TAGS_ONLY = ResourceKnowledge(tags_known=True, owner_known=False)
KNOWLEDGE = (UNKNOWN, TAGGED, OWNED_ONLY, TAGS_ONLY)

KEYS = (
    "ec2:ResourceTag/Environment",
    "EC2:resourcetag/Environment",
    "aws:ResourceTag/Team",
    "iam:ResourceTag/Team",
    "ec2:ResourceTagg/Environment",  # undefined: a typo of the service's key
    "s3:ResourceTag/Environment",  # S3 defines no such key
    "aws:ResourceTag/Cost Center",  # a space: never remembered
    FULL_WIDTH,  # a full-width letter: never remembered
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:PrincipalTag/Team",
    "aws:username",
    "aws:CurrentTime",
    "aws:SourceIp",
    "aws:MultiFactorAuthPresent",
    "docs:Classification",
)
TRUSTS = (NO_TRUSTED_KEYS, TrustedKeys.of(["ec2:ResourceTag/*"]), TrustedKeys.of(["aws:ResourceAccount"]))


def _fresh(name: str, knowledge: ResourceKnowledge, trusted: TrustedKeys) -> str | None:
    """The full check, with nothing remembered."""
    return refusal(name.lower(), name, knowledge, DefinedKeys(), trusted)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(KEYS), st.sampled_from(KNOWLEDGE), st.sampled_from(TRUSTS)),
        min_size=1,
        max_size=12,
    )
)
def test_a_remembering_check_refuses_exactly_what_a_fresh_one_refuses(steps):
    defined = DefinedKeys()
    for name, knowledge, trusted in steps:
        assert refusal(name.lower(), name, knowledge, defined, trusted) == _fresh(name, knowledge, trusted), (
            name,
            knowledge,
            trusted,
        )


@pytest.mark.parametrize("name", ["ec2:ResourceTag/Environment", "aws:ResourceTag/Team"])
def test_a_tag_key_allowed_for_an_untagged_resource_is_still_refused_for_a_tagged_one(name):
    defined = DefinedKeys()
    entries = (ContextValue(name, ("staging",)),)
    assert caller_context(entries, UNKNOWN, defined=defined)  # the caller's to give here
    assert defined.resource_keys == {name.lower(): True}  # remembered as defined, not as accepted
    assert name.lower() not in defined.accepted
    with pytest.raises(RequestError, match="from the tags the bundle holds for this resource"):
        caller_context(entries, TAGGED, defined=defined)
    with pytest.raises(RequestError, match="from the tags the bundle holds for this resource"):
        caller_context(entries, TAGS_ONLY, defined=defined)
    assert caller_context(entries, OWNED_ONLY, defined=defined)


def test_a_resource_account_key_is_refused_whenever_the_owner_is_known():
    defined = DefinedKeys()
    entries = (ContextValue("aws:ResourceAccount", ("111122223333",)),)
    assert caller_context(entries, UNKNOWN, defined=defined)
    assert defined.resource_keys == {"aws:resourceaccount": False}
    for knowledge in (OWNED_ONLY, TAGGED):
        with pytest.raises(RequestError, match="from the resource's owning account"):
            caller_context(entries, knowledge, defined=defined)
    assert caller_context(entries, TAGS_ONLY, defined=defined)


@pytest.mark.parametrize("name", ["ec2:ResourceTagg/Environment", "aws:ResourceTag/Cost Center", FULL_WIDTH])
def test_undefined_or_odd_resource_keys_are_never_remembered(name):
    defined = DefinedKeys()
    for knowledge in KNOWLEDGE:
        with contextlib.suppress(RequestError):
            caller_context((ContextValue(name, ("x",)),), knowledge, defined=defined)
    assert not defined.resource_keys
    assert name.lower() not in defined.accepted


def test_the_resource_key_memo_is_bounded():
    defined = DefinedKeys()
    for number in range(DEFINED_KEYS_KEPT + 10):
        entries = (ContextValue(f"aws:ResourceTag/k{number}", ("v",)),)
        caller_context(entries, UNKNOWN, defined=defined)
        assert len(defined.resource_keys) <= DEFINED_KEYS_KEPT


@pytest.mark.parametrize("name", ["aws:ResourceTag/" + "k" * 60_000, "aws:RequestTag/" + "k" * 60_000])
def test_a_very_long_key_name_is_checked_but_never_remembered(name):
    defined = DefinedKeys()
    assert defined.undefined_reason(name.lower(), name) is None
    assert not defined.resource_keys and not defined.accepted
