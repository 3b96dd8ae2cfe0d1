"""I/O-free parts of the SDK: building requests and reading replies."""

from __future__ import annotations

import ipaddress

import pytest

import iamgate_client as sdk
from iamgate_client import _base
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb


def test_bool_is_sent_as_a_bool_not_a_number():
    assert _base.context_value(True, key="k").WhichOneof("kind") == "bool_value"


def test_an_ipaddress_object_is_sent_as_an_ip():
    assert _base.context_value(ipaddress.ip_address("::1"), key="k").ip_value == "::1"


def test_bytes_are_sent_as_binary():
    assert _base.context_value(b"\x01", key="k").binary_value == b"\x01"


def test_an_unsupported_type_names_the_key():
    with pytest.raises(TypeError, match="'k'"):
        _base.context_value(object(), key="k")


def test_a_set_makes_a_multi_valued_key():
    [entry] = _base.context_entries({"aws:TagKeys": {"a"}})
    assert entry.multi_valued


def test_an_unspecified_decision_reads_as_a_deny():
    decision = _base.decision(pb.AuthorizeResponse())
    assert decision.outcome is sdk.Outcome.IMPLICIT_DENY and not decision.allowed


def test_explain_and_authorize_requests_are_wire_compatible():
    check = sdk.Check("u", "s3:GetObject", "*", {"k": "v"}, request_id="r")
    explain = _base.explain_request(check)
    assert explain.SerializeToString() == _base.authorize_request(check).SerializeToString()


def test_a_batch_item_error_maps_to_the_client_error_tree():
    response = pb.AuthorizeBatchResponse(
        results=[pb.AuthorizeBatchResult(error=pb.ItemError(code=13, message="requests[0]: boom"))]
    )
    [error] = _base.batch_results(response)
    assert isinstance(error, sdk.ServerError) and error.code == "INTERNAL"


def test_the_package_exports_exactly_its_public_names():
    public = {name for name in dir(sdk) if not name.startswith("_") and name not in {"api", "guards"}}
    assert public == set(sdk.__all__)
