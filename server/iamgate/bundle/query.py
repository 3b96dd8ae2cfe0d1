"""What the sidecar is asked and what it answers, in the bundle's terms.

An ``AccessQuery`` names the principal as a caller would (a user or role name, an IAM ARN, an
assumed-role session ARN, a service principal); the snapshot resolves it against its bundle and
answers with an ``AccessOutcome``: the engine's evaluation, the AWS-style message, the context keys
the sidecar filled in on its own, and the bundle revision that decided.

Both are built once per decision (every batch item builds a query, every uncached answer may
build an outcome), so their constructors set the slots through the slot descriptors, as
``engine.request.Request`` does: a frozen dataclass's generated ``__init__`` calls
``object.__setattr__`` per field (~0.15 µs each), which cost a batch item ~1.1 µs for the query
alone (now ~0.6). They stay frozen dataclasses for callers (fields, defaults, equality,
``replace``, the refused assignment).
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

    def __init__(
        self,
        principal: str,
        action: str,
        resource: str,
        context: tuple[ContextValue, ...] = (),
        session_policy: str | None = None,
        request_id: str = "",
        session_tags: tuple[tuple[str, str], ...] = (),
    ) -> None:
        # Slots set directly (the dataclass's own __init__ would go through object.__setattr__).
        _q_principal(self, principal)
        _q_action(self, action)
        _q_resource(self, resource)
        _q_context(self, context)
        _q_session_policy(self, session_policy)
        _q_request_id(self, request_id)
        _q_session_tags(self, session_tags)


_q_principal = AccessQuery.principal.__set__  # type: ignore[attr-defined]
_q_action = AccessQuery.action.__set__  # type: ignore[attr-defined]
_q_resource = AccessQuery.resource.__set__  # type: ignore[attr-defined]
_q_context = AccessQuery.context.__set__  # type: ignore[attr-defined]
_q_session_policy = AccessQuery.session_policy.__set__  # type: ignore[attr-defined]
_q_request_id = AccessQuery.request_id.__set__  # type: ignore[attr-defined]
_q_session_tags = AccessQuery.session_tags.__set__  # type: ignore[attr-defined]


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

    def __init__(
        self,
        evaluation: Evaluation,
        principal_arn: str,
        message: str,
        filled_context: tuple[str, ...],
        revision: str,
        principal_known: bool = True,
    ) -> None:
        # Slots set directly: an uncached answer builds one per decision.
        _o_evaluation(self, evaluation)
        _o_principal_arn(self, principal_arn)
        _o_message(self, message)
        _o_filled_context(self, filled_context)
        _o_revision(self, revision)
        _o_principal_known(self, principal_known)

    @property
    def allowed(self) -> bool:
        return self.evaluation.allowed


_o_evaluation = AccessOutcome.evaluation.__set__  # type: ignore[attr-defined]
_o_principal_arn = AccessOutcome.principal_arn.__set__  # type: ignore[attr-defined]
_o_message = AccessOutcome.message.__set__  # type: ignore[attr-defined]
_o_filled_context = AccessOutcome.filled_context.__set__  # type: ignore[attr-defined]
_o_revision = AccessOutcome.revision.__set__  # type: ignore[attr-defined]
_o_principal_known = AccessOutcome.principal_known.__set__  # type: ignore[attr-defined]
