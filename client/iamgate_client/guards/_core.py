"""What every guard shares: ask, and turn anything but an allow into a denial with a message.

A guard never lets a request through on an error: an exception from the authorizer (a bug, a
closed client, a malformed question, an unreachable sidecar told to raise) is a denial whose
message says the check failed. The full error goes to the ``iamgate_client.guards`` logger,
never to the caller, who sees only its gRPC code.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from iamgate_client._errors import IamgateClientError
from iamgate_client._models import Decision

log = logging.getLogger("iamgate_client.guards")


class Authorizer(Protocol):
    """Anything with the client's ``authorize``: :class:`Client`, :class:`AsyncClient` (awaited) or
    :class:`Embedded`."""

    def authorize(
        self, principal: str, action: str, resource: str, context: Any = None, **kwargs: Any
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class Question:
    principal: str
    action: str
    resource: str
    context: Mapping[str, Any] | None = None
    session_tags: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A guard's answer: allowed, or denied with the message to send back."""

    allowed: bool
    message: str
    decision: Decision | None = None
    """The sidecar's decision, when one came back (also for a fail-closed deny)."""
    error: BaseException | None = None
    """Why no decision came back, when one did not."""


class AccessDeniedError(IamgateClientError):
    """Raised by :func:`~iamgate_client.guards.guard` when a call is not allowed.

    ``decision`` is the deny (``None`` when the check itself failed; ``__cause__`` says why).
    ``str(error)`` is the AWS-style message.
    """

    def __init__(self, message: str, *, decision: Decision | None = None) -> None:
        super().__init__(message, code="ACCESS_DENIED", details=message)
        self.decision = decision


def refused(principal: str, action: str, resource: str, why: str) -> Verdict:
    """A denial before any question was asked (no principal, no route, a bad path)."""
    who = principal or "anonymous"
    return Verdict(
        False,
        f"User: {who} is not authorized to perform: {action or '-'} on resource: "
        f"{resource or '-'} because {why}",
    )


def _from(question: Question, decision: Any) -> Verdict:
    if isinstance(decision, Decision) and decision.allowed:
        return Verdict(True, "", decision)
    if isinstance(decision, Decision):
        return Verdict(
            False, decision.message or _failure_message(question, "the request was denied"), decision
        )
    return failed_check(question, TypeError(f"authorize returned {type(decision).__name__}, not a Decision"))


def _failure_message(question: Question, why: str) -> str:
    return (
        f"User: {question.principal} is not authorized to perform: {question.action} on resource: "
        f"{question.resource} because {why}"
    )


def failed_check(question: Question, error: BaseException) -> Verdict:
    log.error(
        "authorization check failed for %s %s %s; denying",
        question.principal,
        question.action,
        question.resource,
        exc_info=error,
    )
    code = error.code if isinstance(error, IamgateClientError) else "INTERNAL"
    return Verdict(
        False, _failure_message(question, f"the authorization check failed ({code}); denied"), error=error
    )


def _kwargs(question: Question) -> dict[str, Any]:
    return {"session_tags": question.session_tags} if question.session_tags else {}


def decide(authorizer: Authorizer, question: Question) -> Verdict:
    """Ask a synchronous authorizer; never raises."""
    try:
        answer = authorizer.authorize(
            question.principal, question.action, question.resource, question.context, **_kwargs(question)
        )
        if inspect.isawaitable(answer):
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            raise TypeError("an async authorizer (AsyncClient) cannot guard synchronous code; use Client")
        return _from(question, answer)
    except Exception as error:
        return failed_check(question, error)


async def decide_async(authorizer: Authorizer, question: Question) -> Verdict:
    """Ask any authorizer from async code; never raises.

    An AsyncClient is awaited; an in-process one (Embedded) is called directly, it answers in
    microseconds; a blocking Client is run on a worker thread so the event loop keeps going.
    """
    try:
        if inspect.iscoroutinefunction(authorizer.authorize):
            answer = await authorizer.authorize(
                question.principal, question.action, question.resource, question.context, **_kwargs(question)
            )
        elif getattr(authorizer, "in_process", False):
            answer = authorizer.authorize(
                question.principal, question.action, question.resource, question.context, **_kwargs(question)
            )
        else:
            answer = await asyncio.to_thread(
                authorizer.authorize,
                question.principal,
                question.action,
                question.resource,
                question.context,
                **_kwargs(question),
            )
        return _from(question, answer)
    except Exception as error:
        return failed_check(question, error)
