"""The IAM policy language: JSON documents -> validated, typed statements. No I/O."""

from iamgate.policy.errors import PolicyError, PolicyParseError, PolicyProblem, Severity
from iamgate.policy.kinds import Attachment, attachment_problems
from iamgate.policy.model import (
    VERSION_2008,
    VERSION_2012,
    ConditionClause,
    Effect,
    PolicyDocument,
    PrincipalSpec,
    SetOperator,
    Statement,
)
from iamgate.policy.parser import parse_policy

__all__ = [
    "VERSION_2008",
    "VERSION_2012",
    "Attachment",
    "ConditionClause",
    "Effect",
    "PolicyDocument",
    "PolicyError",
    "PolicyParseError",
    "PolicyProblem",
    "PrincipalSpec",
    "SetOperator",
    "Severity",
    "Statement",
    "attachment_problems",
    "parse_policy",
]
