"""``request_on`` (a request built on a resource's ARN split once) is the request ``Request``
builds, field for field, and ``resource_parts`` is the split ``Request`` makes."""

from __future__ import annotations

from dataclasses import fields

import pytest

from iamgate.engine.request import ContextValue, Principal, Request, request_on, resource_parts

RESOURCES = [
    "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc",
    "arn:aws:s3:::bucket/key:with:colons",
    "arn:aws:iam::123456789012:role/Admin",
    "*",
    "arn:aws:s3",
    "notarn:aws:s3:::b:k",
    "",
]


@pytest.mark.parametrize("resource", RESOURCES)
def test_resource_parts_split_as_a_request_splits(resource):
    principal = Principal.parse("arn:aws:iam::123456789012:user/sarah")
    assert resource_parts(resource) == Request(principal, "s3:GetObject", resource, {}).resource_parts


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("owner", [None, "123456789012"])
def test_a_request_on_split_parts_is_the_request_built_afresh(resource, owner):
    principal = Principal.parse("arn:aws:iam::123456789012:user/sarah")
    context = {"aws:sourceip": ContextValue("aws:SourceIp", ("10.0.0.1",))}
    built = request_on(principal, "s3:GetObject", resource, context, owner, resource_parts(resource))
    fresh = Request(principal, "s3:GetObject", resource, context, owner)
    assert type(built) is Request and built == fresh
    assert all(getattr(built, f.name) == getattr(fresh, f.name) for f in fields(Request))
    assert built.is_cross_account == fresh.is_cross_account
