"""Review finding: one AuthorizeBatch may carry only a few distinct session policies.

Each distinct session policy is parsed and compiled; a 4 MiB batch of 380 distinct 6 KB policies
held a worker thread for 4-5 s, and 17 such batches at once (one more than the 16 worker threads)
kept an Authorize waiting 13 s — the starvation the expensive-call gate prevents for Simulate and
Explain, through AuthorizeBatch. ``--max-batch-session-policies`` (16) bounds the compiling one
batch can ask for; a batch over it is refused at once, naming the limit.
"""

from __future__ import annotations

import json

import grpc
import pytest

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import sidecar

SESSION = "arn:aws:sts::123456789012:assumed-role/EC2-S3-Upload-Role/i-0abc"
UPLOAD = "arn:aws:s3:::my-app-uploads/images/cat.jpg"


def _item(policy_number: int) -> pb.AuthorizeRequest:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::b{policy_number}/*"}
        ],
    }
    return pb.AuthorizeRequest(
        principal=SESSION, action="s3:PutObject", resource=UPLOAD, session_policy=json.dumps(document)
    )


def test_a_batch_of_too_many_distinct_session_policies_is_refused_naming_the_limit() -> None:
    with sidecar(max_batch_session_policies=4) as (_, stub):
        batch = pb.AuthorizeBatchRequest(requests=[_item(n) for n in range(5)])
        with pytest.raises(grpc.RpcError) as caught:
            stub.AuthorizeBatch(batch)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "5 distinct session policies" in caught.value.details()
    assert "(--max-batch-session-policies)" in caught.value.details()


def test_a_batch_repeating_a_few_session_policies_is_answered() -> None:
    with sidecar(max_batch_session_policies=4) as (_, stub):
        batch = pb.AuthorizeBatchRequest(requests=[_item(n % 4) for n in range(200)])
        answer = stub.AuthorizeBatch(batch)
    assert len(answer.results) == 200
    assert all(result.WhichOneof("outcome") == "response" for result in answer.results)


def test_by_default_a_batch_may_carry_sixteen_distinct_session_policies() -> None:
    with sidecar() as (_, stub):
        assert (
            len(stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=[_item(n) for n in range(16)])).results)
            == 16
        )
        with pytest.raises(grpc.RpcError) as caught:
            stub.AuthorizeBatch(pb.AuthorizeBatchRequest(requests=[_item(n) for n in range(17)]))
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
