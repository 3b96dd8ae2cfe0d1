"""Compile policies into indexed matchers and evaluate requests with AWS IAM's logic."""

from iamgate.engine.compiled import CompiledPolicy, CompiledStatement, compile_policy
from iamgate.engine.errors import EngineError, RequestError
from iamgate.engine.evaluator import PolicySet, evaluate
from iamgate.engine.request import ContextValue, Principal, PrincipalKind, Request, build_context
from iamgate.engine.result import (
    ConditionTrace,
    Decision,
    Evaluation,
    PolicyKind,
    PolicyTrace,
    StatementRef,
    StatementTrace,
    access_message,
)

__all__ = [
    "CompiledPolicy",
    "CompiledStatement",
    "ConditionTrace",
    "ContextValue",
    "Decision",
    "EngineError",
    "Evaluation",
    "PolicyKind",
    "PolicySet",
    "PolicyTrace",
    "Principal",
    "PrincipalKind",
    "Request",
    "RequestError",
    "StatementRef",
    "StatementTrace",
    "access_message",
    "build_context",
    "compile_policy",
    "evaluate",
]
