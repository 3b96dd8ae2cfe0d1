"""Rules that depend on where a policy is attached.

The same JSON grammar serves every policy type, but IAM rejects a Principal in an identity-based
policy and requires one in a resource-based policy. Bundles check these rules at load; the
simulator, like AWS's, evaluates what it is given.
"""

from __future__ import annotations

from enum import StrEnum

from iamgate.policy.errors import PolicyProblem, Severity
from iamgate.policy.model import Effect, PolicyDocument


class Attachment(StrEnum):
    IDENTITY = "identity"
    """Attached to a user, group or role; also permissions boundaries and session policies."""
    RESOURCE = "resource"
    """A bucket, queue, topic or key policy, or a role's trust policy."""
    SCP = "scp"
    """A service control policy of an AWS Organization."""


def attachment_problems(document: PolicyDocument, attachment: Attachment) -> list[PolicyProblem]:
    """Errors and warnings of ``document`` for its place of attachment."""
    problems: list[PolicyProblem] = []
    for statement in document.statements:
        path = statement.path
        has_principal = statement.principal is not None or statement.not_principal is not None
        has_resource = statement.resources is not None or statement.not_resources is not None
        if attachment is Attachment.RESOURCE:
            if not has_principal:
                problems.append(
                    PolicyProblem(
                        path,
                        "a resource-based policy statement needs Principal or NotPrincipal",
                        code="principal-missing",
                    )
                )
            continue
        if has_principal:
            element = "Principal" if statement.principal is not None else "NotPrincipal"
            problems.append(
                PolicyProblem(
                    f"{path}.{element}",
                    f"{element} is not allowed in {attachment.value} policies",
                    code="principal-not-allowed",
                )
            )
        if not has_resource:
            problems.append(
                PolicyProblem(
                    path,
                    f"a statement in {attachment.value} policies needs Resource or NotResource",
                    code="resource-missing",
                )
            )
        if attachment is Attachment.SCP and statement.effect is Effect.ALLOW and statement.conditions:
            problems.append(
                PolicyProblem(
                    f"{path}.Condition",
                    "an Allow statement in an SCP cannot have conditions "
                    "(AWS rejects it); use a Deny with the negated condition",
                    Severity.WARNING,
                    "scp-allow-condition",
                )
            )
    return problems
