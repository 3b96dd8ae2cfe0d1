"""What the sidecar is asked and what it answers, in the bundle's terms.

An ``AccessQuery`` names the principal as a caller would (a user or role name, an IAM ARN, an
assumed-role session ARN, a service principal); the snapshot resolves it against its bundle and
answers with an ``AccessOutcome``: the engine's evaluation, the AWS-style message, the context keys
the sidecar filled in on its own, and the bundle revision that decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from iamgate.engine.request import ContextValue
from iamgate.engine.result import Evaluation


@dataclass(frozen=True, slots=True)
class AccessQuery:
    principal: str
    """A user or role name, an IAM user/role ARN, an assumed-role session ARN, or a service principal."""
    action: str
    resource: str
    context: tuple[ContextValue, ...] = ()
    """What only the caller knows; a key the sidecar owns is refused (``iamgate.bundle.trust``)."""
    session_policy: str | None = None
    """A session policy as JSON text; applies to role sessions only."""
    request_id: str = ""
    session_tags: tuple[tuple[str, str], ...] = ()
    """Tags of an assumed-role session (``(key, value)`` pairs), as passed to sts:AssumeRole; they
    become its ``aws:PrincipalTag/K`` keys if the role's trust policy allows sts:TagSession with them."""


@dataclass(frozen=True, slots=True)
class AccessOutcome:
    evaluation: Evaluation
    principal_arn: str
    """The caller's ARN as resolved against the bundle (as given when the principal is unknown)."""
    message: str
    """AWS's wording: '... is not authorized to perform: ... because no identity-based policy allows ...'."""
    filled_context: tuple[str, ...]
    """Context keys the sidecar filled because the query did not supply them."""
    revision: str
    principal_known: bool = True

    @property
    def allowed(self) -> bool:
        return self.evaluation.allowed
