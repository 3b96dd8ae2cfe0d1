"""How a call survives a sidecar that is starting, restarting or gone: I/O-free rules both clients share.

* Only UNAVAILABLE is retried: the sidecar was not there (not listening, draining, or no bundle
  active yet). A decision that came back, allow or deny, is final, and so is every other error.
* The call's timeout is one deadline over all attempts (as gRPC's own retries do), so a retrying
  call never takes longer than a call without retries would.
* After a first UNAVAILABLE the next attempts wait for the channel to become ready (gRPC's
  ``wait_for_ready``) instead of failing at once while the channel is reconnecting.
* When the sidecar stays out of reach, ``authorize`` answers a deny that says why (fail closed),
  unless the client was made with ``on_unreachable="raise"``.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Literal

from iamgate_client._errors import (
    ConfigurationError,
    ConnectError,
    DeadlineExceededError,
    IamgateClientError,
    TransportError,
)
from iamgate_client._models import Decision, Outcome

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_ENV = "IAMGATE_ADDRESS"

OnUnreachable = Literal["deny", "raise"]

CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    # gRPC's reconnect backoff starts at 1 s and grows to 120 s: far too slow for a sidecar on
    # loopback that restarts in a fraction of a second. Callers' own options override these.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)


@dataclass(frozen=True, slots=True)
class Retry:
    """Bounded retries of UNAVAILABLE with exponential backoff and jitter.

    ``attempts`` counts the first call; ``Retry(attempts=1)`` (or :data:`NO_RETRY`) never retries.
    The call's timeout bounds all attempts together.
    """

    attempts: int = 5
    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    multiplier: float = 2.0
    jitter: float = 0.2
    """Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]."""
    wait_for_ready: bool = True
    """Retries wait for the channel to reconnect rather than failing while it is down."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigurationError(f"Retry.attempts: {self.attempts} is below 1 (1 means no retries)")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ConfigurationError("Retry: backoffs must be >= 0 and the multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError(f"Retry.jitter: {self.jitter} is not within [0, 1]")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


NO_RETRY = Retry(attempts=1)
DEFAULT_RETRY = Retry()


class CallPlan:
    """The attempts of one call: how long each may take, whether it waits, when to give up.

    Usage (the sync client; the async one awaits its sleep)::

        plan = CallPlan(retry, timeout, retryable=True)
        while True:
            timeout, wait = plan.attempt()
            try:
                return call(timeout, wait)
            except IamgateClientError as error:
                time.sleep(plan.failed(error))     # raises when there is nothing left to try
    """

    __slots__ = ("_attempt", "_deadline", "_last", "_retry", "_timeout")

    def __init__(self, retry: Retry, timeout: float | None, *, retryable: bool = True) -> None:
        self._retry = retry if retryable else NO_RETRY
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._attempt = 0
        self._last: IamgateClientError | None = None

    def attempt(self) -> tuple[float | None, bool]:
        """(timeout for this attempt, wait_for_ready) for the next attempt."""
        self._attempt += 1
        remaining = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
        return remaining, self._attempt > 1 and self._retry.wait_for_ready

    def failed(self, error: IamgateClientError) -> float:
        """The delay before the next attempt; raises the error to give the caller when done."""
        if isinstance(error, DeadlineExceededError) and self._last is not None:
            # A retry waiting for the sidecar ran out of time: it is still unreachable.
            raise self._unreachable(self._last) from None
        if not isinstance(error, ConnectError):
            raise error
        self._last = error
        if self._attempt >= self._retry.attempts:
            raise self._unreachable(error) from None
        delay = self._retry.delay(self._attempt)
        if self._deadline is not None and time.monotonic() + delay >= self._deadline:
            raise self._unreachable(error) from None
        return delay

    def _unreachable(self, error: ConnectError) -> ConnectError:
        if self._attempt == 1:
            return error
        within = "" if self._timeout is None else f" within {self._timeout:g}s"
        return ConnectError(
            f"{error} (after {self._attempt} attempts{within})", code=error.code, details=error.details
        )


def resolve_address(address: str | None) -> str:
    """``address``, else ``$IAMGATE_ADDRESS``, else 127.0.0.1:50051.

    Any gRPC target works: ``HOST:PORT``, ``[::1]:PORT``, ``unix:/path/to.sock`` (or
    ``unix:///path``), ``dns:///name:port``.
    """
    chosen = address if address is not None else os.environ.get(ADDRESS_ENV, DEFAULT_ADDRESS)
    where = "address" if address is not None else f"${ADDRESS_ENV}"
    if not chosen.strip():
        raise ConfigurationError(f"{where}: empty; give HOST:PORT or unix:/path/to.sock")
    if chosen != chosen.strip() or any(c.isspace() for c in chosen):
        raise ConfigurationError(f"{where}: {chosen!r} contains whitespace")
    if chosen.startswith("unix:") and not chosen[len("unix:") :].lstrip("/"):
        raise ConfigurationError(f"{where}: {chosen!r} names no socket path")
    if ":" not in chosen or chosen.endswith(("]", ":")):
        # gRPC would quietly dial port 443 for a bare host: never guess the sidecar's port.
        raise ConfigurationError(f"{where}: {chosen!r} has no port; give HOST:PORT, e.g. 127.0.0.1:50051")
    return chosen


def channel_options(options: tuple[tuple[str, object], ...] | list[tuple[str, object]]) -> list:
    """The SDK's channel defaults, overridden by the caller's options of the same name."""
    given = {name for name, _ in options}
    return [option for option in CHANNEL_OPTIONS if option[0] not in given] + list(options)


def check_on_unreachable(value: str) -> OnUnreachable:
    if value not in ("deny", "raise"):
        raise ConfigurationError(f"on_unreachable: {value!r} is neither 'deny' nor 'raise'")
    return value  # type: ignore[return-value]


def fail_closed(address: str, error: TransportError, request_id: str = "") -> Decision:
    """The deny ``authorize`` answers when the sidecar cannot be reached: not allowed, and why."""
    return Decision(
        outcome=Outcome.IMPLICIT_DENY,
        message=f"Denied without a decision (fail closed): the iamgate sidecar at {address} "
        f"could not be reached: {error}",
        revision="",
        decision_id="",
        request_id=request_id,
        error=error,
    )


def unreachable(error: IamgateClientError) -> bool:
    """Failures the fail-closed policy covers: the sidecar was not reached or did not answer."""
    return isinstance(error, TransportError)
