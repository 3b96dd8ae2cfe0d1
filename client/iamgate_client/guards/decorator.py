"""A decorator for plain functions (sync or async): the call runs only when it is allowed.

    from iamgate_client.guards import guard

    @guard(iamgate, "s3:GetObject", "arn:aws:s3:::{bucket}/{key}", principal="{user}")
    def download(user: str, bucket: str, key: str) -> bytes: ...

Templates are filled from the call's arguments by name; ``principal`` may instead be a function
of the bound arguments. Anything but an allow (a deny, a failed check, an argument a template
needs that is missing or empty) raises :class:`AccessDeniedError` with the AWS-style message, and
the function does not run.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from iamgate_client.guards._core import AccessDeniedError, Authorizer, Question, Verdict, decide, decide_async

F = TypeVar("F", bound=Callable[..., Any])
_NAME = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _fill(template: str, arguments: Mapping[str, Any]) -> str:
    def value(found: re.Match[str]) -> str:
        got = arguments.get(found[1])
        if got is None or got == "" or isinstance(got, bool):
            raise ValueError(f"{template}: argument {found[1]!r} is missing or empty")
        return str(got)

    return _NAME.sub(value, template)


def guard(
    authorizer: Authorizer,
    action: str,
    resource: str = "*",
    *,
    principal: str | Callable[[Mapping[str, Any]], str] = "{principal}",
    context: Callable[[Mapping[str, Any]], Mapping[str, Any] | None] | None = None,
) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        def question(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Question:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = bound.arguments
            who = principal(arguments) if callable(principal) else _fill(principal, arguments)
            return Question(
                who,
                _fill(action, arguments),
                _fill(resource, arguments),
                context(arguments) if context else None,
            )

        def refuse(verdict: Verdict) -> AccessDeniedError:
            return AccessDeniedError(verdict.message, decision=verdict.decision)

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    asked = question(args, kwargs)
                except Exception as error:
                    raise AccessDeniedError(
                        f"Not authorized: the authorization check failed ({error})"
                    ) from error
                verdict = await decide_async(authorizer, asked)
                if not verdict.allowed:
                    raise refuse(verdict) from verdict.error
                return await function(*args, **kwargs)

            return guarded_async  # type: ignore[return-value]

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                asked = question(args, kwargs)
            except Exception as error:
                raise AccessDeniedError(
                    f"Not authorized: the authorization check failed ({error})"
                ) from error
            verdict = decide(authorizer, asked)
            if not verdict.allowed:
                raise refuse(verdict) from verdict.error
            return function(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
