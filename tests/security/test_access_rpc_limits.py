"""WhoCan and WhatCan reveal the whole access model and cost many evaluations: both are bounded.

They are off unless the sidecar was started with --enable-access-queries (PERMISSION_DENIED), run
behind the same gate as Simulate and Explain (RESOURCE_EXHAUSTED when its slots are taken), stop
at --max-access-query-evaluations (the answer is marked truncated) and within the expensive-call
time budget or the caller's deadline. All on a real sidecar serving the embedded bundle.
"""

from __future__ import annotations

import grpc
import pytest

from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb
from tests.security.limits_helpers import AUTHORIZE, rpc_error, sidecar

WHO = pb.WhoCanRequest(action="ec2:StartInstances", resource="*")
WHAT = pb.WhatCanRequest(principal="mike-devops")  # about 4,300 evaluations on the embedded bundle


@pytest.mark.parametrize(("method", "request_"), [("WhoCan", WHO), ("WhatCan", WHAT)])
def test_access_questions_are_refused_unless_enabled(method, request_):
    with sidecar() as (_, stub):
        error = rpc_error(getattr(stub, method), request_, timeout=30)
        status = stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "--enable-access-queries" in error.details()
    assert not status.access_queries_enabled


def test_the_evaluation_limit_truncates_the_answer():
    with sidecar(enable_access_queries=True, max_access_query_evaluations=25) as (_, stub):
        response = stub.WhatCan(WHAT, timeout=30)
    assert response.truncated and response.evaluations == 25


def test_the_time_budget_stops_a_long_question():
    with sidecar(enable_access_queries=True, max_expensive_call_seconds=0.01) as (_, stub):
        error = rpc_error(stub.WhatCan, WHAT, timeout=30)
        still = stub.Authorize(pb.AuthorizeRequest(**AUTHORIZE), timeout=10)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-expensive-call-seconds" in error.details()
    assert still.decision == pb.DECISION_ALLOWED


def test_the_callers_deadline_stops_a_long_question():
    with sidecar(enable_access_queries=True) as (_, stub):
        error = rpc_error(stub.WhatCan, WHAT, timeout=0.05)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED


def test_access_questions_pass_the_expensive_call_gate():
    with sidecar(enable_access_queries=True, max_expensive_calls=0) as (_, stub):
        error = rpc_error(stub.WhoCan, WHO, timeout=30)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-expensive-calls" in error.details()


def test_a_huge_page_size_is_capped():
    with sidecar(enable_access_queries=True) as (_, stub):
        response = stub.WhatCan(pb.WhatCanRequest(principal="mike-devops", page_size=2**31 - 1), timeout=60)
    assert len(response.grants) == 1000 and response.next_page_token


def test_the_kept_answers_stay_within_their_row_bound():
    from iamgate.bundle.access import AccessAnswer, AccessRow
    from iamgate.service.access_queries import AnswerCache

    row = AccessRow("p", "s3:GetObject", "*", "allowed", ())
    cache = AnswerCache(rows=100)
    for question in range(50):
        cache.answer(question, lambda: AccessAnswer((row,) * 30, 30))
    cache.answer("huge", lambda: AccessAnswer((row,) * 1000, 1000))
    assert cache.rows <= 100
