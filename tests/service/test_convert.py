"""Proto requests become engine queries; engine answers become proto responses."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from iamgate.engine import (
    ConditionTrace,
    Decision,
    Evaluation,
    PolicyKind,
    PolicyTrace,
    RequestError,
    StatementRef,
    StatementTrace,
)
from iamgate.service import convert
from iamgate_client.api.iamgate.v1 import authorizer_pb2 as pb

from .fakes import Outcome


def _request(**fields):
    base = {"principal": "sarah-developer", "action": "ec2:StopInstances", "resource": "*"}
    base.update(fields)
    return pb.AuthorizeRequest(**base)


def _entry(key, *values, multi=False):
    return pb.ContextEntry(key=key, values=list(values), multi_valued=multi)


def test_a_string_value_is_passed_as_is():
    query = convert.access_query(
        _request(context=[_entry("aws:SourceVpc", pb.ContextValue(string_value="vpc-1"))])
    )
    assert query.context[0].values == ("vpc-1",)


def test_a_bool_value_becomes_lowercase_text():
    query = convert.access_query(
        _request(context=[_entry("aws:MultiFactorAuthPresent", pb.ContextValue(bool_value=True))])
    )
    assert query.context[0].values == ("true",)


@pytest.mark.parametrize(("number", "text"), [(3.0, "3"), (1.5, "1.5"), (-2.0, "-2"), (3600.0, "3600")])
def test_a_number_becomes_its_shortest_text(number, text):
    query = convert.access_query(_request(context=[_entry("n", pb.ContextValue(number_value=number))]))
    assert query.context[0].values == (text,)


def test_a_timestamp_becomes_an_iso_8601_utc_date():
    value = pb.ContextValue()
    value.date_value.FromDatetime(datetime(2026, 5, 1, 12, 30, tzinfo=UTC))
    query = convert.access_query(_request(context=[_entry("aws:CurrentTime", value)]))
    assert query.context[0].values == ("2026-05-01T12:30:00Z",)


def test_binary_becomes_base64_as_iam_compares_it():
    query = convert.access_query(_request(context=[_entry("k", pb.ContextValue(binary_value=b"\x00\xff"))]))
    assert query.context[0].values == (base64.b64encode(b"\x00\xff").decode(),)


def test_ip_and_date_text_values_are_passed_as_is():
    query = convert.access_query(
        _request(
            context=[
                _entry("aws:SourceIp", pb.ContextValue(ip_value="10.0.0.1")),
                _entry("aws:CurrentTime", pb.ContextValue(date_text="2026-01-01")),
            ]
        )
    )
    assert [c.values for c in query.context] == [("10.0.0.1",), ("2026-01-01",)]


def test_a_value_with_no_type_set_is_rejected_naming_it():
    with pytest.raises(RequestError) as raised:
        convert.access_query(
            _request(
                context=[_entry("ok", pb.ContextValue(string_value="x")), _entry("k", pb.ContextValue())]
            )
        )
    assert raised.value.field == "context[1].values[0]"


def test_a_context_entry_without_a_key_is_rejected_naming_it():
    with pytest.raises(RequestError) as raised:
        convert.access_query(_request(context=[_entry("", pb.ContextValue(string_value="x"))]))
    assert raised.value.field == "context[0].key"


def test_a_single_valued_key_without_a_value_is_rejected():
    with pytest.raises(RequestError) as raised:
        convert.access_query(_request(context=[_entry("aws:SourceIp")]))
    assert raised.value.field == "context[0].values"


def test_a_multi_valued_key_may_be_empty():
    query = convert.access_query(_request(context=[_entry("aws:TagKeys", multi=True)]))
    assert query.context[0].values == () and query.context[0].multi


def test_several_values_make_a_key_multi_valued():
    values = [pb.ContextValue(string_value="a"), pb.ContextValue(string_value="b")]
    query = convert.access_query(_request(context=[_entry("aws:TagKeys", *values)]))
    assert query.context[0].multi


def test_an_infinite_number_is_rejected():
    with pytest.raises(RequestError):
        convert.access_query(_request(context=[_entry("n", pb.ContextValue(number_value=float("inf")))]))


@pytest.mark.parametrize("field", ["principal", "action", "resource"])
def test_an_empty_required_field_is_rejected_naming_it(field):
    with pytest.raises(RequestError) as raised:
        convert.access_query(_request(**{field: ""}))
    assert raised.value.field == field


def test_an_action_without_a_service_prefix_is_rejected():
    with pytest.raises(RequestError, match="SERVICE:ACTION"):
        convert.access_query(_request(action="StopInstances"))


def test_batch_items_are_named_by_their_index():
    with pytest.raises(RequestError) as raised:
        convert.access_query(_request(action=""), "requests[4].")
    assert raised.value.field == "requests[4].action"


def test_an_empty_session_policy_means_none():
    assert convert.access_query(_request()).session_policy is None


def _outcome(evaluation):
    return Outcome(evaluation, "arn:aws:iam::123456789012:user/u", "msg", ("aws:username",), "rev-9")


def test_an_explicit_deny_names_its_statements_and_the_policy_type_responsible():
    ref = StatementRef("DeveloperAccess", PolicyKind.IDENTITY, 1, "DenyTerminateProduction")
    evaluation = Evaluation(Decision.EXPLICIT_DENY, determining=(ref,), denied_by=PolicyKind.IDENTITY)
    response = convert.authorize_response(_outcome(evaluation), "d-1", "r-1")
    assert response.decision == pb.DECISION_EXPLICIT_DENY
    assert response.denied_by == pb.POLICY_TYPE_IDENTITY
    assert [(s.policy_id, s.sid, s.index) for s in response.determining_statements] == [
        ("DeveloperAccess", "DenyTerminateProduction", 1)
    ]
    assert (response.revision, response.decision_id, response.request_id) == ("rev-9", "d-1", "r-1")
    assert list(response.filled_context_keys) == ["aws:username"]


def test_an_allow_has_no_denied_by():
    evaluation = Evaluation(Decision.ALLOWED, denied_by=PolicyKind.IDENTITY)
    assert convert.authorize_response(_outcome(evaluation), "d", "").denied_by == pb.POLICY_TYPE_UNSPECIFIED


def test_a_trace_keeps_unevaluated_elements_and_missing_keys_apart():
    ref = StatementRef("scp-root", PolicyKind.SCP, 0, None)
    condition = ConditionTrace("StringEquals", "aws:PrincipalTag/team", ("dev",), None, False)
    statement = StatementTrace(ref, "Allow", True, None, None, (condition,), False)
    [policy] = convert.policy_traces([PolicyTrace("scp-root", PolicyKind.SCP, (statement,), level=0)])
    assert policy.policy_type == pb.POLICY_TYPE_SERVICE_CONTROL and policy.scp_level == 0
    traced = policy.statements[0]
    assert (traced.action, traced.resource) == (pb.ELEMENT_MATCH_MATCHED, pb.ELEMENT_MATCH_NOT_EVALUATED)
    assert traced.effect == pb.EFFECT_ALLOW
    assert not traced.conditions[0].key_present and list(traced.conditions[0].request_values) == []


def test_a_policy_without_a_level_has_no_scp_level():
    [policy] = convert.policy_traces([PolicyTrace("p", PolicyKind.IDENTITY, ())])
    assert not policy.HasField("scp_level")


def test_a_simulate_request_becomes_the_aws_shaped_mapping():
    request = pb.SimulateRequest(
        policy_input_list=["{}"],
        action_names=["s3:GetObject"],
        resource_arns=["arn:aws:s3:::b/k"],
        caller_arn="arn:aws:iam::123456789012:user/u",
        context_entries=[
            pb.SimulateContextEntry(
                context_key_name="aws:TagKeys",
                context_key_values=["a"],
                context_key_type=pb.CONTEXT_KEY_TYPE_STRING_LIST,
            )
        ],
        service_control_policy_levels=[pb.PolicyLevel(policies=["{}"])],
    )
    data = convert.simulate_input(request)
    assert data["ContextEntries"] == [
        {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["a"], "ContextKeyType": "stringList"}
    ]
    assert data["ServiceControlPolicyLevels"] == [["{}"]]
    assert "ResourcePolicy" not in data


def test_a_simulate_context_entry_needs_a_type():
    request = pb.SimulateRequest(
        action_names=["s3:GetObject"], context_entries=[pb.SimulateContextEntry(context_key_name="k")]
    )
    with pytest.raises(RequestError) as raised:
        convert.simulate_input(request)
    assert raised.value.field == "context_entries[0].context_key_type"


def test_simulate_results_map_the_decision_vocabulary():
    result = {
        "EvaluationResults": [
            {
                "EvalActionName": "s3:GetObject",
                "EvalResourceName": "*",
                "EvalDecision": "explicitDeny",
                "MatchedStatements": [
                    {
                        "SourcePolicyId": "PolicyInputList.1",
                        "SourcePolicyType": "identity",
                        "Sid": None,
                        "StatementIndex": 2,
                    }
                ],
                "MissingContextValues": ["aws:SourceIp"],
            }
        ]
    }
    [item] = convert.simulate_response(result).evaluation_results
    assert item.eval_decision == pb.DECISION_EXPLICIT_DENY
    assert (item.matched_statements[0].policy_type, item.matched_statements[0].index) == (
        pb.POLICY_TYPE_IDENTITY,
        2,
    )
    assert list(item.missing_context_values) == ["aws:SourceIp"]
