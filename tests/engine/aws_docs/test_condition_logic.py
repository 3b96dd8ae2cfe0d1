"""How a Condition block combines, from "Conditions with multiple context keys or values" and
"IAM JSON policy elements: Condition": values OR'd (NOR'd when negated), keys and operators AND'd, key
names case-insensitive, values case-sensitive unless the operator says otherwise.
"""

from __future__ import annotations

from .builders import ALLOWED, IMPLICIT_DENY, allow_when, entry

TEAM_PLATFORM = entry("aws:PrincipalTag/team", "platform")
DEPT_ENGINEERING = entry("aws:PrincipalTag/department", "engineering")


def test_several_values_of_one_key_are_ored(decide):
    """Multiple values for one context key under one operator are evaluated with a logical OR."""
    condition = {"StringEquals": {"aws:PrincipalTag/team": ["data", "platform"]}}
    assert decide(allow_when(condition, TEAM_PLATFORM)) == ALLOWED


def test_several_values_under_a_negated_operator_are_nored_when_one_matches(decide):
    """Under a negated operator the values are NOR'd: equal to any one of them makes it false."""
    condition = {"StringNotEquals": {"aws:PrincipalTag/team": ["data", "platform"]}}
    assert decide(allow_when(condition, TEAM_PLATFORM)) == IMPLICIT_DENY


def test_several_values_under_a_negated_operator_are_nored_when_none_matches(decide):
    """NOR of the values: a value equal to none of them makes StringNotEquals true."""
    condition = {"StringNotEquals": {"aws:PrincipalTag/team": ["data", "security"]}}
    assert decide(allow_when(condition, TEAM_PLATFORM)) == ALLOWED


def test_several_keys_under_one_operator_are_anded(decide):
    """Multiple context keys attached to one condition operator are evaluated with a logical AND."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "platform", "aws:PrincipalTag/department": "finance"}
    }
    assert decide(allow_when(condition, TEAM_PLATFORM, DEPT_ENGINEERING)) == IMPLICIT_DENY


def test_several_keys_under_one_operator_all_matching_allow(decide):
    """With every key of the operator satisfied, the condition holds."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "platform", "aws:PrincipalTag/department": "engineering"}
    }
    assert decide(allow_when(condition, TEAM_PLATFORM, DEPT_ENGINEERING)) == ALLOWED


def test_several_operators_are_anded(decide):
    """Multiple condition operators in one statement are evaluated with a logical AND."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "platform"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    assert (
        decide(allow_when(condition, TEAM_PLATFORM, entry("aws:SourceIp", "198.51.100.1", "ip")))
        == IMPLICIT_DENY
    )


def test_several_operators_all_holding_allow(decide):
    """When every operator of the block holds, the statement applies."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "platform"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    assert decide(allow_when(condition, TEAM_PLATFORM, entry("aws:SourceIp", "203.0.113.9", "ip"))) == ALLOWED


def test_a_missing_key_fails_the_whole_block(decide):
    """Every key of a condition block must resolve to true; a missing key under a positive operator fails."""
    condition = {
        "StringEquals": {"aws:PrincipalTag/team": "platform"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    assert decide(allow_when(condition, TEAM_PLATFORM)) == IMPLICIT_DENY


def test_condition_key_name_in_the_request_is_case_insensitive(decide):
    """Condition key names are not case-sensitive: a request key AWS:SOURCEIP is aws:SourceIp."""
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    assert decide(allow_when(condition, entry("AWS:SOURCEIP", "203.0.113.9", "ip"))) == ALLOWED


def test_tag_key_name_in_a_condition_key_is_case_insensitive(decide):
    """Tag key names in keys like aws:PrincipalTag/tag-key are not case-sensitive."""
    condition = {"StringEquals": {"aws:PrincipalTag/TEAM": "platform"}}
    assert decide(allow_when(condition, TEAM_PLATFORM)) == ALLOWED


def test_condition_values_are_case_sensitive(decide):
    """Case sensitivity of values depends on the operator: StringEquals "platform" rejects "Platform"."""
    condition = {"StringEquals": {"aws:PrincipalTag/team": "platform"}}
    assert decide(allow_when(condition, entry("aws:PrincipalTag/team", "Platform"))) == IMPLICIT_DENY
