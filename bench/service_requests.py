"""The requests ``make bench-service`` sends: the embedded bundle's own tests, with their answers."""

from __future__ import annotations

from iamgate.bundle.default import load_default_snapshot
from iamgate.engine.result import Decision
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

_DECISIONS = {
    Decision.ALLOWED: pb.DECISION_ALLOWED,
    Decision.EXPLICIT_DENY: pb.DECISION_EXPLICIT_DENY,
    Decision.IMPLICIT_DENY: pb.DECISION_IMPLICIT_DENY,
}


def embedded_requests() -> tuple[list[pb.AuthorizeRequest], list[int]]:
    """Every embedded-bundle test that needs no fixed clock, as a request, and its expected decision."""
    requests, expected = [], []
    for test in load_default_snapshot(cache_size=0).tests:
        if test.now is not None:
            continue
        request = pb.AuthorizeRequest(
            principal=test.principal,
            action=test.action,
            resource=test.resource,
            session_policy=test.session_policy or "",
            session_tags=[pb.SessionTag(key=k, value=v) for k, v in test.session_tags],
        )
        for value in test.context:
            request.context.add(
                key=value.name,
                values=[pb.ContextValue(string_value=v) for v in value.values],
                multi_valued=value.multi,
            )
        requests.append(request)
        expected.append(_DECISIONS[test.expected])
    return requests, expected
