"""WhoCan and WhatCan on a real sidecar: the same answers as the CLI, paginated on one revision."""

from __future__ import annotations

import dataclasses

import grpc
import pytest

import iamgate_client as sdk
from iamgate.bundle.access import what_can, who_can
from iamgate.bundle.default import load_default_snapshot
from iamgate.catalogue import aws_catalogue
from iamgate.service.snapshots import StaticSnapshots
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from iamgate_client.api.iamgate.v1 import authorizer_pb2_grpc as pb_grpc
from service.fakes import running_server

SARAH = "arn:aws:iam::123456789012:user/sarah-developer"


@pytest.fixture(scope="module")
def snapshot():
    return load_default_snapshot(cache_size=0)


@pytest.fixture
def served(snapshot):
    snapshots = StaticSnapshots(snapshot)
    with (
        running_server(snapshots, enable_access_queries=True) as (address, _),
        grpc.insecure_channel(address) as channel,
    ):
        yield pb_grpc.AuthorizerStub(channel), snapshots, address


def _pages(call, request):
    pages = [call(request)]
    while pages[-1].next_page_token:
        request.page_token = pages[-1].next_page_token
        pages.append(call(request))
    return pages


def test_who_can_answers_as_the_bundle_layer_does(served, snapshot):
    stub, _, _ = served
    response = stub.WhoCan(pb.WhoCanRequest(action="ec2:StartInstances", resource="*"))
    expected = who_can(snapshot, "ec2:StartInstances", "*")
    assert [g.principal for g in response.grants] == [row.principal for row in expected.rows]
    assert response.revision == snapshot.revision and response.total == len(expected.rows)
    assert not response.truncated and not response.next_page_token


def test_what_can_pages_join_into_the_whole_answer(served, snapshot):
    stub, _, _ = served
    pages = _pages(stub.WhatCan, pb.WhatCanRequest(principal="sarah-developer", page_size=50))
    expected = what_can(snapshot, "sarah-developer", aws_catalogue())
    grants = [(g.action, g.resource) for page in pages for g in page.grants]
    assert grants == [(row.action, row.resource) for row in expected.rows]
    assert len(pages) == -(-len(expected.rows) // 50) and {p.revision for p in pages} == {snapshot.revision}


def test_what_can_narrows_to_one_service(served):
    stub, _, _ = served
    response = stub.WhatCan(pb.WhatCanRequest(principal=SARAH, service="logs", page_size=1000))
    assert response.grants and {g.action.split(":")[0] for g in response.grants} == {"logs"}


def test_a_conditional_grant_says_so_with_its_open_conditions(served):
    stub, _, _ = served
    pages = _pages(stub.WhatCan, pb.WhatCanRequest(principal="sarah-developer", page_size=1000))
    conditional = [g for page in pages for g in page.grants if g.status == pb.ACCESS_STATUS_CONDITIONAL]
    assert all(g.conditions for g in conditional)


def test_a_token_of_another_revision_is_invalid_argument(served, snapshot):
    stub, snapshots, _ = served
    first = stub.WhatCan(pb.WhatCanRequest(principal="sarah-developer", page_size=10))
    snapshots.activate(dataclasses.replace(snapshot, revision="next-revision"))
    with pytest.raises(grpc.RpcError) as raised:
        stub.WhatCan(
            pb.WhatCanRequest(principal="sarah-developer", page_size=10, page_token=first.next_page_token)
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in raised.value.details() and "next-revision" in raised.value.details()


def test_a_token_of_another_question_is_invalid_argument(served):
    stub, _, _ = served
    first = stub.WhatCan(pb.WhatCanRequest(principal="sarah-developer", page_size=10))
    with pytest.raises(grpc.RpcError) as raised:
        stub.WhatCan(
            pb.WhatCanRequest(principal="mike-devops", page_size=10, page_token=first.next_page_token)
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "another question" in raised.value.details()


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.WhoCanRequest(action="s3:*", resource="*"), "action"),
        (pb.WhoCanRequest(action="", resource="*"), "action"),
        (pb.WhoCanRequest(action="s3:GetObject", resource="*", page_size=-1), "page_size"),
        (pb.WhoCanRequest(action="s3:GetObject", resource="*", page_token="garbage"), "page_token"),
    ],
)
def test_a_malformed_who_can_names_the_field(served, request_, field):
    stub, _, _ = served
    with pytest.raises(grpc.RpcError) as raised:
        stub.WhoCan(request_)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith(f"{field}:")


def test_an_unknown_principal_names_the_field(served):
    stub, _, _ = served
    with pytest.raises(grpc.RpcError) as raised:
        stub.WhatCan(pb.WhatCanRequest(principal="nobody"))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith("principal:")


def test_status_says_whether_access_queries_are_enabled(served):
    stub, _, _ = served
    assert stub.GetStatus(pb.GetStatusRequest()).access_queries_enabled


def test_the_sdk_reads_every_page(served, snapshot):
    _, _, address = served
    with sdk.Client(address) as client:
        answer = client.what_can("sarah-developer", page_size=7)
        who = client.who_can("ec2:StartInstances", "*")
    assert len(answer.grants) == len(what_can(snapshot, "sarah-developer", aws_catalogue()).rows)
    assert answer.revision == snapshot.revision and not answer.truncated
    assert [g.principal for g in who.grants] == [
        r.principal for r in who_can(snapshot, "ec2:StartInstances", "*").rows
    ]


def test_the_sdk_raises_permission_denied_when_disabled(snapshot):
    with (
        running_server(StaticSnapshots(snapshot)) as (address, _),
        sdk.Client(address) as client,
        pytest.raises(sdk.PermissionDeniedError),
    ):
        client.who_can("ec2:StartInstances", "*")


def test_access_questions_leave_the_served_snapshots_memos_alone(served, snapshot):
    stub, _, _ = served
    before = len(snapshot.memo.resources)
    stub.WhatCan(pb.WhatCanRequest(principal="mike-devops", page_size=1))
    assert len(snapshot.memo.resources) == before
